/**
 * What may be stored: only a complete, successful answer. A chat completion is complete when it
 * has at least one choice and every choice carries a `finish_reason` (any reason: `length` and
 * `content_filter` answers are what the same request would get again); an embeddings list when it
 * has data. Anything else (an error body, a cut stream, a foreign shape) is never cached.
 */
import type { ChatCompletion } from '../providers/openai-types.js';
import { isRecord } from '../shared/guards.js';
import type { Usage } from '../types.js';
import type { CachedAnswer } from './store.js';

/** Whether `body` is a chat completion in which every choice finished. */
export function isCompleteChatCompletion(body: unknown): body is ChatCompletion {
  if (!isRecord(body) || body.object !== 'chat.completion' || !Array.isArray(body.choices)) return false;
  if (body.choices.length === 0) return false;
  return body.choices.every(
    (c: unknown) =>
      isRecord(c) && typeof c.finish_reason === 'string' && c.finish_reason !== '' && isRecord(c.message),
  );
}

function isEmbeddingsList(body: unknown): boolean {
  return isRecord(body) && body.object === 'list' && Array.isArray(body.data) && body.data.length > 0;
}

/** The usage of an OpenAI body (`prompt_tokens`, ...), in the engine's shape; null when absent. */
export function usageOf(body: unknown): Usage | null {
  if (!isRecord(body) || !isRecord(body.usage)) return null;
  const { prompt_tokens: prompt, completion_tokens: completion, total_tokens: total } = body.usage;
  if (typeof prompt !== 'number' || typeof total !== 'number') return null;
  const completionTokens = typeof completion === 'number' ? completion : Math.max(0, total - prompt);
  return { promptTokens: prompt, completionTokens, totalTokens: total };
}

/**
 * The cache entry for an upstream answer, or null when the answer must not be stored.
 *
 * @example
 * const answer = toCachedAnswer(body, 'fast', clock.now());
 * if (answer !== null && directives.write) await store.set(key, answer, cache.ttlMs, clock.now());
 */
export function toCachedAnswer(body: unknown, target: string, now: number): CachedAnswer | null {
  if (!isCompleteChatCompletion(body) && !isEmbeddingsList(body)) return null;
  const model = isRecord(body) && typeof body.model === 'string' ? body.model : '';
  return { body, model, usage: usageOf(body), storedAt: now, target };
}

/**
 * A copy of JSON data (what `JSON.parse` makes: plain objects, arrays, primitives), faster than a
 * parse of its text: a hit served from a shared, frozen entry gets one to own.
 */
export function copyJson<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    const out: unknown[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) out[i] = copyJson(value[i]);
    return out as T;
  }
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = copyJson((value as Record<string, unknown>)[key]);
  return out as T;
}

/** Freezes JSON data in place, every object and array reachable from it; returns it. */
export function freezeJson<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  Object.freeze(value);
  if (Array.isArray(value)) for (const item of value) freezeJson(item);
  else for (const key of Object.keys(value)) freezeJson((value as Record<string, unknown>)[key]);
  return value;
}
