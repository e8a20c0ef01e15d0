import { describe, expect, it } from 'vitest';
import { maxUpstreamCalls } from '../../../engine/runtime/attempts/index.js';
import type { PlanNode, ResolvedTarget } from '../../../engine/types.js';
import { fallbackPlan, makeDecision, makeTarget } from '../../support/decision-fixtures.js';

const noRetry = (name: string, o: Partial<ResolvedTarget['retry']> = {}): ResolvedTarget =>
  makeTarget(name, { retry: { attempts: 0, ...o } });
const leaf = (target: ResolvedTarget): PlanNode => ({ kind: 'target', target });

describe('maxUpstreamCalls', () => {
  it('two targets without retries: 2 (not the route cap)', () => {
    expect(maxUpstreamCalls(makeDecision([noRetry('a'), noRetry('b')], { maxAttempts: 6 }))).toBe(2);
  });

  it('counts each target once plus its retries, within maxAttempts', () => {
    const targets = [
      makeTarget('a', { retry: { attempts: 2 } }),
      makeTarget('b', { retry: { attempts: 1 } }),
    ];
    expect(maxUpstreamCalls(makeDecision(targets, { maxAttempts: 10 }))).toBe(5);
    expect(maxUpstreamCalls(makeDecision(targets, { maxAttempts: 4 }))).toBe(4);
  });

  it('no retries for a target whose retryOn holds only classes never retried', () => {
    const a = makeTarget('a', { retry: { attempts: 3, retryOn: ['timeout', 'context_length'] } });
    expect(maxUpstreamCalls(makeDecision([a, noRetry('b')]))).toBe(2);
  });

  it('a target with an empty fallbackOn ends the walk, unless a stream may continue after a cut', () => {
    const targets = [noRetry('a'), noRetry('b', { fallbackOn: [] }), noRetry('c')];
    expect(maxUpstreamCalls(makeDecision(targets))).toBe(2);
    expect(maxUpstreamCalls(makeDecision(targets, { midStream: 'continue' }), { stream: false })).toBe(2);
    expect(maxUpstreamCalls(makeDecision(targets, { midStream: 'continue' }), { stream: true })).toBe(3);
  });

  it('a latency group may put the member that ends the walk last', () => {
    const stopper = makeTarget('s', { retry: { attempts: 1, fallbackOn: [] } });
    const plan: PlanNode = {
      kind: 'group',
      strategy: 'fallback',
      children: [
        {
          kind: 'group',
          strategy: 'latency',
          children: [leaf(stopper), leaf(noRetry('x')), leaf(noRetry('y'))],
        },
        leaf(noRetry('after')),
      ],
    };
    // x, y, then s (2 calls); `after` is never reached.
    expect(maxUpstreamCalls(makeDecision([], { plan }))).toBe(4);
  });

  it('a target the plan names twice is called at its first place only', () => {
    const a = noRetry('a');
    const plan: PlanNode = {
      kind: 'group',
      strategy: 'fallback',
      children: [leaf(a), { kind: 'group', strategy: 'weighted', children: [leaf(a), leaf(noRetry('b'))] }],
    };
    expect(maxUpstreamCalls(makeDecision([], { plan }))).toBe(2);
  });

  it('the all-open probe may call a target past one that ends the walk, with its retries', () => {
    const targets = [noRetry('a', { fallbackOn: [] }), makeTarget('b', { retry: { attempts: 3 } })];
    expect(maxUpstreamCalls(makeDecision(targets, { plan: fallbackPlan(targets) }))).toBe(4);
  });
});
