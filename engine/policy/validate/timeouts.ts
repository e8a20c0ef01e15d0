/** A `connect` or `firstToken` timeout longer than `total` is cut short by the total deadline. */

import { isRecord } from '../../shared/guards.js';
import { parseDuration } from '../../shared/units.js';
import { joinPointer } from '../source-map.js';
import type { Checks } from './checks.js';
import { matchPattern, type Obj, valueAt } from './document.js';
import { code } from './wording.js';

export function timeouts(c: Checks): void {
  const defaults = isRecord(c.doc.defaults) && isRecord(c.doc.defaults.timeout) ? c.doc.defaults.timeout : {};
  timeoutScope(c, '/defaults/timeout', {}, defaults);
  // A model's timeouts are not compared with a total: the total deadline belongs to the route
  // (a model-level `total` is refused as not supported), and a model serves many routes.
  for (const pointer of matchPattern(c.ctx.doc, '/routes/*/timeout')) {
    const local = valueAt(c.ctx.doc, pointer);
    if (isRecord(local)) timeoutScope(c, pointer, defaults, local);
  }
}

function timeoutScope(c: Checks, pointer: string, inherited: Obj, local: Obj): void {
  const ms = (key: string): { ms: number; pointer: string; local: boolean } | undefined => {
    const own = Object.hasOwn(local, key);
    const v = own ? local[key] : inherited[key];
    const at = own ? joinPointer(pointer, key) : joinPointer('/defaults/timeout', key);
    if (typeof v !== 'string' || !c.clean(at)) return undefined;
    const r = parseDuration(v);
    return r.ok ? { ms: r.value, pointer: at, local: own } : undefined;
  };
  const total = ms('total');
  if (!total) return;
  for (const key of ['connect', 'firstToken']) {
    const t = ms(key);
    if (!t || t.ms <= total.ms || (!t.local && !total.local)) continue;
    const at = t.local ? t.pointer : total.pointer;
    const show = (p: string): string => c.ctx.show(p, valueAt(c.ctx.doc, p));
    c.out.push(
      c.ctx.diag(
        'SEM_TIMEOUT_ORDER',
        'warning',
        `${code(key)} (${show(t.pointer)}) is longer than \`total\` (${show(total.pointer)}) in ${c.ctx.subject(pointer)}; the total deadline cuts it short`,
        at,
      ),
    );
  }
}
