/**
 * Load → validate, without the compiler: what the load worker (load-worker.ts) runs. Only this
 * module's imports load in the worker; compile.ts and everything it pulls in (guardrails, limits,
 * the route graph) stay on the thread that compiles.
 */

import type { Attachments } from '../policy/attachments.js';
import { resolveDeclaredPath } from '../policy/attachments.js';
import { type Diagnostic, hasErrors, sortDiagnostics } from '../policy/diagnostics.js';
import type { LoadResult } from '../policy/load.js';
import type { Policy } from '../policy/types.generated.js';
import { validatePolicy } from '../policy/validate/index.js';
import { policyHash } from './hash.js';

export interface FailedPolicy {
  readonly ok: false;
  /** At least one error. */
  readonly diagnostics: Diagnostic[];
  readonly sources: ReadonlyMap<string, string>;
  readonly files: readonly string[];
}

/**
 * A policy that loaded and validated, before compile: plain data only (no functions, no class
 * instances), so it can cross a thread boundary by structured clone. `checkLoaded` makes it from
 * a load; `compileChecked` (or `compileCheckedInSlices`) finishes it.
 */
export interface CheckedPolicy {
  readonly ok: true;
  /** The validated document. */
  readonly document: Policy;
  /** Pointers of values that came from `${ENV}` interpolation. */
  readonly interpolated: readonly string[];
  readonly attachments: Attachments;
  /** `policyHash(document, attachments)`. */
  readonly hash: string;
  /** The paths the policy names, resolved against the fragment that names each, by pointer. */
  readonly paths: Readonly<Record<string, string>>;
  /** Warnings only. */
  readonly diagnostics: Diagnostic[];
  readonly sources: ReadonlyMap<string, string>;
  readonly files: readonly string[];
}

/** Load → validate, and what compile needs from the load (hash, resolved paths): no compile. */
export function checkLoaded(load: LoadResult): CheckedPolicy | FailedPolicy {
  const files = load.sourceMap.files;
  // A document-level load error (syntax, not a mapping, no files) leaves nothing to check; any
  // other load error (a missing variable, a duplicate key) still lets every schema and semantic
  // problem elsewhere be reported in the same run (validatePolicy skips the pointers it explained).
  if (load.diagnostics.some((d) => d.severity === 'error' && d.pointer === '')) {
    return { ok: false, diagnostics: sortDiagnostics(load.diagnostics), sources: load.sources, files };
  }
  const validated = validatePolicy(load);
  const diagnostics = sortDiagnostics([...load.diagnostics, ...validated.diagnostics]);
  if (validated.policy === null || hasErrors(diagnostics)) {
    return { ok: false, diagnostics, sources: load.sources, files };
  }
  const document = validated.policy;
  // The one path compile resolves (`CompileOptions.resolvePath`); the source map stays here.
  const recordingPath = document.recording?.path;
  const paths: Record<string, string> =
    typeof recordingPath === 'string'
      ? { '/recording/path': resolveDeclaredPath(load.sourceMap, '/recording/path', recordingPath) }
      : {};
  return {
    ok: true,
    document,
    interpolated: [...load.interpolated],
    attachments: load.attachments,
    hash: policyHash(document, load.attachments),
    paths,
    diagnostics,
    sources: load.sources,
    files,
  };
}
