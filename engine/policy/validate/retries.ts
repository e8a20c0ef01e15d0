/** `retryOn` naming a class the engine never retries on the same target is a silent no-op. */

import { NEVER_RETRIED } from '../../types.js';
import type { Checks } from './checks.js';
import { matchPattern, valueAt } from './document.js';
import { code, listOr } from './wording.js';

/** The classes the attempt loop never retries on the same target: the one set, in engine/types.ts. */
const NEVER_RETRIED_CLASSES: ReadonlySet<string> = NEVER_RETRIED;

export function retryOn(c: Checks): void {
  for (const scope of ['/defaults', '/routes/*', '/models/*']) {
    for (const pointer of matchPattern(c.ctx.doc, `${scope}/retry/retryOn`)) {
      const v = valueAt(c.ctx.doc, pointer);
      if (!Array.isArray(v) || !c.clean(pointer)) continue;
      const never = v.filter((x): x is string => typeof x === 'string' && NEVER_RETRIED_CLASSES.has(x));
      if (never.length === 0) continue;
      const list = listOr(never.map(code)).replace(/ or /, ' and ');
      c.out.push(
        c.ctx.diag(
          'SEM_NEVER_RETRIED',
          'warning',
          `${c.ctx.subject(pointer)} lists ${list}, which ${never.length === 1 ? 'is' : 'are'} never retried on the same target (the request is not re-sent to a target that timed out, went silent or refused it); list ${never.length === 1 ? 'it' : 'them'} in \`fallbackOn\` to try the next target instead`,
          pointer,
        ),
      );
    }
  }
}
