/**
 * Regressions from the runtime review: single-flight waiters bounded by their own deadline and
 * released when the leader's stream is dropped unread, reserved tokens refunded when a waiter
 * aborts, JSON accounting off the answer's path, caches and Redis connections of a replaced
 * policy let go.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { redisAvailable } from '../../support/redis.js';
import { useRedis } from '../../support/use-redis.js';
import { within } from '../../support/wait.js';
import {
  asJson,
  asStream,
  closeEngines,
  compileYaml,
  harness,
  request,
  settle,
  trafficYaml,
} from './helpers.js';

const redis = useRedis();
afterEach(closeEngines);

function cached(extraRoute = '', sections = '') {
  return {
    sections: `caches:\n  answers: { mode: exact, ttl: 1h, key: [model, messages] }\n${sections}`,
    routes: `
  - name: main
    targets: [primary]
    cache: answers${extraRoute}`,
  };
}

describe('single flight and unread streams', () => {
  it('a waiter whose leader streams but is never read gives up at its own route deadline', async () => {
    const h = harness(cached('\n    timeout: { total: 300ms }'));
    const leader = asStream(await h.engine.handle(request({ stream: true })));
    expect(leader.status).toBe(200);
    const started = Date.now();
    const waiter = await within(h.engine.handle(request({ stream: true })), 3000);
    expect(waiter).not.toBe('pending');
    if (waiter === 'pending') return;
    expect(waiter.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(h.calls).toEqual([]); // the leader's attempt is not recorded until its stream ends
  });

  it('return() on the leader’s events before reading resolves done and frees the waiters', async () => {
    const h = harness(cached());
    const leader = asStream(await h.engine.handle(request({ stream: true })));
    const waiter = h.engine.handle(request({ stream: true }));
    await new Promise((resolve) => setTimeout(resolve, 10));
    await leader.events[Symbol.asyncIterator]().return?.();
    const meta = await within(leader.done, 1000);
    expect(meta).not.toBe('pending');
    const answered = await within(waiter, 1000);
    expect(answered).not.toBe('pending');
    if (answered === 'pending') return;
    expect(answered.status).toBe(200);
  });
});

describe('token reservations', () => {
  it('are refunded when a single-flight waiter aborts', async () => {
    const h = harness(cached('\n    limits: [tpm]', 'limits:\n  tpm: { key: [tenant], tokens: 1000/day }\n'));
    // The leader's stream stays unread: its own reservation stays until it ends.
    const leader = asStream(await h.engine.handle(request({ stream: true, maxTokens: 200 })));
    const remainingAfterLeader = Number(leader.headers['x-ratelimit-remaining-tokens']);
    const estimate = 1000 - remainingAfterLeader;
    expect(estimate).toBeGreaterThan(0);

    const controller = new AbortController();
    const waiter = h.engine.handle(request({ stream: true, maxTokens: 200, signal: controller.signal }));
    await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort(new Error('client went away'));
    const aborted = await within(waiter, 1000);
    expect(aborted).not.toBe('pending');
    await settle();

    // Same size, different question (not joined to the flight): only the leader's reservation
    // and its own are counted, not the aborted waiter's. (1000/day refills about one token a
    // minute and a half, so a slow machine sees no refill between the reservations counted here.)
    const third = asJson(await h.engine.handle(request({ content: 'Say hallo.', maxTokens: 200 })));
    expect(third.status).toBe(200);
    expect(Number(third.headers['x-ratelimit-remaining-tokens'])).toBe(1000 - 2 * estimate);
    await leader.events[Symbol.asyncIterator]().return?.();
  });
});

describe('accounting and reloads', () => {
  it('a JSON answer is still stored once its background accounting settles', async () => {
    const h = harness(cached());
    const miss = asJson(await h.engine.handle(request()));
    expect(miss.headers['x-switchyard-cache']).toBe('miss');
    await settle();
    expect(asJson(await h.engine.handle(request())).headers['x-switchyard-cache']).toBe('hit');
  });

  it('a reload to a policy without traffic rules drops the old memory caches', async () => {
    const withCache = compileYaml(trafficYaml({ ...cached(), version: '1' }));
    const plain = compileYaml(
      trafficYaml({
        version: '2',
        routes: `
  - name: main
    targets: [primary]`,
      }),
    );
    const h = harness(trafficYaml({ ...cached(), version: '1' }));
    asJson(await h.engine.handle(request()));
    await settle();
    expect(asJson(await h.engine.handle(request())).headers['x-switchyard-cache']).toBe('hit');
    expect(h.engine.swap(plain).changed).toBe(true);
    expect(h.engine.swap(withCache).changed).toBe(true);
    // The cache's state did not survive a version that had no cache at all.
    expect(asJson(await h.engine.handle(request())).headers['x-switchyard-cache']).toBe('miss');
  });

  it('readiness checks only the Redis the serving policy uses', async () => {
    const deadRedis = `stores:\n  redis: { url: "redis://127.0.0.1:1" }\nlimits:\n  rpm: { key: [tenant], requests: 100/min, store: redis, onStoreError: open }\n`;
    const h = harness({
      version: '1',
      sections: deadRedis,
      routes: `
  - name: main
    targets: [primary]
    limits: [rpm]`,
    });
    expect(h.engine.storesReady()).toBe(false);
    const memoryOnly = compileYaml(
      trafficYaml({
        version: '2',
        sections: 'limits:\n  rpm: { key: [tenant], requests: 100/min }\n',
        routes: `
  - name: main
    targets: [primary]
    limits: [rpm]`,
      }),
    );
    h.engine.swap(memoryOnly);
    expect(h.engine.storesReady()).toBe(true);
  });
});

describe.skipIf(!redisAvailable)('JSON accounting on Redis', () => {
  it('the answer does not wait for the cache write round trip', async () => {
    const h = harness({
      sections: `stores:\n  redis: { url: "${redis().url}" }\ncaches:\n  answers: { mode: exact, ttl: 1h, store: redis }\n`,
      routes: `
  - name: main
    targets: [primary]
    cache: answers`,
    });
    for (let i = 0; i < 100 && !h.engine.storesReady(); i++) await new Promise((r) => setTimeout(r, 20));
    expect(h.engine.storesReady()).toBe(true);
    const miss = asJson(await h.engine.handle(request({ content: 'Background accounting?' })));
    expect(miss.headers['x-switchyard-cache']).toBe('miss');
    // The Redis SET is still in flight when the caller gets its answer.
    expect(h.caches.map((e) => e.outcome)).toEqual(['miss']);
    for (let i = 0; i < 100 && h.caches.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(h.caches.map((e) => e.outcome)).toEqual(['miss', 'stored']);
    const hit = asJson(await h.engine.handle(request({ content: 'Background accounting?' })));
    expect(hit.headers['x-switchyard-cache']).toBe('hit');
  });
});
