import { describe, expect, it } from 'vitest';
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
  it('flattens depth-first and keeps the order of non-latency groups', () => {
    const tracker = new LatencyTracker();
    tracker.observe('a', 900);
    expect(names(group('fallback', t('a'), group('weighted', t('b'), t('c')), t('d')), tracker)).toEqual([
      'a',
      'b',
      'c',
      'd',
    ]);
  });

  it('sorts latency groups by EWMA, unmeasured first, ties in declared order', () => {
    const tracker = new LatencyTracker();
    tracker.observe('a', 300);
    tracker.observe('b', 100);
    tracker.observe('d', 100);
    expect(names(group('latency', t('a'), t('b'), t('c'), t('d'), t('e')), tracker)).toEqual([
      'c',
      'e',
      'b',
      'd',
      'a',
    ]);
  });

  it('ranks a nested group by its first target and keeps each target once', () => {
    const tracker = new LatencyTracker();
    tracker.observe('a', 50);
    tracker.observe('b', 500);
    tracker.observe('c', 10);
    const plan = group('latency', t('a'), group('fallback', t('b'), t('c')), t('c'));
    expect(names(plan, tracker)).toEqual(['c', 'a', 'b']);
  });
});
