/**
 * Limits, budgets and caches on Redis (a throwaway `redis-server` from test/support/redis.ts),
 * through `engine.handle()`: state shared by two engines (two replicas), exact admission across
 * replicas under a concurrent burst, and `onStoreError: open | closed` while Redis is down, with
 * automatic recovery when it comes back. Skipped, with the reason printed, without redis-server.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { redisAvailable, redisSkipReason } from '../../support/redis.js';
import { useRedis } from '../../support/use-redis.js';
import { asJson, closeEngines, type Harness, harness, request, trafficYaml } from './helpers.js';

if (!redisAvailable) console.warn(redisSkipReason);

const server = useRedis();
afterEach(closeEngines);

/** A unique limit name per test: every test shares the one Redis. */
let seq = 0;

function redisPolicy(limit: string, extra = '') {
  const name = `l${++seq}`;
  return trafficYaml({
    sections: `stores:
  redis: { url: "${server().url}" }
limits:
  ${name}: { key: [tenant], ${limit}, store: redis }
caches:
  shared-answers: { mode: exact, ttl: 1h, store: redis }
${extra}`,
    routes: `
  - name: limited
    when: { header.x-route: limited }
    targets: [primary]
    limits: [${name}]
  - name: cached
    targets: [primary]
    cache: shared-answers`,
  });
}

const limited = (tenant: 'acme' | 'globex' = 'acme') =>
  request({ tenant, headers: { 'x-route': 'limited' } });

/**
 * The engine connects to Redis when a policy version that uses it is prepared; until the client is
 * ready, operations fail fast (no offline queue) and rules behave as `onStoreError` says. Tests
 * start from a live store.
 */
async function ready(h: Harness): Promise<void> {
  for (let i = 0; i < 300 && !h.engine.storesReady(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(h.engine.storesReady()).toBe(true);
}

async function statuses(h: Harness, n: number, tenant: 'acme' | 'globex' = 'acme'): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await h.engine.handle(limited(tenant))).status);
  return out;
}

describe.skipIf(!redisAvailable)('Redis stores', () => {
  it('share a limit and the cache between two engines (replicas)', async () => {
    const yaml = redisPolicy('requests: 3/min');
    const one = harness(yaml);
    const two = harness(yaml);
    await ready(one);
    await ready(two);
    expect(await statuses(one, 2)).toEqual([200, 200]);
    expect(await statuses(two, 2)).toEqual([200, 429]);
    expect(await statuses(one, 1)).toEqual([429]);

    const miss = asJson(await one.engine.handle(request({ content: 'Shared question' })));
    expect(miss.headers['x-switchyard-cache']).toBe('miss');
    const callsBefore = two.calls.length;
    const hit = asJson(await two.engine.handle(request({ content: 'Shared question' })));
    expect(hit.headers['x-switchyard-cache']).toBe('hit');
    expect(hit.body).toEqual(miss.body);
    expect(two.calls).toHaveLength(callsBefore);
  });

  it('admits exactly N in total across two replicas under a concurrent burst', async () => {
    const n = 25;
    const yaml = redisPolicy(`requests: ${n}/min`);
    const one = harness(yaml);
    const two = harness(yaml);
    await ready(one);
    await ready(two);
    const burst = await Promise.all(
      Array.from({ length: 120 }, (_, i) => (i % 2 === 0 ? one : two).engine.handle(limited())),
    );
    const admitted = burst.filter((r) => r.status === 200).length;
    console.info(`replica burst: ${admitted} of ${burst.length} admitted (limit ${n})`);
    expect(admitted).toBe(n);
    expect(burst.filter((r) => r.status === 429)).toHaveLength(120 - n);
  });

  it('onStoreError: open admits, closed refuses while Redis is down; both recover on their own', async () => {
    const open = harness(redisPolicy('requests: 2/min, onStoreError: open'));
    const closed = harness(redisPolicy('requests: 2/min, onStoreError: closed'));
    await ready(open);
    await ready(closed);
    expect(await statuses(open, 3)).toEqual([200, 200, 429]);
    expect(await statuses(closed, 3)).toEqual([200, 200, 429]);

    await server().stop();
    try {
      // Open: the limit is not enforced, every request is served and each failure is reported.
      expect(await statuses(open, 3)).toEqual([200, 200, 200]);
      expect(
        open.storeEvents.filter((e) => e.kind === 'error' && e.store === 'limits' && e.mode === 'open')
          .length,
      ).toBeGreaterThan(0);
      // Closed: refused with a Retry-After, never sent upstream.
      const refused = asJson(await closed.engine.handle(limited()));
      expect(refused.status).toBe(429);
      expect(refused.headers['retry-after']).toBe('1');
      expect(closed.limits.at(-1)).toMatchObject({ kind: 'rate_limited', degraded: true });
      expect(closed.storeEvents.some((e) => e.kind === 'error' && e.mode === 'closed')).toBe(true);
      // The cache is an optimisation: with Redis down it misses and the request is served.
      const cached = asJson(await open.engine.handle(request({ content: 'While down' })));
      expect(cached.status).toBe(200);
      expect(cached.headers['x-switchyard-cache']).toBe('miss');
      expect(open.storeEvents.some((e) => e.store === 'cache')).toBe(true);
    } finally {
      await server().start();
    }

    // ioredis reconnects in the background; the next operations use Redis again (it restarted
    // empty: the counters start afresh), and each wrapper reports its recovery once.
    for (let i = 0; i < 300 && !(open.engine.storesReady() && closed.engine.storesReady()); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(await statuses(closed, 3)).toEqual([200, 200, 429]);
    expect(await statuses(open, 3)).toEqual([200, 200, 429]);
    expect(closed.storeEvents.filter((e) => e.kind === 'recovered')).toHaveLength(1);
    expect(open.storeEvents.filter((e) => e.kind === 'recovered' && e.store === 'limits')).toHaveLength(1);
  });

  it('stores.redis.commandTimeout bounds each command: a Redis busy for 300 ms fails the 100 ms default, not a 2 s bound', async () => {
    const url = server().url;
    const quick = harness(redisPolicy('requests: 5/min, onStoreError: closed'));
    const patient = harness(
      redisPolicy('requests: 5/min, onStoreError: closed').replace(
        `redis: { url: "${url}" }`,
        `redis: { url: "${url}", commandTimeout: 2s }`,
      ),
    );
    await ready(quick);
    await ready(patient);
    const blocker = new Redis(url);
    try {
      await blocker.ping();
      // A script runs atomically: while it spins for 300 ms, every other command waits.
      const busyFor300ms = () =>
        blocker.eval(
          "local t = redis.call('TIME') local s = t[1] * 1000000 + t[2] repeat local n = redis.call('TIME') until n[1] * 1000000 + n[2] - s > 300000 return 1",
          0,
        );
      let busy = busyFor300ms();
      await new Promise((r) => setTimeout(r, 20));
      const refused = asJson(await quick.engine.handle(limited()));
      expect(refused.status).toBe(429);
      expect(quick.limits.at(-1)).toMatchObject({ kind: 'rate_limited', degraded: true });
      await busy;

      busy = busyFor300ms();
      await new Promise((r) => setTimeout(r, 20));
      const admitted = asJson(await patient.engine.handle(limited()));
      await busy;
      expect(admitted.status).toBe(200);
      expect(patient.storeEvents.filter((e) => e.kind === 'error')).toEqual([]);
    } finally {
      blocker.disconnect();
    }
  });

  it('counts budgets in Redis', async () => {
    const yaml = trafficYaml({
      sections: `stores:\n  redis: { url: "${server().url}" }\nbudgets:\n  b${++seq}: { key: [tenant], usd: 0.002/day, store: redis }\n`,
      routes: `\n  - name: main\n    targets: [primary]\n    budgets: [b${seq}]`,
    });
    const one = harness(yaml);
    const two = harness(yaml);
    await ready(one);
    await ready(two);
    expect(asJson(await one.engine.handle(request())).status).toBe(200);
    expect(asJson(await two.engine.handle(request())).status).toBe(200);
    // Spend is recorded after the answer, off the response path (a Redis round trip): wait
    // until both answers' cost is in Redis before expecting the next request to be blocked.
    for (let i = 0; i < 100; i++) {
      const report = await one.engine.spend();
      if ((report.budgets[0]?.keys[0]?.spentUsd ?? 0) >= 0.002) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(asJson(await one.engine.handle(request())).body).toMatchObject({
      error: { code: 'budget_exceeded' },
    });
    const spend = await two.engine.spend();
    expect(spend.budgets[0].keys[0].spentUsd).toBeGreaterThanOrEqual(0.002);
  });
});

describe.skipIf(!redisAvailable)('Budget alerts on Redis', () => {
  it('two replicas sharing Redis report each alertAt crossing once between them', async () => {
    // 0.0011 per answer on `primary`: 8 answers reach the budget; 10 are sent, half to each.
    const yaml = trafficYaml({
      sections: `stores:\n  redis: { url: "${server().url}" }\nbudgets:\n  b${++seq}: { key: [tenant], usd: 0.0088/day, alertAt: [0.25, 0.5, 0.75], store: redis, onExceeded: { downgradeTo: [backup] } }\n`,
      routes: `\n  - name: main\n    targets: [primary]\n    budgets: [b${seq}]`,
    });
    const one = harness(yaml);
    const two = harness(yaml);
    await ready(one);
    await ready(two);
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? one : two).engine.handle(request())),
    );
    for (const a of answers) expect(asJson(a).status).toBe(200);
    const alerts = () => [...one.alerts, ...two.alerts];
    for (let i = 0; i < 200 && alerts().length < 4; i++) await new Promise((r) => setTimeout(r, 10));
    // Spend is recorded off the response path; give a duplicate (the bug) the time to show.
    await new Promise((r) => setTimeout(r, 100));
    expect(
      alerts()
        .map((a) => `${a.kind}@${a.threshold}`)
        .sort(),
    ).toEqual(['exceeded@1', 'threshold@0.25', 'threshold@0.5', 'threshold@0.75']);
    expect(one.alerts.length + two.alerts.length).toBe(4);
  });
});
