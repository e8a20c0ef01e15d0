/**
 * The mock provider's JSON Schema sampler: one value that validates against a schema, drawn from a
 * seed, so the same request always gets the same tool arguments or structured answer.
 *
 * Written here rather than taken from a generator library: the schema comes from the client, so
 * the work must be bounded, and json-schema-faker (the maintained option) took minutes on
 * `minItems: 10000000` and compiles client-supplied `patternProperties` into RegExps. This sampler
 * builds no regex, and stops with a {@link MockSchemaError} when a schema asks for more than
 * {@link LIMITS} allow.
 *
 * Supported: `type` (a list picks its first non-null type), `const`, `enum`, `properties` and
 * `required` (only the required properties; all of them when `required` is absent),
 * `additionalProperties`, `minProperties`, `items`, `prefixItems`, `minItems`/`maxItems`,
 * `uniqueItems`, `minLength`/`maxLength`, the usual `format`s, numeric bounds and `multipleOf`,
 * `allOf` (merged), `anyOf`/`oneOf` (the first branch; the first that ends the recursion once the
 * value is deep), and local `$ref` (`#`, `#/$defs/...`, `#/definitions/...`). Not honoured:
 * `pattern`, `not`, `if`/`then`/`else`, `contains`, `dependentRequired`.
 */
import { isRecord } from '../shared/guards.js';
import { nextFloat, type Rng } from '../shared/random.js';

/** A schema the sampler cannot or will not produce a value for; the mock answers 400 with it. */
export class MockSchemaError extends Error {
  override readonly name = 'MockSchemaError';
}

export const LIMITS = {
  /** Values (of any type) generated for one schema. */
  values: 10_000,
  /** Characters over all generated strings. */
  chars: 100_000,
  /** Nesting (and `$ref` hops) of one value. */
  depth: 64,
  /** Past this depth optional recursion stops: `anyOf` prefers a leaf, arrays take `minItems`. */
  shallow: 6,
} as const;

type Schema = Readonly<Record<string, unknown>>;

/**
 * A value valid for `schema` (a JSON Schema, draft 2020-12 or 07 keywords), the same for the same
 * `seed`.
 *
 * @example
 * sampleSchema({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }, 42);
 * // → { city: 'city-…' }
 */
export function sampleSchema(schema: unknown, seed: number): unknown {
  return new Sampler(schema, seed).value(schema, 0, null);
}

class Sampler {
  readonly #rng: Rng;
  #values = 0;
  #chars = 0;

  constructor(
    private readonly root: unknown,
    seed: number,
  ) {
    this.#rng = { state: seed >>> 0 };
  }

  /** A whole number in [0, n). */
  #int(n: number): number {
    return Math.floor(nextFloat(this.#rng) * n);
  }

  value(input: unknown, depth: number, name: string | null): unknown {
    if (++this.#values > LIMITS.values) {
      throw new MockSchemaError(`the schema asks for more than ${LIMITS.values} values`);
    }
    if (depth > LIMITS.depth) {
      throw new MockSchemaError(`the schema nests deeper than ${LIMITS.depth} levels (a recursive $ref?)`);
    }
    if (input === true || input === undefined) return this.#string({}, name);
    if (input === false) throw new MockSchemaError('a `false` schema allows no value');
    if (!isRecord(input)) throw new MockSchemaError('a schema must be an object or a boolean');
    const schema = this.#flatten(input, depth);
    if (schema.const !== undefined) return schema.const;
    if (Array.isArray(schema.enum)) {
      if (schema.enum.length === 0) throw new MockSchemaError('an empty `enum` allows no value');
      return schema.enum[this.#int(schema.enum.length)];
    }
    switch (this.#type(schema, depth)) {
      case 'null':
        return null;
      case 'boolean':
        return this.#int(2) === 1;
      case 'integer':
        return this.#number(schema, true);
      case 'number':
        return this.#number(schema, false);
      case 'array':
        return this.#array(schema, depth);
      case 'object':
        return this.#object(schema, depth);
      default:
        return this.#string(schema, name);
    }
  }

  /** Resolves `$ref`, merges `allOf` and picks an `anyOf`/`oneOf` branch, until none is left. */
  #flatten(input: Schema, depth: number): Schema {
    let schema = input;
    for (let hops = 0; ; hops++) {
      if (hops > LIMITS.depth) throw new MockSchemaError('the schema refers to itself without end');
      if (typeof schema.$ref === 'string') {
        const { $ref, ...rest } = schema;
        schema = merge(rest, this.#resolve($ref));
        continue;
      }
      if (Array.isArray(schema.allOf)) {
        const { allOf, ...rest } = schema;
        schema = allOf.reduce<Schema>((merged, part) => merge(merged, this.#asSchema(part)), rest);
        continue;
      }
      const keyword = Array.isArray(schema.anyOf) ? 'anyOf' : Array.isArray(schema.oneOf) ? 'oneOf' : null;
      if (keyword === null) return schema;
      const branches = schema[keyword] as readonly unknown[];
      if (branches.length === 0) throw new MockSchemaError(`an empty \`${keyword}\` allows no value`);
      const rest: Record<string, unknown> = { ...schema };
      delete rest[keyword];
      schema = merge(rest, this.#asSchema(this.#branch(branches, depth)));
    }
  }

  /** The first branch; past the shallow depth, the first that does not recurse (a `$ref`). */
  #branch(branches: readonly unknown[], depth: number): unknown {
    if (depth < LIMITS.shallow) return branches[0];
    return branches.find((b) => isRecord(b) && b.$ref === undefined && b.type !== 'object') ?? branches[0];
  }

  #asSchema(part: unknown): Schema {
    if (part === true) return {};
    if (!isRecord(part)) throw new MockSchemaError('a subschema must be an object');
    return part;
  }

  /** A local reference: `#` or a JSON pointer into the root schema. */
  #resolve(ref: string): Schema {
    if (ref !== '#' && !ref.startsWith('#/')) {
      throw new MockSchemaError(`only local $ref ("#/...") is supported, got "${ref.slice(0, 100)}"`);
    }
    let node: unknown = this.root;
    for (const raw of ref === '#' ? [] : ref.slice(2).split('/')) {
      const key = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
      node = isRecord(node) && Object.hasOwn(node, key) ? node[key] : undefined;
      if (node === undefined) throw new MockSchemaError(`$ref "${ref.slice(0, 100)}" points at nothing`);
    }
    return this.#asSchema(node);
  }

  #type(schema: Schema, depth: number): string {
    const type = schema.type;
    if (typeof type === 'string') return type;
    if (Array.isArray(type) && type.length > 0) {
      // Nullable fields get a value while shallow, null once deep (that ends a recursion).
      if (depth >= LIMITS.shallow && type.includes('null')) return 'null';
      return String(type.find((t) => t !== 'null') ?? type[0]);
    }
    if (schema.properties !== undefined || schema.required !== undefined) return 'object';
    if (schema.additionalProperties !== undefined || schema.minProperties !== undefined) return 'object';
    if (schema.items !== undefined || schema.prefixItems !== undefined || schema.minItems !== undefined)
      return 'array';
    if (schema.minimum !== undefined || schema.maximum !== undefined || schema.multipleOf !== undefined)
      return 'number';
    return 'string';
  }

  #object(schema: Schema, depth: number): Record<string, unknown> {
    const properties = isRecord(schema.properties) ? schema.properties : {};
    const required = Array.isArray(schema.required)
      ? schema.required.filter((k): k is string => typeof k === 'string')
      : Object.keys(properties);
    const extra = schema.additionalProperties;
    const out: Record<string, unknown> = {};
    const add = (key: string): void => {
      const sub = Object.hasOwn(properties, key) ? properties[key] : extra === false ? undefined : extra;
      if (sub === undefined && extra === false) {
        throw new MockSchemaError(`"${key}" is required but not allowed by additionalProperties: false`);
      }
      out[key] = this.value(sub, depth + 1, key);
    };
    for (const key of required) if (!Object.hasOwn(out, key)) add(key);
    const min = count(schema.minProperties);
    for (const key of Object.keys(properties)) {
      if (Object.keys(out).length >= min) break;
      if (!Object.hasOwn(out, key)) add(key);
    }
    for (let i = 1; Object.keys(out).length < min; i++) {
      if (extra === false) throw new MockSchemaError('minProperties exceeds the properties allowed');
      if (i > LIMITS.values) throw new MockSchemaError('minProperties is too large');
      if (!Object.hasOwn(out, `extra_${i}`)) add(`extra_${i}`);
    }
    return out;
  }

  #array(schema: Schema, depth: number): unknown[] {
    const prefix = Array.isArray(schema.prefixItems) ? schema.prefixItems : [];
    const min = count(schema.minItems);
    const max = schema.maxItems === undefined ? Number.POSITIVE_INFINITY : count(schema.maxItems);
    if (min > max) throw new MockSchemaError('minItems is larger than maxItems');
    if (min > LIMITS.values) throw new MockSchemaError(`minItems above ${LIMITS.values}`);
    // One item shows the shape; a deep value takes only what it must.
    const wanted = depth >= LIMITS.shallow ? min : Math.max(min, 1, prefix.length);
    const length = Math.min(wanted, max, schema.items === false ? prefix.length : Number.POSITIVE_INFINITY);
    if (length < min) throw new MockSchemaError('minItems cannot be met (items: false)');
    const out: unknown[] = [];
    const seen = schema.uniqueItems === true ? new Set<string>() : null;
    for (let i = 0; i < length; i++) {
      const sub = i < prefix.length ? prefix[i] : schema.items;
      let item = this.value(sub, depth + 1, null);
      // Unique items: draw again (the generator has moved on) a few times before giving up.
      for (let tries = 0; seen?.has(JSON.stringify(item)); tries++) {
        if (tries >= 8) throw new MockSchemaError('cannot draw enough unique items for uniqueItems');
        item = this.value(sub, depth + 1, null);
      }
      seen?.add(JSON.stringify(item));
      out.push(item);
    }
    return out;
  }

  #number(schema: Schema, integer: boolean): number {
    const { lo, loOpen, hi, hiOpen } = bounds(schema);
    const step = typeof schema.multipleOf === 'number' && schema.multipleOf > 0 ? schema.multipleOf : null;
    if (step !== null || integer) {
      const unit = step ?? 1;
      // Multiples of `unit` (integers when `integer`) within the bounds, counted from the lowest.
      const scale = integer && step !== null && !Number.isInteger(step) ? null : unit;
      if (scale === null) throw new MockSchemaError('an integer with a fractional multipleOf');
      let first = Number.isFinite(lo)
        ? Math.ceil(lo / scale)
        : Number.isFinite(hi)
          ? Math.floor(hi / scale) - 100
          : 0;
      if (loOpen && first * scale <= lo) first += 1;
      let last = Number.isFinite(hi) ? Math.floor(hi / scale) : first + 100;
      if (hiOpen && last * scale >= hi) last -= 1;
      if (last < first) throw new MockSchemaError('no number fits the bounds and multipleOf');
      const k = first + this.#int(Math.min(last - first, 100) + 1);
      return Number((k * scale).toPrecision(15));
    }
    const from = Number.isFinite(lo) ? lo : Number.isFinite(hi) ? hi - 100 : 0;
    const to = Number.isFinite(hi) ? hi : from + 100;
    if (to < from || (to === from && (loOpen || hiOpen)))
      throw new MockSchemaError('no number fits the bounds');
    // Strictly inside when the interval has room, so exclusive bounds hold.
    const value = from + (to - from) * ((this.#int(98) + 1) / 100);
    const rounded = Math.round(value * 100) / 100;
    return rounded > from && rounded < to ? rounded : to === from ? from : value;
  }

  #string(schema: Schema, name: string | null): string {
    const n = this.#int(1000);
    let text =
      formatted(typeof schema.format === 'string' ? schema.format : '', n, this.#rng) ??
      `${name ?? 'value'}-${n}`;
    const min = count(schema.minLength);
    const max = schema.maxLength === undefined ? Number.POSITIVE_INFINITY : count(schema.maxLength);
    if (min > max) throw new MockSchemaError('minLength is larger than maxLength');
    if (text.length < min) text = text.padEnd(min, 'x');
    if (text.length > max) text = text.slice(0, max);
    this.#chars += text.length;
    if (this.#chars > LIMITS.chars)
      throw new MockSchemaError(`the schema asks for more than ${LIMITS.chars} characters`);
    return text;
  }
}

/** `base` with `over`'s keywords; `properties` merged and `required` joined (what `allOf` needs). */
function merge(base: Schema, over: Schema): Schema {
  const out: Record<string, unknown> = { ...base, ...over };
  if (isRecord(base.properties) && isRecord(over.properties)) {
    out.properties = { ...base.properties, ...over.properties };
  }
  if (Array.isArray(base.required) && Array.isArray(over.required)) {
    out.required = [...new Set([...base.required, ...over.required])];
  }
  return out;
}

/** A count keyword (`minItems`, ...) as a whole number ≥ 0; anything else counts as 0. */
function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.ceil(value) : 0;
}

/** The numeric bounds, draft 2020-12 (`exclusiveMinimum: 3`) and draft 4 (`exclusiveMinimum: true`). */
function bounds(schema: Schema): { lo: number; loOpen: boolean; hi: number; hiOpen: boolean } {
  let lo = typeof schema.minimum === 'number' ? schema.minimum : Number.NEGATIVE_INFINITY;
  let hi = typeof schema.maximum === 'number' ? schema.maximum : Number.POSITIVE_INFINITY;
  let loOpen = schema.exclusiveMinimum === true;
  let hiOpen = schema.exclusiveMaximum === true;
  if (typeof schema.exclusiveMinimum === 'number' && schema.exclusiveMinimum >= lo) {
    lo = schema.exclusiveMinimum;
    loOpen = true;
  }
  if (typeof schema.exclusiveMaximum === 'number' && schema.exclusiveMaximum <= hi) {
    hi = schema.exclusiveMaximum;
    hiOpen = true;
  }
  return { lo, loOpen, hi, hiOpen };
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** A value of a known `format`, from the draw `n`; null for other formats. */
function formatted(format: string, n: number, rng: Rng): string | null {
  const day = `2025-${pad((n % 12) + 1, 2)}-${pad((n % 28) + 1, 2)}`;
  const time = `${pad(n % 24, 2)}:${pad(n % 60, 2)}:00Z`;
  switch (format) {
    case 'date-time':
      return `${day}T${time}`;
    case 'date':
      return day;
    case 'time':
      return time;
    case 'duration':
      return `PT${n + 1}S`;
    case 'email':
    case 'idn-email':
      return `user${n}@example.com`;
    case 'hostname':
    case 'idn-hostname':
      return `host${n}.example.com`;
    case 'uri':
    case 'iri':
    case 'url':
      return `https://example.com/items/${n}`;
    case 'uri-reference':
    case 'iri-reference':
      return `/items/${n}`;
    case 'ipv4':
      return `192.0.2.${n % 256}`;
    case 'ipv6':
      return `2001:db8::${n.toString(16)}`;
    case 'uuid': {
      const hex = Array.from({ length: 32 }, () => Math.floor(nextFloat(rng) * 16).toString(16));
      hex[12] = '4';
      hex[16] = '8';
      const h = hex.join('');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    }
    default:
      return null;
  }
}
