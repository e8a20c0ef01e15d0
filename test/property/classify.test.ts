/**
 * Classify, then route, as properties (docs/classifiers.md): the runtime walks the routes with
 * the three-valued form of their `when` and runs only the classifiers a candidate route needs
 * (engine/runtime/classify.ts). Against an oracle that knows every classifier's label:
 *
 * - lazy equals eager: the decision after classifying lazily is the decision `decide` makes when
 *   every classifier's label is known up front;
 * - classification never changes a decision it was skipped for: when no classifier ran, every
 *   assignment of labels gives the same decision;
 * - each classifier runs at most once per request, and only one a route reads;
 * - a policy whose routes reference no classifier never calls one, and decides as plain `decide`.
 *
 * `FC_NUM_RUNS` sets the number of runs; fast-check prints the seed on failure.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CompiledPolicy, compilePolicy } from '../../engine/compile/compile.js';
import { createContext } from '../../engine/context.js';
import { decide } from '../../engine/decide.js';
import type { Policy, Route, When } from '../../engine/policy/types.generated.js';
import { classifyForRoutes } from '../../engine/runtime/classify.js';
import type { ClassResult, Decision, RequestContext } from '../../engine/types.js';
import { NUM_RUNS } from '../support/arb-decide.js';

const runs = { numRuns: Math.max(NUM_RUNS, 200) };

const LABELS = { a: ['a1', 'a2', 'a3'], b: ['b1', 'b2'] } as const;
type Name = keyof typeof LABELS;
type Labels = { readonly a: string; readonly b: string };

const arbLeaf = (withClasses: boolean): fc.Arbitrary<When> => {
  const plain: fc.Arbitrary<When>[] = [
    fc.constantFrom('x', 'y').map((m) => ({ model: m })),
    fc.constantFrom('1', '2').map((v) => ({ 'metadata.k': v })),
    fc.constant({ 'metadata.k': { exists: false } }),
  ];
  if (!withClasses) return fc.oneof(...plain);
  const classLeaf = (name: Name): fc.Arbitrary<When> =>
    fc.oneof(
      fc.constantFrom(...LABELS[name]).map((l) => ({ [`class.${name}`]: l })),
      fc.subarray([...LABELS[name]], { minLength: 1 }).map((ls) => ({ [`class.${name}`]: { in: ls } })),
      fc.constant({ [`class.${name}`]: { exists: true } }),
    );
  return fc.oneof(...plain, classLeaf('a'), classLeaf('b'));
};

const arbWhen = (withClasses: boolean): fc.Arbitrary<When> =>
  fc.letrec<{ when: When }>((tie) => ({
    when: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      arbLeaf(withClasses),
      fc.array(tie('when'), { minLength: 1, maxLength: 3 }).map((all) => ({ all }) as When),
      fc.array(tie('when'), { minLength: 1, maxLength: 3 }).map((any) => ({ any }) as When),
      tie('when').map((not) => ({ not }) as When),
      fc.tuple(arbLeaf(withClasses), arbLeaf(withClasses)).map(([p, q]) => ({ ...q, ...p }) as When),
    ),
  })).when;

function policyOf(whens: readonly (When | null)[]): CompiledPolicy {
  const routes: Route[] = whens.map((when, i) => ({
    name: `r${i}`,
    ...(when === null ? {} : { when }),
    targets: ['t'],
  }));
  const doc: Policy = {
    switchyard: 'v1',
    policy: { name: 'p', version: '1' },
    providers: { m: { kind: 'mock' } },
    models: { t: { provider: 'm', model: 't' } },
    classifiers: {
      a: { kind: 'complexity', labels: { a1: 0.3, a2: 0.6, a3: 1 } },
      b: { kind: 'complexity', labels: { b1: 0.5, b2: 1 } },
    },
    routes: routes as Policy['routes'],
  };
  return compilePolicy(doc);
}

const arbPolicy = (withClasses: boolean) =>
  fc.array(fc.option(arbWhen(withClasses), { freq: 5 }), { minLength: 1, maxLength: 6 }).map(policyOf);

const arbRequest = fc.record({
  model: fc.constantFrom('x', 'y', 'z'),
  k: fc.constantFrom('1', '2', null),
});
const arbLabels: fc.Arbitrary<Labels> = fc.record({
  a: fc.constantFrom(...LABELS.a),
  b: fc.constantFrom(...LABELS.b),
});

function contextOf(policy: CompiledPolicy, r: { model: string; k: string | null }): RequestContext {
  const created = createContext(
    policy,
    {
      body: {
        model: r.model,
        messages: [{ role: 'user', content: 'hi' }],
        ...(r.k === null ? {} : { metadata: { k: r.k } }),
      },
    },
    () => 0.5,
  );
  if (!created.ok) throw new Error(created.message);
  return created.context;
}

function routeOf(d: Decision): string | null {
  return d.kind === 'route' ? d.route : null;
}

/** Lazily classifies with an oracle that knows `labels`; returns the decision and who ran. */
async function lazily(policy: CompiledPolicy, ctx: RequestContext, labels: Labels) {
  const calls: string[] = [];
  const classified = await classifyForRoutes(policy, ctx, async (c): Promise<ClassResult> => {
    calls.push(c.name);
    return { classifier: c.name, label: labels[c.name as Name], source: 'heuristic', costUsd: 0 };
  });
  return { decision: decide(policy, classified.context), calls };
}

describe('classify, then route', () => {
  it('decides as if every label were known up front (lazy equals eager)', async () => {
    await fc.assert(
      fc.asyncProperty(arbPolicy(true), arbRequest, arbLabels, async (policy, request, labels) => {
        const ctx = contextOf(policy, request);
        const { decision } = await lazily(policy, ctx, labels);
        const eager = decide(policy, { ...ctx, classes: { ...labels } });
        expect(routeOf(decision)).toBe(routeOf(eager));
      }),
      runs,
    );
  });

  it('never changes a decision it skipped classification for', async () => {
    await fc.assert(
      fc.asyncProperty(arbPolicy(true), arbRequest, arbLabels, async (policy, request, labels) => {
        const ctx = contextOf(policy, request);
        const { decision, calls } = await lazily(policy, ctx, labels);
        if (calls.length > 0) return;
        for (const a of LABELS.a)
          for (const b of LABELS.b)
            expect(routeOf(decide(policy, { ...ctx, classes: { a, b } }))).toBe(routeOf(decision));
      }),
      runs,
    );
  });

  it('runs each classifier at most once, and only ones the routes read', async () => {
    await fc.assert(
      fc.asyncProperty(arbPolicy(true), arbRequest, arbLabels, async (policy, request, labels) => {
        const { calls } = await lazily(policy, contextOf(policy, request), labels);
        expect(new Set(calls).size).toBe(calls.length);
        const read = new Set(policy.classification.routes.flatMap((r) => r.classifiers));
        for (const name of calls) expect(read.has(name)).toBe(true);
      }),
      runs,
    );
  });

  it('never calls a classifier when no route references one', async () => {
    await fc.assert(
      fc.asyncProperty(arbPolicy(false), arbRequest, arbLabels, async (policy, request, labels) => {
        const ctx = contextOf(policy, request);
        const { decision, calls } = await lazily(policy, ctx, labels);
        expect(calls).toEqual([]);
        expect(routeOf(decision)).toBe(routeOf(decide(policy, ctx)));
      }),
      runs,
    );
  });
});
