import { describe, expect, it } from 'vitest';
import {
  emissionIntervalMs,
  gcraAcquire,
  gcraAdjust,
  gcraLevel,
  MAX_TICKS,
  rateToParams,
  wholeCost,
} from '../../../engine/limits/gcra.js';
import { parseRate } from '../../../engine/shared/units.js';

function paramsOf(text: string, burst?: number) {
  const rate = parseRate(text);
  if (!rate.ok) throw new Error(rate.error);
  const r = rateToParams(rate.value, burst);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

describe('rateToParams', () => {
  it('reduces the rate to an exact fraction with capacity = one period amount', () => {
    expect(paramsOf('600/min')).toEqual({ amount: 1, periodMs: 100, capacity: 600 });
    expect(paramsOf('200000/min')).toEqual({ amount: 10, periodMs: 3, capacity: 200_000 });
    expect(paramsOf('100/10s', 5)).toEqual({ amount: 1, periodMs: 100, capacity: 5 });
    expect(paramsOf('7/s')).toEqual({ amount: 7, periodMs: 1000, capacity: 7 });
    expect(emissionIntervalMs(paramsOf('200000/min'))).toBeCloseTo(0.3);
  });

  it('handles decimal amounts, with a capacity of at least 1', () => {
    expect(paramsOf('0.5/s')).toEqual({ amount: 1, periodMs: 2000, capacity: 1 });
    expect(paramsOf('2.5/min')).toEqual({ amount: 1, periodMs: 24_000, capacity: 3 });
  });

  it('rejects a zero rate, a bad burst and sizes that cannot be counted exactly', () => {
    expect(rateToParams({ amount: 0, perMs: 1000 }).ok).toBe(false);
    expect(rateToParams({ amount: 1, perMs: 1000 }, 0).ok).toBe(false);
    expect(rateToParams({ amount: 1, perMs: 1000 }, 1.5).ok).toBe(false);
    expect(rateToParams({ amount: 1, perMs: 86_400_000 * 1000 }, 1e8).ok).toBe(false);
  });
});

describe('gcraAcquire', () => {
  const p = { amount: 1, periodMs: 1000, capacity: 2 }; // 1/s, burst 2

  it('follows the documented example', () => {
    const a = gcraAcquire(null, { now: 0, cost: 2, ...p });
    expect(a).toEqual({
      allowed: true,
      newTat: { ms: 2000, frac: 0 },
      limit: 2,
      remaining: 0,
      retryAfterMs: 0,
      resetAfterMs: 2000,
    });
    const b = gcraAcquire(a.newTat, { now: 0, cost: 1, ...p });
    expect(b).toMatchObject({ allowed: false, newTat: a.newTat, retryAfterMs: 1000, remaining: 0 });
  });

  it('keeps the fractional part of the TAT exactly', () => {
    const q = { amount: 10, periodMs: 3, capacity: 100 }; // 0.3 ms per unit
    let tat = null;
    for (let i = 0; i < 7; i++) tat = gcraAcquire(tat, { now: 1e12, cost: 1, ...q }).newTat;
    expect(tat).toEqual({ ms: 1e12 + 2, frac: 1 }); // 2.1 ms
    expect(gcraLevel(tat, 1e12, q)).toBe(7);
    expect(gcraLevel(tat, 1e12 + 1, q)).toBeCloseTo(11 / 3);
  });

  it('rounds costs up and refunds toward zero', () => {
    expect(wholeCost(1.2)).toBe(2);
    expect(wholeCost(-1.8)).toBe(-1);
    expect(() => wholeCost(Number.NaN)).toThrow(RangeError);
  });

  it('refunds never go below empty, charges through adjust may exceed capacity', () => {
    const full = gcraAcquire(null, { now: 0, cost: 2, ...p }).newTat;
    expect(gcraAdjust(full, { now: 0, delta: -5, ...p })).toBeNull();
    const debt = gcraAdjust(full, { now: 0, delta: 3, ...p });
    expect(gcraLevel(debt, 0, p)).toBe(5);
    expect(gcraAdjust(null, { now: 0, delta: 1e300, ...p })).toEqual({ ms: MAX_TICKS, frac: 0 }); // clamped, still exact;
  });

  it('a TAT in the past is the empty bucket', () => {
    const old = { ms: 10, frac: 0 };
    expect(gcraAcquire(old, { now: 5000, cost: 2, ...p })).toEqual(
      gcraAcquire(null, { now: 5000, cost: 2, ...p }),
    );
  });
});
