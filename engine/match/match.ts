/**
 * Compiles a route's `when` into a predicate over a {@link RequestContext}, once, at compile time:
 * regexes and globs are built here, `in` lists become Sets, field names are resolved to getters.
 *
 * Value semantics (the reference interpreter in `test/support/reference.ts` states the same):
 * - A field is *absent* when the request does not carry it: `model` is '', `tenant` is null, a
 *   label/header/metadata key is missing, a `body.<field>` is missing or JSON `null`. An absent
 *   field fails every operator except `exists: false`.
 * - Equality (bare value, `in`) compares canonical string forms: `String(field) === String(value)`,
 *   so `metadata.priority: 1` matches the metadata string "1" and `body.temperature: 0.2` matches
 *   the number 0.2. A `body.<field>` holding an object or array is present but equals nothing.
 * - `gt/gte/lt/lte` compare numbers; a string field takes part when `Number(text)` of its
 *   non-blank text is a number; booleans never do.
 * - `glob` and `regex` test the string form of scalar values; `glob` is anchored, `regex` is not.
 */
import type { Condition, Operators, When } from '../policy/types.generated.js';
import { compileRegex } from '../shared/regex.js';
import { CREDENTIAL_HEADERS } from '../shared/secrets.js';
import type { RequestContext } from '../types.js';

/** A field's value: a scalar, `null` for a present non-scalar (a body object/array), or absent. */
export type FieldValue = string | number | boolean | null | undefined;
export type FieldGetter = (ctx: RequestContext) => FieldValue;
export type Predicate = (ctx: RequestContext) => boolean;

/**
 * An own string value of a label/header/metadata record. Inherited members of `Object.prototype`
 * are never strings, so the type test alone excludes them without a slower `hasOwn`.
 */
function ownString(record: Readonly<Record<string, unknown>>, key: string): string | undefined {
  const v = record[key];
  return typeof v === 'string' ? v : undefined;
}

function bodyValue(body: Readonly<Record<string, unknown>>, key: string): FieldValue {
  const v = body[key];
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'object' && v !== null && Object.hasOwn(body, key)) return null;
  return undefined;
}

/** The canonical spelling of a field name: header names are case-insensitive, so lower-cased. */
export function normalizeField(field: string): string {
  return field.startsWith('header.') ? `header.${field.slice(7).toLowerCase()}` : field;
}

/** Resolves a field name (`model`, `metadata.task`, ...) to a getter, once. */
export function fieldGetter(rawField: string): FieldGetter {
  const field = normalizeField(rawField);
  switch (field) {
    case 'model':
      return (ctx) => (ctx.model === '' ? undefined : ctx.model);
    case 'path':
      return (ctx) => ctx.path;
    case 'tenant':
      return (ctx) => (ctx.tenant === null ? undefined : ctx.tenant);
    case 'stream':
      return (ctx) => ctx.stream;
    case 'tools':
      return (ctx) => ctx.tools;
    case 'input.tokens':
      return (ctx) => ctx.inputTokens;
    case 'input.chars':
      return (ctx) => ctx.inputChars;
  }
  const dot = field.indexOf('.');
  const scope = dot < 0 ? field : field.slice(0, dot);
  const key = field.slice(dot + 1);
  switch (scope) {
    case 'label':
      return (ctx) => ownString(ctx.labels, key);
    case 'header':
      return (ctx) => ownString(ctx.headers, key);
    case 'metadata':
      return (ctx) => ownString(ctx.metadata, key);
    case 'body':
      return (ctx) => bodyValue(ctx.body, key);
    case 'class':
      // A classifier's label; absent until the classifiers the route needs have run.
      return (ctx) => (ctx.classes === undefined ? undefined : ownString(ctx.classes, key));
    default:
      // Unknown fields are rejected by validation; here they are simply never present.
      return () => undefined;
  }
}

/**
 * The string value of a field that the route index can bucket on (model, tenant, path, label,
 * header, metadata): every such field is a string or absent.
 */
export function indexGetter(rawField: string): (ctx: RequestContext) => string | undefined {
  const get = fieldGetter(rawField);
  return (ctx) => {
    const v = get(ctx);
    return typeof v === 'string' ? v : undefined;
  };
}

/** Fields whose values are always strings: equality on them may be bucketed by the route index. */
export function isIndexableField(rawField: string): boolean {
  const field = normalizeField(rawField);
  return (
    field === 'model' ||
    field === 'tenant' ||
    field === 'path' ||
    field.startsWith('metadata.') ||
    field.startsWith('label.') ||
    field.startsWith('header.')
  );
}

function toNumber(v: FieldValue): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '') return Number(v);
  return Number.NaN;
}

function isScalar(v: FieldValue): v is string | number | boolean {
  return v !== undefined && v !== null;
}

/** Translates a shell glob (`*`, `?`) into an anchored RegExp. */
export function globToRegExp(glob: string): RegExp {
  let source = '^';
  for (const ch of glob) {
    if (ch === '*') source += '[\\s\\S]*';
    else if (ch === '?') source += '[\\s\\S]';
    else source += ch.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&'); // `-` needs no escape (and may not have one under `u`)
  }
  return new RegExp(`${source}$`, 'u');
}

function compileRegexOrThrow(source: string): RegExp {
  const r = compileRegex(source);
  // The policy is validated before compile; an invalid regex here is an internal bug.
  if (!r.ok)
    throw new Error(`internal: invalid regex ${JSON.stringify(source)} reached compile: ${r.message}`);
  return r.regex;
}

function isOperators(c: Condition): c is Operators {
  return typeof c === 'object' && c !== null;
}

/**
 * The field conditions of a `when` (every key but `all`, `any`, `not`), in declaration order.
 * Read through `unknown` so the code does not depend on how the generated type spells the index
 * signature.
 */
export function whenConditions(when: When): [string, Condition][] {
  const out: [string, Condition][] = [];
  const record: Readonly<Record<string, unknown>> = when;
  for (const key of Object.keys(record)) {
    if (key === 'all' || key === 'any' || key === 'not') continue;
    const v = record[key];
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out.push([key, v]);
    else if (typeof v === 'object' && v !== null && !Array.isArray(v)) out.push([key, v as Operators]);
  }
  return out;
}

function allOf(preds: readonly Predicate[]): Predicate {
  if (preds.length === 0) return () => true;
  if (preds.length === 1) return preds[0];
  if (preds.length === 2) {
    const [a, b] = preds;
    return (ctx) => a(ctx) && b(ctx);
  }
  return (ctx) => {
    for (let i = 0; i < preds.length; i++) if (!preds[i](ctx)) return false;
    return true;
  };
}

function anyOf(preds: readonly Predicate[]): Predicate {
  if (preds.length === 1) return preds[0];
  return (ctx) => {
    for (let i = 0; i < preds.length; i++) if (preds[i](ctx)) return true;
    return false;
  };
}

/** One operator on one field as a predicate over the field's value. */
function compileOperators(get: FieldGetter, ops: Operators): Predicate {
  const preds: Predicate[] = [];
  if (ops.in !== undefined) {
    const set = new Set(ops.in.map((v) => String(v)));
    preds.push((ctx) => {
      const v = get(ctx);
      return isScalar(v) && set.has(typeof v === 'string' ? v : String(v));
    });
  }
  if (ops.glob !== undefined) {
    const re = globToRegExp(ops.glob);
    preds.push((ctx) => {
      const v = get(ctx);
      return isScalar(v) && re.test(typeof v === 'string' ? v : String(v));
    });
  }
  if (ops.regex !== undefined) {
    const re = compileRegexOrThrow(ops.regex);
    preds.push((ctx) => {
      const v = get(ctx);
      return isScalar(v) && re.test(typeof v === 'string' ? v : String(v));
    });
  }
  if (ops.gt !== undefined) {
    const n = ops.gt;
    preds.push((ctx) => toNumber(get(ctx)) > n);
  }
  if (ops.gte !== undefined) {
    const n = ops.gte;
    preds.push((ctx) => toNumber(get(ctx)) >= n);
  }
  if (ops.lt !== undefined) {
    const n = ops.lt;
    preds.push((ctx) => toNumber(get(ctx)) < n);
  }
  if (ops.lte !== undefined) {
    const n = ops.lte;
    preds.push((ctx) => toNumber(get(ctx)) <= n);
  }
  if (ops.exists !== undefined) {
    const want = ops.exists;
    preds.push((ctx) => (get(ctx) !== undefined) === want);
  }
  return allOf(preds);
}

/** A condition (bare value or operators) on one field. */
export function compileCondition(field: string, condition: Condition): Predicate {
  const get = fieldGetter(field);
  if (isOperators(condition)) return compileOperators(get, condition);
  const want = String(condition);
  return (ctx) => {
    const v = get(ctx);
    return isScalar(v) && (typeof v === 'string' ? v : String(v)) === want;
  };
}

/**
 * Compiles a `when` (several keys = all must hold; `all`, `any`, `not` combinators) into one
 * predicate. An absent `when` matches everything.
 *
 * @example compileWhen({ model: { in: ['gpt-5', 'default'] }, 'metadata.task': 'chat' })(ctx)
 */
export function compileWhen(when: When | undefined): Predicate {
  if (when === undefined) return () => true;
  const preds: Predicate[] = [];
  for (const [key, condition] of whenConditions(when)) preds.push(compileCondition(key, condition));
  if (when.all !== undefined) preds.push(allOf(when.all.map((w) => compileWhen(w))));
  if (when.any !== undefined) preds.push(anyOf(when.any.map((w) => compileWhen(w))));
  if (when.not !== undefined) {
    const inner = compileWhen(when.not);
    preds.push((ctx) => !inner(ctx));
  }
  return allOf(preds);
}

// ---------------------------------------------------------------------------------------------
// Explain

/**
 * Values of a `when` that came from `${ENV}` interpolation (container → keys), registered by
 * `compilePolicy`; explain never prints them. A WeakMap: the policy documents own their lifetime.
 */
const INTERPOLATED = new WeakMap<object, Set<string>>();

/** Marks `container[key]` as interpolated, so {@link describeMismatch} does not print it. */
export function markInterpolated(container: object, key: string): void {
  let keys = INTERPOLATED.get(container);
  if (keys === undefined) {
    keys = new Set();
    INTERPOLATED.set(container, keys);
  }
  keys.add(key);
}

function isInterpolated(container: unknown, key: string | number): boolean {
  return (
    typeof container === 'object' &&
    container !== null &&
    INTERPOLATED.get(container)?.has(String(key)) === true
  );
}

const FROM_ENV = 'the value of an environment variable';

/** Headers that carry the caller's credentials: their values are never printed. */
const CREDENTIAL_FIELDS: ReadonlySet<string> = new Set(CREDENTIAL_HEADERS.map((name) => `header.${name}`));

function showValue(field: string, v: FieldValue): string {
  if (v === undefined) return 'absent';
  if (CREDENTIAL_FIELDS.has(field)) return 'present (value not shown)';
  if (v === null) return 'an object';
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

function showWanted(field: string, container: unknown, key: string | number, v: unknown): string {
  if (isInterpolated(container, key)) return FROM_ENV;
  if (CREDENTIAL_FIELDS.has(field)) return 'a credential (not shown)';
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

function describeOperators(field: string, ops: Operators): string {
  const parts: string[] = [];
  const show = (key: string, v: unknown, quoted: (s: string) => string): string => {
    const w = showWanted(field, ops, key, v);
    return w === FROM_ENV || CREDENTIAL_FIELDS.has(field) ? w : quoted(String(v));
  };
  if (ops.in !== undefined) {
    const list = ops.in;
    const items = list.map((v, i) =>
      isInterpolated(list, i) ? FROM_ENV : CREDENTIAL_FIELDS.has(field) ? '(not shown)' : String(v),
    );
    parts.push(`one of [${items.join(', ')}]`);
  }
  if (ops.glob !== undefined) parts.push(`matching glob ${show('glob', ops.glob, (g) => JSON.stringify(g))}`);
  if (ops.regex !== undefined) parts.push(`matching ${show('regex', ops.regex, (r) => `/${r}/`)}`);
  if (ops.gt !== undefined) parts.push(`> ${show('gt', ops.gt, String)}`);
  if (ops.gte !== undefined) parts.push(`>= ${show('gte', ops.gte, String)}`);
  if (ops.lt !== undefined) parts.push(`< ${show('lt', ops.lt, String)}`);
  if (ops.lte !== undefined) parts.push(`<= ${show('lte', ops.lte, String)}`);
  if (ops.exists !== undefined) parts.push(ops.exists ? 'present' : 'absent');
  return parts.join(' and ');
}

/** `when` as JSON, with interpolated values and credential values replaced. */
function showWhen(when: When): string {
  return JSON.stringify(when, function (this: unknown, key: string, value: unknown): unknown {
    if (key === '') return value;
    if (isInterpolated(this, key)) return FROM_ENV;
    if (CREDENTIAL_FIELDS.has(normalizeField(key)) && (typeof value !== 'object' || value === null)) {
      return '(not shown)';
    }
    return value;
  });
}

/**
 * Why `when` does not hold for `ctx`, for the explain trace: the first failing condition, e.g.
 * `model is "gpt-4o", wanted one of [gpt-5, default]`. Returns '' when it does hold. Compiles as
 * it goes: call it only when explaining. Values from `${ENV}` (see {@link markInterpolated}) and
 * credential headers are never printed.
 */
export function describeMismatch(when: When | undefined, ctx: RequestContext): string {
  if (when === undefined) return '';
  for (const [key, value] of whenConditions(when)) {
    if (!compileCondition(key, value)(ctx)) {
      const field = normalizeField(key);
      const actual = showValue(field, fieldGetter(field)(ctx));
      const wanted = isOperators(value)
        ? isInterpolated(when, key)
          ? FROM_ENV
          : describeOperators(field, value)
        : showWanted(field, when, key, value);
      return `${field} is ${actual}, wanted ${wanted}`;
    }
  }
  for (const sub of when.all ?? []) {
    const reason = describeMismatch(sub, ctx);
    if (reason !== '') return reason;
  }
  if (when.any !== undefined) {
    const reasons: string[] = [];
    for (const sub of when.any) {
      const reason = describeMismatch(sub, ctx);
      if (reason === '') return '';
      reasons.push(reason);
    }
    return `none of "any" held (${reasons.join('; ')})`;
  }
  if (when.not !== undefined && compileWhen(when.not)(ctx)) {
    return `"not" condition held (${showWhen(when.not)})`;
  }
  return '';
}
