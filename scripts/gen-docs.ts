/**
 * Generates the reference documentation from its single sources of truth:
 * - docs/policy-reference.md from schemas/policy.schema.json (titles, descriptions, defaults);
 * - docs/recorded-traffic.md from schemas/recorded-traffic.schema.json (the recording format);
 * - docs/diagnostics.md from the diagnostic code catalogue;
 * - docs/errors.md from the error catalogue (engine/errors.ts).
 * `tsx scripts/gen-docs.ts` writes them; the test suite fails when they are stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERRORS, type ErrorStage } from '../engine/errors.js';
import { ALL_DIAGNOSTIC_CODES } from '../engine/policy/codes.js';
import { isRecord } from '../engine/shared/guards.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

type Json = Record<string, unknown>;

function refName(ref: string): string {
  return ref.replace('#/$defs/', '');
}

function typeOf(node: Json): string {
  if (typeof node.$ref === 'string') return `[${refName(node.$ref)}](#${refName(node.$ref).toLowerCase()})`;
  if (node.const !== undefined) return `\`${JSON.stringify(node.const)}\``;
  if (Array.isArray(node.enum)) return node.enum.map((e) => `\`${String(e)}\``).join(' \\| ');
  for (const union of [node.oneOf, node.anyOf])
    if (Array.isArray(union)) return union.map((n) => (isRecord(n) ? typeOf(n) : '?')).join(' \\| ');
  if (node.type === 'array' && isRecord(node.items)) return `list of ${typeOf(node.items)}`;
  if (node.type === 'object' && isRecord(node.additionalProperties))
    return `map of name → ${typeOf(node.additionalProperties)}`;
  if (Array.isArray(node.type)) return node.type.join(' \\| ');
  if (typeof node.type === 'string') return node.type;
  return 'any';
}

function cell(text: unknown): string {
  return String(text ?? '')
    .replace(/\|/g, '\\|')
    .replace(/\n/g, ' ');
}

function constraints(node: Json): string {
  const parts: string[] = [];
  if (node.default !== undefined) parts.push(`default \`${JSON.stringify(node.default)}\``);
  if (node.minimum !== undefined) parts.push(`≥ ${node.minimum}`);
  if (node.exclusiveMinimum !== undefined) parts.push(`> ${node.exclusiveMinimum}`);
  if (node.maximum !== undefined) parts.push(`≤ ${node.maximum}`);
  if (node.minItems !== undefined) parts.push(`at least ${node.minItems} item(s)`);
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}

let DEFS: Json = {};

/** A property that is only a `$ref` documents itself with the referenced definition's text. */
function describe(raw: Json): unknown {
  if (raw.description !== undefined) return raw.description;
  if (typeof raw.$ref === 'string') {
    const def = DEFS[refName(raw.$ref)];
    if (isRecord(def)) return def.description ?? def.title;
  }
  return raw.title ?? '';
}

function propertiesTable(node: Json): string[] {
  const props = isRecord(node.properties) ? node.properties : {};
  const required = new Set(Array.isArray(node.required) ? node.required : []);
  const lines = ['| key | type | required | description |', '| --- | --- | --- | --- |'];
  for (const [key, raw] of Object.entries(props)) {
    if (!isRecord(raw)) continue;
    const desc = describe(raw);
    lines.push(
      `| \`${key}\` | ${typeOf(raw)} | ${required.has(key) ? 'yes' : ''} | ${cell(desc)}${cell(constraints(raw))} |`,
    );
  }
  if (isRecord(node.patternProperties)) {
    for (const [pattern, raw] of Object.entries(node.patternProperties)) {
      if (!isRecord(raw)) continue;
      lines.push(`| keys matching \`${cell(pattern)}\` | ${typeOf(raw)} | | ${cell(describe(raw))} |`);
    }
  }
  return lines;
}

/** A reference page for one JSON Schema: its top-level properties, then each definition. */
function renderSchemaReference(schemaPath: string, heading: string, topLevel: string): string {
  const schema = JSON.parse(readFileSync(join(root, schemaPath), 'utf8')) as Json;
  DEFS = isRecord(schema.$defs) ? schema.$defs : {};
  const out: string[] = [
    `<!-- Generated from ${schemaPath} by scripts/gen-docs.ts. Do not edit: run \`npm run gen:docs\`. -->`,
    `# ${heading}`,
    '',
    String(schema.description ?? ''),
    '',
    `## ${topLevel}`,
    '',
    ...propertiesTable(schema),
    '',
  ];
  const defs = isRecord(schema.$defs) ? schema.$defs : {};
  for (const [name, raw] of Object.entries(defs)) {
    if (!isRecord(raw)) continue;
    out.push(`## ${name}`, '', `**${cell(raw.title ?? name)}.** ${String(raw.description ?? '')}`, '');
    if (isRecord(raw.properties) || isRecord(raw.patternProperties)) out.push(...propertiesTable(raw), '');
    else out.push(`Type: ${typeOf(raw)}${constraints(raw)}.`, '');
    if (typeof raw.pattern === 'string') out.push(`Format: \`${raw.pattern}\``, '');
  }
  return `${out.join('\n').trimEnd()}\n`;
}

export function renderPolicyReference(): string {
  return renderSchemaReference('schemas/policy.schema.json', 'Policy language reference (v1)', 'Top level');
}

/** docs/recorded-traffic.md: the line format `serve` records and `replay` reads. */
export function renderRecordedTraffic(): string {
  return renderSchemaReference(
    'schemas/recorded-traffic.schema.json',
    'Recorded traffic format (v1)',
    'A line',
  );
}

export function renderDiagnostics(): string {
  const out: string[] = [
    '<!-- Generated from the diagnostic code catalogue by scripts/gen-docs.ts. Do not edit: run `npm run gen:docs`. -->',
    '# Diagnostic codes',
    '',
    'Every problem `switchyard validate` reports has a stable code. Codes are grouped by the stage',
    'that finds them: parse (YAML, files, interpolation, fragments), schema (shape of the policy),',
    'reference (names that point nowhere) and semantic (everything else).',
    '',
  ];
  const stages = ['parse', 'schema', 'reference', 'semantic'] as const;
  for (const stage of stages) {
    out.push(`## ${stage}`, '');
    const entries = Object.entries(ALL_DIAGNOSTIC_CODES)
      .filter(([, info]) => info.stage === stage)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    for (const [code, info] of entries) {
      out.push(
        `### ${code}`,
        '',
        info.title,
        '',
        '```yaml',
        info.example.trimEnd(),
        '```',
        '',
        `Fix: ${info.fix}`,
        '',
      );
    }
  }
  return `${out.join('\n').trimEnd()}\n`;
}

const ERROR_STAGES: ReadonlyArray<{ stage: ErrorStage; title: string }> = [
  { stage: 'http', title: 'HTTP: what the server cannot read' },
  { stage: 'request', title: 'Request: the body, headers and key' },
  { stage: 'route', title: 'Route: what the policy chose' },
  { stage: 'guardrail', title: 'Guardrails' },
  { stage: 'admission', title: 'Admission: rate limits and budgets' },
  { stage: 'attempts', title: 'Attempts: the upstream calls' },
  { stage: 'stream', title: 'Stream: in-band errors' },
  { stage: 'lifecycle', title: 'Lifecycle: cancellation and shutdown' },
  { stage: 'jobs', title: 'Jobs: files, batches and deferred requests' },
  { stage: 'admin', title: 'Admin API' },
  { stage: 'internal', title: 'Internal' },
];

export function renderErrors(): string {
  const out: string[] = [
    '<!-- Generated from the error catalogue (engine/errors.ts) by scripts/gen-docs.ts. Do not edit: run `npm run gen:docs`. -->',
    '# Error codes',
    '',
    'Every error Switchyard itself answers has the OpenAI shape',
    '`{"error": {"message": "...", "type": "...", "code": "...", "param": ...}}` with a stable `code`',
    'from this table (`param` only when one request field is to blame). Messages of 5xx errors are',
    "fixed sentences: the cause is logged, never returned. Errors that are the caller's own fault",
    'at the provider (`bad_request`, `content_policy`, `context_length` classes) are passed through',
    "with the provider's status and body (credentials scrubbed), so they carry the provider's code.",
    'A stream that fails after it started ends with one `data: {"error": ...}` event and no',
    '`data: [DONE]`.',
    '',
  ];
  for (const { stage, title } of ERROR_STAGES) {
    const entries = Object.entries(ERRORS).filter(([, spec]) => spec.stage === stage);
    if (entries.length === 0) continue;
    out.push(
      `## ${title}`,
      '',
      '| code | status | type | message | when |',
      '| --- | --- | --- | --- | --- |',
    );
    for (const [code, spec] of entries) {
      out.push(
        `| \`${code}\` | ${spec.status} | \`${spec.type}\` | ${cell(spec.message)} | ${cell(spec.doc)} |`,
      );
    }
    out.push('');
  }
  return `${out.join('\n').trimEnd()}\n`;
}

export const GENERATED_DOCS: ReadonlyArray<{ path: string; render: () => string }> = [
  { path: 'docs/policy-reference.md', render: renderPolicyReference },
  { path: 'docs/recorded-traffic.md', render: renderRecordedTraffic },
  { path: 'docs/diagnostics.md', render: renderDiagnostics },
  { path: 'docs/errors.md', render: renderErrors },
];

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const doc of GENERATED_DOCS) {
    writeFileSync(join(root, doc.path), doc.render());
    console.log(`wrote ${doc.path}`);
  }
}
