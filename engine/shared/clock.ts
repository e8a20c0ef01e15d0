/**
 * The clock port. Every wait and every timestamp in the engine goes through a Clock so that tests
 * and `replay` can run on virtual time. `Date.now()` and real timers appear only in `systemClock`.
 */
export interface Clock {
  /** Milliseconds since an arbitrary epoch; monotonic within a process. */
  now(): number;
  /** Resolves after `ms` (or at once for ms ≤ 0); rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /**
   * Optional, for hot paths: calls `fn` once after `ms` (> 0) unless the returned handle is given
   * to `clearTimer` first. It fires when `sleep(ms)` made at the same moment would resolve, but
   * costs no promise, no AbortController and no listener: the attempt loop races every upstream
   * read against a timer. A clock without it gets `sleep` with an AbortController instead.
   */
  setTimer?(ms: number, fn: () => void): unknown;
  clearTimer?(handle: unknown): void;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted', 'AbortError');
}

/** Constant for the process; read once (the getter is not free on a path that reads the time a lot). */
const TIME_ORIGIN = performance.timeOrigin;

export const systemClock: Clock = {
  now: () => TIME_ORIGIN + performance.now(),
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(timer);
        reject(abortReason(signal as AbortSignal));
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  },
  setTimer: (ms, fn) => setTimeout(fn, ms),
  clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
