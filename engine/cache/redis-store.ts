/**
 * The Redis cache store, shared by replicas. An entry is one string key
 * (`switchyard:cache:<sha256 of the cache key>`, keys.ts `hashCacheKey`; the same in every
 * version, so replicas of older and newer versions share entries) holding the JSON envelope `{ v, expiresAt, answer }`, written with
 * `SET ... PX ttl` so Redis reclaims it; reads also check `expiresAt` against the caller's `now`,
 * because Redis expires on its own wall clock and the engine may run on virtual time (replay) or on
 * a replica whose clock differs.
 *
 * The cache is an optimisation, so Redis trouble never fails a request: every error (connection
 * refused, timeout, a corrupt or foreign value) is a miss or a skipped write, reported to
 * `onError`. The offline queue is off, so a command fails at once while Redis is unreachable
 * instead of queueing behind a request; ioredis reconnects in the background.
 */
import type { Redis } from 'ioredis';
import {
  closeOwnedClient,
  quietHook,
  redisClass,
  type StoreClientOptions,
  storeClient,
} from '../shared/redis.js';
import { hashCacheKey } from './keys.js';
import {
  type CachedAnswer,
  type CacheStore,
  type CacheStoreErrorHandler,
  decodeEnvelope,
  encodeEnvelope,
  isStorableTtl,
} from './store.js';

export const REDIS_CACHE_PREFIX = 'switchyard:cache:';

export interface RedisCacheStoreOptions extends StoreClientOptions {
  /**
   * An existing client (not closed by `close()`, and its 'error' events are its owner's). It should
   * have `enableOfflineQueue: false`, or a request may wait for a reconnect.
   */
  readonly client?: Redis;
  /** Key prefix; default `switchyard:cache:`. */
  readonly prefix?: string;
  /** Largest serialised entry stored, in bytes; default 1 MiB. A larger answer is not cached. */
  readonly maxValueBytes?: number;
  /** Longest a command may take before it counts as failed (a miss); default 250 ms. */
  readonly commandTimeoutMs?: number;
  /** Told about every backend failure; must not throw. */
  readonly onError?: CacheStoreErrorHandler;
}

export class RedisCacheStore implements CacheStore {
  readonly #client: Redis;
  readonly #owned: boolean;
  readonly #prefix: string;
  readonly #maxValueBytes: number;
  readonly #onError: CacheStoreErrorHandler;

  constructor(options: RedisCacheStoreOptions) {
    this.#prefix = options.prefix ?? REDIS_CACHE_PREFIX;
    this.#maxValueBytes = options.maxValueBytes ?? 1024 * 1024;
    // A faulty hook must not turn a cache miss into a failed request.
    this.#onError = quietHook(options.onError);
    const { client, owned } = storeClient(
      options,
      'RedisCacheStore',
      (url) =>
        new (redisClass())(url, {
          enableOfflineQueue: false,
          commandTimeout: options.commandTimeoutMs ?? 250,
          maxRetriesPerRequest: 0,
        }),
    );
    this.#client = client;
    this.#owned = owned;
    if (owned) {
      // Without a listener, ioredis reports connection errors as unhandled 'error' events. A
      // client passed in is its owner's to listen to (one listener per store would pile up).
      this.#client.on('error', (error: unknown) => this.#onError({ op: 'connect', error }));
    }
  }

  /** True when commands can be sent (connected and ready). */
  get connected(): boolean {
    return this.#client.status === 'ready';
  }

  async get(key: string, now: number): Promise<CachedAnswer | undefined> {
    const hashed = hashCacheKey(key);
    let text: string | null;
    try {
      text = await this.#client.get(this.#prefix + hashed);
    } catch (error) {
      this.#onError({ op: 'get', key: hashed, error });
      return undefined;
    }
    if (text === null) return undefined;
    return decodeEnvelope(text, now);
  }

  async set(key: string, value: CachedAnswer, ttlMs: number, now: number): Promise<boolean> {
    if (!isStorableTtl(ttlMs)) {
      await this.delete(key);
      return false;
    }
    const hashed = hashCacheKey(key);
    let text: string;
    try {
      text = encodeEnvelope(value, now + ttlMs);
    } catch (error) {
      // A body JSON cannot carry (a cycle, a BigInt) is not cacheable.
      this.#onError({ op: 'set', key: hashed, error });
      return false;
    }
    if (Buffer.byteLength(text) > this.#maxValueBytes) {
      await this.delete(key);
      return false;
    }
    try {
      await this.#client.set(this.#prefix + hashed, text, 'PX', Math.max(1, Math.ceil(ttlMs)));
      return true;
    } catch (error) {
      // Redis is down or slow: nothing was stored, and nothing is counted as stored.
      this.#onError({ op: 'set', key: hashed, error });
      return false;
    }
  }

  async delete(key: string): Promise<void> {
    const hashed = hashCacheKey(key);
    try {
      await this.#client.del(this.#prefix + hashed);
    } catch (error) {
      this.#onError({ op: 'delete', key: hashed, error });
    }
  }

  async close(): Promise<void> {
    if (this.#owned) await closeOwnedClient(this.#client);
  }
}

/**
 * @example
 * const store = createRedisCacheStore({ url: 'redis://127.0.0.1:6379/0', onError: (e) => log.warn(e) });
 * const hit = await store.get(key, clock.now()); // undefined on a miss *or* when Redis is down
 */
export function createRedisCacheStore(options: RedisCacheStoreOptions): RedisCacheStore {
  return new RedisCacheStore(options);
}
