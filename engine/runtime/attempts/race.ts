/**
 * Racing an upstream promise against a deadline and the caller's signal, on the Clock port (so
 * the whole attempt loop runs on virtual time in tests and replay), and naming which timer fired.
 */
import { listenAbort, unlistenAbort } from '../../shared/cancellation.js';
import type { Clock } from '../../shared/clock.js';
import type { AttemptRun, Failure, Live } from './run.js';
import { failure } from './run.js';

export type Raced<T> =
  | { readonly kind: 'value'; readonly value: T }
  | { readonly kind: 'error'; readonly error: unknown }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'aborted' };

/** The reason a race's losing timer is cancelled with (allocated once). */
const RACE_SETTLED = Object.freeze({ reason: 'race settled' });

const ABORTED: Raced<never> = Object.freeze({ kind: 'aborted' });
const TIMEOUT: Raced<never> = Object.freeze({ kind: 'timeout' });

function noop(): void {}

function hasTimers(clock: Clock): clock is Clock & Required<Pick<Clock, 'setTimer' | 'clearTimer'>> {
  return clock.setTimer !== undefined && clock.clearTimer !== undefined;
}

/**
 * Races `promise` (a call or a read of the attempt `live`) against the deadline `until` and the
 * caller's signal. The loser's timer is cancelled so no stray sleep stays on a virtual clock. Time
 * spent waiting counts as upstream time (not overhead).
 *
 * One promise per race: the caller's abort reaches it through `live.interrupt`, called by the
 * attempt's own abort listener (call.ts), and the deadline is a plain timer of the clock
 * (`Clock.setTimer`). A stream races once per chunk; an AbortController, a sleep and two
 * listeners per race were a fifth of the gateway's CPU on a streamed answer.
 */
export function race<T>(run: AttemptRun, live: Live, promise: Promise<T>, until: number): Promise<Raced<T>> {
  const signal = run.signal;
  if (signal?.aborted) {
    // Handled all the same: an upstream promise that rejects after this early return must never
    // become an unhandled rejection.
    promise.then(noop, noop);
    return Promise.resolve(ABORTED);
  }
  const clock = run.deps.clock;
  if (!hasTimers(clock)) return raceWithSleep(run, promise, until);
  const before = clock.now();
  return new Promise<Raced<T>>((resolve) => {
    let settled = false;
    let timer: unknown = null;
    const finish = (result: Raced<T>): void => {
      if (settled) return;
      settled = true;
      if (live.interrupt === interrupt) live.interrupt = null;
      if (timer !== null) clock.clearTimer(timer);
      run.upstreamMs += clock.now() - before;
      // The caller's abort wins over whatever the upstream did because of it.
      resolve(signal?.aborted ? ABORTED : result);
    };
    const interrupt = (): void => finish(ABORTED);
    promise.then(
      (value) => finish({ kind: 'value', value }),
      (error: unknown) => finish({ kind: 'error', error }),
    );
    live.interrupt = interrupt;
    if (!Number.isFinite(until)) return;
    const ms = until - before;
    if (ms > 0) {
      timer = clock.setTimer(ms, () => {
        timer = null;
        finish(TIMEOUT);
      });
    } else {
      // Due already: times out unless the upstream promise had settled (as `sleep(0)` would).
      void Promise.resolve().then(() => finish(TIMEOUT));
    }
  });
}

/** The same race on a clock without `setTimer`: a sleep cancelled through an AbortController. */
async function raceWithSleep<T>(run: AttemptRun, promise: Promise<T>, until: number): Promise<Raced<T>> {
  const settled: Promise<Raced<T>> = promise.then(
    (value): Raced<T> => ({ kind: 'value', value }),
    (error: unknown): Raced<T> => ({ kind: 'error', error }),
  );
  const signal = run.signal;
  const before = run.now;
  if (!Number.isFinite(until)) {
    // No timer: the upstream call is itself tied to the caller's signal (call.ts).
    try {
      const raced = await settled;
      return signal?.aborted ? ABORTED : raced;
    } finally {
      run.upstreamMs += run.now - before;
    }
  }
  const cancel = new AbortController();
  const onAbort = (): void => cancel.abort(RACE_SETTLED);
  if (signal !== undefined) listenAbort(signal, onAbort);
  const timer = run.deps.clock.sleep(Math.max(0, until - run.now), cancel.signal).then(
    (): Raced<T> => TIMEOUT,
    (): Raced<T> => ABORTED,
  );
  try {
    const raced = await Promise.race([settled, timer]);
    return signal?.aborted ? ABORTED : raced;
  } finally {
    cancel.abort(RACE_SETTLED);
    if (signal !== undefined) unlistenAbort(signal, onAbort);
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
