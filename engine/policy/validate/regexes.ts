/** Regular expressions (in `when` clauses and regex guardrails) must compile. */

import { isRecord } from '../../shared/guards.js';
import { compileRegex } from '../../shared/regex.js';
import { joinPointer } from '../source-map.js';
import type { Checks } from './checks.js';
import { valueAt } from './document.js';

export function badRegex(c: Checks, pointer: string, message: string): void {
  // Node's message repeats the source as `/.../flags: `; keep the reason only (it may be a secret).
  const reason = message.replace(/^\/[\s\S]*\/[a-z]*: /, '');
  const text = c.ctx.isSecret(pointer)
    ? `the value of ${c.ctx.subject(pointer)} is not a valid regular expression: ${reason}`
    : `invalid regular expression ${c.ctx.show(pointer, valueAt(c.ctx.doc, pointer))} in ${c.ctx.subject(pointer)}: ${reason}`;
  c.out.push(c.ctx.diag('SEM_INVALID_REGEX', 'error', text, pointer));
}

export function guardrailRegexes(c: Checks): void {
  const guardrails = c.doc.guardrails;
  if (!isRecord(guardrails)) return;
  for (const [name, g] of Object.entries(guardrails)) {
    if (!isRecord(g) || g.kind !== 'regex' || !Array.isArray(g.deny)) continue;
    g.deny.forEach((pattern, k) => {
      const pointer = joinPointer('/guardrails', name, 'deny', k);
      if (typeof pattern !== 'string' || !c.clean(pointer)) return;
      const r = compileRegex(pattern);
      if (!r.ok) badRegex(c, pointer, r.message);
    });
  }
}
