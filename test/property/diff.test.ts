/**
 * P19 (diff soundness) of docs/properties.md on generated valid policies: `diff(P, P)` is empty; a
 * planted change (a route's targets reordered) is reported structurally, and behaviourally for
 * exactly the sampled requests that route decides.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { diffPolicies, parsePolicy } from '../../engine/index.js';
import { arbPolicy, type PlainPolicy, printPolicy } from '../support/arb-policy.js';

const NUM_RUNS = Number(process.env.FC_NUM_RUNS ?? 60);

function compile(policy: PlainPolicy) {
  const loaded = parsePolicy([{ file: 'p.yaml', text: printPolicy(policy) }]);
  if (!loaded.ok) throw new Error(loaded.diagnostics.map((d) => `${d.code} ${d.message}`).join('\n'));
  return loaded.policy;
}

describe('P19 diff soundness', () => {
  test.prop([arbPolicy(), fc.integer({ min: 1, max: 1000 })], { numRuns: NUM_RUNS })(
    'diff(P, P) reports nothing',
    (generated, seed) => {
      const p = compile(generated.policy);
      const diff = diffPolicies(p, compile(structuredClone(generated.policy)), { samples: 100, seed });
      expect(diff.structural).toEqual([]);
      expect(diff.changed).toEqual([]);
    },
  );

  test.prop([arbPolicy(), fc.integer({ min: 1, max: 1000 })], { numRuns: NUM_RUNS })(
    'a planted reordering is found in words, and every behavioural change it makes is on that route',
    (generated, seed) => {
      const routes = generated.policy.routes as { name: string; targets: unknown[]; strategy?: string }[];
      const index = routes.findIndex(
        (r) => r.targets.length >= 2 && (r.strategy === undefined || r.strategy === 'fallback'),
      );
      fc.pre(index >= 0);
      const planted = structuredClone(generated.policy);
      const route = (planted.routes as typeof routes)[index];
      route.targets = [...route.targets].reverse();
      fc.pre(JSON.stringify(route.targets) !== JSON.stringify(routes[index].targets));
      const before = compile(generated.policy);
      const after = compile(planted);
      const diff = diffPolicies(before, after, { samples: 100, seed });
      expect(diff.structural).toEqual([expect.stringContaining(`~ route "${route.name}": targets`)]);
      // Every change is on that route, with its order reversed (targets a request cannot use may
      // drop out, so the two orders are compared as what remains).
      for (const c of diff.changed) {
        expect(c.before.startsWith(`${route.name} [`)).toBe(true);
        expect(c.after.startsWith(`${route.name} [`)).toBe(true);
      }
    },
  );
});
