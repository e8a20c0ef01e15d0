/**
 * The load stage (DESIGN.md §1): YAML text → one merged, interpolated plain document plus a
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
import {
  type Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseAllDocuments,
  type YAMLMap,
} from 'yaml';
import type { SourceLocation } from '../types.js';
import { type Attachments, givenAttachments, readAttachments } from './attachments.js';
import {
  type Diagnostic,
  formatLocation,
  makeDiagnostic,
  type RelatedLocation,
  type Severity,
  sortDiagnostics,
} from './diagnostics.js';
import { type Env, interpolate } from './interpolate.js';
import { createSourceMap, joinPointer, type SourceMap, type SourceMapEntry } from './source-map.js';

/** Files above this size are refused: a policy is configuration, not data. */
export const MAX_POLICY_FILE_BYTES = 5 * 1024 * 1024;

/** Bound on nodes materialised through YAML aliases, against "billion laughs" documents. */
export const MAX_ALIAS_NODES = 100_000;

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

type Plain = Record<string, unknown>;

function isPlainObject(v: unknown): v is Plain {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Own-property assignment that cannot reach `Object.prototype` through a `__proto__` key. */
function setOwn(target: Plain, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

function hasOwn(target: Plain, key: string): boolean {
  return Object.hasOwn(target, key);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// One fragment

interface Fragment {
  file: string;
  /** Undefined when the file contributes nothing (syntax errors, empty, not a mapping). */
  value: Plain | undefined;
  /** Fragment-local pointers → spans. */
  entries: Map<string, SourceMapEntry>;
  interpolated: Set<string>;
  diagnostics: Diagnostic[];
}

class FragmentBuilder {
  readonly entries = new Map<string, SourceMapEntry>();
  readonly interpolated = new Set<string>();
  readonly diagnostics: Diagnostic[] = [];
  private aliasDepth = 0;
  private aliasNodes = 0;
  private aliasLimitReported = false;
  /** Collections being built, to refuse an alias to its own ancestor (infinite expansion). */
  private readonly ancestors = new Set<unknown>();
  /** A scalar reached twice through aliases reports its interpolation problems once. */
  private readonly reportedScalars = new WeakSet<object>();

  constructor(
    private readonly file: string,
    private readonly text: string,
    private readonly doc: Document | undefined,
    private readonly lines: LineCounter,
    private readonly env: Env,
  ) {}

  span(start: number, end: number): SourceLocation {
    const a = this.lines.linePos(start);
    const b = this.lines.linePos(Math.max(start, end));
    return { file: this.file, line: a.line, column: a.col, endLine: b.line, endColumn: b.col };
  }

  report(
    code: string,
    severity: Severity,
    message: string,
    at: SourceLocation,
    pointer: string,
    related?: RelatedLocation[],
  ): void {
    this.diagnostics.push(makeDiagnostic(code, severity, message, at, pointer, { related }));
  }

  private nodeSpan(node: { range?: readonly number[] | null }): SourceLocation | undefined {
    const r = node.range;
    return r ? this.span(r[0], r[1]) : undefined;
  }

  /** Converts `node` to a plain value, recording spans under `pointer`; `own` overrides the span. */
  build(node: unknown, pointer: string, key: SourceLocation | undefined, own?: SourceLocation): unknown {
    if (node === null || node === undefined) {
      const at = own ?? key;
      if (at) this.entries.set(pointer, key ? { value: at, key } : { value: at });
      return null;
    }
    const at = own ?? this.nodeSpan(node as { range?: number[] }) ?? key ?? this.span(0, 0);
    if (isAlias(node)) {
      const target = this.doc ? node.resolve(this.doc) : undefined;
      this.entries.set(pointer, key ? { value: at, key } : { value: at });
      if (target === undefined) {
        this.report(
          'PARSE_YAML_SYNTAX',
          'error',
          `alias *${node.source} refers to an unknown anchor`,
          at,
          pointer,
        );
        return null;
      }
      if (this.ancestors.has(target)) {
        this.report(
          'PARSE_ALIAS_CYCLE',
          'error',
          `alias *${node.source} refers to a node that contains it`,
          at,
          pointer,
        );
        return null;
      }
      this.aliasDepth++;
      try {
        return this.build(target, pointer, key, at);
      } finally {
        this.aliasDepth--;
      }
    }
    if (this.aliasDepth > 0 && ++this.aliasNodes > MAX_ALIAS_NODES) {
      if (!this.aliasLimitReported) {
        this.aliasLimitReported = true;
        this.report(
          'PARSE_ALIAS_LIMIT',
          'error',
          `YAML aliases expand to more than ${MAX_ALIAS_NODES} nodes`,
          at,
          pointer,
        );
      }
      return null;
    }
    this.entries.set(pointer, key ? { value: at, key } : { value: at });
    if (isMap(node)) return this.buildMap(node, pointer);
    if (isSeq(node)) {
      this.ancestors.add(node);
      const out: unknown[] = [];
      node.items.forEach((item, i) => {
        out.push(this.build(item, joinPointer(pointer, i), undefined));
      });
      this.ancestors.delete(node);
      return out;
    }
    if (isScalar(node)) {
      const v = node.value;
      if (typeof v === 'string') return this.interpolateScalar(node, v, pointer, at);
      return v === undefined ? null : v;
    }
    // Pairs and documents cannot appear here in a composed document.
    return null;
  }

  private buildMap(node: YAMLMap, pointer: string): Plain {
    this.ancestors.add(node);
    const out: Plain = {};
    const seen = new Map<string, SourceLocation>();
    for (const item of node.items) {
      if (!isPair(item)) continue;
      const keyNode: unknown = isAlias(item.key) && this.doc ? item.key.resolve(this.doc) : item.key;
      const keySpan =
        (item.key ? this.nodeSpan(item.key as { range?: number[] }) : undefined) ??
        this.nodeSpan(node) ??
        this.span(0, 0);
      let name: string;
      if (keyNode === null || keyNode === undefined) {
        name = '';
      } else if (isScalar(keyNode)) {
        const v = keyNode.value;
        // Non-string scalars keep their spelling (`1.0`, `~`), which is what the author reads.
        name = typeof v === 'string' ? v : (keyNode.source ?? String(v));
      } else {
        this.report(
          'PARSE_COMPLEX_KEY',
          'error',
          'mapping keys must be scalars (strings), not collections',
          keySpan,
          pointer,
        );
        continue;
      }
      const childPointer = joinPointer(pointer, name);
      const first = seen.get(name);
      if (first) {
        this.report(
          'PARSE_DUPLICATE_KEY',
          'error',
          `duplicate key ${JSON.stringify(name)}: already defined at ${formatLocation(first)}`,
          keySpan,
          childPointer,
          [
            {
              message: `first ${JSON.stringify(name)} is here`,
              file: first.file,
              line: first.line,
              column: first.column,
            },
          ],
        );
        continue;
      }
      seen.set(name, keySpan);
      setOwn(out, name, this.build(item.value, childPointer, keySpan));
    }
    this.ancestors.delete(node);
    return out;
  }

  private interpolateScalar(
    node: object & { range?: number[] | null },
    raw: string,
    pointer: string,
    at: SourceLocation,
  ): string {
    const result = interpolate(raw, this.env);
    if (result.substituted) this.interpolated.add(pointer);
    if (result.problems.length > 0 && !this.reportedScalars.has(node)) {
      this.reportedScalars.add(node);
      for (const p of result.problems) {
        const code = p.kind === 'missing' ? 'PARSE_ENV_MISSING' : 'PARSE_ENV_SYNTAX';
        this.report(code, 'error', p.message, this.tokenSpan(node, p.token, p.occurrence) ?? at, pointer);
      }
    }
    return result.value;
  }

  /** Points at the `${...}` token itself when it appears verbatim in the scalar's source. */
  private tokenSpan(
    node: { range?: number[] | null },
    token: string,
    occurrence: number,
  ): SourceLocation | undefined {
    const r = node.range;
    if (!r) return undefined;
    const raw = this.text.slice(r[0], r[1]);
    let idx = -1;
    for (let k = 0; k <= occurrence; k++) {
      idx = raw.indexOf(token, idx + 1);
      if (idx === -1) return undefined;
    }
    return this.span(r[0] + idx, r[0] + idx + token.length);
  }
}

function fileStart(file: string): SourceLocation {
  return { file, line: 1, column: 1 };
}

function parseFragment(source: PolicySource, env: Env): Fragment {
  const { file, text } = source;
  const fragment: Fragment = {
    file,
    value: undefined,
    entries: new Map(),
    interpolated: new Set(),
    diagnostics: [],
  };
  if (text.length > MAX_POLICY_FILE_BYTES) {
    fragment.diagnostics.push(
      makeDiagnostic(
        'PARSE_FILE_TOO_LARGE',
        'error',
        `policy file is larger than ${MAX_POLICY_FILE_BYTES} bytes`,
        fileStart(file),
        '',
      ),
    );
    return fragment;
  }
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, uniqueKeys: false, prettyErrors: false });
  const list: Document[] = Array.isArray(docs) ? docs : [];
  const builder = new FragmentBuilder(file, text, list[0], lines, env);
  let syntaxErrors = false;
  for (const doc of list) {
    for (const e of doc.errors) {
      syntaxErrors = true;
      builder.report('PARSE_YAML_SYNTAX', 'error', e.message, builder.span(e.pos[0], e.pos[1]), '');
    }
    for (const w of doc.warnings) {
      builder.report('PARSE_YAML_WARNING', 'warning', w.message, builder.span(w.pos[0], w.pos[1]), '');
    }
  }
  if (list.length > 1) {
    const second = list[1];
    builder.report(
      'PARSE_MULTI_DOCUMENT',
      'error',
      `a policy file holds one YAML document; found ${list.length} (split fragments into separate files)`,
      second.range ? builder.span(second.range[0], second.range[0]) : fileStart(file),
      '',
    );
  }
  const doc = list[0];
  if (!syntaxErrors) {
    if (
      doc === undefined ||
      doc.contents === null ||
      (isScalar(doc.contents) && doc.contents.value === null)
    ) {
      builder.report('PARSE_EMPTY_FILE', 'warning', 'policy file has no content', fileStart(file), '');
    } else if (!isMap(doc.contents)) {
      const r = doc.contents.range;
      builder.report(
        'PARSE_NOT_A_MAPPING',
        'error',
        'a policy document must be a mapping of keys (switchyard, policy, providers, models, routes, ...)',
        r ? builder.span(r[0], r[1]) : fileStart(file),
        '',
      );
    } else {
      const value = builder.build(doc.contents, '', undefined);
      if (isPlainObject(value)) fragment.value = value;
    }
  }
  fragment.entries = builder.entries;
  fragment.interpolated = builder.interpolated;
  fragment.diagnostics = builder.diagnostics;
  return fragment;
}

// ---------------------------------------------------------------------------------------------
// Merging fragments

/** Top-level keys whose value is a single block that must come from exactly one fragment. */
const SINGLE_FRAGMENT_KEYS = new Set(['policy']);

/** Groups a fragment's entries by their first two pointer tokens, to copy whole subtrees cheaply. */
function bucketEntries(entries: Map<string, SourceMapEntry>): Map<string, [string, SourceMapEntry][]> {
  const buckets = new Map<string, [string, SourceMapEntry][]>();
  for (const [p, e] of entries) {
    const second = p.indexOf('/', 1);
    const third = second === -1 ? -1 : p.indexOf('/', second + 1);
    const b = third === -1 ? p : p.slice(0, third);
    let list = buckets.get(b);
    if (!list) {
      list = [];
      buckets.set(b, list);
    }
    list.push([p, e]);
  }
  return buckets;
}

/** Rewrites a fragment-local pointer to the merged document (only `routes` indexes move). */
function shiftRoutes(pointer: string, offset: number): string {
  if (offset === 0 || !pointer.startsWith('/routes/')) return pointer;
  const rest = pointer.slice('/routes/'.length);
  const slash = rest.indexOf('/');
  const token = slash === -1 ? rest : rest.slice(0, slash);
  if (!/^(0|[1-9][0-9]*)$/.test(token)) return pointer;
  return `/routes/${Number(token) + offset}${slash === -1 ? '' : rest.slice(slash)}`;
}

class Merger {
  readonly document: Plain = {};
  readonly entries = new Map<string, SourceMapEntry>();
  readonly interpolated = new Set<string>();
  readonly diagnostics: Diagnostic[] = [];

  add(fragment: Fragment): void {
    const value = fragment.value;
    let routesOffset = 0;
    if (value !== undefined) {
      const buckets = bucketEntries(fragment.entries);
      if (!this.entries.has('') && fragment.entries.has('')) this.entries.set('', fragment.entries.get('')!);
      const copy = (bucketKey: string, offset = 0): void => {
        for (const [p, e] of buckets.get(bucketKey) ?? []) this.entries.set(shiftRoutes(p, offset), e);
      };
      const copySubtree = (top: string, offset = 0): void => {
        const prefix = `${top}/`;
        for (const b of buckets.keys()) if (b === top || b.startsWith(prefix)) copy(b, offset);
      };
      for (const key of Object.keys(value)) {
        const top = joinPointer('', key);
        const incoming = value[key];
        if (!hasOwn(this.document, key)) {
          setOwn(this.document, key, incoming);
          copySubtree(top);
          continue;
        }
        const existing = this.document[key];
        if (key === 'switchyard') {
          if (!deepEqual(existing, incoming)) {
            this.conflict(fragment, top, 'the language version `switchyard` differs between fragments');
          }
        } else if (SINGLE_FRAGMENT_KEYS.has(key)) {
          this.conflict(fragment, top, `\`${key}\` may be given in one fragment only`);
        } else if (key === 'routes' && Array.isArray(existing) && Array.isArray(incoming)) {
          routesOffset = existing.length;
          existing.push(...incoming);
          for (const b of buckets.keys()) if (b.startsWith('/routes/')) copy(b, routesOffset);
        } else if (incoming === null && (isPlainObject(existing) || Array.isArray(existing))) {
          // An empty section (`models:` or `routes:` with nothing under it) adds nothing.
        } else if (existing === null && (isPlainObject(incoming) || Array.isArray(incoming))) {
          setOwn(this.document, key, incoming);
          copySubtree(top);
        } else if (key !== 'routes' && isPlainObject(existing) && isPlainObject(incoming)) {
          for (const name of Object.keys(incoming)) {
            const child = joinPointer(top, name);
            if (hasOwn(existing, name)) {
              if (key === 'defaults') {
                this.conflict(fragment, child, `\`defaults.${name}\` may be given in one fragment only`);
              } else {
                this.duplicateName(fragment, key, name, child);
              }
              continue;
            }
            setOwn(existing, name, incoming[name]);
            copy(child);
          }
        } else {
          this.conflict(
            fragment,
            top,
            `top-level \`${key}\` is given in several fragments and cannot be merged`,
          );
        }
      }
    }
    for (const p of fragment.interpolated) {
      // Only values that made it into the document (not a losing duplicate) are recorded.
      const merged = shiftRoutes(p, routesOffset);
      if (this.entries.get(merged) === fragment.entries.get(p)) this.interpolated.add(merged);
    }
    for (const d of fragment.diagnostics) {
      this.diagnostics.push(routesOffset === 0 ? d : { ...d, pointer: shiftRoutes(d.pointer, routesOffset) });
    }
  }

  private placeOf(fragment: Fragment, pointer: string): SourceLocation {
    const e = fragment.entries.get(pointer);
    return e?.key ?? e?.value ?? fileStart(fragment.file);
  }

  private firstPlace(pointer: string): SourceLocation | undefined {
    const e = this.entries.get(pointer);
    return e?.key ?? e?.value;
  }

  private conflict(fragment: Fragment, pointer: string, what: string): void {
    const first = this.firstPlace(pointer);
    const at = this.placeOf(fragment, pointer);
    this.diagnostics.push(
      makeDiagnostic(
        'PARSE_FRAGMENT_CONFLICT',
        'error',
        first ? `${what}: first given at ${formatLocation(first)}` : what,
        at,
        pointer,
        {
          related: first
            ? [{ message: 'first given here', file: first.file, line: first.line, column: first.column }]
            : undefined,
        },
      ),
    );
  }

  private duplicateName(fragment: Fragment, section: string, name: string, pointer: string): void {
    const first = this.firstPlace(pointer);
    const at = this.placeOf(fragment, pointer);
    const what = `${JSON.stringify(name)} is defined twice in \`${section}\``;
    this.diagnostics.push(
      makeDiagnostic(
        'PARSE_DUPLICATE_NAME',
        'error',
        first ? `${what}: already defined at ${formatLocation(first)}` : what,
        at,
        pointer,
        {
          related: first
            ? [
                {
                  message: `first definition of ${JSON.stringify(name)}`,
                  file: first.file,
                  line: first.line,
                  column: first.column,
                },
              ]
            : undefined,
        },
      ),
    );
  }
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
