/** Parts of the language the engine does not enforce yet (`support.ts`) are refused, not ignored. */

import { splitPointer } from '../source-map.js';
import { NOT_SUPPORTED_YET } from '../support.js';
import type { Checks } from './checks.js';
import { matchPattern, parentOf } from './document.js';
import { code } from './wording.js';

export function notSupported(c: Checks): void {
  for (const row of NOT_SUPPORTED_YET) {
    for (const pointer of matchPattern(c.ctx.doc, row.pointer)) {
      const tokens = splitPointer(pointer);
      const key = tokens[tokens.length - 1];
      const where = tokens.length > 1 ? ` ${c.ctx.where(parentOf(pointer))}` : '';
      c.out.push(
        c.ctx.diag(
          'SEM_NOT_SUPPORTED',
          'error',
          `${code(key)}${where} is not supported yet (${row.feature}); remove it — a rule that is accepted but not enforced would be worse than none`,
          pointer,
          { key: true },
        ),
      );
    }
  }
}
