/**
 * Backoff between retries of one target: exponential from `initialMs` by `multiplier`, capped at
 * `maxMs`, then jittered. `random` is the engine's random port (uniform in [0, 1)), so a seeded
 * source replays the same delays.
 */
import type { BackoffSettings, RetrySettings } from '../types.js';

/** The un-jittered delay before retry `retryIndex` (0 = the first retry). */
export function backoffCeiling(settings: BackoffSettings, retryIndex: number): number {
  const initial = Math.max(0, settings.initialMs);
  const max = Math.max(0, settings.maxMs);
  const multiplier = Math.max(1, settings.multiplier);
  if (initial === 0) return 0; // 0 × Infinity would be NaN for huge indexes
  // Math.min absorbs an overflow to Infinity for large indexes.
  return Math.min(max, initial * multiplier ** Math.max(0, retryIndex));
}

/**
 * The jittered delay before retry `retryIndex`: `full` is uniform in [0, d], `equal` is
 * d/2 + uniform [0, d/2], `none` is d, where d is {@link backoffCeiling}.
 *
 * @example backoffDelay({ initialMs: 250, maxMs: 8000, multiplier: 2, jitter: 'none' }, 2, Math.random) // 1000
 */
export function backoffDelay(settings: BackoffSettings, retryIndex: number, random: () => number): number {
  const d = backoffCeiling(settings, retryIndex);
  const r = Math.min(1, Math.max(0, random()));
  switch (settings.jitter) {
    case 'full':
      return r * d;
    case 'equal':
      return d / 2 + (r * d) / 2;
    case 'none':
      return d;
  }
}

export type RetryWait = { readonly kind: 'wait'; readonly ms: number } | { readonly kind: 'failover' };

/**
 * How long to wait before retrying the same target, given the upstream's `Retry-After` (ms, or
 * null). A `Retry-After` within `respectRetryAfterMs` is honoured (the wait is the larger of it and
 * the backoff); a longer one means the target asked us to stay away: fail over instead of waiting.
 */
export function retryWait(
  settings: RetrySettings,
  retryIndex: number,
  retryAfterMs: number | null,
  random: () => number,
): RetryWait {
  const backoff = backoffDelay(settings.backoff, retryIndex, random);
  if (retryAfterMs === null) return { kind: 'wait', ms: backoff };
  if (retryAfterMs > settings.respectRetryAfterMs) return { kind: 'failover' };
  return { kind: 'wait', ms: Math.max(backoff, retryAfterMs) };
}
