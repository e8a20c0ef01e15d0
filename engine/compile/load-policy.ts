/**
 * The front half of the pipeline as one call: load → validate → compile. Every failure, at any
 * stage, comes back as diagnostics (never a throw), so the CLI, the server's reload and embedding
 * programs all report problems the same way.
 */

import type { Attachments } from '../policy/attachments.js';
import type { Diagnostic } from '../policy/diagnostics.js';
import {
  type LoadOptions,
  type LoadResult,
  loadPolicySources,
  type PolicySource,
  parsePolicySources,
} from '../policy/load.js';
import { type CheckedPolicy, checkLoaded, type FailedPolicy } from './check.js';
import {
  type CompiledPolicy,
  compilePolicy,
  compilePolicyInSlices,
  type PreparedCompileOptions,
} from './compile.js';

export { type CheckedPolicy, checkLoaded, type FailedPolicy };

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

export type PolicyResult = LoadedPolicy | FailedPolicy;

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
