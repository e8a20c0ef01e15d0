/**
 * The front half of the pipeline as one call: load → validate → compile. Every failure, at any
 * stage, comes back as diagnostics (never a throw), so the CLI, the server's reload and embedding
 * programs all report problems the same way.
 */

import { type Attachments, resolveDeclaredPath } from '../policy/attachments.js';
import { type Diagnostic, hasErrors, sortDiagnostics } from '../policy/diagnostics.js';
import {
  type LoadOptions,
  type LoadResult,
  loadPolicySources,
  type PolicySource,
  parsePolicySources,
} from '../policy/load.js';
import type { Policy } from '../policy/types.generated.js';
import { validatePolicy } from '../policy/validate/index.js';
import {
  type CompiledPolicy,
  compilePolicy,
  compilePolicyInSlices,
  type PreparedCompileOptions,
  policyHash,
} from './compile.js';

export interface LoadedPolicy {
  readonly ok: true;
  readonly policy: CompiledPolicy;
  /** Files the policy names beside itself (keyword lists, schemas), as read at load time. */
  readonly attachments: Attachments;
  /** Warnings only. */
  readonly diagnostics: Diagnostic[];
  readonly sources: ReadonlyMap<string, string>;
  readonly files: readonly string[];
}

export interface FailedPolicy {
  readonly ok: false;
  /** At least one error. */
  readonly diagnostics: Diagnostic[];
  readonly sources: ReadonlyMap<string, string>;
  readonly files: readonly string[];
}

export type PolicyResult = LoadedPolicy | FailedPolicy;

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

function compileOptions(checked: CheckedPolicy, owned: boolean): PreparedCompileOptions {
  return {
    owned,
    hash: checked.hash,
    interpolated: checked.interpolated,
    attachments: checked.attachments,
    resolvePath: (pointer, path) => checked.paths[pointer] ?? path,
  };
}

function compiledResult(checked: CheckedPolicy, compile: () => CompiledPolicy): PolicyResult {
  const { diagnostics, sources, files } = checked;
  try {
    return { ok: true, policy: compile(), attachments: checked.attachments, diagnostics, sources, files };
  } catch (err) {
    return compileFailed(checked, err);
  }
}

function compileFailed(checked: CheckedPolicy, err: unknown): FailedPolicy {
  // Validation passed, so this is an engine bug; report it as a diagnostic, not a crash.
  const { sources, files } = checked;
  const first = files[0] ?? '<policy>';
  const reason = err instanceof Error ? err.message : String(err);
  const diagnostics: Diagnostic[] = [
    ...checked.diagnostics,
    {
      code: 'SEM_COMPILE_FAILED',
      severity: 'error',
      message: `internal compiler error: ${reason}`,
      file: first,
      line: 1,
      column: 1,
      pointer: '',
    },
  ];
  return { ok: false, diagnostics, sources, files };
}

/**
 * Compiles a checked policy. `owned`: the document is a private copy (fresh from a worker), so
 * compile need not clone it first.
 */
export function compileChecked(checked: CheckedPolicy | FailedPolicy, owned = false): PolicyResult {
  if (!checked.ok) return checked;
  return compiledResult(checked, () => compilePolicy(checked.document, compileOptions(checked, owned)));
}

/**
 * The same, giving the event loop a turn every `sliceMs` (`compilePolicyInSlices`): for a reload
 * next to live traffic.
 */
export async function compileCheckedInSlices(
  checked: CheckedPolicy | FailedPolicy,
  owned = false,
  sliceMs?: number,
): Promise<PolicyResult> {
  if (!checked.ok) return checked;
  try {
    const policy = await compilePolicyInSlices(checked.document, compileOptions(checked, owned), sliceMs);
    return compiledResult(checked, () => policy);
  } catch (err) {
    return compileFailed(checked, err);
  }
}

function finish(load: LoadResult): PolicyResult {
  return compileChecked(checkLoaded(load));
}

/**
 * Loads, validates and compiles a policy file or a directory of fragments.
 * @example
 * const loaded = await loadPolicy('policies/quickstart.yaml');
 * if (!loaded.ok) console.error(formatHuman(loaded.diagnostics, loaded.sources));
 */
export async function loadPolicy(path: string, options: LoadOptions = {}): Promise<PolicyResult> {
  return finish(await loadPolicySources(path, options));
}

/**
 * The same from in-memory sources (tests, editors, policies kept elsewhere than on disk).
 * @example
 * const result = parsePolicy([{ file: 'p.yaml', text }], { env: { OPENAI_API_KEY: 'sk-test' } });
 */
export function parsePolicy(sources: PolicySource[], options: LoadOptions = {}): PolicyResult {
  return finish(parsePolicySources(sources, options));
}
