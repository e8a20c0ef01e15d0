/**
 * The Redis store against a real, throwaway redis-server (test/support/redis.ts): the shared
 * conformance suite, then what only Redis has (expiry, NOSCRIPT, the store going away).
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rateToParams } from '../../../engine/limits/gcra.js';
import { RedisStore } from '../../../engine/limits/redis-store.js';
import { ResilientStore, type StoreErrorEvent } from '../../../engine/limits/resilient-store.js';
import { type RedisServer, redisSkipReason, startRedis } from '../../support/redis.js';
import { describeLimiterStore } from './store-suite.js';

const server: RedisServer | null = await startRedis();
const skipReason = server === null ? redisSkipReason : null;

async function connected(options: { prefix?: string; ttlSlackMs?: number } = {}): Promise<RedisStore> {
  if (server === null) throw new Error(redisSkipReason);
  const store = new RedisStore({ url: server.url, ...options });
  await store.ready();
  return store;
}

afterAll(async () => {
  await server?.stop();
});

describeLimiterStore('RedisStore', () => connected({ prefix: 'suite:' }), { skipReason });
describeLimiterStore(
  'ResilientStore(RedisStore)',
  async () =>
    new ResilientStore(await connected({ prefix: 'suite-r:' }), { onStoreError: 'closed', timeoutMs: 2_000 }),
  { skipReason },
);

const p = (() => {
  const r = rateToParams({ amount: 1, perMs: 50 }, 2); // 50 ms per unit, capacity 2
  if (!r.ok) throw new Error(r.error);
  return r.value;
})();

describe.skipIf(server === null)('RedisStore specifics', () => {
  let store: RedisStore;
  let admin: Redis;

  beforeAll(async () => {
    store = await connected({ prefix: 'spec:', ttlSlackMs: 0 });
    admin = new Redis(server?.url ?? '');
  });
  afterAll(async () => {
    await store.close();
    await store.close(); // idempotent
    admin.disconnect();
  });

  it('stores one string key with a PX expiry of the time until empty (+ slack), then it vanishes', async () => {
    const now = Date.now();
    await store.acquire('ttl', p, 2, now);
    const pttl = await admin.pttl('spec:ttl');
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(101);
    expect(await admin.get('spec:ttl')).toMatch(/^\d+:\d+$/);
    await new Promise((r) => setTimeout(r, 250));
    expect(await admin.exists('spec:ttl')).toBe(0);
  });

  it('deletes the key when a refund empties the bucket', async () => {
    await store.acquire('empty', p, 1, 1_000);
    await store.adjust('empty', p, -1, 1_000);
    expect(await admin.exists('spec:empty')).toBe(0);
  });

  it('expires budget counters with their ttl', async () => {
    expect(await store.add('budget', 3, 0, 5_000)).toBe(3);
    const pttl = await admin.pttl('spec:budget@0');
    expect(pttl).toBeGreaterThan(4_000);
  });

  it('re-sends the script with EVAL after SCRIPT FLUSH (NOSCRIPT)', async () => {
    await store.acquire('noscript', p, 1, 1_000);
    await admin.script('FLUSH');
    expect(await store.acquire('noscript', p, 1, 1_000)).toMatchObject({ allowed: true, remaining: 0 });
    await admin.script('FLUSH');
    expect(await store.add('noscript-counter', 2, 0, 1_000)).toBe(2);
  });
});

describe.skipIf(server === null)('ResilientStore over Redis going away and coming back', () => {
  it('open admits, closed refuses, onError fires, and both recover after a restart', async () => {
    if (server === null) return;
    const inner = await connected({ prefix: 'outage:' });
    const events: StoreErrorEvent[] = [];
    let recovered = 0;
    const hooks = { onError: (e: StoreErrorEvent) => events.push(e), onRecover: () => recovered++ };
    const open = new ResilientStore(inner, { onStoreError: 'open', timeoutMs: 500, ...hooks });
    const closed = new ResilientStore(inner, { onStoreError: 'closed', timeoutMs: 500, ...hooks });
    try {
      expect((await open.acquire('k', p, 1, 1_000)).degraded).toBeUndefined();

      await server.stop();
      const a = await open.acquire('k', p, 1, 1_000);
      expect(a).toMatchObject({ allowed: true, degraded: 'open' });
      const b = await closed.acquire('k', p, 1, 1_000);
      expect(b).toMatchObject({ allowed: false, degraded: 'closed', retryAfterMs: 1_000 });
      expect(await open.get('budget', 0)).toBe(0);
      expect(await closed.get('budget', 0)).toBe(Number.POSITIVE_INFINITY);
      await open.adjust('k', p, 5, 1_000); // dropped, reported
      expect(events.length).toBeGreaterThanOrEqual(5);
      expect(events.map((e) => e.op)).toEqual(expect.arrayContaining(['acquire', 'get', 'adjust']));
      expect(events.map((e) => e.mode)).toEqual(expect.arrayContaining(['open', 'closed']));
      expect(open.failing).toBe(true);

      await server.start();
      // ioredis reconnects in the background; poll on real time until it is back.
      const deadline = Date.now() + 10_000;
      let back = await open.acquire('k2', p, 1, 2_000);
      while (back.degraded !== undefined && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        back = await open.acquire('k2', p, 1, 2_000);
      }
      expect(back).toMatchObject({ allowed: true, remaining: 1 });
      expect(back.degraded).toBeUndefined();
      expect(open.failing).toBe(false);
      expect(recovered).toBeGreaterThanOrEqual(1);
      // The restarted server has no scripts cached: the NOSCRIPT fallback re-sent it.
      expect(await closed.acquire('k2', p, 1, 2_000)).toMatchObject({ allowed: true, remaining: 0 });
      expect((await closed.acquire('k2', p, 1, 2_000)).degraded).toBeUndefined();
    } finally {
      await inner.close();
    }
  });
});
