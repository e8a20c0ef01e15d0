/**
 * The replay's clock: virtual time moved by the replay driver, never by waiting. Sleeps are
 * timers in a binary heap ordered by (time, creation); the driver asks when the next one is due
 * (`nextAt`), lets the code woken so far run to its next wait, and fires every timer of that
 * instant at once (`fireAt`). A cancelled sleep (the loser of every attempt's race against its
 * deadline) leaves the heap at once, so the heap holds only live timers.
 *
 * Unlike `VirtualClock` in auto mode, it never polls the event loop to find out whether time may
 * move: the replay knows (it moves time only between requests' waits, see engine/testing/replay.ts),
 * which is what makes a day of traffic replay in seconds.
 */
import type { Cancellation } from '../shared/cancellation.js';
import type { Clock } from '../shared/clock.js';

interface Timer {
  readonly at: number;
  readonly seq: number;
  /** Position in the heap; -1 once fired or cancelled. */
  index: number;
  resolve: () => void;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted', 'AbortError');
}

function before(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

export class ReplayClock implements Clock {
  #now: number;
  #seq = 0;
  readonly #heap: Timer[] = [];
  /** Pending sleeps by the signal that cancels them (see `#sleepsOf`). */
  readonly #bySignal = new WeakMap<AbortSignal, Map<Timer, (reason: unknown) => void>>();

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (!(ms > 0)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer: Timer = { at: this.#now + ms, seq: this.#seq++, index: -1, resolve };
      if (signal !== undefined) {
        const sleeps = this.#sleepsOf(signal);
        sleeps.set(timer, reject);
        timer.resolve = () => {
          sleeps.delete(timer);
          resolve();
        };
      }
      this.#push(timer);
    });
  }

  /**
   * `sleep` cancelled by a {@link Cancellation} instead of a signal (the simulated upstream's
   * sleeps, on the attempt's cancellation): no AbortSignal is made for it.
   */
  sleepUntil(ms: number, cancel: Cancellation): Promise<void> {
    if (cancel.aborted) return Promise.reject(cancel.reason);
    if (!(ms > 0)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer: Timer = { at: this.#now + ms, seq: this.#seq++, index: -1, resolve };
      this.#push(timer);
      cancel.onAbort((reason) => {
        // A sleep already over is left alone (its promise has settled).
        if (timer.index < 0) return;
        this.#remove(timer);
        reject(reason);
      });
    });
  }

  /**
   * The sleeps pending on `signal`, which one abort listener (added with the first) cancels, in
   * the order they were made: the simulated upstream sleeps two or three times per call on the
   * attempt's signal, and an EventTarget listener added and removed per sleep cost more than the
   * sleep.
   */
  #sleepsOf(signal: AbortSignal): Map<Timer, (reason: unknown) => void> {
    let sleeps = this.#bySignal.get(signal);
    if (sleeps === undefined) {
      const pending = new Map<Timer, (reason: unknown) => void>();
      signal.addEventListener(
        'abort',
        () => {
          const reason = abortReason(signal);
          for (const [timer, reject] of pending) {
            this.#remove(timer);
            reject(reason);
          }
          pending.clear();
        },
        { once: true },
      );
      this.#bySignal.set(signal, pending);
      sleeps = pending;
    }
    return sleeps;
  }

  /**
   * A timer on virtual time: `fn` runs (inside `fireAt`) exactly when a `sleep(ms)` made now would
   * resolve. The attempt loop races every upstream answer and stream chunk against one; without
   * it each race would cost an AbortController, a sleep promise and two listeners.
   */
  setTimer(ms: number, fn: () => void): unknown {
    const timer: Timer = { at: this.#now + Math.max(0, ms), seq: this.#seq++, index: -1, resolve: fn };
    this.#push(timer);
    return timer;
  }

  clearTimer(handle: unknown): void {
    this.#remove(handle as Timer);
  }

  /** Live (not yet fired, not cancelled) sleeps and timers. */
  get pending(): number {
    return this.#heap.length;
  }

  /** When the earliest pending sleep ends; null when none is pending. */
  nextAt(): number | null {
    return this.#heap.length === 0 ? null : this.#heap[0].at;
  }

  /**
   * Moves time to `at` (never backwards) and resolves every sleep due by then, in order. The
   * woken code runs once the caller yields to the event loop.
   */
  fireAt(at: number): void {
    if (at > this.#now) this.#now = at;
    const heap = this.#heap;
    while (heap.length > 0 && heap[0].at <= this.#now) {
      const timer = this.#pop();
      timer.resolve();
    }
  }

  /** Moves time forward to `t` without firing anything (the caller has fired what was due). */
  set(t: number): void {
    if (t > this.#now) this.#now = t;
  }

  #push(timer: Timer): void {
    const heap = this.#heap;
    timer.index = heap.length;
    heap.push(timer);
    this.#up(timer.index);
  }

  #pop(): Timer {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop() as Timer;
    if (last !== top) {
      heap[0] = last;
      last.index = 0;
      this.#down(0);
    }
    top.index = -1;
    return top;
  }

  #remove(timer: Timer): void {
    const i = timer.index;
    if (i < 0) return;
    const heap = this.#heap;
    const last = heap.pop() as Timer;
    timer.index = -1;
    if (last === timer) return;
    heap[i] = last;
    last.index = i;
    this.#down(i);
    this.#up(last.index);
  }

  #up(i: number): void {
    const heap = this.#heap;
    const timer = heap[i];
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(timer, heap[parent])) break;
      heap[i] = heap[parent];
      heap[i].index = i;
      i = parent;
    }
    heap[i] = timer;
    timer.index = i;
  }

  #down(i: number): void {
    const heap = this.#heap;
    const n = heap.length;
    const timer = heap[i];
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && before(heap[right], heap[left]) ? right : left;
      if (!before(heap[child], timer)) break;
      heap[i] = heap[child];
      heap[i].index = i;
      i = child;
    }
    heap[i] = timer;
    timer.index = i;
  }
}
