/**
 * The two storage ports of limits and budgets. Every implementation (memory, Redis, the resilient
 * wrapper) passes the shared conformance suite in `test/unit/limits/store-suite.ts`.
 *
 * Time is always an argument: the engine passes its Clock's `now()`, so the stores never read a
 * clock of their own (not even Redis `TIME`) and run unchanged on the virtual clock of `replay`.
 * Keys are opaque strings built by the caller (`keys.ts` plus a limit fingerprint); a store may
 * prefix them but never interprets them.
 */
import type { GcraParams } from './gcra.js';

/** What a store needs to know about a limit: its exact rate and capacity (see `rateToParams`). */
export type LimitParams = GcraParams;

/** The outcome of one acquire on one key. */
export interface Acquired {
  readonly allowed: boolean;
  /** The capacity (burst) of the limit. */
  readonly limit: number;
  /** Whole units still available after this request. */
  readonly remaining: number;
  /** 0 when allowed; ms until the cost fits; `Infinity` when it never can (cost > capacity). */
  readonly retryAfterMs: number;
  /** ms until the bucket is back to full capacity. */
  readonly resetAfterMs: number;
  /** Set only by the resilient wrapper when the store failed and `onStoreError` decided. */
  readonly degraded?: 'open' | 'closed';
}

export interface LimiterStore {
  /** Atomically takes `cost` units (negative refunds, 0 peeks) from `key` if they fit at `now`. */
  acquire(key: string, params: LimitParams, cost: number, now: number): Promise<Acquired>;
  /** Reconciles: positive charges without refusing (may go over capacity), negative refunds. */
  adjust(key: string, params: LimitParams, delta: number, now: number): Promise<void>;
  /**
   * Optional, for a store whose state is in this process: `acquire` and `adjust` done at once,
   * without a promise. A limiter whose every store has them admits a request synchronously.
   */
  acquireSync?(key: string, params: LimitParams, cost: number, now: number): Acquired;
  adjustSync?(key: string, params: LimitParams, delta: number, now: number): void;
  close(): Promise<void>;
}

/**
 * Monotonic counters per key and period, for budgets. Amounts are whole numbers (budgets count
 * nano-dollars) so that concurrent adds are exact and each total is seen by exactly one add.
 */
export interface CounterStore {
  /** Atomically adds `amount` to the counter of (`key`, `periodStartMs`); returns the new total. */
  add(key: string, amount: number, periodStartMs: number, ttlMs: number): Promise<number>;
  /** The counter of (`key`, `periodStartMs`); 0 when absent. */
  get(key: string, periodStartMs: number): Promise<number>;
  close(): Promise<void>;
}

/** The counter's storage key: one counter per period, so a new period starts at 0. */
export function periodKey(key: string, periodStartMs: number): string {
  return `${key}@${periodStartMs}`;
}

export function assertWholeAmount(amount: number): void {
  if (!Number.isSafeInteger(amount)) {
    throw new RangeError(`counter amounts must be safe integers, got ${amount}`);
  }
}
