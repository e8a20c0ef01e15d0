/**
 * Renderers for diagnostics (docs/design.md §6): human text with code frames, JSON for tools, and
 * SARIF 2.1.0 for code-scanning annotations. All three sort first, so output is reproducible.
 */

import {
  DIAGNOSTIC_CODES,
  type Diagnostic,
  type DiagnosticCodeInfo,
  formatLocation,
  sortDiagnostics,
} from './diagnostics.js';

export interface HumanFormatOptions {
  /** ANSI colours; off by default so logs and snapshots stay plain. */
  color?: boolean;
}

const ANSI = {
  red: '\u001b[31m',
  yellow: '\u001b[33m',
  cyan: '\u001b[36m',
  dim: '\u001b[2m',
  bold: '\u001b[1m',
  reset: '\u001b[0m',
} as const;

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function withHint(d: Diagnostic): string {
  return d.hint === undefined ? d.message : `${d.message} (did you mean ${JSON.stringify(d.hint)}?)`;
}

// ---------------------------------------------------------------------------------------------
// Secrets in code frames

/** The end (exclusive) of the YAML scalar starting at `i`: quoted, or plain up to a delimiter. */
function scalarEnd(line: string, i: number, flow: boolean): number {
  const q = line[i];
  if (q === '"' || q === "'") {
    let j = i + 1;
    while (j < line.length) {
      if (q === '"' && line[j] === '\\') j += 2;
      else if (q === "'" && line[j] === "'" && line[j + 1] === "'") j += 2;
      else if (line[j] === q) return j + 1;
      else j++;
    }
    return line.length;
  }
  let j = i;
  while (j < line.length) {
    const c = line[j];
    if (c === '$' && line[j + 1] === '{') {
      const close = line.indexOf('}', j);
      if (close > 0) {
        j = close + 1;
        continue;
      }
    }
    if (flow && (c === ',' || c === '}' || c === ']')) break;
    if (c === '#' && j > i && /\s/.test(line[j - 1])) break;
    j++;
  }
  while (j > i && /\s/.test(line[j - 1])) j--;
  return j;
}

function skipSpaces(line: string, i: number): number {
  let j = i;
  while (j < line.length && (line[j] === ' ' || line[j] === '\t')) j++;
  return j;
}

/** A `${VAR}` reference is not a secret: keep it readable. */
function isReference(text: string): boolean {
  return /^["']?\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}["']?$/.test(text);
}

type Span = [number, number];

function valueSpan(line: string, i: number, flow: boolean, out: Span[]): number {
  const end = scalarEnd(line, i, flow);
  if (end > i && !isReference(line.slice(i, end))) out.push([i, end]);
  return end;
}

/** Spans of the items of a flow sequence (`[a, b]`) or the values of a flow mapping (`{k: v}`). */
function flowSpans(line: string, open: number, out: Span[]): void {
  const mapping = line[open] === '{';
  const close = mapping ? '}' : ']';
  let i = open + 1;
  while (i < line.length) {
    i = skipSpaces(line, i);
    if (line[i] === close) return;
    if (mapping) {
      const quoted = line[i] === '"' || line[i] === "'";
      const colon = line.indexOf(':', quoted ? scalarEnd(line, i, true) : i);
      if (colon < 0) return;
      i = skipSpaces(line, colon + 1);
    }
    i = valueSpan(line, i, true, out);
    i = skipSpaces(line, i);
    if (line[i] !== ',') return;
    i++;
  }
}

const SECRET_KEY = /(^|[\s{,])(apiKey|keys|headers|url)\s*:\s*/g;

/** The key of the nearest enclosing block mapping entry of line `index` (by indentation). */
function parentKey(lines: readonly string[], index: number): string | undefined {
  const indentOf = (l: string): number => l.length - l.trimStart().length;
  const own = indentOf(lines[index]);
  for (let k = index - 1; k >= 0; k--) {
    const l = lines[k];
    if (l.trim() === '' || l.trim().startsWith('#')) continue;
    if (
      indentOf(l) < own ||
      (indentOf(l) === own &&
        l.trimStart().startsWith('-') === false &&
        lines[index].trimStart().startsWith('-'))
    ) {
      const m = /^\s*(?:-\s+)?["']?([A-Za-z0-9_.-]+)["']?\s*:/.exec(l);
      return m ? m[1] : undefined;
    }
  }
  return undefined;
}

/**
 * The line with the values of secrets replaced by `*` of the same length (so carets still line
 * up): `apiKey`, tenant `keys`, provider `headers` values and the Redis `url`, in flow or block
 * style. A `${VAR}` reference is shown as written.
 */
export function maskSecretsInLine(lines: readonly string[], index: number): string {
  const line = lines[index];
  const spans: Span[] = [];
  const parent = parentKey(lines, index);
  for (const m of line.matchAll(SECRET_KEY)) {
    const key = m[2];
    const at = (m.index ?? 0) + m[0].length;
    if (at >= line.length) continue;
    const flow = line.lastIndexOf('{', m.index ?? 0) > line.lastIndexOf('}', m.index ?? 0);
    if (key === 'apiKey') valueSpan(line, at, flow, spans);
    else if (key === 'url') {
      if (parent === 'redis' || /redis\s*:\s*\{[^}]*$/.test(line.slice(0, m.index ?? 0))) {
        valueSpan(line, at, flow, spans);
      }
    } else if ((key === 'keys' && line[at] === '[') || (key === 'headers' && line[at] === '{')) {
      flowSpans(line, at, spans);
    }
  }
  // Block style: an item of `keys:`, an entry of `headers:`, the `url:` of `redis:`.
  const item = /^(\s*-\s+)(?!.*:\s)/.exec(line);
  if (item && parent === 'keys') valueSpan(line, item[1].length, false, spans);
  const entry = /^(\s*["']?[A-Za-z0-9_.-]+["']?\s*:\s+)(?![{[])/.exec(line);
  if (entry && (parent === 'headers' || (parent === 'redis' && /^\s*url\s*:/.test(line)))) {
    valueSpan(line, entry[1].length, false, spans);
  }
  if (spans.length === 0) return line;
  const chars = [...line];
  for (const [a, b] of spans) for (let i = a; i < b && i < chars.length; i++) chars[i] = '*';
  return chars.join('');
}

/** The source line and a caret run under the diagnostic's span; empty when the line is unknown. */
function codeFrame(
  d: Diagnostic,
  text: string | undefined,
  paint: (code: string, s: string) => string,
): string[] {
  if (text === undefined) return [];
  const lines = text.split(/\r?\n/);
  const line = lines[d.line - 1];
  if (line === undefined) return [];
  const gutter = String(d.line);
  const pad = ' '.repeat(gutter.length);
  const start = Math.min(Math.max(d.column - 1, 0), line.length);
  const end =
    d.endLine === d.line && d.endColumn !== undefined && d.endColumn > d.column
      ? Math.min(d.endColumn - 1, line.length)
      : d.endLine !== undefined && d.endLine > d.line
        ? line.length
        : start + 1;
  // Keep tabs in the caret line's indent so the caret lines up under tab-indented text.
  const indent = line.slice(0, start).replace(/[^\t]/g, ' ');
  const carets = '^'.repeat(Math.max(1, end - start));
  return [
    `${paint(ANSI.dim, `${gutter} |`)} ${maskSecretsInLine(lines, d.line - 1)}`,
    `${paint(ANSI.dim, `${pad} |`)} ${indent}${paint(d.severity === 'error' ? ANSI.red : ANSI.yellow, carets)}`,
  ];
}

/**
 * Renders diagnostics for a terminal: `file:line:col: error CODE: message (did you mean "x"?)`,
 * a code frame, related notes, and a closing `N errors, N warnings` line.
 *
 * @example console.error(formatHuman(result.diagnostics, result.sources));
 */
export function formatHuman(
  diagnostics: readonly Diagnostic[],
  sources: ReadonlyMap<string, string>,
  options: HumanFormatOptions = {},
): string {
  const color = options.color ?? false;
  const paint = (code: string, s: string): string => (color ? `${code}${s}${ANSI.reset}` : s);
  const blocks: string[] = [];
  let errors = 0;
  let warnings = 0;
  for (const d of sortDiagnostics(diagnostics)) {
    if (d.severity === 'error') errors++;
    else warnings++;
    const severity = paint(
      d.severity === 'error' ? ANSI.red + ANSI.bold : ANSI.yellow + ANSI.bold,
      d.severity,
    );
    const head = `${paint(ANSI.bold, formatLocation(d))}: ${severity} ${paint(ANSI.dim, d.code)}: ${withHint(d)}`;
    const lines = [head, ...codeFrame(d, sources.get(d.file), paint)];
    for (const r of d.related ?? []) {
      lines.push(`  ${formatLocation(r)}: ${paint(ANSI.cyan, 'note')}: ${r.message}`);
    }
    blocks.push(lines.join('\n'));
  }
  blocks.push(`${plural(errors, 'error')}, ${plural(warnings, 'warning')}`);
  return `${blocks.join('\n\n')}\n`;
}

export interface JsonReport {
  /** No errors (warnings allowed). */
  ok: boolean;
  diagnostics: Diagnostic[];
}

/** Produces the `--format json` object; fields that are undefined are left out, not nulled. */
export function formatJson(diagnostics: readonly Diagnostic[]): JsonReport {
  const out = sortDiagnostics(diagnostics).map((d) => {
    const clean: Diagnostic = {
      code: d.code,
      severity: d.severity,
      message: d.message,
      file: d.file,
      line: d.line,
      column: d.column,
      pointer: d.pointer,
    };
    if (d.endLine !== undefined) clean.endLine = d.endLine;
    if (d.endColumn !== undefined) clean.endColumn = d.endColumn;
    if (d.route !== undefined) clean.route = d.route;
    if (d.hint !== undefined) clean.hint = d.hint;
    if (d.related !== undefined && d.related.length > 0) {
      clean.related = d.related.map((r) => ({
        message: r.message,
        file: r.file,
        line: r.line,
        column: r.column,
      }));
    }
    return clean;
  });
  return { ok: !out.some((d) => d.severity === 'error'), diagnostics: out };
}

export interface SarifOptions {
  toolVersion: string;
  /** Defaults to `switchyard`. */
  toolName?: string;
  informationUri?: string;
  /** Where rule titles come from; defaults to `DIAGNOSTIC_CODES` (pass the joined catalogue of all stages). */
  catalogue?: Readonly<Record<string, DiagnosticCodeInfo>>;
}

interface SarifRegion {
  startLine: number;
  startColumn: number;
  endLine?: number;
  endColumn?: number;
}

interface SarifLocation {
  physicalLocation: { artifactLocation: { uri: string }; region: SarifRegion };
  message?: { text: string };
}

export interface SarifLog {
  $schema: string;
  version: '2.1.0';
  runs: {
    tool: {
      driver: {
        name: string;
        version: string;
        informationUri?: string;
        rules: {
          id: string;
          name: string;
          shortDescription: { text: string };
          fullDescription?: { text: string };
          help?: { text: string };
          properties: { stage?: string };
        }[];
      };
    };
    results: {
      ruleId: string;
      ruleIndex: number;
      level: 'error' | 'warning';
      message: { text: string };
      locations: (SarifLocation & { logicalLocations?: { fullyQualifiedName: string; kind: string }[] })[];
      relatedLocations?: (SarifLocation & { id: number })[];
      properties?: { pointer: string; route?: string; hint?: string };
    }[];
  }[];
}

function toUri(file: string): string {
  return encodeURI(file.replace(/\\/g, '/'));
}

function ruleName(code: string): string {
  return code
    .toLowerCase()
    .split('_')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

/** Produces a SARIF 2.1.0 log so CI code scanning can annotate the policy files inline. */
export function formatSarif(diagnostics: readonly Diagnostic[], options: SarifOptions): SarifLog {
  const catalogue = options.catalogue ?? DIAGNOSTIC_CODES;
  const sorted = sortDiagnostics(diagnostics);
  const codes = [...new Set(sorted.map((d) => d.code))].sort();
  const ruleIndex = new Map(codes.map((c, i) => [c, i]));
  const rules = codes.map((id) => {
    const info = Object.hasOwn(catalogue, id) ? catalogue[id] : undefined;
    return {
      id,
      name: ruleName(id),
      shortDescription: { text: info?.title ?? id },
      ...(info
        ? { fullDescription: { text: info.fix }, help: { text: `${info.fix}\n\nExample:\n${info.example}` } }
        : {}),
      properties: info ? { stage: info.stage } : {},
    };
  });
  const results = sorted.map((d) => {
    const region: SarifRegion = { startLine: d.line, startColumn: d.column };
    if (d.endLine !== undefined) region.endLine = d.endLine;
    if (d.endColumn !== undefined) region.endColumn = d.endColumn;
    const properties: { pointer: string; route?: string; hint?: string } = { pointer: d.pointer };
    if (d.route !== undefined) properties.route = d.route;
    if (d.hint !== undefined) properties.hint = d.hint;
    return {
      ruleId: d.code,
      ruleIndex: ruleIndex.get(d.code)!,
      level: d.severity,
      message: { text: withHint(d) },
      locations: [
        {
          physicalLocation: { artifactLocation: { uri: toUri(d.file) }, region },
          ...(d.pointer !== ''
            ? { logicalLocations: [{ fullyQualifiedName: d.pointer, kind: 'member' }] }
            : {}),
        },
      ],
      ...(d.related && d.related.length > 0
        ? {
            relatedLocations: d.related.map((r, i) => ({
              id: i + 1,
              message: { text: r.message },
              physicalLocation: {
                artifactLocation: { uri: toUri(r.file) },
                region: { startLine: r.line, startColumn: r.column },
              },
            })),
          }
        : {}),
      properties,
    };
  });
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: options.toolName ?? 'switchyard',
            version: options.toolVersion,
            ...(options.informationUri !== undefined ? { informationUri: options.informationUri } : {}),
            rules,
          },
        },
        results,
      },
    ],
  };
}
