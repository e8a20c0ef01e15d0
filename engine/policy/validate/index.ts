/**
 * The validate stage (docs/design.md §1, §6): the loaded document → a typed `Policy`, or diagnostics.
 *
 * Two passes, both collecting rather than stopping at the first problem:
 * 1. the JSON Schema (Ajv, 2020-12; `schema.ts`). Ajv's errors are translated into one human
 *    diagnostic per pointer (`schema-errors.ts`); for unions without a discriminator (a target, a
 *    condition, `onExceeded`) the branch the author evidently meant is picked and only its errors
 *    are reported — never oneOf noise;
 * 2. semantic checks (references, reachability, regexes, units, weights, ...; `semantic.ts`, one
 *    module per concern), each run only where the schema passed for the part it reads, so one
 *    mistake is reported once.
 *
 * No message ever quotes a secret or an interpolated value: such values are "the value".
 */

import { type Diagnostic, hasErrors, sortDiagnostics } from '../diagnostics.js';
import type { LoadResult } from '../load.js';
import type { Policy } from '../types.generated.js';
import { Context } from './context.js';
import { documentIssues } from './schema.js';
import { schemaDiagnostics } from './schema-errors.js';
import { semanticDiagnostics } from './semantic.js';

export { MAX_GROUP_DEPTH } from './targets.js';
export { MAX_TIMER_MS } from './units.js';

export interface ValidationResult {
  /** The typed policy; non-null exactly when `diagnostics` holds no error. */
  policy: Policy | null;
  /** Schema and semantic diagnostics, sorted; warnings never make `policy` null. */
  diagnostics: Diagnostic[];
}

/**
 * Validates a loaded policy document: the schema, then the semantic checks. The result holds
 * this stage's diagnostics only (the caller already has `load.diagnostics`); `policy` is null
 * when either list holds an error, since a document the loader complained about is not trusted.
 *
 * @example
 * const load = parsePolicySources([{ file: 'p.yaml', text }], { env: process.env });
 * const { policy, diagnostics } = validatePolicy(load);
 * for (const d of [...load.diagnostics, ...diagnostics]) console.error(`${d.file}:${d.line}:${d.column} ${d.code} ${d.message}`);
 */
export function validatePolicy(load: LoadResult): ValidationResult {
  const loadErrors = load.diagnostics.filter((d) => d.severity === 'error');
  // A document-level load error (syntax, not a mapping, no files) leaves nothing sound to check.
  if (loadErrors.some((d) => d.pointer === '')) return { policy: null, diagnostics: [] };
  const doc = load.document;
  const ctx = new Context(load, doc);

  const fromSchema = schemaDiagnostics(ctx, documentIssues(doc));
  const broken = [...fromSchema, ...loadErrors].map((d) => d.pointer);
  const semantic = semanticDiagnostics(ctx, broken);

  // The load stage already explained these pointers (a missing variable, a duplicate key).
  const explained = new Set(loadErrors.map((d) => d.pointer));
  const diagnostics = sortDiagnostics([...fromSchema, ...semantic].filter((d) => !explained.has(d.pointer)));
  const ok = !hasErrors(diagnostics) && loadErrors.length === 0;
  return { policy: ok ? (doc as Policy) : null, diagnostics };
}
