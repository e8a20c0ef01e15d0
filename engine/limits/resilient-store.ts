/**
 * Applies a limit's `onStoreError` around a shared store. When an operation fails or takes longer
 * than `timeoutMs`, the wrapper answers on the store's behalf, tells `onError` (the engine logs a
 * line and counts a metric), and carries on; the next operation tries the store again, so service
 * recovers on its own as soon as the store does (ioredis reconnects in the background, and with
 * its offline queue off nothing piles up meanwhile). `onRecover` fires on the first success after
 * a failure.
 *
 * - `open`: acquire admits (`degraded: 'open'`); budget counters read as 0 (never exceeded).
 * - `closed`: acquire refuses with `retryAfterMs = closedRetryAfterMs`; counters read as
 *   `Infinity` (exceeded).
 * - `adjust` and counter `add` failures are reported and dropped (the reconciliation is lost, the
 *   request is not failed for it).
 * - Invalid arguments (a non-finite cost, a fractional counter amount) are the caller's bug and
 *   are thrown, never mistaken for a store failure.
 *
 * Limits with different `onStoreError` share one underlying store through two wrappers; closing a
 * wrapper closes the inner store, whose `close` is idempotent.
 */
import { type Clock, systemClock } from '../shared/clock.js';
import { wholeCost } from './gcra.js';
import {
  type Acquired,
  assertWholeAmount,
  type CounterStore,
  type LimiterStore,
  type LimitParams,
} from './store.js';

export type OnStoreError = 'open' | 'closed';

export interface StoreErrorEvent {
  readonly op: 'acquire' | 'adjust' | 'add' | 'get';
  readonly key: string;
  /** What the wrapper decided for this operation. */
  readonly mode: OnStoreError;
  readonly timedOut: boolean;
  readonly error: unknown;
}

export interface ResilientStoreOptions {
  readonly onStoreError: OnStoreError;
  /**
   * An operation slower than this counts as failed; default 75 ms. 0 disables the wrapper's own
   * timer (about 10 µs per operation) when the inner store bounds its commands itself, e.g. a
   * `RedisStore` with `commandTimeoutMs` (its timeouts then arrive here as errors).
   */
  readonly timeoutMs?: number;
  /** `Retry-After` for requests refused because the store is down (`closed`); default 1000 ms. */
  readonly closedRetryAfterMs?: number;
  /** Called for every failed operation; must not throw (a throw is swallowed). */
  readonly onError?: (event: StoreErrorEvent) => void;
  /** Called on the first successful operation after a failure. */
  readonly onRecover?: () => void;
  /** Timers for the timeout; default the system clock. */
  readonly clock?: Clock;
}

const SETTLED = Object.freeze({ settled: true });

export class StoreTimeoutError extends Error {
  readonly code = 'LIMITS_STORE_TIMEOUT';
  constructor(op: string, ms: number) {
    super(`limit store ${op} took longer than ${ms} ms`);
    this.name = 'StoreTimeoutError';
  }
}

/**
 * @example
 * const redis = new RedisStore({ url });
 * const open = new ResilientStore(redis, { onStoreError: 'open', onError: (e) => log.warn(e, 'limit store') });
 */
export class ResilientStore implements LimiterStore, CounterStore {
  readonly #inner: LimiterStore & CounterStore;
  readonly #mode: OnStoreError;
  readonly #timeoutMs: number;
  readonly #closedRetryAfterMs: number;
  readonly #onError: (event: StoreErrorEvent) => void;
  readonly #onRecover: () => void;
  readonly #clock: Clock;
  #failing = false;

  constructor(inner: LimiterStore & CounterStore, options: ResilientStoreOptions) {
    this.#inner = inner;
    this.#mode = options.onStoreError;
    this.#timeoutMs = options.timeoutMs ?? 75;
    this.#closedRetryAfterMs = options.closedRetryAfterMs ?? 1_000;
    this.#onError = options.onError ?? (() => {});
    this.#onRecover = options.onRecover ?? (() => {});
    this.#clock = options.clock ?? systemClock;
  }

  /** True after a failure until the next success. */
  get failing(): boolean {
    return this.#failing;
  }

  async acquire(key: string, params: LimitParams, cost: number, now: number): Promise<Acquired> {
    wholeCost(cost); // a caller's bug (a non-finite cost) is thrown, not taken for a store failure
    const r = await this.#guard('acquire', key, () => this.#inner.acquire(key, params, cost, now));
    if (r.ok) return r.value;
    return this.#mode === 'open'
      ? {
          allowed: true,
          limit: params.capacity,
          remaining: params.capacity,
          retryAfterMs: 0,
          resetAfterMs: 0,
          degraded: 'open',
        }
      : {
          allowed: false,
          limit: params.capacity,
          remaining: 0,
          retryAfterMs: this.#closedRetryAfterMs,
          resetAfterMs: this.#closedRetryAfterMs,
          degraded: 'closed',
        };
  }

  async adjust(key: string, params: LimitParams, delta: number, now: number): Promise<void> {
    wholeCost(delta);
    await this.#guard('adjust', key, () => this.#inner.adjust(key, params, delta, now));
  }

  async add(key: string, amount: number, periodStartMs: number, ttlMs: number): Promise<number> {
    assertWholeAmount(amount);
    const r = await this.#guard('add', key, () => this.#inner.add(key, amount, periodStartMs, ttlMs));
    return r.ok ? r.value : this.#fallbackCount();
  }

  async get(key: string, periodStartMs: number): Promise<number> {
    const r = await this.#guard('get', key, () => this.#inner.get(key, periodStartMs));
    return r.ok ? r.value : this.#fallbackCount();
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  #fallbackCount(): number {
    return this.#mode === 'open' ? 0 : Number.POSITIVE_INFINITY;
  }

  async #guard<T>(
    op: StoreErrorEvent['op'],
    key: string,
    run: () => Promise<T>,
  ): Promise<{ ok: true; value: T } | { ok: false }> {
    const timer = this.#timeoutMs > 0 ? new AbortController() : null;
    let timedOut = false;
    try {
      const value =
        timer === null
          ? await run()
          : await Promise.race([
              run(),
              this.#clock.sleep(this.#timeoutMs, timer.signal).then(() => {
                timedOut = true;
                throw new StoreTimeoutError(op, this.#timeoutMs);
              }),
            ]);
      if (this.#failing) {
        this.#failing = false;
        this.#safely(() => this.#onRecover());
      }
      return { ok: true, value };
    } catch (error) {
      this.#failing = true;
      this.#safely(() => this.#onError({ op, key, mode: this.#mode, timedOut, error }));
      return { ok: false };
    } finally {
      // A constant reason: aborting without one would build a DOMException (and a stack) per call.
      timer?.abort(SETTLED);
    }
  }

  #safely(fn: () => void): void {
    try {
      fn();
    } catch {
      // Hooks are for logs and metrics; they never change a decision.
    }
  }
}
