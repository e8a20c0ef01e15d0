/**
 * The JSON body parser: `JSON.parse` with `__proto__` and `constructor.prototype` keys refused (as
 * secure-json-parse does), behind a linear pre-scan that bounds the body's shape before anything parses it.
 *
 * Why: within the size limit, a body can still be hostile. 20,000 levels of `[` or `{"a":` parse
 * fine, but then every recursive walk over the value (JSON.stringify when forwarding, hashing for
 * cache keys, the engine's own walks) overflows the stack: a 500 at best. A body of tiny objects
 * (`[{},{},...]`) costs 20 to 30 times its size in heap once parsed. Both are refused with a 400
 * before JSON.parse runs.
 *
 * Why hand-written: JSON.parse has no depth or size options, secure-json-parse none either, and a streaming parser would cost far more per request than one pass of
 * `charCodeAt` and `indexOf` over a string that is about to be parsed anyway (measured: 1.3 µs for
 * a 4 KB chat body, a third of JSON.parse's time; strings are skipped with `indexOf`). The scan
 * only counts brackets outside strings; it never judges validity (JSON.parse does that right after).
 */

/**
 * Deepest nesting of objects and arrays accepted. Chat requests nest about 5 deep
 * (`messages[].content[].image_url.url`); tool and response-format JSON Schemas a few dozen at
 * most. Recursion over 128 levels is safe everywhere.
 */
export const MAX_JSON_DEPTH = 128;

/**
 * Most objects and arrays accepted in one body. A long conversation with tools and images has a
 * few thousand; 2,048 embedding inputs as token arrays 2,049.
 */
export const MAX_JSON_CONTAINERS = 50_000;

export type JsonShapeProblem = 'too_deep' | 'too_many_containers';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const LOWER_E = 0x65;
const UPPER_E = 0x45;
const PLUS = 0x2b;

/** What {@link scanJson} found: a shape problem, or whether a number may not fit a double. */
const SCAN_OK = 0;
const SCAN_TOO_DEEP = 1;
const SCAN_TOO_MANY = 2;
/**
 * A number that may not fit a double: a positive exponent of 3 digits or more, or 20 digits or
 * more in a row. Overflow needs a value of about 1.8e308: with an exponent of two digits (99 at
 * most) the mantissa needs 210 digits, so every overflowing number is flagged, and the flag only
 * decides whether the parsed value is walked (numbers flagged but finite are accepted).
 */
const SCAN_MAY_OVERFLOW = 3;
const LONG_DIGITS = 20;

/**
 * One pass over the text: the nesting depth and the number of objects and arrays, counted outside
 * strings. Strings are skipped with `indexOf('"')`; a quote is escaped when an odd number of
 * backslashes precede it (each run of backslashes is looked at once, so the scan stays linear).
 * Malformed text is not judged here: an unterminated string ends the scan, JSON.parse refuses it.
 * It also notes a number that may be too large for a double (JSON.parse makes it Infinity, which
 * forwarding would write as null): only then is the parsed value walked for one.
 */
function scanJson(text: string, maxDepth: number, maxContainers: number): number {
  const length = text.length;
  let depth = 0;
  let containers = 0;
  let digits = 0;
  let mayOverflow = false;
  let i = 0;
  while (i < length) {
    const c = text.charCodeAt(i);
    if (c >= DIGIT_0 && c <= DIGIT_9) {
      if (++digits >= LONG_DIGITS) mayOverflow = true;
      i++;
      continue;
    }
    digits = 0;
    if (c === QUOTE) {
      let from = i + 1;
      for (;;) {
        const q = text.indexOf('"', from);
        if (q < 0) return mayOverflow ? SCAN_MAY_OVERFLOW : SCAN_OK;
        let b = q - 1;
        while (b > i && text.charCodeAt(b) === BACKSLASH) b--;
        if ((q - 1 - b) % 2 === 0) {
          i = q + 1;
          break;
        }
        from = q + 1;
      }
      continue;
    }
    if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > maxDepth) return SCAN_TOO_DEEP;
      if (++containers > maxContainers) return SCAN_TOO_MANY;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    } else if (c === LOWER_E || c === UPPER_E) {
      // An exponent (or the e of true and false, which no digit follows).
      let j = i + 1;
      if (text.charCodeAt(j) === PLUS) j++;
      while (text.charCodeAt(j) === DIGIT_0) j++;
      const start = j;
      while (j < length && text.charCodeAt(j) >= DIGIT_0 && text.charCodeAt(j) <= DIGIT_9) j++;
      if (j - start >= 3) mayOverflow = true;
      i = j;
      continue;
    }
    i++;
  }
  return mayOverflow ? SCAN_MAY_OVERFLOW : SCAN_OK;
}

/** The nesting and container bounds of {@link scanJson}, as a problem or null. */
export function checkJsonShape(
  text: string,
  maxDepth = MAX_JSON_DEPTH,
  maxContainers = MAX_JSON_CONTAINERS,
): JsonShapeProblem | null {
  const scan = scanJson(text, maxDepth, maxContainers);
  return scan === SCAN_TOO_DEEP ? 'too_deep' : scan === SCAN_TOO_MANY ? 'too_many_containers' : null;
}

/** True when a number in the value is not finite (the scan bounded the walk's size). */
function holdsNonFinite(value: unknown): boolean {
  if (typeof value === 'number') return !Number.isFinite(value);
  if (typeof value !== 'object' || value === null) return false;
  const stack: object[] = [value];
  while (stack.length > 0) {
    const node = stack.pop() as Record<string, unknown>;
    for (const key in node) {
      const child = node[key];
      if (typeof child === 'number') {
        if (!Number.isFinite(child)) return true;
      } else if (typeof child === 'object' && child !== null) stack.push(child);
    }
  }
  return false;
}

const SUSPECT_PROTO =
  /"(?:_|\\u005[Ff])(?:_|\\u005[Ff])(?:p|\\u0070)(?:r|\\u0072)(?:o|\\u006[Ff])(?:t|\\u0074)(?:o|\\u006[Ff])(?:_|\\u005[Ff])(?:_|\\u005[Ff])"\s*:/;
const SUSPECT_CONSTRUCTOR =
  /"(?:c|\\u0063)(?:o|\\u006[Ff])(?:n|\\u006[Ee])(?:s|\\u0073)(?:t|\\u0074)(?:r|\\u0072)(?:u|\\u0075)(?:c|\\u0063)(?:t|\\u0074)(?:o|\\u006[Ff])(?:r|\\u0072)"\s*:/;

const hasOwn = (o: object, key: string): boolean => Object.hasOwn(o, key);

/**
 * True when the parsed value holds a `__proto__` key or a `constructor` object with a `prototype`
 * key anywhere: what secure-json-parse refuses, so that no later merge or spread of the body can
 * reach an object's prototype. The walk runs only when the text mentions one of those keys (the
 * same pre-test as secure-json-parse), and the shape check has bounded the walk's size.
 */
function isPoisoned(value: object): boolean {
  const stack: object[] = [value];
  while (stack.length > 0) {
    const node = stack.pop() as object;
    if (hasOwn(node, '__proto__')) return true;
    const ctor = (node as { constructor?: unknown }).constructor;
    if (hasOwn(node, 'constructor') && typeof ctor === 'object' && ctor !== null && hasOwn(ctor, 'prototype'))
      return true;
    for (const key in node) {
      const child = (node as Record<string, unknown>)[key];
      if (typeof child === 'object' && child !== null) stack.push(child);
    }
  }
  return false;
}

/** Why a JSON body was refused, with the catalogue code and the sentence the client sees. */
export interface JsonBodyProblem {
  readonly code: 'invalid_json' | 'body_too_deep' | 'body_too_complex';
  readonly detail: string;
}

const INVALID_JSON: JsonBodyProblem = { code: 'invalid_json', detail: 'The request body is not valid JSON.' };
/** Valid JSON, refused all the same: a client told "not valid JSON" would look for a syntax error. */
const POISONED_JSON: JsonBodyProblem = {
  code: 'invalid_json',
  detail:
    'The request body holds a "__proto__" key or a "constructor" object with a "prototype" key; these are refused.',
};
/** Valid JSON whose number JSON.parse makes Infinity: forwarded, it would become null. */
const NUMBER_OVERFLOW: JsonBodyProblem = {
  code: 'invalid_json',
  detail:
    'The request body holds a number too large to represent (such as 1e400); it cannot be forwarded as written.',
};
const EMPTY_JSON: JsonBodyProblem = {
  code: 'invalid_json',
  detail: 'The request body is empty; expected a JSON object.',
};
const TOO_DEEP: JsonBodyProblem = {
  code: 'body_too_deep',
  detail: `The request body nests objects and arrays deeper than ${MAX_JSON_DEPTH} levels.`,
};
const TOO_COMPLEX: JsonBodyProblem = {
  code: 'body_too_complex',
  detail: `The request body holds more than ${MAX_JSON_CONTAINERS} objects and arrays.`,
};

/**
 * Parses a JSON request body: empty, too deep or too complex bodies, text that is not JSON, and
 * `__proto__` / `constructor.prototype` keys, and numbers too large for a double are refused
 * (never thrown). A leading byte-order
 * mark is skipped.
 */
export function parseJsonBody(
  text: string,
): { ok: true; value: unknown } | { ok: false; problem: JsonBodyProblem } {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body === '') return { ok: false, problem: EMPTY_JSON };
  const scan = scanJson(body, MAX_JSON_DEPTH, MAX_JSON_CONTAINERS);
  if (scan === SCAN_TOO_DEEP) return { ok: false, problem: TOO_DEEP };
  if (scan === SCAN_TOO_MANY) return { ok: false, problem: TOO_COMPLEX };
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return { ok: false, problem: INVALID_JSON };
  }
  if (
    typeof value === 'object' &&
    value !== null &&
    (SUSPECT_PROTO.test(body) || SUSPECT_CONSTRUCTOR.test(body)) &&
    isPoisoned(value)
  ) {
    return { ok: false, problem: POISONED_JSON };
  }
  if (scan === SCAN_MAY_OVERFLOW && holdsNonFinite(value)) return { ok: false, problem: NUMBER_OVERFLOW };
  return { ok: true, value };
}
