/**
 * Pure GCRA (generic cell rate algorithm) maths: the one definition of what a rate limit admits,
 * shared by the memory store (called directly) and the Redis store (mirrored line by line in Lua).
 *
 * A limit is a rate of `amount` units per `periodMs` and a capacity `C` (the burst). The state is
 * the theoretical arrival time (TAT): the instant at which the bucket would be empty again. The
 * bucket's *level* (units in use) at `now` is `max(0, TAT - now) / emissionInterval`, where
 * `emissionInterval = periodMs / amount` ms per unit. A request of cost `n` is admitted when the
 * level plus `n` fits in `C`; admitting it moves the TAT `n` emission intervals later.
 *
 * Exact arithmetic. The emission interval is rarely a whole number of ms (`200000/min` is 0.3 ms
 * per token), so nothing is computed in fractional ms. Instead:
 * - the rate is reduced to a fraction of integers `amount / periodMs` (`rateToParams`), and time
 *   is measured in *ticks* of `1 / amount` ms, in which one unit costs exactly `periodMs` ticks;
 * - the TAT is the pair `{ ms, frac }` = `ms + frac / amount` (integer `ms`, `0 <= frac < amount`),
 *   so it stays exact however large the epoch is;
 * - every comparison is made on `ahead = (TAT - now)` in ticks, an integer bounded by
 *   `MAX_TICKS` (2^51), exact in a double and in Redis's Lua numbers alike.
 * Rounding, all of it documented here: `now` is floored to whole ms (1 ms resolution); costs are
 * rounded up to whole units (`Math.ceil`, so a fractional charge never under-charges and a
 * fractional refund never over-refunds); `retryAfterMs` and `resetAfterMs` are rounded up to whole
 * ms, so retrying after `retryAfterMs` always fits (absent other traffic); `remaining` is rounded
 * down.
 *
 * Invariants: acquire never lets the level exceed `C` nor go below 0. A state whose TAT is not
 * after `now` is the empty bucket, so forgetting it (eviction, Redis expiry) changes nothing.
 * `gcraAdjust` with a positive delta records usage that already happened (token reconciliation):
 * it is never refused and may leave the level above `C` (a debt that delays the next admissions,
 * so the long-run token rate holds even when estimates were low).
 */
import { type GcraParams, MAX_TICKS } from '../shared/gcra-params.js';

/** The exact rate parameters moved to engine/shared/gcra-params.ts (validate uses them too). */
export { type GcraParams, MAX_TICKS, rateToParams } from '../shared/gcra-params.js';

/** The theoretical arrival time `ms + frac / amount`; `null` is the empty bucket. */
export interface Tat {
  readonly ms: number;
  readonly frac: number;
}

export interface GcraInput extends GcraParams {
  readonly now: number;
  /** Units to take; negative refunds (never below empty); 0 peeks. */
  readonly cost: number;
}

export interface GcraResult {
  readonly allowed: boolean;
  /** The state to store: unchanged when refused; `null` when the bucket is empty. */
  readonly newTat: Tat | null;
  /** The capacity `C` (the `x-ratelimit-limit-*` value). */
  readonly limit: number;
  /** Whole units that would still be admitted now, after this request. */
  readonly remaining: number;
  /** 0 when allowed; else ms until this cost fits; `Infinity` when it never can (cost > C). */
  readonly retryAfterMs: number;
  /** ms until the bucket is empty (full capacity available again). */
  readonly resetAfterMs: number;
}

/** ms per unit; fractional in general, for display only (the maths uses ticks). */
export function emissionIntervalMs(params: GcraParams): number {
  return params.periodMs / params.amount;
}

/** Normalises a cost to whole units: rounded up, so charges never shrink and refunds never grow. */
export function wholeCost(cost: number): number {
  if (!Number.isFinite(cost)) throw new RangeError(`rate limit cost must be finite, got ${cost}`);
  return Math.ceil(cost);
}

/** `TAT - now` in ticks, clamped at 0 (a TAT in the past is the empty bucket). */
export function ticksAhead(tat: Tat | null, nowMs: number, amount: number): number {
  if (tat === null || tat.ms < nowMs) return 0;
  // tat.ms >= nowMs here, and the stored TAT was at most MAX_TICKS ahead when written.
  return (tat.ms - nowMs) * amount + tat.frac;
}

function tatFromTicks(nowMs: number, ticks: number, amount: number): Tat | null {
  if (ticks <= 0) return null;
  const whole = Math.floor(ticks / amount);
  return { ms: nowMs + whole, frac: ticks - whole * amount };
}

/** The level (units in use) at `now`; fractional. */
export function gcraLevel(tat: Tat | null, now: number, params: GcraParams): number {
  return ticksAhead(tat, Math.floor(now), params.amount) / params.periodMs;
}

/**
 * One admission decision. Refused requests leave the state unchanged.
 *
 * @example
 * const p = { amount: 1, periodMs: 1000, capacity: 2 }; // 1/s, burst 2
 * const a = gcraAcquire(null, { now: 0, cost: 2, ...p });     // allowed, remaining 0
 * const b = gcraAcquire(a.newTat, { now: 0, cost: 1, ...p }); // refused, retryAfterMs 1000
 */
export function gcraAcquire(tat: Tat | null, input: GcraInput): GcraResult {
  const { amount, periodMs, capacity } = input;
  const now = Math.floor(input.now);
  const cost = wholeCost(input.cost);
  const ahead = ticksAhead(tat, now, amount);
  const tau = capacity * periodMs;
  if (cost > capacity) {
    return refused(tat, ahead, input, Number.POSITIVE_INFINITY);
  }
  const next = ahead + cost * periodMs;
  if (cost > 0 && next > tau) {
    return refused(tat, ahead, input, Math.ceil((next - tau) / amount));
  }
  const settled = Math.min(Math.max(0, next), MAX_TICKS);
  return {
    allowed: true,
    newTat: tatFromTicks(now, settled, amount),
    limit: capacity,
    remaining: Math.max(0, Math.floor((tau - settled) / periodMs)),
    retryAfterMs: 0,
    resetAfterMs: Math.ceil(settled / amount),
  };
}

function refused(tat: Tat | null, ahead: number, params: GcraParams, retryAfterMs: number): GcraResult {
  const tau = params.capacity * params.periodMs;
  return {
    allowed: false,
    newTat: tat,
    limit: params.capacity,
    remaining: Math.max(0, Math.floor((tau - ahead) / params.periodMs)),
    retryAfterMs,
    resetAfterMs: Math.ceil(ahead / params.amount),
  };
}

/**
 * Reconciliation: charges (`delta > 0`, never refused, may exceed `C`) or refunds (`delta < 0`,
 * never below empty) units that were already consumed or over-reserved.
 */
export function gcraAdjust(tat: Tat | null, input: GcraParams & { now: number; delta: number }): Tat | null {
  const now = Math.floor(input.now);
  const delta = wholeCost(input.delta);
  const ahead = ticksAhead(tat, now, input.amount);
  const next = Math.min(Math.max(0, ahead + delta * input.periodMs), MAX_TICKS);
  return tatFromTicks(now, next, input.amount);
}
