/**
 * P15 (reload continuity) for limits, budgets and caches: reloading identical content is a no-op;
 * a new version whose limit, budget and cache definitions are unchanged keeps their state; changing
 * one limit's parameters starts only that limit afresh.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../engine/shared/virtual-clock.js';
import { asJson, closeEngines, compileYaml, harness, request, T0, trafficYaml } from './helpers.js';

afterEach(closeEngines);

/** Route `route-a`: requests with `x-route: a`, under limit `a`. */
const ROUTE_A = `
  - name: route-a
    when: { header.x-route: a }
    targets: [primary]
    limits: [a]`;

function policy(version: string, limitA = '1/min', limitB = '1/min') {
  return trafficYaml({
    version,
    sections: `limits:
  a: { key: [tenant], requests: ${limitA} }
  b: { key: [tenant], requests: ${limitB} }
budgets:
  daily: { key: [tenant], usd: 0.001/day }
caches:
  answers: { mode: exact, ttl: 1h }
`,
    routes: `${ROUTE_A}
  - name: route-b
    when: { header.x-route: b }
    targets: [primary]
    limits: [b]
    budgets: [daily]
  - name: cached
    targets: [primary]
    cache: answers`,
  });
}

const to = (route: string) => request({ headers: { 'x-route': route } });

describe('P15: state across reloads', () => {
  it('keeps unchanged limits, budgets and caches, and resets only the limit that changed', async () => {
    const clock = new VirtualClock({ start: T0 });
    const h = harness(policy('1'), { clock });
    const { engine } = h;
    expect(asJson(await engine.handle(to('a'))).status).toBe(200);
    expect(asJson(await engine.handle(to('b'))).status).toBe(200); // spends over the daily budget too
    expect(asJson(await engine.handle(request())).headers['x-switchyard-cache']).toBe('miss');

    // Identical content: a no-op.
    expect(engine.swap(compileYaml(policy('1'))).changed).toBe(false);

    // A new version with the same definitions keeps every counter and entry.
    expect(engine.swap(compileYaml(policy('2'))).changed).toBe(true);
    expect(engine.policy.identity.version).toBe('2');
    expect(asJson(await engine.handle(to('a'))).status).toBe(429);
    await clock.advance(60_000); // the limits refill; the budget does not
    expect(asJson(await engine.handle(to('b'))).body).toMatchObject({ error: { code: 'budget_exceeded' } });
    expect(asJson(await engine.handle(request())).headers['x-switchyard-cache']).toBe('hit');

    // Spend them both again, then change only `a`.
    expect(asJson(await engine.handle(to('a'))).status).toBe(200);
    expect(engine.swap(compileYaml(policy('3', '2/min'))).changed).toBe(true);
    expect(asJson(await engine.handle(to('a'))).status).toBe(200); // a fresh counter
    // b is unchanged: the request refused for the budget above still counts in it.
    expect(asJson(await engine.handle(to('b'))).body).toMatchObject({ error: { code: 'rate_limited' } });
    expect(asJson(await engine.handle(request())).headers['x-switchyard-cache']).toBe('hit');
    expect(h.calls).toHaveLength(5);
  });

  it('keeps limit b when only limit a changes', async () => {
    const clock = new VirtualClock({ start: T0 });
    const yaml = (version: string, rateA: string) =>
      trafficYaml({
        version,
        sections: `limits:\n  a: { key: [tenant], requests: ${rateA} }\n  b: { key: [tenant], requests: 1/min }\n`,
        routes: `${ROUTE_A}
  - name: route-b
    targets: [primary]
    limits: [b]`,
      });
    const { engine } = harness(yaml('1', '1/min'), { clock });
    expect(asJson(await engine.handle(to('a'))).status).toBe(200);
    expect(asJson(await engine.handle(to('b'))).status).toBe(200);
    engine.swap(compileYaml(yaml('2', '1/hour')));
    expect(asJson(await engine.handle(to('a'))).status).toBe(200); // changed: fresh
    expect(asJson(await engine.handle(to('b'))).status).toBe(429); // unchanged: kept
  });
});
