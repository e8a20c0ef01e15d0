/**
 * The policy's content hash, in a module of its own: the load worker (load-worker.ts) computes it
 * where the document is validated and must not load the compiler to do so.
 */
import { createHash } from 'node:crypto';
import type { Attachments } from '../policy/attachments.js';
import type { Policy } from '../policy/types.generated.js';
import { canonicalJson } from '../shared/canonical-json.js';

/**
 * sha256 (hex) of the policy's canonical JSON: stable under key order and whitespace. Files the
 * policy names (a keyword list, a schema) count too: changing one is a new version.
 */
export function policyHash(policy: Policy, attachments: Attachments = new Map()): string {
  const hash = createHash('sha256').update(canonicalJson(policy));
  for (const pointer of [...attachments.keys()].sort())
    hash.update(`\n${pointer}\n${attachments.get(pointer)?.text ?? ''}`);
  return hash.digest('hex');
}
