/**
 * Unit-bearing strings (durations, rates, sizes) must parse, and a duration that becomes a Node
 * timer must fit one.
 */

import { parseDuration, parseRate, parseSize, type UnitResult } from '../../shared/units.js';
import { splitPointer } from '../source-map.js';
import type { Checks } from './checks.js';
import { matchPattern, valueAt } from './document.js';

/** The longest delay a Node timer honours (2^31−1 ms); a longer one fires after 1ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Where the per-attempt settings live. */
const SCOPES = ['/defaults', '/routes/*', '/models/*'];

/** The durations under `scopes` that become Node timers. */
function timerPatterns(scopes: readonly string[]): string[] {
  return scopes.flatMap((s) => [
    `${s}/timeout/*`,
    `${s}/retry/backoff/initial`,
    `${s}/retry/backoff/max`,
    `${s}/retry/respectRetryAfter`,
    `${s}/breaker/window`,
    `${s}/breaker/cooldown`,
  ]);
}

export function units(c: Checks): void {
  const durations = [
    ...timerPatterns(SCOPES),
    '/providers/*/latency',
    '/providers/*/chunkDelay',
    '/caches/*/ttl',
    '/caches/*/embeddingTimeout',
  ];
  const kinds: [string, string[], (s: string) => UnitResult<unknown>][] = [
    ['SEM_BAD_DURATION', durations, parseDuration],
    ['SEM_BAD_RATE', ['/limits/*/requests', '/limits/*/tokens'], parseRate],
    [
      'SEM_BAD_SIZE',
      ['/providers/*/maxResponseSize', '/caches/*/maxSize', '/recording/rotate/size', '/jobs/maxFileSize'],
      parseSize,
    ],
  ];
  for (const [diagnosticCode, patterns, parse] of kinds) {
    for (const pattern of patterns) {
      for (const pointer of matchPattern(c.ctx.doc, pattern)) {
        const v = valueAt(c.ctx.doc, pointer);
        if (typeof v !== 'string' || !c.clean(pointer)) continue;
        const r = parse(v);
        if (r.ok) continue;
        const reason = c.ctx.isSecret(pointer) ? 'the value cannot be parsed' : r.error;
        c.out.push(c.ctx.diag(diagnosticCode, 'error', `${c.ctx.subject(pointer)}: ${reason}`, pointer));
      }
    }
  }
  timerBounds(c, SCOPES);
}

/**
 * Timeouts, backoffs, `respectRetryAfter` and breaker windows become Node timers, which fire
 * after 1ms when given more than 2^31−1 ms (about 24.8 days): such a value would time out at
 * once. A zero timeout likewise ends every request before it starts.
 */
function timerBounds(c: Checks, scopes: readonly string[]): void {
  for (const pattern of timerPatterns(scopes)) {
    for (const pointer of matchPattern(c.ctx.doc, pattern)) {
      const v = valueAt(c.ctx.doc, pointer);
      if (typeof v !== 'string' || !c.clean(pointer)) continue;
      const r = parseDuration(v);
      if (!r.ok) continue; // units() reported it
      const isTimeout = splitPointer(pointer).at(-2) === 'timeout';
      let message: string | undefined;
      if (r.value > MAX_TIMER_MS) {
        message = `${c.ctx.subject(pointer)} is longer than the longest duration a timer can wait (${MAX_TIMER_MS}ms, about 24.8 days); use a shorter duration`;
      } else if (isTimeout && r.value <= 0) {
        message = `${c.ctx.subject(pointer)} is 0, which would time out every request at once; use a duration longer than 0ms`;
      }
      if (message) c.out.push(c.ctx.diag('SEM_BAD_DURATION', 'error', message, pointer));
    }
  }
}
