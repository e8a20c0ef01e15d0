/**
 * Canonical JSON: one text per value, whatever the key order or number spelling it came with.
 * Policy hashes and cache keys are hashes of it.
 */

/**
 * The canonical JSON text of `value`: sorted object keys, no whitespace. Values JSON
 * cannot carry get tokens that are not JSON (`NaN`, `Infinity`, `12n`), so they never collide with
 * one it can; `undefined`, functions and symbols are dropped from objects and are `null` in arrays,
 * as `JSON.stringify` does.
 */
export function canonicalJson(value: unknown): string {
  return write(value);
}

// String concatenation (V8 ropes) beats collecting parts in an array here.
function write(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      // String(n) is the shortest round-trip form (1.0 → "1"); -0 and 0 are one JSON number.
      return Object.is(value, -0) ? '0' : String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return `${value}n`;
    case 'object':
      break;
    default:
      return 'null';
  }
  if (value === null) return 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i > 0 ? ',' : '') + write(value[i]);
    return out + ']';
  }
  return writeObject(value as Record<string, unknown>, sortedKeys(value as Record<string, unknown>));
}

/**
 * {@link canonicalJson} of `record` without its top-level keys in `skip` (nor `__proto__`, which a
 * copy made by assignment never has): what a copy of the rest would give, without the copy.
 */
export function canonicalJsonWithout(record: Record<string, unknown>, skip: ReadonlySet<string>): string {
  const keys = sortedKeys(record);
  let kept = 0;
  for (const key of keys) if (!skip.has(key) && key !== '__proto__') keys[kept++] = key;
  keys.length = kept;
  return writeObject(record, keys);
}

/** The object `record` with `keys` (sorted), each key whose value JSON can carry. */
function writeObject(record: Record<string, unknown>, keys: readonly string[]): string {
  let out = '{';
  let first = true;
  for (const key of keys) {
    const v = record[key];
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
    out += (first ? '' : ',') + quoted(key) + ':' + write(v);
    first = false;
  }
  return out + '}';
}

/**
 * Object keys as JSON strings, kept: request bodies repeat a handful of keys (`role`, `content`,
 * `model`, ...), and a lookup costs a fraction of `JSON.stringify`. Bounded (the first keys seen,
 * short ones only), so bodies full of keys of their own cannot grow it; others are quoted anew.
 */
const quotedKeys = new Map<string, string>();
const QUOTED_KEYS_KEPT = 1_000;
const QUOTED_KEY_LENGTH = 64;

function quoted(key: string): string {
  let q = quotedKeys.get(key);
  if (q === undefined) {
    q = JSON.stringify(key);
    if (quotedKeys.size < QUOTED_KEYS_KEPT && key.length <= QUOTED_KEY_LENGTH) quotedKeys.set(key, q);
  }
  return q;
}

/**
 * `Object.keys(record).sort()`. A request's objects have a handful of keys: those are put in order
 * in place (insertion sort), since `sort` copies even a small array to a work list first. The
 * order is the same: both compare UTF-16 code units, and keys are distinct.
 */
function sortedKeys(record: Record<string, unknown>): string[] {
  const keys = Object.keys(record);
  const n = keys.length;
  if (n > 16) return keys.sort();
  for (let i = 1; i < n; i++) {
    const key = keys[i];
    let j = i - 1;
    while (j >= 0 && keys[j] > key) {
      keys[j + 1] = keys[j];
      j--;
    }
    keys[j + 1] = key;
  }
  return keys;
}
