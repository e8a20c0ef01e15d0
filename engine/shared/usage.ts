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
  /** Of the prompt tokens, those read from the provider's cache, when reported. */
  prompt_tokens_details?: { cached_tokens?: number; [key: string]: unknown } | null;
};

export function fromOpenAIUsage(u: OpenAIUsageFields): Usage {
  const cached = u.prompt_tokens_details?.cached_tokens;
  if (typeof cached === 'number') {
    return {
      promptTokens: u.prompt_tokens,
      completionTokens: u.completion_tokens,
      totalTokens: u.total_tokens,
      cachedTokens: cached,
    };
  }
  return {
    promptTokens: u.prompt_tokens,
    completionTokens: u.completion_tokens,
    totalTokens: u.total_tokens,
  };
}

export function toOpenAIUsage(u: Usage): OpenAIUsageFields {
  if (u.cachedTokens !== undefined) {
    return {
      prompt_tokens: u.promptTokens,
      completion_tokens: u.completionTokens,
      total_tokens: u.totalTokens,
      prompt_tokens_details: { cached_tokens: u.cachedTokens },
    };
  }
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.totalTokens,
  };
}

/** The sum of the usages present (cached tokens too, when any reports them); null when none is. */
export function sumUsage(usages: Iterable<Usage | null>): Usage | null {
  let sum: {
    promptTokens: number;
    completionTokens: number;
    totalTokens: number;
    cachedTokens?: number;
  } | null = null;
  for (const u of usages) {
    if (u === null) continue;
    sum ??= { promptTokens: 0, completionTokens: 0, totalTokens: 0 };
    sum.promptTokens += u.promptTokens;
    sum.completionTokens += u.completionTokens;
    sum.totalTokens += u.totalTokens;
    if (u.cachedTokens !== undefined) sum.cachedTokens = (sum.cachedTokens ?? 0) + u.cachedTokens;
  }
  return sum;
}
