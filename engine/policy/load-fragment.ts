/** One YAML fragment parsed: the plain document, its source map, duplicate keys and interpolation, as diagnostics. */

import type { Document, LineCounter, YAMLMap } from 'yaml';
import { lazyRequire } from '../shared/lazy-require.js';
import type { SourceLocation } from '../types.js';
import {
  type Diagnostic,
  formatLocation,
  makeDiagnostic,
  type RelatedLocation,
  type Severity,
} from './diagnostics.js';
import { type Env, interpolate } from './interpolate.js';
import type { PolicySource } from './load.js';
import { joinPointer, type SourceMapEntry } from './source-map.js';

// The YAML parser loads with the first policy parsed, not with the engine (shared/lazy-require.ts).
const yaml = lazyRequire<typeof import('yaml')>('yaml');

/** Files above this size are refused: a policy is configuration, not data. */
export const MAX_POLICY_FILE_BYTES = 5 * 1024 * 1024;

/** Bound on nodes materialised through YAML aliases, against "billion laughs" documents. */
export const MAX_ALIAS_NODES = 100_000;

export type Plain = Record<string, unknown>;

export function isPlainObject(v: unknown): v is Plain {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Own-property assignment that cannot reach `Object.prototype` through a `__proto__` key. */
export function setOwn(target: Plain, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

export function hasOwn(target: Plain, key: string): boolean {
  return Object.hasOwn(target, key);
}

export function deepEqual(a: unknown, b: unknown): boolean {
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

export interface Fragment {
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
    if (yaml().isAlias(node)) {
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
    if (yaml().isMap(node)) return this.buildMap(node, pointer);
    if (yaml().isSeq(node)) {
      this.ancestors.add(node);
      const out: unknown[] = [];
      node.items.forEach((item, i) => {
        out.push(this.build(item, joinPointer(pointer, i), undefined));
      });
      this.ancestors.delete(node);
      return out;
    }
    if (yaml().isScalar(node)) {
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
      if (!yaml().isPair(item)) continue;
      const keyNode: unknown = yaml().isAlias(item.key) && this.doc ? item.key.resolve(this.doc) : item.key;
      const keySpan =
        (item.key ? this.nodeSpan(item.key as { range?: number[] }) : undefined) ??
        this.nodeSpan(node) ??
        this.span(0, 0);
      let name: string;
      if (keyNode === null || keyNode === undefined) {
        name = '';
      } else if (yaml().isScalar(keyNode)) {
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

export function fileStart(file: string): SourceLocation {
  return { file, line: 1, column: 1 };
}

export function parseFragment(source: PolicySource, env: Env): Fragment {
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
  const lines = new (yaml().LineCounter)();
  const docs = yaml().parseAllDocuments(text, { lineCounter: lines, uniqueKeys: false, prettyErrors: false });
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
      (yaml().isScalar(doc.contents) && doc.contents.value === null)
    ) {
      builder.report('PARSE_EMPTY_FILE', 'warning', 'policy file has no content', fileStart(file), '');
    } else if (!yaml().isMap(doc.contents)) {
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
