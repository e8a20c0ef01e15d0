/**
 * Racing an upstream promise against a deadline and the caller's signal, on the Clock port (so
 * the whole attempt loop runs on virtual time in tests and replay), and naming which timer fired.
 */
import type { AttemptRun, Failure, Live } from './run.js';
import { failure } from './run.js';

export type Raced<T> =
  | { readonly kind: 'value'; readonly value: T }
  | { readonly kind: 'error'; readonly error: unknown }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'aborted' };

/** The reason a race's losing timer is cancelled with (allocated once). */
const RACE_SETTLED = Object.freeze({ reason: 'race settled' });

/**
 * Races `promise` against the deadline `until` and the caller's signal. The loser's timer is
 * cancelled so no stray sleep stays on a virtual clock. Time spent waiting counts as upstream
 * time (not overhead).
 */
export async function race<T>(run: AttemptRun, promise: Promise<T>, until: number): Promise<Raced<T>> {
  // Handlers are attached before anything else: an upstream promise that rejects after an early
  // return (the caller already gone) must never become an unhandled rejection.
  const settled: Promise<Raced<T>> = promise.then(
    (value): Raced<T> => ({ kind: 'value', value }),
    (error: unknown): Raced<T> => ({ kind: 'error', error }),
  );
  const signal = run.signal;
  if (signal?.aborted) return { kind: 'aborted' };
  const before = run.now;
  if (!Number.isFinite(until)) {
    // No timer to cancel: the upstream call is itself tied to the caller's signal (call.ts), so an
    // abort settles `promise`. This path allocates no controller and no listener.
    try {
      const raced = await settled;
      return signal?.aborted ? { kind: 'aborted' } : raced;
    } finally {
      run.upstreamMs += run.now - before;
    }
  }
  const cancel = new AbortController();
  // A preallocated reason: `abort()` without one builds a DOMException with a stack trace on
  // every race (it was ~9% of gateway CPU in the profile).
  const onAbort = (): void => cancel.abort(RACE_SETTLED);
  signal?.addEventListener('abort', onAbort, { once: true });
  const timer = run.deps.clock.sleep(Math.max(0, until - run.now), cancel.signal).then(
    (): Raced<T> => ({ kind: 'timeout' }),
    (): Raced<T> => ({ kind: 'aborted' }),
  );
  try {
    const raced = await Promise.race([settled, timer]);
    // The caller's abort wins over whatever the upstream did because of it.
    return signal?.aborted ? { kind: 'aborted' } : raced;
  } finally {
    cancel.abort(RACE_SETTLED);
    signal?.removeEventListener('abort', onAbort);
    run.upstreamMs += run.now - before;
  }
}

/**
 * Which timer fired: the route deadline, the attempt's own total, first token, or idle. `until`
 * is the limit the race waited for: a real timer may fire a little before the clock reads it,
 * so the time of the failure is never taken as earlier than that limit.
 */
export function timeoutFailure(run: AttemptRun, live: Live, until: number): Failure {
  const now = Math.max(run.now, until);
  if (now >= run.deadline) return failure('timeout', true);
  if (now >= live.attemptDeadline) return failure('timeout');
  if (live.firstContentAt === null && now >= live.firstTokenAt) return failure('first_token');
  return failure('idle');
}
