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
import { validatePolicy } from '../policy/validate/index.js';
import { type CompiledPolicy, compilePolicy } from './compile.js';

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

function finish(load: LoadResult): PolicyResult {
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
  try {
    return {
      ok: true,
      policy: compilePolicy(validated.policy, {
        interpolated: load.interpolated,
        attachments: load.attachments,
        resolvePath: (pointer, path) => resolveDeclaredPath(load.sourceMap, pointer, path),
      }),
      attachments: load.attachments,
      diagnostics,
      sources: load.sources,
      files,
    };
  } catch (err) {
    // Validation passed, so this is an engine bug; report it as a diagnostic, not a crash.
    const first = files[0] ?? '<policy>';
    const reason = err instanceof Error ? err.message : String(err);
    diagnostics.push({
      code: 'SEM_COMPILE_FAILED',
      severity: 'error',
      message: `internal compiler error: ${reason}`,
      file: first,
      line: 1,
      column: 1,
      pointer: '',
    });
    return { ok: false, diagnostics, sources: load.sources, files };
  }
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
