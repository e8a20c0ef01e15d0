/**
 * The Redis cache store against a real redis-server (started on a free port by test/support).
 * Skipped, with the reason printed, when redis-server is not installed.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashCacheKey } from '../../../engine/cache/keys.js';
import { RedisCacheStore } from '../../../engine/cache/redis-store.js';
import type { CacheStoreError } from '../../../engine/cache/store.js';
import { type RedisServer, redisAvailable, redisSkipReason, startRedis } from '../../support/redis.js';
import { until } from '../../support/wait.js';
import { makeAnswer } from './helpers.js';
import { describeCacheStore } from './store-suite.js';

if (!redisAvailable) console.warn(redisSkipReason);

let server: RedisServer | null = null;
let namespace = 0;

/** A store on its own key prefix, connected. */
async function connectedStore(
  options: { maxValueBytes?: number; onError?: (e: CacheStoreError) => void } = {},
): Promise<RedisCacheStore> {
  if (server === null) throw new Error('redis not started');
  const store = new RedisCacheStore({
    url: server.url,
    prefix: `switchyard:cache:test${namespace++}:`,
    maxValueBytes: options.maxValueBytes,
    onError: options.onError,
  });
  await until(() => store.connected, 5_000);
  return store;
}

describe.skipIf(!redisAvailable)(
  `redis cache store${redisAvailable ? '' : ` (skipped: ${redisSkipReason})`}`,
  () => {
    beforeAll(async () => {
      server = await startRedis();
    });
    afterAll(async () => {
      await server?.stop();
    });

    describeCacheStore('redis', {
      make: (bounds) => connectedStore({ maxValueBytes: bounds?.maxValueBytes }),
      lruBounds: { skip: 'Redis bounds memory with its own maxmemory policy, not per cache' },
    });

    describe('RedisCacheStore', () => {
      /**
       * Stores an entry `name` (TTL 60 s), finds its one Redis key with a client of its own, and
       * runs `body` on them; the store and the client are closed after.
       */
      async function withEntry(
        name: string,
        body: (store: RedisCacheStore, inspect: Redis, key: string) => Promise<void>,
      ): Promise<void> {
        const store = await connectedStore();
        const inspect = new Redis(server?.url ?? '');
        try {
          await store.set(name, makeAnswer(), 60_000, 0);
          // The Redis key is the sha256 of the cache key, never the key's text.
          const keys = await inspect.keys(`switchyard:cache:*:${hashCacheKey(name)}`);
          expect(keys).toHaveLength(1);
          await body(store, inspect, keys[0]);
        } finally {
          inspect.disconnect();
          await store.close();
        }
      }

      it('writes under switchyard:cache: with a PX expiry', async () => {
        await withEntry('px-entry', async (_store, inspect, key) => {
          const pttl = await inspect.pttl(key);
          expect(pttl).toBeGreaterThan(0);
          expect(pttl).toBeLessThanOrEqual(60_000);
        });
      });

      it('reads a foreign or corrupt value as a miss', async () => {
        await withEntry('foreign-entry', async (store, inspect, key) => {
          for (const junk of [
            'not json',
            '{"v":2,"expiresAt":1e15,"answer":{}}',
            '{"v":1,"expiresAt":1e15}',
          ]) {
            await inspect.set(key, junk);
            expect(await store.get('foreign-entry', 0)).toBeUndefined();
          }
        });
      });

      it('treats Redis down as a miss and a skipped write, reports it, and recovers', async () => {
        const errors: CacheStoreError[] = [];
        const store = await connectedStore({ onError: (e) => errors.push(e) });
        try {
          await expect(store.set('k', makeAnswer(), 60_000, 0)).resolves.toBe(true);
          await server?.stop();
          await until(() => !store.connected, 5_000);
          await expect(store.get('k', 0)).resolves.toBeUndefined();
          // Nothing is stored, and the store says so (the cache counts no `stored` while Redis is down).
          await expect(store.set('k2', makeAnswer(), 60_000, 0)).resolves.toBe(false);
          await expect(store.delete('k')).resolves.toBeUndefined();
          expect(errors.map((e) => e.op)).toEqual(expect.arrayContaining(['get', 'set', 'delete']));
          await server?.start();
          await until(() => store.connected, 10_000);
          await expect(store.set('k3', makeAnswer('back'), 60_000, 0)).resolves.toBe(true);
          expect(await store.get('k3', 0)).toEqual(makeAnswer('back'));
        } finally {
          await store.close();
        }
      });

      it('a throwing onError hook never reaches the caller', async () => {
        const store = await connectedStore({
          onError: () => {
            throw new Error('bad hook');
          },
        });
        await server?.stop();
        try {
          await until(() => !store.connected, 5_000);
          await expect(store.get('k', 0)).resolves.toBeUndefined();
        } finally {
          await server?.start();
          await store.close();
        }
      });
    });
  },
);
