/**
 * A Clock on virtual time, for tests and `replay`. Sleeps resolve only when time moves:
 * - manually, with `advance(ms)` / `advanceTo(t)`, which fire the due timers in order and let the
 *   woken code run (microtasks and one macrotask turn) before moving on;
 * - or automatically (`auto: true`): whenever the process has nothing else runnable (checked with
 *   a `setImmediate` hop, after every microtask has drained), time jumps to the earliest pending
 *   timer. Code on virtual time then runs as fast as it can and in a deterministic order.
 *
 * Timers due at the same instant fire in the order they were created. Only code whose every wait
 * goes through this clock (no real sockets, no real timers) is deterministic under `auto`.
 */
import type { Clock } from './clock.js';

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly resolve: () => void;
}

export interface VirtualClockOptions {
  /** Virtual time at creation; default 0. */
  readonly start?: number;
  /** Jump to the next timer whenever nothing else is runnable; default false. */
  readonly auto?: boolean;
  /** `setImmediate` hops that must find nothing new before an auto jump; default 2. */
  readonly settleTurns?: number;
}

function macrotask(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class VirtualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: Timer[] = [];
  #auto: boolean;
  #autoScheduled = false;
  readonly #settleTurns: number;

  constructor(options: VirtualClockOptions = {}) {
    this.#now = options.start ?? 0;
    this.#auto = options.auto ?? false;
    this.#settleTurns = Math.max(1, options.settleTurns ?? 2);
  }

  now(): number {
    return this.#now;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (!(ms > 0)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer: Timer = {
        at: this.#now + ms,
        seq: this.#seq++,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        this.#remove(timer);
        reject(abortReason(signal as AbortSignal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#insert(timer);
      this.#scheduleAuto();
    });
  }

  /** A timer on virtual time: fires exactly when a `sleep(ms)` made now would resolve. */
  setTimer(ms: number, fn: () => void): unknown {
    const timer: Timer = { at: this.#now + Math.max(0, ms), seq: this.#seq++, resolve: fn };
    this.#insert(timer);
    this.#scheduleAuto();
    return timer;
  }

  clearTimer(handle: unknown): void {
    this.#remove(handle as Timer);
  }

  /** Pending sleeps and timers. */
  get pending(): number {
    return this.#timers.length;
  }

  /** When the earliest pending sleep ends; null when none. */
  nextTimerAt(): number | null {
    return this.#timers[0]?.at ?? null;
  }

  setAuto(auto: boolean): void {
    this.#auto = auto;
    this.#scheduleAuto();
  }

  /** Moves time forward by `ms`, firing every timer due on the way, in order. */
  async advance(ms: number): Promise<void> {
    await this.advanceTo(this.#now + Math.max(0, ms));
  }

  async advanceTo(target: number): Promise<void> {
    await this.#settle();
    for (;;) {
      const next = this.#timers[0];
      if (next === undefined || next.at > target) break;
      this.#fireNext();
      await this.#settle();
    }
    if (target > this.#now) this.#now = target;
  }

  /** Fires timers one instant at a time until none is pending (beware of code that sleeps in a loop). */
  async runUntilIdle(maxTimers = 100_000): Promise<void> {
    await this.#settle();
    for (let fired = 0; this.#timers.length > 0; fired++) {
      if (fired >= maxTimers) throw new Error(`VirtualClock.runUntilIdle: more than ${maxTimers} timers`);
      this.#fireNext();
      await this.#settle();
    }
  }

  #fireNext(): void {
    const timer = this.#timers.shift();
    if (timer === undefined) return;
    if (timer.at > this.#now) this.#now = timer.at;
    timer.resolve();
  }

  async #settle(): Promise<void> {
    for (let i = 0; i < this.#settleTurns; i++) await macrotask();
  }

  #scheduleAuto(): void {
    if (!this.#auto || this.#autoScheduled || this.#timers.length === 0) return;
    this.#autoScheduled = true;
    void this.#autoLoop();
  }

  async #autoLoop(): Promise<void> {
    // Wait until a full settle passes with no new timer created, then jump to the earliest one.
    let seq = -1;
    while (seq !== this.#seq) {
      seq = this.#seq;
      await this.#settle();
    }
    this.#autoScheduled = false;
    if (!this.#auto) return;
    this.#fireNext();
    this.#scheduleAuto();
  }

  #insert(timer: Timer): void {
    // Binary search for the first timer strictly later than (at, seq): same-instant timers keep
    // their creation order.
    let lo = 0;
    let hi = this.#timers.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const t = this.#timers[mid];
      if (t.at < timer.at || (t.at === timer.at && t.seq < timer.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.#timers.splice(lo, 0, timer);
  }

  #remove(timer: Timer): void {
    const index = this.#timers.indexOf(timer);
    if (index >= 0) this.#timers.splice(index, 1);
  }
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted', 'AbortError');
}
