/**
 * Ajv errors → human diagnostics, one per pointer. Each Ajv keyword maps, through the tables
 * below, to the diagnostic code and message that explain it; no message quotes a secret.
 */

import type { ErrorObject } from 'ajv/dist/2020.js';
import { isRecord } from '../../shared/guards.js';
import { DURATION_PATTERN, MONEY_PATTERN, RATE_PATTERN, SIZE_PATTERN } from '../../shared/units.js';
import type { Diagnostic } from '../diagnostics.js';
import { didYouMean } from '../hints.js';
import { joinPointer, splitPointer } from '../source-map.js';
import type { Context } from './context.js';
import { parentOf, valueAt } from './document.js';
import { describeSchema, type Issue, keyCandidates, kindValues, type SchemaNode } from './schema.js';
import { code, firstSentence, givenNoun, listOr, lowerFirst, SECTION_NOUN, typeNoun } from './wording.js';

/** One Ajv error at an absolute pointer; undefined when another error already says it. */
type Translate = (
  ctx: Context,
  e: ErrorObject,
  pointer: string,
  parent: SchemaNode | undefined,
  value: unknown,
) => Diagnostic | undefined;

/** A range keyword's message for the subject `s` and the keyword's limit. */
type RangeMessage = (s: string, limit: unknown, e: ErrorObject, pointer: string) => string;

/** Range keywords (`SCHEMA_RANGE`) and their messages. */
const RANGE_MESSAGES: Record<string, RangeMessage> = {
  minimum: (s, limit) => `${s} must be at least ${String(limit)}`,
  maximum: (s, limit) => `${s} must be at most ${String(limit)}`,
  exclusiveMinimum: (s, limit) => `${s} must be greater than ${String(limit)}`,
  exclusiveMaximum: (s, limit) => `${s} must be less than ${String(limit)}`,
  minLength: (s, limit) =>
    limit === 1 ? `${s} must not be empty` : `${s} must be at least ${String(limit)} characters long`,
  maxLength: (s, limit) => `${s} must be at most ${String(limit)} characters long`,
  minItems: (s, limit) =>
    limit === 1 ? `${s} must list at least one item` : `${s} must list at least ${String(limit)} items`,
  maxItems: (s, limit) => `${s} must list at most ${String(limit)} items`,
  minProperties: (s, _limit, _e, pointer) =>
    splitPointer(pointer).pop() === 'when'
      ? `${s} must hold at least one condition (omit \`when\` to match every request)`
      : `${s} must not be empty`,
  maxProperties: (s, limit) => `${s} has too many entries (at most ${String(limit)})`,
  uniqueItems: (s, _limit, e) => {
    const p = e.params as { i?: number; j?: number };
    return `${s} lists the same item twice (items ${(p.j ?? 0) + 1} and ${(p.i ?? 0) + 1})`;
  },
};

/**
 * The common mistake behind a unit-bearing value written as a bare number (`total: 30`,
 * `requests: 100`): what to write instead, as the end of the message. Keyed by the schema
 * pattern, which is the very pattern the unit parsers use.
 */
const UNIT_ADVICE: ReadonlyArray<{ pattern: string; advice: (n: string) => string }> = [
  { pattern: DURATION_PATTERN, advice: (n) => `durations need a unit, e.g. \`${n}s\` or \`${n}ms\`` },
  { pattern: RATE_PATTERN, advice: (n) => `rates need a period, e.g. \`${n}/min\` or \`${n}/s\`` },
  { pattern: SIZE_PATTERN, advice: (n) => `sizes need a unit, e.g. \`${n}kb\` or \`${n}mb\`` },
  { pattern: MONEY_PATTERN, advice: (n) => `amounts need a period, e.g. \`${n}/month\` or \`${n}/day\`` },
];

/** `; durations need a unit, e.g. 30s` for a bare number where a unit-bearing string belongs. */
function unitAdvice(ctx: Context, pointer: string, parent: SchemaNode | undefined, value: unknown): string {
  const bare =
    typeof value === 'number' && Number.isFinite(value) && value >= 0
      ? String(value)
      : typeof value === 'string' && /^\d+(?:\.\d+)?$/.test(value.trim())
        ? value.trim()
        : null;
  if (bare === null || ctx.isSecret(pointer) || !isRecord(parent)) return '';
  const row = UNIT_ADVICE.find((r) => r.pattern === parent.pattern);
  return row === undefined ? '' : `; ${row.advice(bare)}`;
}

/** A list written as one name (`targets: fast`): `; write [fast] for a single item`. */
function listAdvice(ctx: Context, pointer: string, types: readonly unknown[], value: unknown): string {
  if (!types.includes('array') || typeof value !== 'string') return '';
  const item = ctx.isSecret(pointer) ? 'the value' : value;
  return `; write \`[${item}]\` for a single item, or a list \`[a, b]\``;
}

const range: Translate = (ctx, e, pointer) => {
  const message = RANGE_MESSAGES[e.keyword](
    ctx.subject(pointer),
    (e.params as { limit?: unknown }).limit,
    e,
    pointer,
  );
  return ctx.diag('SCHEMA_RANGE', 'error', message, pointer);
};

const unknownKey: Translate = (ctx, e, pointer, parent) => {
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
};

const discriminator: Translate = (ctx, e, pointer, parent, value) => {
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
  if (!isRecord(value)) return undefined;
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
};

const anyOf: Translate = (ctx, e, pointer) => {
  const branches = Array.isArray(e.schema) ? e.schema : [];
  const requiredOnly = branches.every(
    (b) => isRecord(b) && Object.keys(b).length === 1 && Array.isArray(b.required),
  );
  if (requiredOnly) {
    const names = branches
      .flatMap((b) => (isRecord(b) && Array.isArray(b.required) ? b.required : []))
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
};

/** Ajv keyword → its translation; a keyword not listed is `SCHEMA_OTHER`. */
const TRANSLATE: Record<string, Translate> = {
  propertyNames: () => undefined, // reported through its inner error (see `schemaDiagnostic`)
  additionalProperties: unknownKey,
  unevaluatedProperties: unknownKey,
  required: (ctx, e, pointer) => {
    const missing = String((e.params as { missingProperty?: unknown }).missingProperty);
    return ctx.diag(
      'SCHEMA_REQUIRED',
      'error',
      `${ctx.subject(pointer)} is missing ${code(missing)}`,
      pointer,
    );
  },
  type: (ctx, e, pointer, parent, value) => {
    const t = (e.params as { type?: unknown }).type;
    const expected = Array.isArray(t) ? t : [t];
    const types = expected.map((x) => typeNoun(String(x)));
    const advice = unitAdvice(ctx, pointer, parent, value) || listAdvice(ctx, pointer, expected, value);
    return ctx.diag(
      'SCHEMA_TYPE',
      'error',
      `${ctx.subject(pointer)} must be ${listOr(types)}, not ${givenNoun(value)}${advice}`,
      pointer,
    );
  },
  'x-union-type': (ctx, e, pointer, parent, value) => {
    const { description } = describeSchema(parent);
    let message = `${ctx.subject(pointer)} has the wrong form (${givenNoun(value)})`;
    if (description) message += `: expected ${lowerFirst(firstSentence(description))}`;
    if (Array.isArray(value) && JSON.stringify(e.schema).includes('Operators')) {
      message += '; to match one of several values write `{ in: [...] }`';
    }
    return ctx.diag('SCHEMA_TYPE', 'error', message, pointer);
  },
  enum: (ctx, e, pointer, parent, value) => {
    const allowed = ((e.params as { allowedValues?: unknown[] }).allowedValues ?? []).map(String);
    const { title } = describeSchema(parent);
    const what = title ? lowerFirst(title) : 'value';
    const hint = typeof value === 'string' && !ctx.isSecret(pointer) ? didYouMean(value, allowed) : undefined;
    return ctx.diag(
      'SCHEMA_ENUM',
      'error',
      `${ctx.show(pointer, value)} is not a valid ${what} for ${ctx.subject(pointer)}: expected ${listOr(allowed.map(code))}`,
      pointer,
      { hint },
    );
  },
  const: (ctx, e, pointer, parent, value) => {
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
  },
  discriminator,
  pattern: (ctx, _e, pointer, parent, value) => {
    const { title, description } = describeSchema(parent);
    const what = title ? lowerFirst(title) : 'value';
    const advice = unitAdvice(ctx, pointer, parent, value);
    return ctx.diag(
      'SCHEMA_PATTERN',
      'error',
      advice !== ''
        ? `${ctx.show(pointer, value)} is not a valid ${what} for ${ctx.subject(pointer)}${advice}`
        : `${ctx.show(pointer, value)} is not a valid ${what} for ${ctx.subject(pointer)}${description ? `: expected ${lowerFirst(description.replace(/\.$/, ''))}` : ''}`,
      pointer,
    );
  },
  anyOf,
  oneOf: (ctx, _e, pointer) =>
    ctx.diag(
      'SCHEMA_OTHER',
      'error',
      `${ctx.subject(pointer)} is ambiguous: it matches more than one allowed form`,
      pointer,
    ),
  ...Object.fromEntries(Object.keys(RANGE_MESSAGES).map((keyword) => [keyword, range])),
};

const other: Translate = (ctx, e, pointer) =>
  ctx.diag('SCHEMA_OTHER', 'error', `${ctx.subject(pointer)} is not valid (${e.keyword})`, pointer);

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

  const translate = Object.hasOwn(TRANSLATE, e.keyword) ? TRANSLATE[e.keyword] : other;
  return translate(ctx, e, pointer, parent, value);
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

/** When several diagnostics share a pointer, the lowest number is the most telling one. */
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

/** The schema diagnostics of `issues`: translated, `anyOf` noise dropped, one per pointer. */
export function schemaDiagnostics(ctx: Context, issues: Issue[]): Diagnostic[] {
  return onePerPointer(
    dropAnyOfBranches(issues)
      .map((i) => schemaDiagnostic(ctx, i))
      .filter((d): d is Diagnostic => d !== undefined),
  );
}
