/**
 * The validate stage (DESIGN.md §1, §6): the loaded document → a typed `Policy`, or diagnostics.
 *
 * Two passes, both collecting rather than stopping at the first problem:
 * 1. the JSON Schema (Ajv, 2020-12). Ajv's errors are translated into one human diagnostic per
 *    pointer; for unions without a discriminator (a target, a condition, `onExceeded`) the branch
 *    the author evidently meant is picked and only its errors are reported — never oneOf noise;
 * 2. semantic checks (references, reachability, regexes, units, weights, ...), each run only
 *    where the schema passed for the part it reads, so one mistake is reported once.
 *
 * No message ever quotes a secret or an interpolated value: such values are "the value".
 */

import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import policySchema from '../../schemas/policy.schema.json' with { type: 'json' };
import { compileRegex } from '../compile/regex.js';
import { parseDuration, parseRate, parseSize, type UnitResult } from '../compile/units.js';
import { rateToParams } from '../limits/gcra.js';
import type { SourceLocation } from '../types.js';
import {
  type Diagnostic,
  hasErrors,
  makeDiagnostic,
  type RelatedLocation,
  type Severity,
  sortDiagnostics,
} from './diagnostics.js';
import { didYouMean } from './hints.js';
import type { LoadResult } from './load.js';
import { joinPointer, splitPointer } from './source-map.js';
import { NOT_SUPPORTED_YET } from './support.js';
import type { Policy } from './types.generated.js';

export interface ValidationResult {
  /** The typed policy; non-null exactly when `diagnostics` holds no error. */
  policy: Policy | null;
  /** Schema and semantic diagnostics, sorted; warnings never make `policy` null. */
  diagnostics: Diagnostic[];
}

/** Nested target groups deeper than this are refused: the plan would be unreadable and costly. */
export const MAX_GROUP_DEPTH = 8;

/** The longest delay a Node timer honours (2^31−1 ms); a longer one fires after 1ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Error classes the engine never retries on the same target (`NEVER_RETRIED` in
 * engine/runtime/execute.ts; a test keeps the two equal).
 */
export const NEVER_RETRIED_CLASSES: ReadonlySet<string> = new Set([
  'timeout',
  'first_token',
  'idle',
  'context_length',
  'content_policy',
]);

type Obj = Record<string, unknown>;
type SchemaNode = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function code(s: string): string {
  return `\`${s}\``;
}

// ---------------------------------------------------------------------------------------------
// The schema, compiled once

const ROOT = policySchema as unknown as SchemaNode;
const ROOT_ID = typeof ROOT.$id === 'string' ? ROOT.$id : '';

interface CompiledSchema {
  ajv: Ajv2020;
  validate: ValidateFunction;
  /** Every object/array of the schema → its JSON pointer, to address union branches. */
  pointers: WeakMap<object, string>;
  branchValidators: Map<string, ValidateFunction>;
}

let compiled: CompiledSchema | undefined;

function schemaPointers(root: unknown): WeakMap<object, string> {
  const out = new WeakMap<object, string>();
  const walk = (node: unknown, pointer: string): void => {
    if (typeof node !== 'object' || node === null || out.has(node)) return;
    out.set(node, pointer);
    if (Array.isArray(node)) {
      for (const [i, child] of node.entries()) walk(child, joinPointer(pointer, i));
    } else for (const [k, child] of Object.entries(node)) walk(child, joinPointer(pointer, k));
  };
  walk(root, '');
  return out;
}

function getCompiled(): CompiledSchema {
  if (!compiled) {
    const ajv = new Ajv2020({
      allErrors: true,
      strict: true,
      strictRequired: false,
      discriminator: true,
      allowUnionTypes: true,
      // `parentSchema` gives titles, descriptions and allowed keys for human messages.
      verbose: true,
    });
    const validate = ajv.compile(ROOT);
    compiled = { ajv, validate, pointers: schemaPointers(ROOT), branchValidators: new Map() };
  }
  return compiled;
}

function branchValidator(pointer: string): ValidateFunction | undefined {
  const c = getCompiled();
  let v = c.branchValidators.get(pointer);
  if (!v) {
    v = c.ajv.getSchema(`${ROOT_ID}#${pointer}`);
    if (v) c.branchValidators.set(pointer, v);
  }
  return v;
}

/** Follows local `$ref`s (the schema has no others) to the node that holds the keywords. */
function resolveRef(node: unknown): SchemaNode | undefined {
  let cur = node;
  for (let i = 0; i < 16 && isObj(cur); i++) {
    const ref = cur.$ref;
    if (typeof ref !== 'string' || !ref.startsWith('#/')) return cur;
    let target: unknown = ROOT;
    for (const token of splitPointer(ref.slice(1))) target = isObj(target) ? target[token] : undefined;
    cur = target;
  }
  return isObj(cur) ? cur : undefined;
}

// ---------------------------------------------------------------------------------------------
// Document access and wording

function valueAt(doc: unknown, pointer: string): unknown {
  let cur = doc;
  for (const token of splitPointer(pointer)) {
    if (Array.isArray(cur)) cur = cur[Number(token)];
    else if (isObj(cur)) cur = Object.hasOwn(cur, token) ? cur[token] : undefined;
    else return undefined;
  }
  return cur;
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

const TYPE_NOUN: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  integer: 'a whole number',
  boolean: 'true or false',
  null: 'null',
};

function typeNoun(t: string): string {
  return TYPE_NOUN[t] ?? t;
}

function givenNoun(v: unknown): string {
  const t = jsonType(v);
  if (t === 'null') return 'nothing (null)';
  if (t === 'boolean') return 'a boolean';
  if (t === 'integer') return 'a number';
  return typeNoun(t);
}

function listOr(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

/** The first sentence of a schema description, without its full stop, to embed in a message. */
function firstSentence(s: string): string {
  return s.split(/\.\s+(?=[A-Z])/)[0].replace(/\.$/, '');
}

/** Lower-cases a leading capital, but leaves an acronym (`URL`, `API key`) as written. */
function lowerFirst(s: string): string {
  if (s.length === 0 || /^[A-Z]{2}/.test(s)) return s;
  return s[0].toLowerCase() + s.slice(1);
}

const SECTION_NOUN: Record<string, string> = {
  providers: 'provider',
  models: 'model',
  tenants: 'tenant',
  limits: 'limit',
  budgets: 'budget',
  caches: 'cache',
  guardrails: 'guardrail',
};

/** `when.model`, `targets[1]`: a readable path for the tokens under an owner. */
function dotted(tokens: readonly string[]): string {
  let out = '';
  for (const t of tokens) {
    if (/^[0-9]+$/.test(t)) out += `[${t}]`;
    else out += out === '' ? t : `.${t}`;
  }
  return out;
}

class Context {
  constructor(
    readonly load: LoadResult,
    readonly doc: unknown,
  ) {}

  routeName(index: number): string | undefined {
    const name = valueAt(this.doc, `/routes/${index}/name`);
    return typeof name === 'string' ? name : undefined;
  }

  routeOf(pointer: string): string | undefined {
    const t = splitPointer(pointer);
    if (t[0] !== 'routes' || t.length < 2) return undefined;
    return this.routeName(Number(t[1]));
  }

  /** The owner phrase: `route \`chat\``, `provider \`openai\``; undefined at the top level. */
  private owner(tokens: readonly string[]): { phrase: string; rest: string[] } | undefined {
    if (tokens[0] === 'routes' && tokens.length >= 2 && /^[0-9]+$/.test(tokens[1])) {
      const name = this.routeName(Number(tokens[1]));
      const phrase = name !== undefined ? `route ${code(name)}` : `route #${Number(tokens[1]) + 1}`;
      return { phrase, rest: tokens.slice(2) };
    }
    const noun = SECTION_NOUN[tokens[0]];
    if (noun && tokens.length >= 2) return { phrase: `${noun} ${code(tokens[1])}`, rest: tokens.slice(2) };
    return undefined;
  }

  /** The node as a subject: "`timeout.total` of route `chat`", "route `chat`", "`policy.name`". */
  subject(pointer: string): string {
    const tokens = splitPointer(pointer);
    if (tokens.length === 0) return 'the policy';
    const o = this.owner(tokens);
    if (!o) return code(dotted(tokens));
    return o.rest.length === 0 ? o.phrase : `${code(dotted(o.rest))} of ${o.phrase}`;
  }

  /** Where a key sits: "in route `chat`", "in `when` of route `chat`", "at the top level". */
  where(pointer: string): string {
    return splitPointer(pointer).length === 0 ? 'at the top level' : `in ${this.subject(pointer)}`;
  }

  /** Values are shown unless they are secrets or came from `${ENV}`. */
  isSecret(pointer: string): boolean {
    if (this.load.isInterpolated(pointer)) return true;
    const t = splitPointer(pointer);
    const last = t[t.length - 1];
    if (last === 'apiKey') return true;
    if (t[0] === 'tenants' && t[2] === 'keys') return true;
    if (t[0] === 'providers' && t[2] === 'headers' && t.length >= 4) return true;
    if (t[0] === 'stores' && t[1] === 'redis' && t[2] === 'url') return true;
    return false;
  }

  show(pointer: string, value: unknown): string {
    if (this.isSecret(pointer)) return 'the value';
    if (typeof value === 'string') return code(value);
    return code(JSON.stringify(value) ?? String(value));
  }

  locate(pointer: string): SourceLocation {
    return (
      this.load.sourceMap.locate(pointer) ?? this.load.sourceMap.locateNearest(pointer) ?? this.fallback()
    );
  }

  locateKey(pointer: string): SourceLocation {
    return this.load.sourceMap.locateKey(pointer) ?? this.locate(pointer);
  }

  related(message: string, pointer: string, key = false): RelatedLocation {
    const at = key ? this.locateKey(pointer) : this.locate(pointer);
    return { message, file: at.file, line: at.line, column: at.column };
  }

  private fallback(): SourceLocation {
    return { file: this.load.sourceMap.files[0] ?? '<policy>', line: 1, column: 1 };
  }

  diag(
    code: string,
    severity: Severity,
    message: string,
    pointer: string,
    opts: { key?: boolean; hint?: string; related?: RelatedLocation[] } = {},
  ): Diagnostic {
    const at = opts.key ? this.locateKey(pointer) : this.locate(pointer);
    return makeDiagnostic(code, severity, message, at, pointer, {
      route: this.routeOf(pointer),
      hint: opts.hint,
      related: opts.related,
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Pass 1: the schema

/** An Ajv error with its pointer made absolute (errors of re-validated union branches are relative). */
interface Issue {
  pointer: string;
  error: ErrorObject;
}

function absolute(base: string, instancePath: string): string {
  return base + instancePath;
}

function under(pointer: string, ancestor: string): boolean {
  return pointer === ancestor || pointer.startsWith(`${ancestor}/`);
}

/** The JSON types a (resolved) schema node accepts; undefined when it does not say. */
function acceptedTypes(node: SchemaNode): string[] | undefined {
  if (typeof node.type === 'string') return [node.type];
  if (Array.isArray(node.type)) return node.type.filter((t): t is string => typeof t === 'string');
  if ('const' in node) return [jsonType(node.const) === 'integer' ? 'number' : jsonType(node.const)];
  if (Array.isArray(node.enum)) return [...new Set(node.enum.map((e) => jsonType(e)))];
  return undefined;
}

function acceptsType(node: SchemaNode, value: unknown): boolean {
  const types = acceptedTypes(node);
  if (!types) return true;
  const t = jsonType(value);
  return types.includes(t) || (t === 'integer' && types.includes('number'));
}

/**
 * The branch of a union the author evidently meant: the only one whose JSON type fits, else the
 * object branch that knows most of the value's keys (ties: the first, which is the simplest form).
 */
function chooseBranch(branches: readonly unknown[], value: unknown): number | undefined {
  const fits: number[] = [];
  branches.forEach((b, i) => {
    const node = resolveRef(b);
    if (node && acceptsType(node, value)) fits.push(i);
  });
  if (fits.length <= 1) return fits[0];
  if (!isObj(value)) return fits[0];
  let best = fits[0];
  let bestScore = Number.NEGATIVE_INFINITY;
  for (const i of fits) {
    const node = resolveRef(branches[i]);
    const props = node && isObj(node.properties) ? node.properties : {};
    const required = node && Array.isArray(node.required) ? node.required : [];
    let score = 0;
    for (const k of Object.keys(value)) if (Object.hasOwn(props, k)) score += 2;
    for (const r of required) if (typeof r === 'string' && !Object.hasOwn(value, r)) score -= 1;
    if (score > bestScore) {
      best = i;
      bestScore = score;
    }
  }
  return best;
}

/**
 * Runs `validate` on `data` and returns its errors, with every non-discriminated `oneOf` failure
 * replaced by the errors of the chosen branch alone (recursively, for nested unions).
 */
function schemaIssues(validate: ValidateFunction, data: unknown, base: string, out: Issue[]): void {
  if (validate(data)) return;
  const errors = [...(validate.errors ?? [])];
  const unions = errors
    .filter((e) => e.keyword === 'oneOf' && Array.isArray(e.schema))
    .sort((a, b) => a.instancePath.length - b.instancePath.length);
  const outer: ErrorObject[] = [];
  for (const u of unions) {
    if (!outer.some((o) => under(u.instancePath, o.instancePath))) outer.push(u);
  }
  const kept = errors.filter((e) => !outer.some((o) => under(e.instancePath, o.instancePath)));
  for (const e of kept) out.push({ pointer: absolute(base, e.instancePath), error: e });
  for (const u of outer) {
    const pointer = absolute(base, u.instancePath);
    const branches = u.schema as unknown[];
    const value = valueAt(data, u.instancePath);
    const chosen = chooseBranch(branches, value);
    const unionPointer = getCompiled().pointers.get(branches);
    const v =
      chosen !== undefined && unionPointer !== undefined
        ? branchValidator(`${unionPointer}/${chosen}`)
        : undefined;
    if (!v) {
      out.push({ pointer, error: { ...u, keyword: 'x-union-type' } });
      continue;
    }
    const before = out.length;
    schemaIssues(v, value, pointer, out);
    // Valid against the chosen branch yet failing the union: it matches several forms.
    if (out.length === before) out.push({ pointer, error: u });
  }
}

const PRIORITY: Record<string, number> = {
  SCHEMA_TYPE: 0,
  SCHEMA_ENUM: 1,
  SCHEMA_CONST: 1,
  SCHEMA_PATTERN: 2,
  SCHEMA_REQUIRED: 3,
  SCHEMA_RANGE: 4,
  SCHEMA_UNKNOWN_KEY: 5,
  SCHEMA_OTHER: 6,
};

/** Candidate keys for a "did you mean": declared properties plus `metadata.<rest>`-style forms. */
function keyCandidates(schema: SchemaNode | undefined, key: string): string[] {
  if (!schema) return [];
  const out = isObj(schema.properties) ? Object.keys(schema.properties) : [];
  if (isObj(schema.patternProperties)) {
    const dot = key.indexOf('.');
    for (const pattern of Object.keys(schema.patternProperties)) {
      const m = /^\^\(([A-Za-z0-9_|-]+)\)\\\./.exec(pattern);
      if (!m) continue;
      for (const prefix of m[1].split('|')) {
        out.push(dot >= 0 ? `${prefix}.${key.slice(dot + 1)}` : prefix);
      }
    }
  }
  return out;
}

/** The user-facing description of a schema node, or of the nearest schema ancestor that has one. */
function describeSchema(node: unknown): { title?: string; description?: string } {
  const c = getCompiled();
  if (!isObj(node)) return {};
  const title = typeof node.title === 'string' ? node.title : undefined;
  if (typeof node.description === 'string') return { title, description: node.description };
  let pointer = c.pointers.get(node);
  while (pointer !== undefined && pointer !== '') {
    pointer = pointer.slice(0, pointer.lastIndexOf('/'));
    const parent = valueAt(ROOT, pointer);
    if (isObj(parent) && typeof parent.description === 'string') {
      return {
        title: title ?? (typeof parent.title === 'string' ? parent.title : undefined),
        description: parent.description,
      };
    }
  }
  return { title };
}

function kindValues(parent: SchemaNode | undefined, tag: string): string[] {
  const out: string[] = [];
  const branches = parent && Array.isArray(parent.oneOf) ? parent.oneOf : [];
  for (const b of branches) {
    const node = resolveRef(b);
    const prop = node && isObj(node.properties) ? resolveRef(node.properties[tag]) : undefined;
    if (prop && typeof prop.const === 'string') out.push(prop.const);
    if (prop && Array.isArray(prop.enum)) for (const e of prop.enum) if (typeof e === 'string') out.push(e);
  }
  return out;
}

function rangeMessage(ctx: Context, e: ErrorObject, pointer: string): string {
  const s = ctx.subject(pointer);
  const limit = (e.params as { limit?: unknown }).limit;
  switch (e.keyword) {
    case 'minimum':
      return `${s} must be at least ${String(limit)}`;
    case 'maximum':
      return `${s} must be at most ${String(limit)}`;
    case 'exclusiveMinimum':
      return `${s} must be greater than ${String(limit)}`;
    case 'exclusiveMaximum':
      return `${s} must be less than ${String(limit)}`;
    case 'minLength':
      return limit === 1
        ? `${s} must not be empty`
        : `${s} must be at least ${String(limit)} characters long`;
    case 'maxLength':
      return `${s} must be at most ${String(limit)} characters long`;
    case 'minItems':
      return limit === 1
        ? `${s} must list at least one item`
        : `${s} must list at least ${String(limit)} items`;
    case 'maxItems':
      return `${s} must list at most ${String(limit)} items`;
    case 'minProperties':
      return splitPointer(pointer).pop() === 'when'
        ? `${s} must hold at least one condition (omit \`when\` to match every request)`
        : `${s} must not be empty`;
    case 'maxProperties':
      return `${s} has too many entries (at most ${String(limit)})`;
    case 'uniqueItems': {
      const p = e.params as { i?: number; j?: number };
      return `${s} lists the same item twice (items ${(p.j ?? 0) + 1} and ${(p.i ?? 0) + 1})`;
    }
    default:
      return `${s} is out of range`;
  }
}

const RANGE_KEYWORDS = new Set([
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
  'uniqueItems',
]);

/** Translates one Ajv error; undefined when another error already says it. */
function schemaDiagnostic(ctx: Context, issue: Issue): Diagnostic | undefined {
  const { error: e, pointer } = issue;
  const parent = e.parentSchema as SchemaNode | undefined;
  const value = valueAt(ctx.doc, pointer);

  // A key rejected by `propertyNames` (Ajv marks the inner error with the offending name).
  if (e.propertyName !== undefined) {
    const keyPointer = joinPointer(pointer, e.propertyName);
    const { description } = describeSchema(parent);
    const section = splitPointer(pointer).pop() ?? '';
    const noun = SECTION_NOUN[section] ?? 'key';
    return ctx.diag(
      'SCHEMA_PATTERN',
      'error',
      `${code(e.propertyName)} is not a valid ${noun} name ${ctx.where(pointer)}${description ? `: expected ${lowerFirst(description.replace(/\.$/, ''))}` : ''}`,
      keyPointer,
      { key: true },
    );
  }

  switch (e.keyword) {
    case 'propertyNames':
      return undefined; // reported through its inner error above
    case 'additionalProperties':
    case 'unevaluatedProperties': {
      const params = e.params as { additionalProperty?: string; unevaluatedProperty?: string };
      const key = params.additionalProperty ?? params.unevaluatedProperty ?? '';
      const keyPointer = joinPointer(pointer, key);
      const hint = didYouMean(key, keyCandidates(parent, key));
      const where = splitPointer(pointer).length === 0 ? 'unknown top-level key' : 'unknown key';
      const tail = splitPointer(pointer).length === 0 ? '' : ` ${ctx.where(pointer)}`;
      return ctx.diag('SCHEMA_UNKNOWN_KEY', 'error', `${where} ${code(key)}${tail}`, keyPointer, {
        key: true,
        hint,
      });
    }
    case 'required': {
      const missing = String((e.params as { missingProperty?: unknown }).missingProperty);
      return ctx.diag(
        'SCHEMA_REQUIRED',
        'error',
        `${ctx.subject(pointer)} is missing ${code(missing)}`,
        pointer,
      );
    }
    case 'type': {
      const t = (e.params as { type?: unknown }).type;
      const types = (Array.isArray(t) ? t : [t]).map((x) => typeNoun(String(x)));
      return ctx.diag(
        'SCHEMA_TYPE',
        'error',
        `${ctx.subject(pointer)} must be ${listOr(types)}, not ${givenNoun(value)}`,
        pointer,
      );
    }
    case 'x-union-type': {
      const { description } = describeSchema(parent);
      let message = `${ctx.subject(pointer)} has the wrong form (${givenNoun(value)})`;
      if (description) message += `: expected ${lowerFirst(firstSentence(description))}`;
      if (Array.isArray(value) && JSON.stringify(e.schema).includes('Operators')) {
        message += '; to match one of several values write `{ in: [...] }`';
      }
      return ctx.diag('SCHEMA_TYPE', 'error', message, pointer);
    }
    case 'enum': {
      const allowed = ((e.params as { allowedValues?: unknown[] }).allowedValues ?? []).map(String);
      const { title } = describeSchema(parent);
      const what = title ? lowerFirst(title) : 'value';
      const hint =
        typeof value === 'string' && !ctx.isSecret(pointer) ? didYouMean(value, allowed) : undefined;
      return ctx.diag(
        'SCHEMA_ENUM',
        'error',
        `${ctx.show(pointer, value)} is not a valid ${what} for ${ctx.subject(pointer)}: expected ${listOr(allowed.map(code))}`,
        pointer,
        { hint },
      );
    }
    case 'const': {
      const allowed = (e.params as { allowedValue?: unknown }).allowedValue;
      const { title } = describeSchema(parent);
      const hint =
        typeof value === 'string' && typeof allowed === 'string' && !ctx.isSecret(pointer)
          ? didYouMean(value, [allowed])
          : undefined;
      const name = pointer === '/switchyard' ? 'the language version' : ctx.subject(pointer);
      const label = title && pointer !== '/switchyard' ? ` (${lowerFirst(title)})` : '';
      return ctx.diag(
        'SCHEMA_CONST',
        'error',
        `${name}${label} must be ${code(String(allowed))}, not ${ctx.show(pointer, value)}`,
        pointer,
        { hint },
      );
    }
    case 'discriminator': {
      const p = e.params as { error?: string; tag?: string; tagValue?: unknown };
      const tag = p.tag ?? 'kind';
      const tagPointer = joinPointer(pointer, tag);
      if (p.error === 'mapping') {
        const kinds = kindValues(parent, tag);
        const expected = `expected ${listOr(kinds.map(code))}`;
        if (ctx.isSecret(tagPointer)) {
          const message = `the value of ${ctx.subject(tagPointer)} is not a known ${tag}: ${expected}`;
          return ctx.diag('SCHEMA_ENUM', 'error', message, tagPointer);
        }
        const tagValue = p.tagValue;
        const hint = typeof tagValue === 'string' ? didYouMean(tagValue, kinds) : undefined;
        return ctx.diag(
          'SCHEMA_ENUM',
          'error',
          `unknown ${tag} ${ctx.show(tagPointer, tagValue)} for ${ctx.subject(pointer)}: ${expected}`,
          tagPointer,
          { hint },
        );
      }
      if (!isObj(value)) return undefined;
      if (!Object.hasOwn(value, tag)) {
        // No branch is evaluated without the tag, so a misspelt `kind` would go unnamed: name it.
        const misspelt = Object.keys(value).find((k) => didYouMean(k, [tag]) === tag);
        if (misspelt === undefined) return undefined; // `required` says it
        return ctx.diag(
          'SCHEMA_UNKNOWN_KEY',
          'error',
          `unknown key ${code(misspelt)} ${ctx.where(pointer)}`,
          joinPointer(pointer, misspelt),
          { key: true, hint: tag },
        );
      }
      return ctx.diag(
        'SCHEMA_TYPE',
        'error',
        `${ctx.subject(tagPointer)} must be a string, not ${givenNoun(value[tag])}`,
        tagPointer,
      );
    }
    case 'pattern': {
      const { title, description } = describeSchema(parent);
      const what = title ? lowerFirst(title) : 'value';
      return ctx.diag(
        'SCHEMA_PATTERN',
        'error',
        `${ctx.show(pointer, value)} is not a valid ${what} for ${ctx.subject(pointer)}${description ? `: expected ${lowerFirst(description.replace(/\.$/, ''))}` : ''}`,
        pointer,
      );
    }
    case 'anyOf': {
      const branches = Array.isArray(e.schema) ? e.schema : [];
      const requiredOnly = branches.every(
        (b) => isObj(b) && Object.keys(b).length === 1 && Array.isArray(b.required),
      );
      if (requiredOnly) {
        const names = branches
          .flatMap((b) => (isObj(b) && Array.isArray(b.required) ? b.required : []))
          .map(String);
        return ctx.diag(
          'SCHEMA_REQUIRED',
          'error',
          `${ctx.subject(pointer)} needs at least one of ${listOr(names.map(code))}`,
          pointer,
        );
      }
      return ctx.diag(
        'SCHEMA_OTHER',
        'error',
        `${ctx.subject(pointer)} does not match any allowed form`,
        pointer,
      );
    }
    case 'oneOf':
      return ctx.diag(
        'SCHEMA_OTHER',
        'error',
        `${ctx.subject(pointer)} is ambiguous: it matches more than one allowed form`,
        pointer,
      );
    default:
      if (RANGE_KEYWORDS.has(e.keyword))
        return ctx.diag('SCHEMA_RANGE', 'error', rangeMessage(ctx, e, pointer), pointer);
      return ctx.diag(
        'SCHEMA_OTHER',
        'error',
        `${ctx.subject(pointer)} is not valid (${e.keyword})`,
        pointer,
      );
  }
}

/** Removes the errors of `anyOf` branches: the `anyOf` error itself is reported instead. */
function dropAnyOfBranches(issues: Issue[]): Issue[] {
  const branchSchemas = new Set<unknown>();
  for (const i of issues) {
    if (i.error.keyword === 'anyOf' && Array.isArray(i.error.schema)) {
      for (const b of i.error.schema) branchSchemas.add(b);
    }
  }
  return issues.filter((i) => !branchSchemas.has(i.error.parentSchema));
}

/** One diagnostic per pointer: the most telling one, with every missing key in one message. */
function onePerPointer(diagnostics: Diagnostic[]): Diagnostic[] {
  const byPointer = new Map<string, Diagnostic>();
  const missing = new Map<string, string[]>();
  for (const d of diagnostics) {
    if (d.code === 'SCHEMA_REQUIRED') {
      const m = /is missing (`[^`]*`)$/.exec(d.message);
      if (m) missing.set(d.pointer, [...(missing.get(d.pointer) ?? []), m[1]]);
    }
    const prev = byPointer.get(d.pointer);
    if (!prev || (PRIORITY[d.code] ?? 9) < (PRIORITY[prev.code] ?? 9)) byPointer.set(d.pointer, d);
  }
  const out: Diagnostic[] = [];
  for (const d of byPointer.values()) {
    const keys = missing.get(d.pointer);
    if (d.code === 'SCHEMA_REQUIRED' && keys && keys.length > 1) {
      out.push({ ...d, message: d.message.replace(/is missing `[^`]*`$/, `is missing ${listOr(keys)}`) });
    } else {
      out.push(d);
    }
  }
  // A misspelt required key is one mistake: keep "unknown key `modle` (did you mean `model`?)" only.
  const hinted = new Set(
    out
      .filter((d) => d.code === 'SCHEMA_UNKNOWN_KEY' && d.hint)
      .map((d) => joinPointer(parentOf(d.pointer), d.hint ?? '')),
  );
  return out.filter((d) => {
    if (d.code !== 'SCHEMA_REQUIRED') return true;
    const keys = missing.get(d.pointer) ?? [];
    return !(keys.length > 0 && keys.every((k) => hinted.has(joinPointer(d.pointer, k.slice(1, -1)))));
  });
}

function parentOf(pointer: string): string {
  return pointer.slice(0, pointer.lastIndexOf('/'));
}

// ---------------------------------------------------------------------------------------------
// Pass 2: semantics

/** Walks every existing pointer matching a pattern whose `*` segments stand for any one token. */
function matchPattern(doc: unknown, pattern: string): string[] {
  const tokens = splitPointer(pattern);
  const out: string[] = [];
  const walk = (node: unknown, i: number, pointer: string): void => {
    if (i === tokens.length) {
      out.push(pointer);
      return;
    }
    const t = tokens[i];
    if (Array.isArray(node)) {
      const indexes = t === '*' ? node.map((_, k) => k) : /^[0-9]+$/.test(t) ? [Number(t)] : [];
      for (const k of indexes) if (k < node.length) walk(node[k], i + 1, joinPointer(pointer, k));
    } else if (isObj(node)) {
      const keys = t === '*' ? Object.keys(node) : Object.hasOwn(node, t) ? [t] : [];
      for (const k of keys) walk(node[k], i + 1, joinPointer(pointer, k));
    }
  };
  walk(doc, 0, '');
  return out;
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isObj(v)) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

type FieldKind = 'string' | 'number' | 'boolean' | 'any';

function fieldKind(field: string): FieldKind {
  if (field === 'model' || field === 'path' || field === 'tenant') return 'string';
  if (field.startsWith('label.') || field.startsWith('header.')) return 'string';
  if (field === 'input.tokens' || field === 'input.chars') return 'number';
  if (field === 'stream' || field === 'tools') return 'boolean';
  return 'any';
}

const NUMERIC_OPS = ['gt', 'gte', 'lt', 'lte'] as const;

interface Definitions {
  /** Section → defined names; absent when the section is not a mapping (its own error says so). */
  names: Map<string, Set<string>>;
  /** Section → referenced names (and names offered as hints for a dangling reference). */
  used: Map<string, Set<string>>;
}

const REFERENCE_CODES: Record<string, { code: string; noun: string }> = {
  providers: { code: 'REF_UNKNOWN_PROVIDER', noun: 'provider' },
  models: { code: 'REF_UNKNOWN_MODEL', noun: 'model' },
  limits: { code: 'REF_UNKNOWN_LIMIT', noun: 'limit' },
  budgets: { code: 'REF_UNKNOWN_BUDGET', noun: 'budget' },
  caches: { code: 'REF_UNKNOWN_CACHE', noun: 'cache' },
  guardrails: { code: 'REF_UNKNOWN_GUARDRAIL', noun: 'guardrail' },
};

class SemanticChecks {
  readonly out: Diagnostic[] = [];
  private readonly defs: Definitions = { names: new Map(), used: new Map() };

  constructor(
    private readonly ctx: Context,
    /** Pointers with a schema error; a check skips any part that has one. */
    private readonly broken: readonly string[],
  ) {
    const doc = ctx.doc;
    for (const section of Object.keys(REFERENCE_CODES)) {
      const v = isObj(doc) ? doc[section] : undefined;
      if (v === undefined) this.defs.names.set(section, new Set());
      else if (isObj(v)) this.defs.names.set(section, new Set(Object.keys(v)));
      this.defs.used.set(section, new Set());
    }
  }

  /** True when the schema found nothing wrong at or below `pointer`. */
  private clean(pointer: string): boolean {
    return !this.broken.some((b) => under(b, pointer));
  }

  private get doc(): Obj {
    return isObj(this.ctx.doc) ? this.ctx.doc : {};
  }

  run(): Diagnostic[] {
    this.notSupported();
    this.modelReferences();
    this.routes();
    this.budgetReferences();
    this.whens();
    this.guardrailRegexes();
    this.units();
    this.trafficRules();
    this.timeouts();
    this.retryOn();
    this.cacheKeys();
    this.tenants();
    this.unused();
    return this.out;
  }

  private reference(section: string, name: unknown, pointer: string): void {
    if (typeof name !== 'string' || !this.clean(pointer)) return;
    const defined = this.defs.names.get(section);
    if (!defined) return;
    const used = this.defs.used.get(section);
    used?.add(name);
    if (defined.has(name)) return;
    const { code: c, noun } = REFERENCE_CODES[section];
    const secret = this.ctx.isSecret(pointer);
    const hint = secret ? undefined : didYouMean(name, defined);
    if (hint) used?.add(hint);
    const known = defined.size === 0 ? `no ${section} are defined` : `not defined in ${code(section)}`;
    const message = secret
      ? `the value of ${this.ctx.subject(pointer)} is not a known ${noun}: ${known}`
      : `unknown ${noun} ${code(name)} in ${this.ctx.subject(pointer)}: ${known}`;
    this.out.push(this.ctx.diag(c, 'error', message, pointer, { hint }));
  }

  private notSupported(): void {
    for (const row of NOT_SUPPORTED_YET) {
      for (const pointer of matchPattern(this.ctx.doc, row.pointer)) {
        const tokens = splitPointer(pointer);
        const key = tokens[tokens.length - 1];
        const where = tokens.length > 1 ? ` ${this.ctx.where(parentOf(pointer))}` : '';
        this.out.push(
          this.ctx.diag(
            'SEM_NOT_SUPPORTED',
            'error',
            `${code(key)}${where} is not supported yet (${row.feature}); remove it — a rule that is accepted but not enforced would be worse than none`,
            pointer,
            { key: true },
          ),
        );
      }
    }
  }

  private modelReferences(): void {
    const models = this.doc.models;
    if (!isObj(models)) return;
    for (const [name, model] of Object.entries(models)) {
      if (isObj(model)) this.reference('providers', model.provider, joinPointer('/models', name, 'provider'));
    }
  }

  private budgetReferences(): void {
    for (const pointer of matchPattern(this.ctx.doc, '/budgets/*/onExceeded/downgradeTo/*')) {
      this.reference('models', valueAt(this.ctx.doc, pointer), pointer);
    }
  }

  private routes(): void {
    const routes = this.doc.routes;
    if (!Array.isArray(routes)) return;
    const names = new Map<string, number>();
    const whens = new Map<string, number>();
    let catchAll: number | undefined;
    routes.forEach((route, i) => {
      if (!isObj(route)) return;
      const base = `/routes/${i}`;
      const name = route.name;
      // Duplicate names.
      if (typeof name === 'string' && this.clean(`${base}/name`)) {
        const first = names.get(name);
        if (first !== undefined) {
          this.out.push(
            this.ctx.diag(
              'SEM_DUPLICATE_ROUTE',
              'error',
              `route ${code(name)} is defined twice; route names must be unique`,
              `${base}/name`,
              {
                related: [
                  this.ctx.related(`route ${code(name)} is first defined here`, `/routes/${first}/name`),
                ],
              },
            ),
          );
        } else {
          names.set(name, i);
        }
      }
      // Reachability: first match wins, so a catch-all or an identical `when` shadows later routes.
      const label = (k: number): string => {
        const n = this.ctx.routeName(k);
        return n !== undefined ? `route ${code(n)}` : `route #${k + 1}`;
      };
      if (catchAll !== undefined) {
        this.out.push(
          this.ctx.diag(
            'SEM_UNREACHABLE_ROUTE',
            'warning',
            `${label(i)} is unreachable: ${label(catchAll)} before it has no \`when\` and matches every request`,
            base,
            { related: [this.ctx.related(`${label(catchAll)} matches everything`, `/routes/${catchAll}`)] },
          ),
        );
      } else if (route.when !== undefined && this.clean(`${base}/when`)) {
        const key = canonical(route.when);
        const earlier = whens.get(key);
        if (earlier !== undefined) {
          this.out.push(
            this.ctx.diag(
              'SEM_UNREACHABLE_ROUTE',
              'warning',
              `${label(i)} is unreachable: ${label(earlier)} before it has the same \`when\` and wins first`,
              base,
              {
                related: [
                  this.ctx.related(`${label(earlier)} has the same \`when\``, `/routes/${earlier}/when`),
                ],
              },
            ),
          );
        } else {
          whens.set(key, i);
        }
      }
      if (route.when === undefined && catchAll === undefined) catchAll = i;
      // References.
      if (Array.isArray(route.limits)) {
        for (const [k, l] of route.limits.entries()) this.reference('limits', l, `${base}/limits/${k}`);
      }
      if (Array.isArray(route.budgets)) {
        for (const [k, b] of route.budgets.entries()) this.reference('budgets', b, `${base}/budgets/${k}`);
      }
      if (Array.isArray(route.guardrails)) {
        for (const [k, g] of route.guardrails.entries())
          this.reference('guardrails', g, `${base}/guardrails/${k}`);
      }
      if (route.cache !== undefined) this.reference('caches', route.cache, `${base}/cache`);
      this.group(route, base, 0);
      this.prefill(route, base);
    });
  }

  /** A route or a nested group: its targets, strategy, weights and depth. */
  private group(group: Obj, base: string, depth: number): void {
    const strategy = group.strategy;
    if (strategy === 'sticky' && group.stickyKey === undefined && this.clean(`${base}/strategy`)) {
      this.out.push(
        this.ctx.diag(
          'SEM_STICKY_KEY',
          'error',
          `${this.ctx.subject(base)} uses \`strategy: sticky\` without a \`stickyKey\` to hash (e.g. \`header.x-session-id\`)`,
          `${base}/strategy`,
        ),
      );
    }
    if (group.stickyKey !== undefined && strategy !== 'sticky' && this.clean(`${base}/stickyKey`)) {
      this.out.push(
        this.ctx.diag(
          'SEM_STICKY_KEY',
          'warning',
          `\`stickyKey\` has no effect: ${this.ctx.subject(base)} does not use \`strategy: sticky\``,
          `${base}/stickyKey`,
          { key: true },
        ),
      );
    }
    const targets = group.targets;
    if (!Array.isArray(targets)) return;
    if ((strategy === undefined || strategy === 'fallback' || strategy === 'latency') && this.clean(base)) {
      const how = strategy === 'latency' ? '`strategy: latency`' : '`strategy: fallback`';
      targets.forEach((t, k) => {
        if (!isObj(t) || t.weight === undefined) return;
        const pointer = `${base}/targets/${k}/weight`;
        this.out.push(
          this.ctx.diag(
            'SEM_WEIGHT_IGNORED',
            'warning',
            `\`weight\` has no effect: ${this.ctx.subject(base)} uses ${how}, which does not weigh its targets`,
            pointer,
            { key: true },
          ),
        );
      });
    }
    if (strategy === 'weighted' && this.clean(`${base}/targets`) && targets.length > 0) {
      const sum = targets.reduce<number>((acc, t) => {
        const w = isObj(t) ? t.weight : undefined;
        return acc + (typeof w === 'number' ? w : 1);
      }, 0);
      if (sum === 0) {
        this.out.push(
          this.ctx.diag(
            'SEM_ZERO_WEIGHTS',
            'error',
            `the weights of ${this.ctx.subject(base)} sum to 0, so \`weighted\` can never pick a target`,
            `${base}/targets`,
          ),
        );
      }
    }
    targets.forEach((t, k) => {
      const pointer = `${base}/targets/${k}`;
      if (typeof t === 'string') this.reference('models', t, pointer);
      else if (isObj(t) && typeof t.model === 'string' && t.targets === undefined) {
        this.reference('models', t.model, `${pointer}/model`);
      } else if (isObj(t) && Array.isArray(t.targets)) {
        if (depth + 1 > MAX_GROUP_DEPTH) {
          this.out.push(
            this.ctx.diag(
              'SEM_GROUP_DEPTH',
              'error',
              `target groups are nested more than ${MAX_GROUP_DEPTH} deep in ${this.ctx.subject(base)}; flatten the groups`,
              pointer,
            ),
          );
          return;
        }
        this.group(t, pointer, depth + 1);
      }
    });
  }

  /** Model names a group can send to, in plan order. */
  private flatten(targets: unknown, out: string[] = [], depth = 0): string[] {
    if (!Array.isArray(targets) || depth > MAX_GROUP_DEPTH) return out;
    for (const t of targets) {
      if (typeof t === 'string') out.push(t);
      else if (isObj(t) && typeof t.model === 'string') out.push(t.model);
      else if (isObj(t)) this.flatten(t.targets, out, depth + 1);
    }
    return out;
  }

  /** A group of the route (or the route itself) orders its targets per request. */
  private reorders(group: Obj, depth = 0): boolean {
    if (depth > MAX_GROUP_DEPTH) return false;
    if (group.strategy !== undefined && group.strategy !== 'fallback') return true;
    return Array.isArray(group.targets) && group.targets.some((t) => isObj(t) && this.reorders(t, depth + 1));
  }

  private prefill(route: Obj, base: string): void {
    const local = isObj(route.stream) ? route.stream.midStream : undefined;
    const defaults =
      isObj(this.doc.defaults) && isObj(this.doc.defaults.stream)
        ? this.doc.defaults.stream.midStream
        : undefined;
    if ((local ?? defaults) !== 'continue') return;
    const models = isObj(this.doc.models) ? this.doc.models : {};
    const canPrefill = (name: string): boolean => {
      const m = models[name];
      return isObj(m) && isObj(m.capabilities) && m.capabilities.prefill === true;
    };
    const all = this.flatten(route.targets);
    // With a weighted, sticky or latency group anywhere, any target may go first: every one of
    // them needs another, prefill-capable target to continue on.
    const capable = this.reorders(route)
      ? all.length > 0 && all.every((first) => all.some((name) => name !== first && canPrefill(name)))
      : all.slice(1).some(canPrefill);
    if (capable) return;
    const pointer = local !== undefined ? `${base}/stream/midStream` : base;
    const from = local !== undefined ? '' : ' (inherited from `defaults.stream`)';
    this.out.push(
      this.ctx.diag(
        'SEM_PREFILL_CONTINUE',
        'warning',
        `${this.ctx.subject(base)} sets \`midStream: continue\`${from}, but no target after the first declares \`capabilities.prefill: true\`, so a broken stream can never continue`,
        pointer,
      ),
    );
  }

  private whens(): void {
    const roots = [
      ...matchPattern(this.ctx.doc, '/routes/*/when'),
      ...matchPattern(this.ctx.doc, '/limits/*/when'),
      ...matchPattern(this.ctx.doc, '/caches/*/when'),
    ];
    for (const pointer of roots) this.when(valueAt(this.ctx.doc, pointer), pointer);
  }

  private when(when: unknown, pointer: string): void {
    if (!isObj(when)) return;
    for (const [field, cond] of Object.entries(when)) {
      const p = joinPointer(pointer, field);
      if ((field === 'all' || field === 'any') && Array.isArray(cond)) {
        for (const [k, w] of cond.entries()) this.when(w, joinPointer(p, k));
      } else if (field === 'not') {
        this.when(cond, p);
      } else {
        this.condition(field, cond, p);
      }
    }
  }

  private invalidCondition(pointer: string, message: string): void {
    this.out.push(this.ctx.diag('SEM_INVALID_CONDITION', 'error', message, pointer));
  }

  private condition(field: string, cond: unknown, pointer: string): void {
    if (!this.clean(pointer)) return;
    const kind = fieldKind(field);
    const f = code(field);
    if (!isObj(cond)) {
      if (kind === 'boolean' && typeof cond !== 'boolean') {
        this.invalidCondition(
          pointer,
          `${f} is true or false; compare it with a boolean, not ${givenNoun(cond)}`,
        );
      } else if (kind === 'number' && typeof cond !== 'number') {
        this.invalidCondition(pointer, `${f} is a number; ${givenNoun(cond)} never equals it`);
      }
      return;
    }
    if (typeof cond.regex === 'string') {
      const r = compileRegex(cond.regex);
      if (!r.ok) this.badRegex(joinPointer(pointer, 'regex'), r.message);
    }
    for (const op of Object.keys(cond)) {
      const p = joinPointer(pointer, op);
      const numeric = (NUMERIC_OPS as readonly string[]).includes(op);
      if (kind === 'string' && numeric) {
        this.invalidCondition(
          p,
          `${code(op)} compares numbers, but ${f} is text; use \`glob\`, \`regex\` or \`in\``,
        );
      } else if (kind === 'number' && (op === 'glob' || op === 'regex')) {
        this.invalidCondition(
          p,
          `${code(op)} matches text, but ${f} is a number; use \`gt\`, \`gte\`, \`lt\` or \`lte\``,
        );
      } else if (kind === 'boolean' && op !== 'exists' && op !== 'in') {
        this.invalidCondition(
          p,
          `${code(op)} cannot apply to ${f}, which is true or false; write \`${field}: true\``,
        );
      } else if (op === 'in' && Array.isArray(cond.in) && (kind === 'boolean' || kind === 'number')) {
        const bad = cond.in.findIndex((x) => typeof x !== kind);
        if (bad >= 0) {
          this.invalidCondition(
            joinPointer(p, bad),
            `${f} is ${kind === 'number' ? 'a number' : 'true or false'}; ${givenNoun(cond.in[bad])} in \`in\` never matches`,
          );
        }
      }
    }
  }

  private badRegex(pointer: string, message: string): void {
    // Node's message repeats the source as `/.../flags: `; keep the reason only (it may be a secret).
    const reason = message.replace(/^\/[\s\S]*\/[a-z]*: /, '');
    const text = this.ctx.isSecret(pointer)
      ? `the value of ${this.ctx.subject(pointer)} is not a valid regular expression: ${reason}`
      : `invalid regular expression ${this.ctx.show(pointer, valueAt(this.ctx.doc, pointer))} in ${this.ctx.subject(pointer)}: ${reason}`;
    this.out.push(this.ctx.diag('SEM_INVALID_REGEX', 'error', text, pointer));
  }

  private guardrailRegexes(): void {
    const guardrails = this.doc.guardrails;
    if (!isObj(guardrails)) return;
    for (const [name, g] of Object.entries(guardrails)) {
      if (!isObj(g) || g.kind !== 'regex' || !Array.isArray(g.deny)) continue;
      g.deny.forEach((pattern, k) => {
        const pointer = joinPointer('/guardrails', name, 'deny', k);
        if (typeof pattern !== 'string' || !this.clean(pointer)) return;
        const r = compileRegex(pattern);
        if (!r.ok) this.badRegex(pointer, r.message);
      });
    }
  }

  private units(): void {
    const scopes = ['/defaults', '/routes/*', '/models/*'];
    const durations = [
      ...scopes.flatMap((s) => [
        `${s}/timeout/*`,
        `${s}/retry/backoff/initial`,
        `${s}/retry/backoff/max`,
        `${s}/retry/respectRetryAfter`,
        `${s}/breaker/window`,
        `${s}/breaker/cooldown`,
      ]),
      '/providers/*/latency',
      '/providers/*/chunkDelay',
      '/caches/*/ttl',
    ];
    const kinds: [string, string[], (s: string) => UnitResult<unknown>][] = [
      ['SEM_BAD_DURATION', durations, parseDuration],
      ['SEM_BAD_RATE', ['/limits/*/requests', '/limits/*/tokens'], parseRate],
      ['SEM_BAD_SIZE', ['/providers/*/maxResponseSize', '/caches/*/maxSize'], parseSize],
    ];
    for (const [c, patterns, parse] of kinds) {
      for (const pattern of patterns) {
        for (const pointer of matchPattern(this.ctx.doc, pattern)) {
          const v = valueAt(this.ctx.doc, pointer);
          if (typeof v !== 'string' || !this.clean(pointer)) continue;
          const r = parse(v);
          if (r.ok) continue;
          const reason = this.ctx.isSecret(pointer) ? 'the value cannot be parsed' : r.error;
          this.out.push(this.ctx.diag(c, 'error', `${this.ctx.subject(pointer)}: ${reason}`, pointer));
        }
      }
    }
    this.timerBounds(scopes);
  }

  /**
   * Timeouts, backoffs, `respectRetryAfter` and breaker windows become Node timers, which fire
   * after 1ms when given more than 2^31−1 ms (about 24.8 days): such a value would time out at
   * once. A zero timeout likewise ends every request before it starts.
   */
  private timerBounds(scopes: readonly string[]): void {
    const timers = scopes.flatMap((s) => [
      `${s}/timeout/*`,
      `${s}/retry/backoff/initial`,
      `${s}/retry/backoff/max`,
      `${s}/retry/respectRetryAfter`,
      `${s}/breaker/window`,
      `${s}/breaker/cooldown`,
    ]);
    for (const pattern of timers) {
      for (const pointer of matchPattern(this.ctx.doc, pattern)) {
        const v = valueAt(this.ctx.doc, pointer);
        if (typeof v !== 'string' || !this.clean(pointer)) continue;
        const r = parseDuration(v);
        if (!r.ok) continue; // units() reported it
        const isTimeout = splitPointer(pointer).at(-2) === 'timeout';
        let message: string | undefined;
        if (r.value > MAX_TIMER_MS) {
          message = `${this.ctx.subject(pointer)} is longer than the longest duration a timer can wait (${MAX_TIMER_MS}ms, about 24.8 days); use a shorter duration`;
        } else if (isTimeout && r.value <= 0) {
          message = `${this.ctx.subject(pointer)} is 0, which would time out every request at once; use a duration longer than 0ms`;
        }
        if (message) this.out.push(this.ctx.diag('SEM_BAD_DURATION', 'error', message, pointer));
      }
    }
  }

  /**
   * Limits, budgets and caches compile at the first request of a new version, so whatever their
   * compiler would refuse is refused here: a rate and burst too large to count exactly, a zero
   * `ttl` or `maxSize`, and `store: redis` without `stores.redis`.
   */
  private trafficRules(): void {
    const hasRedis = isObj(this.doc.stores) && isObj(this.doc.stores.redis);
    for (const section of ['limits', 'budgets', 'caches']) {
      for (const pointer of matchPattern(this.ctx.doc, `/${section}/*/store`)) {
        if (hasRedis || valueAt(this.ctx.doc, pointer) !== 'redis' || !this.clean(pointer)) continue;
        this.out.push(
          this.ctx.diag(
            'REF_UNKNOWN_STORE',
            'error',
            `${this.ctx.subject(pointer)} is \`redis\`, but the policy declares no \`stores.redis\``,
            pointer,
          ),
        );
      }
    }
    const limits = isObj(this.doc.limits) ? this.doc.limits : {};
    for (const [name, limit] of Object.entries(limits)) {
      if (!isObj(limit) || !this.clean(joinPointer('/limits', name))) continue;
      let first = true;
      for (const kind of ['requests', 'tokens'] as const) {
        const text = limit[kind];
        if (typeof text !== 'string') continue;
        const rate = parseRate(text);
        const burst = isObj(limit.burst) ? limit.burst[kind] : first ? limit.burst : undefined;
        first = false;
        if (!rate.ok) continue; // units() reported it
        const params = rateToParams(rate.value, typeof burst === 'number' ? burst : undefined);
        if (params.ok) continue;
        const pointer = joinPointer('/limits', name, kind);
        this.out.push(
          this.ctx.diag('SEM_BAD_RATE', 'error', `${this.ctx.subject(pointer)}: ${params.error}`, pointer),
        );
      }
    }
    const zero: [string, string, (s: string) => UnitResult<number>, string][] = [
      ['/caches/*/ttl', 'SEM_BAD_DURATION', parseDuration, 'a cache ttl must be longer than 0ms'],
      ['/caches/*/maxSize', 'SEM_BAD_SIZE', parseSize, 'a cache maxSize must be at least 1 byte'],
    ];
    for (const [pattern, c, parse, message] of zero) {
      for (const pointer of matchPattern(this.ctx.doc, pattern)) {
        const v = valueAt(this.ctx.doc, pointer);
        if (typeof v !== 'string' || !this.clean(pointer)) continue;
        const r = parse(v);
        if (r.ok && r.value <= 0) {
          this.out.push(this.ctx.diag(c, 'error', `${this.ctx.subject(pointer)}: ${message}`, pointer));
        }
      }
    }
  }

  private timeouts(): void {
    const defaults =
      isObj(this.doc.defaults) && isObj(this.doc.defaults.timeout) ? this.doc.defaults.timeout : {};
    this.timeoutScope('/defaults/timeout', {}, defaults);
    // A model's timeouts are not compared with a total: the total deadline belongs to the route
    // (a model-level `total` is refused as not supported), and a model serves many routes.
    for (const pointer of matchPattern(this.ctx.doc, '/routes/*/timeout')) {
      const local = valueAt(this.ctx.doc, pointer);
      if (isObj(local)) this.timeoutScope(pointer, defaults, local);
    }
  }

  private timeoutScope(pointer: string, inherited: Obj, local: Obj): void {
    const ms = (key: string): { ms: number; pointer: string; local: boolean } | undefined => {
      const own = Object.hasOwn(local, key);
      const v = own ? local[key] : inherited[key];
      const at = own ? joinPointer(pointer, key) : joinPointer('/defaults/timeout', key);
      if (typeof v !== 'string' || !this.clean(at)) return undefined;
      const r = parseDuration(v);
      return r.ok ? { ms: r.value, pointer: at, local: own } : undefined;
    };
    const total = ms('total');
    if (!total) return;
    for (const key of ['connect', 'firstToken']) {
      const t = ms(key);
      if (!t || t.ms <= total.ms || (!t.local && !total.local)) continue;
      const at = t.local ? t.pointer : total.pointer;
      const show = (p: string): string => this.ctx.show(p, valueAt(this.ctx.doc, p));
      this.out.push(
        this.ctx.diag(
          'SEM_TIMEOUT_ORDER',
          'warning',
          `${code(key)} (${show(t.pointer)}) is longer than \`total\` (${show(total.pointer)}) in ${this.ctx.subject(pointer)}; the total deadline cuts it short`,
          at,
        ),
      );
    }
  }

  /** `retryOn` naming a class the engine never retries on the same target is a silent no-op. */
  private retryOn(): void {
    for (const scope of ['/defaults', '/routes/*', '/models/*']) {
      for (const pointer of matchPattern(this.ctx.doc, `${scope}/retry/retryOn`)) {
        const v = valueAt(this.ctx.doc, pointer);
        if (!Array.isArray(v) || !this.clean(pointer)) continue;
        const never = v.filter((c): c is string => typeof c === 'string' && NEVER_RETRIED_CLASSES.has(c));
        if (never.length === 0) continue;
        const list = listOr(never.map(code)).replace(/ or /, ' and ');
        this.out.push(
          this.ctx.diag(
            'SEM_NEVER_RETRIED',
            'warning',
            `${this.ctx.subject(pointer)} lists ${list}, which ${never.length === 1 ? 'is' : 'are'} never retried on the same target (the request is not re-sent to a target that timed out, went silent or refused it); list ${never.length === 1 ? 'it' : 'them'} in \`fallbackOn\` to try the next target instead`,
            pointer,
          ),
        );
      }
    }
  }

  /** A cache key that leaves out the prompt serves the first cached answer to every prompt. */
  private cacheKeys(): void {
    for (const pointer of matchPattern(this.ctx.doc, '/caches/*/key')) {
      const v = valueAt(this.ctx.doc, pointer);
      if (!Array.isArray(v) || v.length === 0 || !this.clean(pointer)) continue;
      const prompt = v.some((f) => f === 'messages' || (typeof f === 'string' && f.startsWith('body.')));
      if (prompt) continue;
      this.out.push(
        this.ctx.diag(
          'SEM_CACHE_KEY',
          'warning',
          `${this.ctx.subject(pointer)} names neither \`messages\` nor a \`body.<field>\`, so requests with different prompts share one cached answer`,
          pointer,
        ),
      );
    }
  }

  private tenants(): void {
    for (const pointer of matchPattern(this.ctx.doc, '/providers/*/apiKey')) {
      const key = valueAt(this.ctx.doc, pointer);
      if (typeof key !== 'string' || !this.clean(pointer) || !/\s/.test(key)) continue;
      this.out.push(
        this.ctx.diag(
          'SEM_BAD_API_KEY',
          'error',
          `${this.ctx.subject(pointer)} contains whitespace (the value is not shown), so the provider can never accept it`,
          pointer,
        ),
      );
    }
    const tenants = this.doc.tenants;
    if (!isObj(tenants)) return;
    const seen = new Map<string, { tenant: string; pointer: string }>();
    for (const [tenant, t] of Object.entries(tenants)) {
      if (!isObj(t) || !Array.isArray(t.keys)) continue;
      t.keys.forEach((key, k) => {
        const pointer = joinPointer('/tenants', tenant, 'keys', k);
        if (typeof key !== 'string' || !this.clean(pointer)) return;
        if (key.trim() === '') {
          this.out.push(
            this.ctx.diag(
              'SEM_EMPTY_TENANT_KEY',
              'error',
              `API key ${k + 1} of tenant ${code(tenant)} is blank`,
              pointer,
            ),
          );
          return;
        }
        if (/\s/.test(key)) {
          this.out.push(
            this.ctx.diag(
              'SEM_BAD_API_KEY',
              'error',
              `API key ${k + 1} of tenant ${code(tenant)} contains whitespace (the value is not shown), so no client can send it as a bearer token`,
              pointer,
            ),
          );
          return;
        }
        const first = seen.get(key);
        if (!first) {
          seen.set(key, { tenant, pointer });
        } else if (first.tenant !== tenant) {
          this.out.push(
            this.ctx.diag(
              'SEM_DUPLICATE_TENANT_KEY',
              'error',
              `API key ${k + 1} of tenant ${code(tenant)} is also a key of tenant ${code(first.tenant)}; a key must identify one tenant`,
              pointer,
              { related: [this.ctx.related(`the same key in tenant ${code(first.tenant)}`, first.pointer)] },
            ),
          );
        }
      });
    }
  }

  private unused(): void {
    for (const [section, defined] of this.defs.names) {
      const used = this.defs.used.get(section) ?? new Set();
      const noun = REFERENCE_CODES[section].noun;
      const by =
        section === 'providers'
          ? 'no model uses it'
          : section === 'models'
            ? 'no route or budget uses it'
            : 'no route uses it';
      for (const name of defined) {
        if (used.has(name)) continue;
        this.out.push(
          this.ctx.diag(
            'SEM_UNUSED',
            'warning',
            `${noun} ${code(name)} is defined but never used: ${by}`,
            joinPointer(`/${section}`, name),
            {
              key: true,
            },
          ),
        );
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------

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

  const issues: Issue[] = [];
  schemaIssues(getCompiled().validate, doc, '', issues);
  const schemaDiagnostics = onePerPointer(
    dropAnyOfBranches(issues)
      .map((i) => schemaDiagnostic(ctx, i))
      .filter((d): d is Diagnostic => d !== undefined),
  );
  const broken = [...schemaDiagnostics, ...loadErrors].map((d) => d.pointer);
  const semantic = new SemanticChecks(ctx, broken).run();

  // The load stage already explained these pointers (a missing variable, a duplicate key).
  const explained = new Set(loadErrors.map((d) => d.pointer));
  const diagnostics = sortDiagnostics(
    [...schemaDiagnostics, ...semantic].filter((d) => !explained.has(d.pointer)),
  );
  const ok = !hasErrors(diagnostics) && loadErrors.length === 0;
  return { policy: ok ? (doc as Policy) : null, diagnostics };
}
