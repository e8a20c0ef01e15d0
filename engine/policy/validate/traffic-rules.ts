/**
 * Limits, budgets and caches compile at the first request of a new version, so whatever their
 * compiler would refuse is refused here: a rate and burst too large to count exactly, a zero
 * `ttl` or `maxSize`, and `store: redis` without `stores.redis`. And a cache key must name the
 * prompt.
 */

import { rateToParams } from '../../shared/gcra-params.js';
import { isRecord } from '../../shared/guards.js';
import { parseDuration, parseRate, parseSize, type UnitResult } from '../../shared/units.js';
import { joinPointer } from '../source-map.js';
import type { Checks } from './checks.js';
import { matchPattern, valueAt } from './document.js';

export function trafficRules(c: Checks): void {
  const hasRedis = isRecord(c.doc.stores) && isRecord(c.doc.stores.redis);
  for (const section of ['limits', 'budgets', 'caches']) {
    for (const pointer of matchPattern(c.ctx.doc, `/${section}/*/store`)) {
      if (hasRedis || valueAt(c.ctx.doc, pointer) !== 'redis' || !c.clean(pointer)) continue;
      c.out.push(
        c.ctx.diag(
          'REF_UNKNOWN_STORE',
          'error',
          `${c.ctx.subject(pointer)} is \`redis\`, but the policy declares no \`stores.redis\``,
          pointer,
        ),
      );
    }
  }
  const limits = isRecord(c.doc.limits) ? c.doc.limits : {};
  for (const [name, limit] of Object.entries(limits)) {
    if (!isRecord(limit) || !c.clean(joinPointer('/limits', name))) continue;
    let first = true;
    for (const kind of ['requests', 'tokens'] as const) {
      const text = limit[kind];
      if (typeof text !== 'string') continue;
      const rate = parseRate(text);
      const burst = isRecord(limit.burst) ? limit.burst[kind] : first ? limit.burst : undefined;
      first = false;
      if (!rate.ok) continue; // units() reported it
      const params = rateToParams(rate.value, typeof burst === 'number' ? burst : undefined);
      if (params.ok) continue;
      const pointer = joinPointer('/limits', name, kind);
      c.out.push(c.ctx.diag('SEM_BAD_RATE', 'error', `${c.ctx.subject(pointer)}: ${params.error}`, pointer));
    }
  }
  const zero: [string, string, (s: string) => UnitResult<number>, string][] = [
    ['/caches/*/ttl', 'SEM_BAD_DURATION', parseDuration, 'a cache ttl must be longer than 0ms'],
    ['/caches/*/maxSize', 'SEM_BAD_SIZE', parseSize, 'a cache maxSize must be at least 1 byte'],
  ];
  for (const [pattern, diagnosticCode, parse, message] of zero) {
    for (const pointer of matchPattern(c.ctx.doc, pattern)) {
      const v = valueAt(c.ctx.doc, pointer);
      if (typeof v !== 'string' || !c.clean(pointer)) continue;
      const r = parse(v);
      if (r.ok && r.value <= 0) {
        c.out.push(c.ctx.diag(diagnosticCode, 'error', `${c.ctx.subject(pointer)}: ${message}`, pointer));
      }
    }
  }
}

/** A budget's alert webhook must be a URL fetch can use (the schema only checks its scheme). */
export function alertWebhooks(c: Checks): void {
  for (const pointer of matchPattern(c.ctx.doc, '/budgets/*/alerts/webhook')) {
    const v = valueAt(c.ctx.doc, pointer);
    if (typeof v !== 'string' || !c.clean(pointer) || URL.canParse(v)) continue;
    c.out.push(
      c.ctx.diag(
        'SEM_BAD_URL',
        'error',
        `${c.ctx.subject(pointer)} is not a URL that can be parsed`,
        pointer,
      ),
    );
  }
}

/** A cache key that leaves out the prompt serves the first cached answer to every prompt. */
export function cacheKeys(c: Checks): void {
  for (const pointer of matchPattern(c.ctx.doc, '/caches/*/key')) {
    const v = valueAt(c.ctx.doc, pointer);
    if (!Array.isArray(v) || v.length === 0 || !c.clean(pointer)) continue;
    // A semantic cache compares the prompt by embedding; `semanticCaches` checks its key.
    if (valueAt(c.ctx.doc, pointer.slice(0, -'/key'.length) + '/mode') === 'semantic') continue;
    const prompt = v.some((f) => f === 'messages' || (typeof f === 'string' && f.startsWith('body.')));
    if (prompt) continue;
    c.out.push(
      c.ctx.diag(
        'SEM_CACHE_KEY',
        'warning',
        `${c.ctx.subject(pointer)} names neither \`messages\` nor a \`body.<field>\`, so requests with different prompts share one cached answer`,
        pointer,
      ),
    );
  }
}
