/**
 * Pass 1, the JSON Schema (Ajv, 2020-12), compiled once. Ajv's errors are collected with their
 * pointers made absolute; for unions without a discriminator (a target, a condition,
 * `onExceeded`) the branch the author evidently meant is picked and only its errors are kept —
 * never oneOf noise. Also the schema lookups the messages need (descriptions, kinds, keys).
 */

import type { Ajv2020, ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { isRecord } from '../../shared/guards.js';
import { lazyRequire } from '../../shared/lazy-require.js';
import { joinPointer, splitPointer } from '../source-map.js';
import { jsonType, under, valueAt } from './document.js';

export type SchemaNode = Record<string, unknown>;

// Loaded when a policy is first checked, not when the engine is imported (shared/lazy-require.ts);
// the schema by the package's own export (schemas/policy.schema.json, from the sources and dist).
const ajvModule = lazyRequire<typeof import('ajv/dist/2020.js')>('ajv/dist/2020.js');
const policySchema = lazyRequire<SchemaNode>('switchyard/schema.json');

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
    const ajv = new (ajvModule().Ajv2020)({
      allErrors: true,
      strict: true,
      strictRequired: false,
      discriminator: true,
      allowUnionTypes: true,
      // `parentSchema` gives titles, descriptions and allowed keys for human messages.
      verbose: true,
    });
    const root = policySchema();
    const validate = ajv.compile(root);
    compiled = { ajv, validate, pointers: schemaPointers(root), branchValidators: new Map() };
  }
  return compiled;
}

function branchValidator(pointer: string): ValidateFunction | undefined {
  const c = getCompiled();
  let v = c.branchValidators.get(pointer);
  if (!v) {
    const root = policySchema();
    v = c.ajv.getSchema(`${typeof root.$id === 'string' ? root.$id : ''}#${pointer}`);
    if (v) c.branchValidators.set(pointer, v);
  }
  return v;
}

/** Follows local `$ref`s (the schema has no others) to the node that holds the keywords. */
function resolveRef(node: unknown): SchemaNode | undefined {
  let cur = node;
  for (let i = 0; i < 16 && isRecord(cur); i++) {
    const ref = cur.$ref;
    if (typeof ref !== 'string' || !ref.startsWith('#/')) return cur;
    let target: unknown = policySchema();
    for (const token of splitPointer(ref.slice(1))) target = isRecord(target) ? target[token] : undefined;
    cur = target;
  }
  return isRecord(cur) ? cur : undefined;
}

/** An Ajv error with its pointer made absolute (errors of re-validated union branches are relative). */
export interface Issue {
  pointer: string;
  error: ErrorObject;
}

function absolute(base: string, instancePath: string): string {
  return base + instancePath;
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
  if (!isRecord(value)) return fits[0];
  let best = fits[0];
  let bestScore = Number.NEGATIVE_INFINITY;
  for (const i of fits) {
    const node = resolveRef(branches[i]);
    const props = node && isRecord(node.properties) ? node.properties : {};
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

/** Every schema problem of the document, in Ajv's order, union noise replaced by one branch's. */
export function documentIssues(doc: unknown): Issue[] {
  const issues: Issue[] = [];
  schemaIssues(getCompiled().validate, doc, '', issues);
  return issues;
}

/** Candidate keys for a "did you mean": declared properties plus `metadata.<rest>`-style forms. */
export function keyCandidates(schema: SchemaNode | undefined, key: string): string[] {
  if (!schema) return [];
  const out = isRecord(schema.properties) ? Object.keys(schema.properties) : [];
  if (isRecord(schema.patternProperties)) {
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
export function describeSchema(node: unknown): { title?: string; description?: string } {
  const c = getCompiled();
  if (!isRecord(node)) return {};
  const title = typeof node.title === 'string' ? node.title : undefined;
  if (typeof node.description === 'string') return { title, description: node.description };
  let pointer = c.pointers.get(node);
  while (pointer !== undefined && pointer !== '') {
    pointer = pointer.slice(0, pointer.lastIndexOf('/'));
    const parent = valueAt(policySchema(), pointer);
    if (isRecord(parent) && typeof parent.description === 'string') {
      return {
        title: title ?? (typeof parent.title === 'string' ? parent.title : undefined),
        description: parent.description,
      };
    }
  }
  return { title };
}

/** The values a discriminated union accepts for its tag (`kind`), in branch order. */
export function kindValues(parent: SchemaNode | undefined, tag: string): string[] {
  const out: string[] = [];
  const branches = parent && Array.isArray(parent.oneOf) ? parent.oneOf : [];
  for (const b of branches) {
    const node = resolveRef(b);
    const prop = node && isRecord(node.properties) ? resolveRef(node.properties[tag]) : undefined;
    if (prop && typeof prop.const === 'string') out.push(prop.const);
    if (prop && Array.isArray(prop.enum)) for (const e of prop.enum) if (typeof e === 'string') out.push(e);
  }
  return out;
}
