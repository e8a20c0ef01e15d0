/**
 * The state behind limits, budgets and caches, owned by one engine and kept across policy
 * reloads. Created lazily, the first time a rule needs them; closed by `engine.close()`.
 *
 * - Limits and budget counters in memory share one `MemoryStore`: every counter key starts with
 *   its rule's definition fingerprint (`rl:<fp>:`, `budget:<fp>:`), so an unchanged rule finds its
 *   state after a reload, a changed one starts afresh, and the old keys age out of the LRU.
 * - Each memory cache has its own bounded `MemoryCacheStore`, keyed by the cache's definition
 *   fingerprint; a reload drops the stores no cache of the new version uses. A semantic cache's
 *   `SemanticIndex` is kept the same way (its fingerprint adds the embedding model's name and
 *   dimensions; the model's upstream identity is part of every partition key, see stages/cache.ts).
 * - Redis: one `RedisStore` (limits and budgets) and one `RedisCacheStore` per URL, so a reload
 *   that keeps `stores.redis.url` keeps the connections. The limiter store is wrapped once per
 *   `onStoreError` mode (`ResilientStore`); budgets fail open (a Redis outage never blocks
 *   traffic on spend it cannot read).
 */
import { createHash } from 'node:crypto';
import type { CompiledCache } from '../cache/compile.js';
import { MemoryCacheStore } from '../cache/memory-store.js';
import { RedisCacheStore } from '../cache/redis-store.js';
import { SemanticIndex } from '../cache/semantic-index.js';
import type { CacheStore } from '../cache/store.js';
import type { CompiledLimit } from '../limits/limiter.js';
import { MemoryStore } from '../limits/memory-store.js';
import { RedisStore } from '../limits/redis-store.js';
import { type OnStoreError, ResilientStore } from '../limits/resilient-store.js';
import type { CounterStore, LimiterStore } from '../limits/store.js';
import type { Clock } from '../shared/clock.js';

/** A failing (or recovering) shared store, for logs and metrics. */
export interface StoreEvent {
  /** `error` for a failed operation, `recovered` for the first success after failures. */
  readonly kind: 'error' | 'recovered';
  readonly store: 'limits' | 'budgets' | 'cache';
  /** The Redis URL with any password masked. */
  readonly url: string;
  /** The operation that failed (absent for `recovered`). */
  readonly op?: string;
  /** What the rule did instead: a limit's `onStoreError`; budgets `open`; caches `miss`. */
  readonly mode?: OnStoreError | 'miss';
  readonly error?: unknown;
}

export interface TrafficStoresOptions {
  readonly clock: Clock;
  readonly onStoreEvent?: (event: StoreEvent) => void;
}

interface RedisBackends {
  readonly limits: RedisStore;
  /** One wrapper per user and mode: `limits:open`, `limits:closed`, `budgets:open`. */
  readonly wrappers: Map<string, ResilientStore>;
  cache: RedisCacheStore | null;
}

/** `redis://user:secret@host` → `redis://user:***@host`: URLs reach logs, secrets must not. */
export function maskUrl(url: string): string {
  return url.replace(/^(rediss?:\/\/[^:/@]*:)[^@]*@/, '$1***@');
}

/** Fingerprints by compiled cache (frozen, compiled once): `cacheStore` runs on every request. */
const fingerprints = new WeakMap<CompiledCache, string>();

function cacheFingerprint(cache: CompiledCache): string {
  let fp = fingerprints.get(cache);
  if (fp === undefined) {
    fp = computeCacheFingerprint(cache);
    fingerprints.set(cache, fp);
  }
  return fp;
}

function computeCacheFingerprint(cache: CompiledCache): string {
  return createHash('sha256')
    .update(
      JSON.stringify([
        'cache/v1',
        cache.name,
        cache.fields,
        cache.shared,
        cache.maxEntries,
        cache.maxSizeBytes,
      ]),
    )
    .digest('hex')
    .slice(0, 16);
}

/** `stores.redis.commandTimeout` when the policy does not say. */
const DEFAULT_COMMAND_TIMEOUT_MS = 100;

/** Semantic index fingerprints by compiled cache, memoised like `cacheFingerprint`. */
const semanticFingerprints = new WeakMap<CompiledCache, string>();

function semanticFingerprint(cache: CompiledCache): string {
  let fp = semanticFingerprints.get(cache);
  if (fp === undefined) {
    fp = createHash('sha256')
      .update(
        JSON.stringify([
          'semantic/v1',
          cache.name,
          cache.fields,
          cache.semantic?.embedding ?? null,
          cache.semantic?.dimensions ?? null,
          cache.maxEntries,
          cache.maxSizeBytes,
        ]),
      )
      .digest('hex');
    semanticFingerprints.set(cache, fp);
  }
  return fp;
}

export class TrafficStores {
  readonly #clock: Clock;
  readonly #onEvent: (event: StoreEvent) => void;
  #memory: MemoryStore | null = null;
  readonly #memoryCaches = new Map<string, MemoryCacheStore>();
  readonly #semanticIndexes = new Map<string, SemanticIndex>();
  readonly #redis = new Map<string, RedisBackends>();
  /** The Redis URLs of the serving policy version (what `/readyz` checks). */
  #redisInUse = new Set<string>();
  /** `stores.redis.commandTimeout` of the version that last connected each URL. */
  readonly #commandTimeouts = new Map<string, number>();
  #closed = false;

  constructor(options: TrafficStoresOptions) {
    this.#clock = options.clock;
    const hook = options.onStoreEvent;
    this.#onEvent = (event) => {
      try {
        hook?.(event);
      } catch {
        // Hooks are for logs and metrics; they never change a decision.
      }
    };
  }

  /** The in-process limiter and counter store. */
  get memory(): MemoryStore {
    this.#memory ??= new MemoryStore();
    return this.#memory;
  }

  limiterStore(limit: CompiledLimit, redisUrl: string | null): LimiterStore {
    if (limit.store !== 'redis') return this.memory;
    return this.#resilient(redisUrl, limit.onStoreError);
  }

  counterStore(store: 'memory' | 'redis', redisUrl: string | null): CounterStore {
    if (store !== 'redis') return this.memory;
    return this.#resilient(redisUrl, 'open', 'budgets');
  }

  cacheStore(cache: CompiledCache, redisUrl: string | null): CacheStore {
    if (cache.store === 'redis') {
      const backends = this.#backends(redisUrl);
      if (backends.cache === null) {
        const url = maskUrl(requireUrl(redisUrl));
        backends.cache = new RedisCacheStore({
          client: backends.limits.client,
          onError: (e) =>
            this.#onEvent({ kind: 'error', store: 'cache', url, op: e.op, mode: 'miss', error: e.error }),
        });
      }
      return backends.cache;
    }
    const fp = cacheFingerprint(cache);
    let store = this.#memoryCaches.get(fp);
    if (store === undefined) {
      store = new MemoryCacheStore({ maxEntries: cache.maxEntries, maxSizeBytes: cache.maxSizeBytes });
      this.#memoryCaches.set(fp, store);
    }
    return store;
  }

  /** A semantic cache's vector index (always in memory, one per replica). */
  semanticIndex(cache: CompiledCache): SemanticIndex {
    const fp = semanticFingerprint(cache);
    let index = this.#semanticIndexes.get(fp);
    if (index === undefined) {
      index = new SemanticIndex({ maxEntries: cache.maxEntries, maxSizeBytes: cache.maxSizeBytes });
      this.#semanticIndexes.set(fp, index);
    }
    return index;
  }

  /**
   * Opens the Redis connection of `url` now (it is then ready by the first request, usually),
   * bounding each of its commands by `commandTimeoutMs`. A connection already open takes the new
   * bound at once: ioredis reads `options.commandTimeout` as each command is sent.
   */
  connect(url: string, commandTimeoutMs = DEFAULT_COMMAND_TIMEOUT_MS): void {
    this.#commandTimeouts.set(url, commandTimeoutMs);
    const client = this.#backends(url).limits.client;
    client.options.commandTimeout = commandTimeoutMs;
  }

  /** After a reload: frees the memory caches no cache of the serving version uses. */
  retainCaches(caches: Iterable<CompiledCache>): void {
    const keep = new Set<string>();
    const keepSemantic = new Set<string>();
    for (const cache of caches) {
      if (cache.mode === 'semantic') keepSemantic.add(semanticFingerprint(cache));
      else if (cache.store !== 'redis') keep.add(cacheFingerprint(cache));
    }
    for (const [fp, store] of this.#memoryCaches) {
      if (keep.has(fp)) continue;
      this.#memoryCaches.delete(fp);
      void store.close();
    }
    for (const [fp, index] of this.#semanticIndexes) {
      if (keepSemantic.has(fp)) continue;
      this.#semanticIndexes.delete(fp);
      index.clear();
    }
  }

  /**
   * After a reload: the Redis URLs the serving version uses. A connection neither it nor the
   * version before it uses is closed now; one only the previous version used is kept until the
   * next reload, so requests still running on that version keep their store.
   */
  retainRedis(urls: Iterable<string>): void {
    const next = new Set(urls);
    for (const [url, backends] of this.#redis) {
      if (next.has(url) || this.#redisInUse.has(url)) continue;
      this.#redis.delete(url);
      this.#commandTimeouts.delete(url);
      // The cache store borrows the limits client; closing the owner closes the connection.
      void backends.limits.close().catch(() => undefined);
    }
    this.#redisInUse = next;
  }

  /**
   * Whether the Redis connections the serving version uses are ready (for `/readyz`); true when
   * it uses none. Connections kept only for the previous version do not count.
   */
  redisReady(): boolean {
    for (const url of this.#redisInUse) {
      const backends = this.#redis.get(url);
      if (backends !== undefined && backends.limits.client.status !== 'ready') return false;
    }
    return true;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const closing: Promise<void>[] = [];
    if (this.#memory !== null) closing.push(this.#memory.close());
    for (const store of this.#memoryCaches.values()) closing.push(store.close());
    // The cache store borrows the limits client; closing the owner closes the connection.
    for (const backends of this.#redis.values()) closing.push(backends.limits.close());
    this.#memoryCaches.clear();
    for (const index of this.#semanticIndexes.values()) index.clear();
    this.#semanticIndexes.clear();
    this.#redis.clear();
    await Promise.allSettled(closing);
  }

  #backends(redisUrl: string | null): RedisBackends {
    const url = requireUrl(redisUrl);
    let backends = this.#redis.get(url);
    if (backends === undefined) {
      const masked = maskUrl(url);
      const limits = new RedisStore({
        url,
        commandTimeoutMs: this.#commandTimeouts.get(url) ?? DEFAULT_COMMAND_TIMEOUT_MS,
        onConnectionError: (error) =>
          this.#onEvent({ kind: 'error', store: 'limits', url: masked, op: 'connect', error }),
      });
      backends = { limits, wrappers: new Map(), cache: null };
      this.#redis.set(url, backends);
    }
    return backends;
  }

  #resilient(
    redisUrl: string | null,
    mode: OnStoreError,
    store: 'limits' | 'budgets' = 'limits',
  ): ResilientStore {
    const backends = this.#backends(redisUrl);
    let wrapper = backends.wrappers.get(`${store}:${mode}`);
    if (wrapper === undefined) {
      const url = maskUrl(requireUrl(redisUrl));
      wrapper = new ResilientStore(backends.limits, {
        onStoreError: mode,
        // The client bounds each command itself (commandTimeout), so no second timer per call;
        // its failures arrive here as errors. Timers on the engine's Clock would never fire on a
        // virtual clock anyway.
        timeoutMs: 0,
        clock: this.#clock,
        onError: (e) => this.#onEvent({ kind: 'error', store, url, op: e.op, mode: e.mode, error: e.error }),
        onRecover: () => this.#onEvent({ kind: 'recovered', store, url }),
      });
      backends.wrappers.set(`${store}:${mode}`, wrapper);
    }
    return wrapper;
  }
}

function requireUrl(url: string | null): string {
  // Validation refuses `store: redis` without `stores.redis` (REF_UNKNOWN_STORE).
  if (url === null)
    throw new Error('internal: a rule uses store: redis but the policy declares no stores.redis');
  return url;
}
