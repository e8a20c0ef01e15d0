/**
 * The routing semantics as properties (docs/properties.md P1–P5, P20): the compiled, indexed engine
 * against the reference interpreter in `test/support/reference.ts`, on type-directed policies and
 * requests. `FC_NUM_RUNS` sets the number of runs (default 100); fast-check prints the seed and
 * the shrunk counterexample on failure.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { type CompiledPolicy, compilePolicy } from '../../engine/compile/compile.js';
import { createContext } from '../../engine/context.js';
import { decide, decideLinear } from '../../engine/decide.js';
import type { Policy, Route } from '../../engine/policy/types.generated.js';
import type { Decision, RequestInput } from '../../engine/types.js';
import { arbDecidePolicy, arbDecideRequest, NUM_RUNS } from '../support/arb-decide.js';
import { arbPolicy } from '../support/arb-policy.js';
import { type RefOutcome, refDecide } from '../support/reference.js';

const runs = { numRuns: NUM_RUNS };
const fixedRandom = () => 0.5;

/** The engine's answer in the reference's shape. */
function run(compiled: CompiledPolicy, input: RequestInput): RefOutcome {
  const r = createContext(compiled, input, fixedRandom);
  if (!r.ok) return { kind: 'invalid', status: r.status, code: r.code };
  return project(decide(compiled, r.context));
}

function project(d: Decision): RefOutcome {
  if (d.kind === 'no_route') return { kind: 'no_route', status: d.status, code: d.code };
  return {
    kind: 'route',
    route: d.route,
    targets: d.targets.map((t) => ({
      name: t.name,
      provider: t.provider,
      upstreamModel: t.upstreamModel,
      timeout: { ...t.timeout },
      retry: {
        ...t.retry,
        backoff: { ...t.retry.backoff },
        retryOn: [...t.retry.retryOn],
        fallbackOn: [...t.retry.fallbackOn],
      },
      breaker: { ...t.breaker },
    })),
    timeout: { ...d.timeout },
    maxAttempts: d.maxAttempts,
    midStream: d.stream.midStream,
  };
}

/** Recursively re-creates objects with their keys in reverse order. */
function reverseKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reverseKeys);
  if (typeof v !== 'object' || v === null) return v;
  return Object.fromEntries(
    Object.keys(v)
      .reverse()
      .map((k) => [k, reverseKeys((v as Record<string, unknown>)[k])]),
  );
}

const arbCase = fc.tuple(arbDecidePolicy, fc.array(arbDecideRequest, { minLength: 1, maxLength: 8 }));

describe('P3 index soundness: decide equals the reference interpreter', () => {
  it('on route, target order and settings', () => {
    fc.assert(
      fc.property(arbCase, ([policy, requests]) => {
        const compiled = compilePolicy(policy);
        for (const input of requests)
          expect(run(compiled, input)).toEqual(refDecide(policy, input, fixedRandom));
      }),
      runs,
    );
  });

  it('indexed decide equals the linear scan, explain trace included', () => {
    fc.assert(
      fc.property(arbCase, ([policy, requests]) => {
        const compiled = compilePolicy(policy);
        for (const input of requests) {
          const r = createContext(compiled, input, fixedRandom);
          if (!r.ok) continue;
          expect(decide(compiled, r.context, { explain: true })).toEqual(
            decideLinear(compiled, r.context, { explain: true }),
          );
        }
      }),
      runs,
    );
  });

  it('holds on the validation suite generator too', () => {
    fc.assert(
      fc.property(
        arbPolicy(),
        fc.array(arbDecideRequest, { minLength: 1, maxLength: 4 }),
        (generated, requests) => {
          const policy = generated.policy as unknown as Policy;
          const compiled = compilePolicy(policy);
          for (const input of requests)
            expect(run(compiled, input)).toEqual(refDecide(policy, input, fixedRandom));
        },
      ),
      runs,
    );
  });
});

describe('P1 compile determinism', () => {
  it('compiling twice, or after print and parse, gives equal decisions', () => {
    fc.assert(
      fc.property(arbCase, ([policy, requests]) => {
        const a = compilePolicy(policy);
        const b = compilePolicy(policy);
        const c = compilePolicy(parse(stringify(policy)) as Policy);
        expect(b.identity).toEqual(a.identity);
        expect(c.identity).toEqual(a.identity);
        for (const input of requests) {
          const want = run(a, input);
          expect(run(b, input)).toEqual(want);
          expect(run(c, input)).toEqual(want);
        }
      }),
      runs,
    );
  });

  it('the hash ignores key order and whitespace', () => {
    fc.assert(
      fc.property(arbDecidePolicy, (policy) => {
        const h = compilePolicy(policy).identity.hash;
        expect(compilePolicy(reverseKeys(policy) as Policy).identity.hash).toBe(h);
        expect(
          compilePolicy(parse(stringify(policy, { indent: 4, collectionStyle: 'flow' })) as Policy).identity
            .hash,
        ).toBe(h);
        expect(compilePolicy(JSON.parse(JSON.stringify(policy, null, 3)) as Policy).identity.hash).toBe(h);
      }),
      runs,
    );
  });

  it('the hash changes when the policy does', () => {
    fc.assert(
      fc.property(arbDecidePolicy, (policy) => {
        const changed = { ...policy, policy: { ...policy.policy, version: `${policy.policy.version}-x` } };
        expect(compilePolicy(changed).identity.hash).not.toBe(compilePolicy(policy).identity.hash);
      }),
      runs,
    );
  });
});

describe('P2 round trip', () => {
  it('YAML → policy → JSON → policy is the identity', () => {
    fc.assert(
      fc.property(arbDecidePolicy, (policy) => {
        const viaYaml = parse(stringify(policy)) as Policy;
        expect(viaYaml).toEqual(policy);
        expect(JSON.parse(JSON.stringify(viaYaml))).toEqual(policy);
        expect(compilePolicy(viaYaml).document).toEqual(policy);
      }),
      runs,
    );
  });
});

describe('P4 first-match order', () => {
  const same = (a: RefOutcome, b: RefOutcome) => expect(a).toEqual(b);

  it('swapping two adjacent routes with disjoint match sets changes no decision', () => {
    fc.assert(
      fc.property(
        arbCase,
        fc.nat(),
        fc.constantFrom('gpt-5', 'claude-4'),
        ([policy, requests], at, otherModel) => {
          const a: Route = { name: 'swap-a', when: { model: 'o3' }, targets: ['fast'] };
          const b: Route = { name: 'swap-b', when: { model: otherModel, stream: true }, targets: ['strong'] };
          const i = at % (policy.routes.length + 1);
          const withAB = {
            ...policy,
            routes: [...policy.routes.slice(0, i), a, b, ...policy.routes.slice(i)],
          };
          const withBA = {
            ...policy,
            routes: [...policy.routes.slice(0, i), b, a, ...policy.routes.slice(i)],
          };
          const p = compilePolicy(withAB as Policy);
          const q = compilePolicy(withBA as Policy);
          for (const input of requests) same(run(p, input), run(q, input));
        },
      ),
      runs,
    );
  });

  it('a route after a catch-all changes no decision', () => {
    fc.assert(
      fc.property(arbCase, ([policy, requests]) => {
        const routes: Policy['routes'] = [...policy.routes, { name: 'catch-all', targets: ['cheap'] }];
        const base = compilePolicy({ ...policy, routes });
        const extended = compilePolicy({
          ...policy,
          routes: [...routes, { name: 'unreachable', targets: ['fast'] }],
        });
        for (const input of requests) same(run(extended, input), run(base, input));
      }),
      runs,
    );
  });

  it('duplicating a route changes no decision', () => {
    fc.assert(
      fc.property(arbCase, fc.nat(), ([policy, requests], at) => {
        const i = at % policy.routes.length;
        const copy = { ...policy.routes[i], name: `${policy.routes[i].name}-copy` };
        const routes = [...policy.routes.slice(0, i + 1), copy, ...policy.routes.slice(i + 1)];
        const base = compilePolicy(policy);
        const dup = compilePolicy({ ...policy, routes: routes as Policy['routes'] });
        for (const input of requests) same(run(dup, input), run(base, input));
      }),
      runs,
    );
  });
});

describe('P5 totality', () => {
  const arbHeaders = fc.dictionary(
    fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.constantFrom('authorization', 'x-switchyard-metadata', 'x-switchyard-seed', 'X-Team', '__proto__'),
    ),
    fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }),
      fc.constant(undefined),
    ),
  );
  const arbBody = fc.oneof(
    fc.jsonValue(),
    fc.dictionary(
      fc.constantFrom('model', 'messages', 'metadata', 'tools', 'stream', 'input', 'user'),
      fc.jsonValue(),
    ),
  );

  it('arbitrary bodies and headers give exactly one outcome and never throw', () => {
    fc.assert(
      fc.property(
        arbDecidePolicy,
        arbBody,
        arbHeaders,
        fc.option(fc.string({ maxLength: 20 })),
        (policy, body, headers, path) => {
          const compiled = compilePolicy(policy);
          const input: RequestInput = { body, headers, ...(path === null ? {} : { path }) };
          const r = createContext(compiled, input, Math.random);
          if (!r.ok) {
            expect(r.status).toBe(400);
            expect(r.code).toMatch(/^invalid_/);
            return;
          }
          for (const explain of [false, true]) {
            const d = decide(compiled, r.context, { explain });
            if (d.kind === 'route') expect(d.targets.length).toBeGreaterThan(0);
            else expect(['no_route', 'no_eligible_target']).toContain(d.code);
          }
        },
      ),
      runs,
    );
  });
});

describe('P20 weighted and sticky choice', () => {
  function weightedPolicy(weights: number[], strategy: 'weighted' | 'sticky'): Policy {
    const models: NonNullable<Policy['models']> = {};
    weights.forEach((_, i) => {
      models[`m${i}`] = { provider: 'p', model: `u${i}` };
    });
    return {
      switchyard: 'v1',
      policy: { name: 'p20', version: '1' },
      providers: { p: { kind: 'mock' } },
      models,
      routes: [
        {
          name: 'r',
          strategy,
          stickyKey: 'header.x-session',
          targets: weights.map((weight, i) => ({ model: `m${i}`, weight })) as Route['targets'],
        },
      ],
    };
  }

  function firstTarget(compiled: CompiledPolicy, seed: number, session?: string): string {
    const headers: Record<string, string> = { 'x-switchyard-seed': String(seed) };
    if (session !== undefined) headers['x-session'] = session;
    const r = createContext(compiled, { body: { model: 'x' }, headers }, fixedRandom);
    if (!r.ok) throw new Error(r.message);
    const d = decide(compiled, r.context);
    if (d.kind !== 'route') throw new Error(d.message);
    return d.targets[0].name;
  }

  const arbWeights = fc
    .array(fc.constantFrom(0, 0, 1, 2, 7), { minLength: 2, maxLength: 6 })
    .filter((w) => w.some((x) => x > 0));

  it('weight-0 targets are never chosen first', () => {
    fc.assert(
      fc.property(
        arbWeights,
        fc.array(fc.nat({ max: 0xffffffff }), { minLength: 20, maxLength: 20 }),
        (weights, seeds) => {
          for (const strategy of ['weighted', 'sticky'] as const) {
            const compiled = compilePolicy(weightedPolicy(weights, strategy));
            for (const seed of seeds) {
              for (const session of [undefined, `s${seed % 7}`]) {
                const first = firstTarget(compiled, seed, session);
                expect(weights[Number(first.slice(1))]).toBeGreaterThan(0);
              }
            }
          }
        },
      ),
      runs,
    );
  });

  it('the same sticky key maps to the same first target whatever the seed', () => {
    fc.assert(
      fc.property(
        arbWeights,
        fc.string({ minLength: 1, maxLength: 12 }),
        fc.array(fc.nat({ max: 0xffffffff }), { minLength: 2, maxLength: 10 }),
        (weights, session, seeds) => {
          const compiled = compilePolicy(weightedPolicy(weights, 'sticky'));
          const first = firstTarget(compiled, seeds[0], session);
          for (const seed of seeds) expect(firstTarget(compiled, seed, session)).toBe(first);
        },
      ),
      runs,
    );
  });

  it('shares fall within a binomial tolerance of the weights', () => {
    const weights = [1, 3, 6, 0];
    const total = 10;
    const n = 20_000;
    for (const strategy of ['weighted', 'sticky'] as const) {
      const compiled = compilePolicy(weightedPolicy(weights, strategy));
      const counts = weights.map(() => 0);
      for (let i = 0; i < n; i++) {
        // weighted: a fresh seed per draw; sticky: a fresh session key per draw (the seed fixed)
        const first =
          strategy === 'weighted'
            ? firstTarget(compiled, (i * 2654435761) >>> 0)
            : firstTarget(compiled, 7, `session-${i}`);
        counts[Number(first.slice(1))]++;
      }
      weights.forEach((w, i) => {
        const p = w / total;
        const sigma = Math.sqrt(n * p * (1 - p));
        expect(Math.abs(counts[i] - n * p)).toBeLessThanOrEqual(5 * sigma + 1);
      });
    }
  });
});
