/**
 * The `accounting` block: what the schema cannot say. An attributed header that carries a
 * credential is refused: its values (keys, tokens) would become metric labels, `/admin/spend`
 * rows and recording fields.
 */

import { isCredentialHeaderName } from '../../shared/secrets.js';
import type { Checks } from './checks.js';
import { matchPattern, valueAt } from './document.js';
import { code } from './wording.js';

export function accounting(c: Checks): void {
  for (const pointer of matchPattern(c.ctx.doc, '/accounting/attribute/*')) {
    const field = valueAt(c.ctx.doc, pointer);
    if (typeof field !== 'string' || !c.clean(pointer) || !field.startsWith('header.')) continue;
    const name = field.slice('header.'.length);
    if (!isCredentialHeaderName(name)) continue;
    const shown = c.ctx.isSecret(pointer) ? 'this header' : code(name.toLowerCase());
    c.out.push(
      c.ctx.diag(
        'SEM_ACCOUNTING_HEADER',
        'error',
        `${shown} looks like a credential header; attributing spend to it would put credentials in metrics, \`/admin/spend\` and the recording: attribute by \`tenant\` labels (\`label.<key>\`) or a metadata key instead`,
        pointer,
      ),
    );
  }
}
