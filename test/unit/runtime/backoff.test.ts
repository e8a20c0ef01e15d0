import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { backoffCeiling, backoffDelay, retryWait } from '../../../engine/runtime/backoff.js';
import type { BackoffSettings } from '../../../engine/types.js';
import { DEFAULT_RETRY } from '../../support/decision-fixtures.js';

const settings = (jitter: BackoffSettings['jitter']): BackoffSettings => ({
  initialMs: 250,
  maxMs: 8_000,
  multiplier: 2,
  jitter,
});

describe('backoffDelay', () => {
  it('grows exponentially and stops at the cap', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 50, 5000].map((i) => backoffDelay(settings('none'), i, () => 0.9))).toEqual([
      250, 500, 1_000, 2_000, 4_000, 8_000, 8_000, 8_000, 8_000,
    ]);
  });

  it('full jitter is uniform in [0, d]; equal jitter in [d/2, d]', () => {
    expect(backoffDelay(settings('full'), 2, () => 0)).toBe(0);
    expect(backoffDelay(settings('full'), 2, () => 0.5)).toBe(500);
    expect(backoffDelay(settings('equal'), 2, () => 0)).toBe(500);
    expect(backoffDelay(settings('equal'), 2, () => 0.999)).toBeCloseTo(999.5, 6);
  });

  test.prop(
    [
      fc.record({
        initialMs: fc.integer({ min: 0, max: 10_000 }),
        maxMs: fc.integer({ min: 0, max: 120_000 }),
        multiplier: fc.double({ min: 1, max: 10, noNaN: true }),
        jitter: fc.constantFrom('full' as const, 'equal' as const, 'none' as const),
      }),
      fc.integer({ min: 0, max: 2_000 }),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
    ],
    { numRuns: 500 },
  )('stays within its bounds', (s, retryIndex, r) => {
    const d = backoffCeiling(s, retryIndex);
    const delay = backoffDelay(s, retryIndex, () => r);
    expect(d).toBeLessThanOrEqual(s.maxMs);
    if (s.initialMs > 0) expect(d).toBeLessThanOrEqual(s.initialMs * s.multiplier ** retryIndex + 1e-6);
    else expect(d).toBe(0);
    expect(delay).toBeGreaterThanOrEqual(s.jitter === 'equal' ? d / 2 : s.jitter === 'none' ? d : 0);
    expect(delay).toBeLessThanOrEqual(d);
    expect(Number.isFinite(delay)).toBe(true);
  });
});

describe('retryWait', () => {
  const retry = { ...DEFAULT_RETRY, backoff: settings('none'), respectRetryAfterMs: 30_000 };

  it('waits the backoff without Retry-After', () => {
    expect(retryWait(retry, 1, null, () => 0)).toEqual({ kind: 'wait', ms: 500 });
  });

  it('waits max(backoff, Retry-After) when Retry-After is within the cap', () => {
    expect(retryWait(retry, 1, 100, () => 0)).toEqual({ kind: 'wait', ms: 500 });
    expect(retryWait(retry, 1, 30_000, () => 0)).toEqual({ kind: 'wait', ms: 30_000 });
  });

  it('fails over when Retry-After exceeds the cap', () => {
    expect(retryWait(retry, 1, 30_001, () => 0)).toEqual({ kind: 'failover' });
  });
});
