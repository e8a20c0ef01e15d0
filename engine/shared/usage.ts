/**
 * Token usage between the engine's shape (`Usage`, camelCase) and OpenAI's wire shape
 * (`prompt_tokens`, ...). One place for the conversions, so every stage counts the same way.
 */
import type { Usage } from '../types.js';

/** A type, not an interface: it is assignable to the wire types' open records (`[key: string]: unknown`). */
export type OpenAIUsageFields = {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /**
   * Of the prompt tokens, those read from the provider's cache (`cached_tokens`) and those written
   * to it (`cache_write_tokens`, Anthropic's cache creation), when reported.
   */
  prompt_tokens_details?: {
    cached_tokens?: number;
    cache_write_tokens?: number;
    [key: string]: unknown;
  } | null;
};

/** `Usage` built field by field: the optional counts are present only when reported. */
type MutableUsage = {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  cachedTokens?: number;
  cacheWriteTokens?: number;
};

/** `prompt_tokens_details` → the cached and cache-write counts onto `usage`, when reported. */
export function addPromptDetails(usage: MutableUsage, details: unknown): Usage {
  if (typeof details !== 'object' || details === null) return usage;
  const d = details as { cached_tokens?: unknown; cache_write_tokens?: unknown };
  if (typeof d.cached_tokens === 'number') usage.cachedTokens = d.cached_tokens;
  if (typeof d.cache_write_tokens === 'number') usage.cacheWriteTokens = d.cache_write_tokens;
  return usage;
}

export function fromOpenAIUsage(u: OpenAIUsageFields): Usage {
  return addPromptDetails(
    { promptTokens: u.prompt_tokens, completionTokens: u.completion_tokens, totalTokens: u.total_tokens },
    u.prompt_tokens_details,
  );
}

export function toOpenAIUsage(u: Usage): OpenAIUsageFields {
  const out: OpenAIUsageFields = {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.totalTokens,
  };
  if (u.cachedTokens !== undefined || u.cacheWriteTokens !== undefined) {
    const details: { cached_tokens?: number; cache_write_tokens?: number } = {};
    if (u.cachedTokens !== undefined) details.cached_tokens = u.cachedTokens;
    if (u.cacheWriteTokens !== undefined) details.cache_write_tokens = u.cacheWriteTokens;
    out.prompt_tokens_details = details;
  }
  return out;
}

/** The sum of the usages present (cached and cache-write tokens too, when any reports them); null when none is. */
export function sumUsage(usages: Iterable<Usage | null>): Usage | null {
  let sum: MutableUsage | null = null;
  for (const u of usages) {
    if (u === null) continue;
    sum ??= { promptTokens: 0, completionTokens: 0, totalTokens: 0 };
    sum.promptTokens += u.promptTokens;
    sum.completionTokens += u.completionTokens;
    sum.totalTokens += u.totalTokens;
    if (u.cachedTokens !== undefined) sum.cachedTokens = (sum.cachedTokens ?? 0) + u.cachedTokens;
    if (u.cacheWriteTokens !== undefined)
      sum.cacheWriteTokens = (sum.cacheWriteTokens ?? 0) + u.cacheWriteTokens;
  }
  return sum;
}
