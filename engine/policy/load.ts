/**
 * The load stage (docs/design.md §1): YAML text → one merged, interpolated plain document plus a
 * source map from every JSON pointer of that document back to the file/line/column it came from.
 *
 * Strict YAML: syntax errors, duplicate keys, multi-document files and non-mapping documents are
 * diagnostics. Fragments merge by name (a name defined twice is an error naming both places) and
 * `routes` concatenate in file order. Nothing here throws on bad input; every problem is a
 * `Diagnostic`, and no diagnostic ever quotes an interpolated value.
 */

import type { Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { type Attachments, givenAttachments, readAttachments } from './attachments.js';
import { type Diagnostic, makeDiagnostic, sortDiagnostics } from './diagnostics.js';
import type { Env } from './interpolate.js';
import { fileStart, MAX_ALIAS_NODES, MAX_POLICY_FILE_BYTES, parseFragment } from './load-fragment.js';

export { MAX_ALIAS_NODES, MAX_POLICY_FILE_BYTES };

import { Merger } from './load-merge.js';
import { createSourceMap, type SourceMap } from './source-map.js';

export interface PolicySource {
  /** The name used in diagnostics (a path relative to where the user pointed, or as given). */
  file: string;
  text: string;
}

export interface LoadOptions {
  /** Variables for `${NAME}`; `parsePolicySources` defaults to `{}`, `loadPolicySources` to `process.env`. */
  env?: Env;
  /**
   * `parsePolicySources` only: the texts of files the policy names beside itself (a keywords
   * `file`, a schema `$ref`), by the path as written. `loadPolicySources` reads them from disk.
   */
  attachments?: Readonly<Record<string, string>>;
}

export interface LoadResult {
  /** The merged, interpolated document: plain objects, arrays and scalars (`{}` when nothing loaded). */
  document: unknown;
  sourceMap: SourceMap;
  /** File → text, for code frames. */
  sources: ReadonlyMap<string, string>;
  /** Sorted by file, line, column, code. */
  diagnostics: Diagnostic[];
  /** Pointers of string values that had `${...}` expanded; mask them in any message. */
  interpolated: ReadonlySet<string>;
  /** True when the value at `pointer`, or any value inside it, came from interpolation. */
  isInterpolated(pointer: string): boolean;
  /** Files the policy names beside itself, by the pointer of the value naming each. */
  attachments: Attachments;
}

// ---------------------------------------------------------------------------------------------
// Entry points

/**
 * Parses and merges policy fragments given as text, in the given order; pure (no fs, no
 * `process.env`), so tests and property tests can drive the whole load stage.
 *
 * @example
 * const r = parsePolicySources([{ file: 'p.yaml', text: 'switchyard: v1' }], { env: {} });
 * r.sourceMap.locate('/switchyard'); // { file: 'p.yaml', line: 1, column: 13, ... }
 */
export function parsePolicySources(sources: PolicySource[], options: LoadOptions = {}): LoadResult {
  const env = options.env ?? {};
  const merger = new Merger();
  const texts = new Map<string, string>();
  for (const source of sources) {
    texts.set(source.file, source.text);
    merger.add(parseFragment(source, env));
  }
  const interpolated = merger.interpolated;
  const sourceMap = createSourceMap(
    merger.entries,
    sources.map((s) => s.file),
  );
  return {
    document: merger.document,
    sourceMap,
    attachments: givenAttachments(merger.document, sourceMap, options.attachments ?? {}),
    sources: texts,
    diagnostics: sortDiagnostics(merger.diagnostics),
    interpolated,
    isInterpolated(pointer) {
      if (interpolated.has(pointer)) return true;
      const prefix = pointer === '' ? '/' : `${pointer}/`;
      for (const p of interpolated) if (p.startsWith(prefix)) return true;
      return false;
    },
  };
}

function errnoText(err: unknown): string {
  if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'string') return err.code;
  return err instanceof Error ? err.message : String(err);
}

function isPolicyFileName(name: string): boolean {
  return /\.ya?ml$/i.test(name) && !/\.test\.ya?ml$/i.test(name) && !name.startsWith('.');
}

/** Lists policy fragments under `root`, sorted by relative path (with `/`) so merge order is stable. */
async function listPolicyFiles(root: string, diagnostics: Diagnostic[]): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let dirents: Dirent[];
    try {
      dirents = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      diagnostics.push(
        makeDiagnostic(
          'PARSE_FILE_READ',
          'error',
          `cannot read directory (${errnoText(err)})`,
          fileStart(dir),
          '',
        ),
      );
      return;
    }
    for (const d of dirents) {
      if (d.name.startsWith('.')) continue;
      const full = join(dir, d.name);
      if (d.isDirectory()) {
        await walk(full);
      } else if (isPolicyFileName(d.name)) {
        if (d.isFile()) {
          found.push(full);
        } else if (d.isSymbolicLink()) {
          // Follow links to files only; linked directories could form cycles.
          const s = await stat(full).catch(() => undefined);
          if (s?.isFile()) found.push(full);
        }
      }
    }
  };
  await walk(root);
  const key = (p: string): string => relative(root, p).split(sep).join('/');
  return found.sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

/**
 * Loads a policy from one file or a directory of `*.yaml` / `*.yml` fragments (recursive;
 * `*.test.yaml` and dotfiles skipped); never throws, every problem is a diagnostic.
 *
 * @example
 * const { document, diagnostics } = await loadPolicySources('policies/production');
 */
export async function loadPolicySources(path: string, options: LoadOptions = {}): Promise<LoadResult> {
  const env = options.env ?? process.env;
  const diagnostics: Diagnostic[] = [];
  const sources: PolicySource[] = [];
  let files: string[] = [];
  try {
    const s = await stat(path);
    if (s.isDirectory()) {
      files = await listPolicyFiles(path, diagnostics);
      if (files.length === 0 && diagnostics.length === 0) {
        diagnostics.push(
          makeDiagnostic(
            'PARSE_NO_FILES',
            'error',
            'no policy files (*.yaml, *.yml) in this directory',
            fileStart(path),
            '',
          ),
        );
      }
    } else {
      files = [path];
    }
  } catch (err) {
    diagnostics.push(
      makeDiagnostic(
        'PARSE_FILE_READ',
        'error',
        `cannot read policy path (${errnoText(err)})`,
        fileStart(path),
        '',
      ),
    );
  }
  for (const file of files) {
    try {
      const s = await stat(file);
      if (s.size > MAX_POLICY_FILE_BYTES) {
        diagnostics.push(
          makeDiagnostic(
            'PARSE_FILE_TOO_LARGE',
            'error',
            `policy file is ${s.size} bytes; the limit is ${MAX_POLICY_FILE_BYTES}`,
            fileStart(file),
            '',
          ),
        );
        continue;
      }
      sources.push({ file, text: await readFile(file, 'utf8') });
    } catch (err) {
      diagnostics.push(
        makeDiagnostic(
          'PARSE_FILE_READ',
          'error',
          `cannot read policy file (${errnoText(err)})`,
          fileStart(file),
          '',
        ),
      );
    }
  }
  const parsed = parsePolicySources(sources, { env });
  const result = { ...parsed, attachments: await readAttachments(parsed.document, parsed.sourceMap) };
  if (diagnostics.length === 0) return result;
  return { ...result, diagnostics: sortDiagnostics([...diagnostics, ...result.diagnostics]) };
}
