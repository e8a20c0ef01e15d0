import { describe, expect, it } from 'vitest';
import type { CompiledPolicy } from '../../../engine/compile/compile.js';
import { decide, decideLinear } from '../../../engine/decide.js';
import type { Decision, PlanNode, RequestContext } from '../../../engine/types.js';
import { compileYaml, ctxFor, makeContext } from '../compile/helpers.js';

type RouteDecision = Extract<Decision, { kind: 'route' }>;

function routed(policy: CompiledPolicy, ctx: RequestContext, explain = false): RouteDecision {
  const d = decide(policy, ctx, { explain });
  if (d.kind !== 'route') throw new Error(`expected a route, got ${d.code}: ${d.message}`);
  return d;
}

const names = (d: RouteDecision) => d.targets.map((t) => t.name);

describe('decide: first match', () => {
  const policy = compileYaml(`
routes:
  - { name: classification, when: { metadata.task: classification }, targets: [fast, strong] }
  - { name: chat, when: { model: { in: [gpt-5, default] } }, targets: [strong] }
`);

  it('returns the first matching route in file order with its plan', () => {
    const d = routed(
      policy,
      ctxFor(policy, { body: { model: 'gpt-5', metadata: { task: 'classification' } } }),
    );
    expect(d.route).toBe('classification');
    expect(d.routeIndex).toBe(0);
    expect(names(d)).toEqual(['fast', 'strong']);
    expect(d.plan).toMatchObject({ kind: 'group', strategy: 'fallback' });
    expect(d.policy).toBe(policy.identity);
    expect(d.skipped).toEqual([]);
  });

  it('refuses with 404 no_route when nothing matches', () => {
    const d = decide(policy, ctxFor(policy, { body: { model: 'o3' } }));
    expect(d).toMatchObject({
      kind: 'no_route',
      status: 404,
      code: 'no_route',
      message: 'No route matches model "o3"',
    });
  });

  it('explains why each earlier route did not match, only when asked', () => {
    const ctx = ctxFor(policy, { body: { model: 'gpt-5' } });
    expect(routed(policy, ctx).skipped).toEqual([]);
    expect(routed(policy, ctx, true).skipped).toEqual([
      { route: 'classification', reason: 'metadata.task is absent, wanted "classification"' },
    ]);
    const none = decide(policy, ctxFor(policy, { body: { model: 'gpt-4o' } }), { explain: true });
    expect(none.skipped.map((s) => s.reason)).toEqual([
      'metadata.task is absent, wanted "classification"',
      'model is "gpt-4o", wanted one of [gpt-5, default]',
    ]);
  });

  it('decideLinear gives the same decisions', () => {
    for (const body of [
      { model: 'gpt-5' },
      { model: 'x', metadata: { task: 'classification' } },
      { model: 'o3' },
    ]) {
      const ctx = ctxFor(policy, { body });
      expect(decideLinear(policy, ctx, { explain: true })).toEqual(decide(policy, ctx, { explain: true }));
    }
  });

  it('never throws, even on a hand-made context with odd values', () => {
    const odd = makeContext({ body: { metadata: 7 } as Record<string, unknown>, metadata: {}, model: '' });
    expect(() => decide(policy, odd, { explain: true })).not.toThrow();
  });
});

describe('decide: strategies', () => {
  const policy = compileYaml(`
models:
  a: { provider: demo, model: a }
  b: { provider: demo, model: b }
  c: { provider: demo, model: c }
  z: { provider: demo, model: z }
routes:
  - name: weighted
    when: { model: w }
    strategy: weighted
    targets: [ { model: a, weight: 1 }, { model: z, weight: 0 }, { model: b, weight: 3 }, { model: c, weight: 6 } ]
  - name: sticky
    when: { model: s }
    strategy: sticky
    stickyKey: header.x-session
    targets: [a, b, c]
  - name: latency
    when: { model: l }
    strategy: latency
    targets: [c, a, b]
  - name: nested
    when: { model: n }
    targets:
      - { strategy: weighted, targets: [ { model: a, weight: 1 }, { model: b, weight: 1 } ] }
      - { strategy: weighted, targets: [ { model: a, weight: 1 }, { model: b, weight: 1 } ] }
      - c
`);

  const withSeed = (model: string, seed: number, session?: string) =>
    ctxFor(policy, {
      body: { model },
      headers: { 'x-switchyard-seed': String(seed), ...(session ? { 'x-session': session } : {}) },
    });

  it('weighted: deterministic per seed, a permutation, weight 0 last', () => {
    const seen = new Set<string>();
    for (let seed = 0; seed < 200; seed++) {
      const d = routed(policy, withSeed('w', seed));
      expect(routed(policy, withSeed('w', seed))).toEqual(d);
      expect([...names(d)].sort()).toEqual(['a', 'b', 'c', 'z']);
      expect(names(d)[3]).toBe('z');
      seen.add(names(d)[0]);
      expect(d.plan).toMatchObject({ kind: 'group', strategy: 'weighted' });
    }
    expect(seen).toEqual(new Set(['a', 'b', 'c']));
  });

  it('sticky: the same key keeps its order whatever the seed; keys spread; no key falls back to the seed', () => {
    const firsts = new Set<string>();
    for (const session of ['s1', 's2', 's3', 's4', 's5', 's6', 's7', 's8']) {
      const d = names(routed(policy, withSeed('s', 1, session)));
      for (let seed = 2; seed < 20; seed++)
        expect(names(routed(policy, withSeed('s', seed, session)))).toEqual(d);
      firsts.add(d[0]);
    }
    expect(firsts.size).toBeGreaterThan(1);
    const bySeed = new Set<string>();
    for (let seed = 0; seed < 50; seed++) bySeed.add(names(routed(policy, withSeed('s', seed)))[0]);
    expect(bySeed.size).toBeGreaterThan(1);
  });

  it('latency keeps the declared order (the runtime reorders)', () => {
    const d = routed(policy, withSeed('l', 9));
    expect(names(d)).toEqual(['c', 'a', 'b']);
    expect(d.plan).toMatchObject({ strategy: 'latency' });
  });

  it('nested groups draw independently and flatten depth-first', () => {
    const orders = new Set<string>();
    for (let seed = 0; seed < 100; seed++) {
      const d = routed(policy, withSeed('n', seed));
      expect(names(d)).toHaveLength(5);
      expect(names(d)[4]).toBe('c');
      const plan = d.plan as Extract<PlanNode, { kind: 'group' }>;
      expect(plan.children).toHaveLength(3);
      orders.add(names(d).slice(0, 4).join(','));
    }
    // both inner groups are not forced to agree: all four combinations appear
    expect(orders.size).toBe(4);
  });
});

describe('decide: wildcard and capabilities', () => {
  const policy = compileYaml(`
models:
  any: { provider: demo, model: "*" }
  notools: { provider: demo, model: nt, capabilities: { tools: false } }
  novision: { provider: demo, model: nv, capabilities: { vision: false } }
  fast: { provider: demo, model: fast-1 }
routes:
  - { name: caps, when: { model: caps }, targets: [notools, novision, fast] }
  - { name: only, when: { model: only }, targets: [notools] }
  - { name: wild, targets: [any, fast] }
`);

  it('a wildcard forwards the requested model; without one it is skipped', () => {
    const d = routed(policy, ctxFor(policy, { body: { model: 'gpt-5' } }));
    expect(d.targets.map((t) => t.upstreamModel)).toEqual(['gpt-5', 'fast-1']);
    expect(d.targets[0].name).toBe('any');
    expect(names(routed(policy, ctxFor(policy, { body: {} })))).toEqual(['fast']);
  });

  it('skips targets that cannot take tools or images', () => {
    const tools = [{ type: 'function', function: { name: 'f' } }];
    const image = [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'u' } }] }];
    expect(names(routed(policy, ctxFor(policy, { body: { model: 'caps' } })))).toEqual([
      'notools',
      'novision',
      'fast',
    ]);
    expect(names(routed(policy, ctxFor(policy, { body: { model: 'caps', tools } })))).toEqual([
      'novision',
      'fast',
    ]);
    expect(names(routed(policy, ctxFor(policy, { body: { model: 'caps', messages: image } })))).toEqual([
      'notools',
      'fast',
    ]);
    expect(
      names(routed(policy, ctxFor(policy, { body: { model: 'caps', messages: image, tools } }))),
    ).toEqual(['fast']);
  });

  it('a matched route with no eligible target refuses with 400', () => {
    const d = decide(policy, ctxFor(policy, { body: { model: 'only', tools: [{ type: 'function' }] } }));
    expect(d).toMatchObject({ kind: 'no_route', status: 400, code: 'no_eligible_target' });
  });
});

describe('decide: route settings in the decision', () => {
  it('passes limits, budgets, cache, guardrails and onExhausted through', () => {
    const policy = compileYaml(`
limits:
  per-tenant: { key: [tenant], requests: 600/min }
budgets:
  monthly: { key: [tenant], usd: 500/month }
caches:
  faq: { mode: exact, ttl: 24h }
guardrails:
  pii: { stage: input, kind: pii, entities: [email], action: redact }
routes:
  - name: r
    targets: [fast]
    limits: [per-tenant]
    budgets: [monthly]
    cache: faq
    guardrails: [pii]
    onExhausted: { status: 503, message: try later }
`);
    expect(routed(policy, ctxFor(policy, { body: { model: 'x' } }))).toMatchObject({
      limits: ['per-tenant'],
      budgets: ['monthly'],
      cache: 'faq',
      guardrails: ['pii'],
      onExhausted: { status: 503, message: 'try later' },
    });
  });
});
