/**
 * The exact form of a rate limit (engine/limits/gcra.ts holds the GCRA maths that uses it):
 * `rateToParams` reduces a parsed rate and burst to integer parameters, or says why it cannot
 * count them exactly. Shared so that validate refuses exactly what the limiter would.
 */
import type { Rate, UnitResult } from './units.js';

/** Upper bound on `ahead` in ticks: exact in doubles (2^53) with room for one more cost. */
export const MAX_TICKS = 2 ** 51;

/** A limit in exact form: `amount` units per `periodMs` (a reduced fraction) and capacity `C`. */
export interface GcraParams {
  /** Units per period, a positive integer (reduced with `periodMs`). */
  readonly amount: number;
  /** The period in ms, a positive integer. */
  readonly periodMs: number;
  /** Capacity (burst) in units, a positive integer: the most that can be admitted at once. */
  readonly capacity: number;
}

function gcd(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y !== 0) {
    const t = x % y;
    x = y;
    y = t;
  }
  return x;
}

/** Decimal places of a finite number, up to 9 (rates are written with a few decimals at most). */
function decimalScale(value: number): number {
  let scale = 1;
  for (let i = 0; i < 9 && !Number.isInteger(value * scale); i++) scale *= 10;
  return scale;
}

/**
 * The exact parameters of a rate (from `parseRate`) with an optional burst. The capacity defaults
 * to one period's amount, rounded up, and at least 1 (so `0.5/s` admits one request every 2 s).
 *
 * @example
 * rateToParams({ amount: 200000, perMs: 60000 }) // { ok: true, value: { amount: 10, periodMs: 3, capacity: 200000 } }
 */
export function rateToParams(rate: Rate, burst?: number): UnitResult<GcraParams> {
  if (!(rate.amount > 0) || !Number.isFinite(rate.amount)) {
    return {
      ok: false,
      error: 'a rate must be positive: a rate of 0 admits nothing (remove the limit instead)',
    };
  }
  if (!Number.isSafeInteger(rate.perMs) || rate.perMs <= 0) {
    return { ok: false, error: `rate period ${rate.perMs} ms is not a positive whole number of ms` };
  }
  const scale = decimalScale(rate.amount);
  const scaledAmount = Math.round(rate.amount * scale);
  const scaledPeriod = rate.perMs * scale;
  const g = gcd(scaledAmount, scaledPeriod);
  const capacity = burst ?? Math.max(1, Math.ceil(rate.amount));
  if (!Number.isSafeInteger(capacity) || capacity < 1) {
    return { ok: false, error: `burst must be a positive whole number, got ${capacity}` };
  }
  const params: GcraParams = { amount: scaledAmount / g, periodMs: scaledPeriod / g, capacity };
  if (params.capacity * params.periodMs > MAX_TICKS || !Number.isSafeInteger(params.periodMs)) {
    return {
      ok: false,
      error: 'rate and burst are too large to count exactly (capacity x period exceeds 2^51)',
    };
  }
  return { ok: true, value: params };
}
