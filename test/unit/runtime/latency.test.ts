import { describe, expect, it } from 'vitest';
import { flattenPlan } from '../../../engine/compile/plan.js';
import { LatencyTracker, orderPlan } from '../../../engine/runtime/latency.js';
import type { PlanNode } from '../../../engine/types.js';
import { makeTarget } from '../../support/decision-fixtures.js';

const t = (name: string): PlanNode => ({ kind: 'target', target: makeTarget(name) });
const group = (strategy: 'fallback' | 'latency' | 'weighted', ...children: PlanNode[]): PlanNode => ({
  kind: 'group',
  strategy,
  children,
});
const names = (plan: PlanNode, tracker: LatencyTracker) => orderPlan(plan, tracker).map((x) => x.name);

describe('LatencyTracker', () => {
  it('keeps an exponentially weighted moving average', () => {
    const tracker = new LatencyTracker({ alpha: 0.5 });
    tracker.observe('a', 100);
    expect(tracker.get('a')).toBe(100);
    tracker.observe('a', 200);
    expect(tracker.get('a')).toBe(150);
    tracker.observe('a', Number.NaN);
    expect(tracker.get('a')).toBe(150);
    tracker.retain(['b']);
    expect(tracker.size).toBe(0);
  });
});

describe('orderPlan', () => {
  for (const { what, observed, plan, order } of [
    {
      what: 'flattens depth-first and keeps the order of non-latency groups',
      observed: [['a', 900]],
      plan: () => group('fallback', t('a'), group('weighted', t('b'), t('c')), t('d')),
      order: ['a', 'b', 'c', 'd'],
    },
    {
      what: 'sorts latency groups by EWMA, unmeasured first, ties in declared order',
      observed: [
        ['a', 300],
        ['b', 100],
        ['d', 100],
      ],
      plan: () => group('latency', t('a'), t('b'), t('c'), t('d'), t('e')),
      order: ['c', 'e', 'b', 'd', 'a'],
    },
    {
      what: 'ranks a nested group by its first target and keeps each target once',
      observed: [
        ['a', 50],
        ['b', 500],
        ['c', 10],
      ],
      plan: () => group('latency', t('a'), group('fallback', t('b'), t('c')), t('c')),
      order: ['c', 'a', 'b'],
    },
  ] as const) {
    it(what, () => {
      const tracker = new LatencyTracker();
      for (const [name, ms] of observed) tracker.observe(name, ms);
      expect(names(plan(), tracker)).toEqual(order);
      // Given the flat order (what a decision carries), the same order, the flat array itself
      // when the plan has no latency group and no target twice.
      const flat = flattenPlan(plan());
      expect(orderPlan(plan(), tracker, flat).map((x) => x.name)).toEqual(order);
    });
  }

  it('reuses the flat order only when it is the attempt order', () => {
    const tracker = new LatencyTracker();
    const plain = group('fallback', t('a'), group('weighted', t('b'), t('c')));
    const flat = flattenPlan(plain);
    expect(orderPlan(plain, tracker, flat)).toBe(flat);
    const twice = group('fallback', t('a'), t('b'), t('a'));
    expect(orderPlan(twice, tracker, flattenPlan(twice)).map((x) => x.name)).toEqual(['a', 'b']);
  });
});
