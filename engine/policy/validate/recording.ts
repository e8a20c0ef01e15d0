/**
 * The `recording` block: what the schema cannot say. A header the recorder would never write
 * (a credential) is refused rather than accepted and silently left out; a path the policy loader
 * would read back as a fragment, or that names a directory, is refused; a rotation size must be
 * a size worth a file.
 */

import { isCredentialHeaderName } from '../../shared/secrets.js';
import { parseSize } from '../../shared/units.js';
import type { Checks } from './checks.js';
import { matchPattern, valueAt } from './document.js';
import { code } from './wording.js';

/** Below this, rotation would start a new file for almost every write. */
export const MIN_ROTATE_BYTES = 1024;

export function recording(c: Checks): void {
  if (valueAt(c.ctx.doc, '/recording') === undefined) return;

  for (const pointer of matchPattern(c.ctx.doc, '/recording/headers/*')) {
    const name = valueAt(c.ctx.doc, pointer);
    if (typeof name !== 'string' || !c.clean(pointer) || !isCredentialHeaderName(name)) continue;
    const shown = c.ctx.isSecret(pointer) ? 'this header' : code(name.toLowerCase());
    c.out.push(
      c.ctx.diag(
        'SEM_RECORDING_HEADER',
        'error',
        `${shown} looks like a credential header; recordings never hold credentials, so it would never be written: remove it from \`recording.headers\``,
        pointer,
      ),
    );
  }

  const path = valueAt(c.ctx.doc, '/recording/path');
  if (typeof path === 'string' && c.clean('/recording/path')) {
    const shown = c.ctx.isSecret('/recording/path')
      ? 'the recording path'
      : `the recording path ${code(path)}`;
    let problem: string | null = null;
    if (/[\\/]$/.test(path) || path === '.' || path === '..') {
      problem = `${shown} names a directory; name the file to append to, e.g. \`traffic.jsonl\``;
    } else if (/\.ya?ml$/i.test(path)) {
      problem = `${shown} ends in .yaml or .yml: a policy directory would load the recording as a policy fragment; use \`.jsonl\``;
    }
    if (problem !== null) c.out.push(c.ctx.diag('SEM_RECORDING_PATH', 'error', problem, '/recording/path'));
  }

  const size = valueAt(c.ctx.doc, '/recording/rotate/size');
  if (typeof size === 'string' && c.clean('/recording/rotate/size')) {
    const parsed = parseSize(size);
    if (parsed.ok && parsed.value < MIN_ROTATE_BYTES) {
      c.out.push(
        c.ctx.diag(
          'SEM_BAD_SIZE',
          'error',
          `${c.ctx.subject('/recording/rotate/size')} is below 1kb, which would start a new file for almost every line; use a size such as \`100mb\``,
          '/recording/rotate/size',
        ),
      );
    }
  }
}
