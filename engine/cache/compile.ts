/**
 * Compiles one `caches.<name>` entry of the policy, once: the ttl and size parsed, the `when`
 * compiled, the key function built. The compiled cache is frozen and holds no state; the store
 * behind it (which should survive a reload when the definition is unchanged) is the engine's.
 */
import { compileWhen, type Predicate } from '../match/match.js';
import type { Cache, StoreRef, When } from '../policy/types.generated.js';
import { parseDuration, parseSize } from '../shared/units.js';
import type { RequestContext } from '../types.js';
import {
  type CacheDirectives,
  type CacheKeyFunction,
  cacheDirectives,
  compileCacheKey,
  keyFields,
  requestCacheKey,
} from './keys.js';

/** What only a semantic cache has. */
export interface SemanticSettings {
  /** The `models` entry that embeds prompts. */
  readonly embedding: string;
  /** The least cosine similarity served, in (0, 1]. */
  readonly threshold: number;
  /** The `dimensions` asked of the embedding model; null for its default. */
  readonly dimensions: number | null;
  readonly embeddingTimeoutMs: number;
}

export interface CompiledCache {
  readonly name: string;
  readonly mode: 'exact' | 'semantic';
  /** Set for `mode: semantic`; null for an exact cache. */
  readonly semantic: SemanticSettings | null;
  readonly ttlMs: number;
  /** The key fields in canonical order (tenant first unless shared; `*body` for the default). */
  readonly fields: readonly string[];
  readonly shared: boolean;
  readonly store: StoreRef;
  /** Memory store bounds; defaults 10 000 entries and 64 MiB. */
  readonly maxEntries: number;
  readonly maxSizeBytes: number;
  /** The cache's `when`: a request it does not match neither reads nor writes. */
  readonly applies: Predicate;
  readonly keyOf: CacheKeyFunction;
  /** The key a request reads and writes under (its idempotency key wins). */
  keyFor(ctx: RequestContext, route: string, directives?: CacheDirectives): string;
}

export type CompileCacheResult =
  | { readonly ok: true; readonly cache: CompiledCache }
  | {
      readonly ok: false;
      readonly field: 'ttl' | 'maxSize' | 'key' | 'embedding' | 'embeddingTimeout';
      readonly error: string;
    };

/**
 * Sampling parameters a cache's `when` may name bare, as docs/design.md's example does
 * (`when: { temperature: { lte: 0.2 } }`); they mean the `body.<field>` of the same name.
 */
const BODY_ALIASES: ReadonlySet<string> = new Set(['temperature', 'top_p', 'max_tokens']);

function aliasWhen(when: When): When {
  const out: When = {};
  for (const [key, value] of Object.entries(when)) {
    if (key === 'all' || key === 'any') out[key] = (value as When[]).map(aliasWhen) as [When, ...When[]];
    else if (key === 'not') out.not = aliasWhen(value as When);
    else out[BODY_ALIASES.has(key) ? `body.${key}` : key] = value;
  }
  return out;
}

const DEFAULT_MAX_ENTRIES = 10_000;
const DEFAULT_MAX_SIZE_BYTES = 64 * 1024 * 1024;
/** A semantic cache's defaults: a threshold strict enough to keep paraphrases only, a short embedding timeout. */
export const DEFAULT_SEMANTIC_THRESHOLD = 0.95;
export const DEFAULT_EMBEDDING_TIMEOUT_MS = 2_000;

function compileSemantic(
  spec: Cache,
):
  | { ok: true; value: SemanticSettings | null }
  | { ok: false; field: 'embedding' | 'embeddingTimeout'; error: string } {
  if (spec.mode !== 'semantic') return { ok: true, value: null };
  if (spec.embedding === undefined)
    return { ok: false, field: 'embedding', error: 'a semantic cache needs `embedding`' };
  let embeddingTimeoutMs = DEFAULT_EMBEDDING_TIMEOUT_MS;
  if (spec.embeddingTimeout !== undefined) {
    const t = parseDuration(spec.embeddingTimeout);
    if (!t.ok) return { ok: false, field: 'embeddingTimeout', error: t.error };
    embeddingTimeoutMs = t.value;
  }
  return {
    ok: true,
    value: Object.freeze({
      embedding: spec.embedding,
      threshold: spec.threshold ?? DEFAULT_SEMANTIC_THRESHOLD,
      dimensions: spec.dimensions ?? null,
      embeddingTimeoutMs,
    }),
  };
}

/**
 * @example
 * const r = compileCache('faq', { mode: 'exact', ttl: '24h', key: ['model', 'messages'] });
 * if (r.ok) store.get(r.cache.keyFor(ctx, 'chat'), clock.now());
 */
export function compileCache(name: string, spec: Cache): CompileCacheResult {
  const ttl = parseDuration(spec.ttl);
  if (!ttl.ok) return { ok: false, field: 'ttl', error: ttl.error };
  if (ttl.value <= 0) return { ok: false, field: 'ttl', error: 'ttl must be longer than 0ms' };
  let maxSizeBytes = DEFAULT_MAX_SIZE_BYTES;
  if (spec.maxSize !== undefined) {
    const size = parseSize(spec.maxSize);
    if (!size.ok) return { ok: false, field: 'maxSize', error: size.error };
    if (size.value <= 0) return { ok: false, field: 'maxSize', error: 'maxSize must be at least 1 byte' };
    maxSizeBytes = size.value;
  }
  const semantic = compileSemantic(spec);
  if (!semantic.ok) return semantic;
  const mode = spec.mode;
  // A semantic cache never crosses tenants (validation refuses `shared` there).
  const shared = mode === 'semantic' ? false : (spec.shared ?? false);
  let keyOf: CacheKeyFunction;
  let fields: readonly string[];
  try {
    fields = keyFields({ fields: spec.key, shared, mode });
    keyOf = compileCacheKey({ cache: name, fields: spec.key, shared, mode });
  } catch (error) {
    return { ok: false, field: 'key', error: error instanceof Error ? error.message : String(error) };
  }
  const cache: CompiledCache = {
    name,
    mode,
    semantic: semantic.value,
    ttlMs: ttl.value,
    fields,
    shared,
    store: spec.store ?? 'memory',
    maxEntries: spec.maxEntries ?? DEFAULT_MAX_ENTRIES,
    maxSizeBytes,
    applies: compileWhen(spec.when === undefined ? undefined : aliasWhen(spec.when)),
    keyOf,
    keyFor: (ctx, route, directives = cacheDirectives(ctx)) =>
      requestCacheKey(keyOf, name, ctx, route, directives),
  };
  return { ok: true, cache: Object.freeze(cache) };
}
