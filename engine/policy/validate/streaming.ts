/** `midStream: continue` needs a later, prefill-capable target to continue a broken stream on. */

import { isRecord } from '../../shared/guards.js';
import type { Checks } from './checks.js';
import type { Obj } from './document.js';
import { flatten, reorders } from './targets.js';

export function prefill(c: Checks, route: Obj, base: string): void {
  const local = isRecord(route.stream) ? route.stream.midStream : undefined;
  const defaults =
    isRecord(c.doc.defaults) && isRecord(c.doc.defaults.stream) ? c.doc.defaults.stream.midStream : undefined;
  if ((local ?? defaults) !== 'continue') return;
  const models = isRecord(c.doc.models) ? c.doc.models : {};
  const canPrefill = (name: string): boolean => {
    const m = models[name];
    return isRecord(m) && isRecord(m.capabilities) && m.capabilities.prefill === true;
  };
  const all = flatten(route.targets);
  // With a weighted, sticky or latency group anywhere, any target may go first: every one of
  // them needs another, prefill-capable target to continue on.
  const capable = reorders(route)
    ? all.length > 0 && all.every((first) => all.some((name) => name !== first && canPrefill(name)))
    : all.slice(1).some(canPrefill);
  if (capable) return;
  const pointer = local !== undefined ? `${base}/stream/midStream` : base;
  const from = local !== undefined ? '' : ' (inherited from `defaults.stream`)';
  c.out.push(
    c.ctx.diag(
      'SEM_PREFILL_CONTINUE',
      'warning',
      `${c.ctx.subject(base)} sets \`midStream: continue\`${from}, but no target after the first declares \`capabilities.prefill: true\`, so a broken stream can never continue`,
      pointer,
    ),
  );
}
