/**
 * P17, third clause: turning caching off changes no routing decision. For a generated policy and
 * a generated trace of requests, the engine with a cache on some routes and the same engine with
 * no cache give equal decisions (route, plan, settings; only the `cache` name differs) for every
 * request of the trace, while the cached engine's entries fill up and serve hits; and the route
 * that answers each request (`x-switchyard-route`) is the same. Providers are the in-process mock
 * on a virtual clock, so the run is deterministic; fast-check prints the seed on failure.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../../engine/compile/compile.js';
import type { Policy } from '../../engine/policy/types.generated.js';
import { createEngine, type Engine } from '../../engine/runtime/engine.js';
import { VirtualClock } from '../../engine/shared/virtual-clock.js';
import type { Decision } from '../../engine/types.js';
import { arbDecidePolicy, arbDecideRequest, NUM_RUNS } from '../support/arb-decide.js';

const CACHE_KEYS = [
  ['model', 'messages'],
  ['messages'],
  ['model', 'messages', 'temperature'],
  undefined,
] as const;

const arbCache = fc.record({
  key: fc.constantFrom(...CACHE_KEYS),
  shared: fc.boolean(),
  when: fc.constantFrom(undefined, { 'body.temperature': { lte: 0.2 } }, { stream: false }),
});

/** Every provider becomes the mock, so `handle` runs offline; routing does not look at kinds. */
function offline(policy: Policy): Policy {
  return {
    ...policy,
    providers: {
      openai: { kind: 'mock' },
      anthropic: { kind: 'mock' },
      local: { kind: 'mock', reply: 'hi' },
    },
  };
}

type CacheArb = typeof arbCache extends fc.Arbitrary<infer T> ? T : never;

function withCache(policy: Policy, cache: CacheArb, on: readonly boolean[]): Policy {
  const routes = policy.routes.map((r, i) => (on[i % on.length] ? { ...r, cache: 'answers' } : r));
  return {
    ...policy,
    caches: {
      answers: {
        mode: 'exact',
        ttl: '1h',
        ...(cache.key === undefined ? {} : { key: [...cache.key] }),
        ...(cache.shared ? { shared: true } : {}),
        ...(cache.when === undefined ? {} : { when: cache.when }),
      },
    },
    routes: routes as Policy['routes'],
  };
}

/** The decision without what legitimately differs: the cache's name and the policy's hash. */
function withoutCacheName(d: Decision | { kind: 'rejected' }): unknown {
  if (d.kind === 'rejected') return d;
  if (d.kind !== 'route') {
    const { policy: _policy, ...rest } = d;
    return rest;
  }
  const { cache: _cache, policy: _policy, ...rest } = d;
  return rest;
}

describe('P17: caching changes no routing decision', () => {
  it('decides every request of a trace alike with the cache on and off', async () => {
    let totalHits = 0;
    await fc.assert(
      fc.asyncProperty(
        arbDecidePolicy,
        arbCache,
        fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
        fc.array(arbDecideRequest, { minLength: 1, maxLength: 12 }),
        fc.array(fc.nat({ max: 11 }), { maxLength: 12 }),
        async (policy, cache, on, requests, repeats) => {
          // Repeat some requests so the cached engine serves hits during the trace.
          const trace = [...requests, ...repeats.map((i) => requests[i % requests.length])];
          const plain = offline(policy);
          const engines: Engine[] = [
            createEngine(compilePolicy(plain), {
              clock: new VirtualClock({ auto: true }),
              random: () => 0.5,
            }),
            createEngine(compilePolicy(withCache(plain, cache, on)), {
              clock: new VirtualClock({ auto: true }),
              random: () => 0.5,
            }),
          ];
          try {
            let hits = 0;
            for (const input of trace) {
              const [off, onCache] = engines.map((e) => e.decide(input));
              expect(withoutCacheName(onCache)).toEqual(withoutCacheName(off));
              const [a, b] = await Promise.all(engines.map((e) => e.handle(input)));
              for (const r of [a, b]) if (r.kind === 'stream') for await (const _ of r.events);
              expect(b.headers['x-switchyard-route']).toBe(a.headers['x-switchyard-route']);
              if (b.headers['x-switchyard-cache'] === 'hit') hits++;
            }
            totalHits += hits;
          } finally {
            await Promise.all(engines.map((e) => e.close()));
          }
        },
      ),
      { numRuns: Math.max(10, Math.floor(NUM_RUNS / 2)) },
    );
    // The cached engine did serve hits along the way (else the property says nothing).
    expect(totalHits).toBeGreaterThan(0);
  });
});
