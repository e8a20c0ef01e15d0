/**
 * The upstream response's headers as the undici call reads them (`headersOf`, from the raw header
 * lines undici's legacy `onHeaders` hands over) against what the transport gave when the call
 * spoke undici's documented handler API: undici's UnwrapHandler parsed the lines with
 * `parseHeaders`, and the transport flattened that object (lower-cased names, arrays joined with
 * ', '). Same names, values and enumeration order, over generated lines: well-known names in any
 * case, repeated ones, names an object treats specially (`__proto__`, `constructor`, integer-like
 * ones), any latin1 bytes in values.
 */
import { createRequire } from 'node:module';
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { headersOf } from '../../engine/providers/undici-body.js';

const require = createRequire(import.meta.url);
const { parseHeaders } = (require('undici') as typeof import('undici')).util;

/** What the transport did with the UnwrapHandler's object (undici-body.ts, before). */
function flattened(raw: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in raw) {
    const value = raw[name];
    if (value === undefined || !Object.hasOwn(raw, name)) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

const wellKnown = fc.constantFrom(
  'content-type',
  'content-length',
  'retry-after',
  'x-request-id',
  'set-cookie',
  'date',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'openai-processing-ms',
  'x-ratelimit-remaining-requests',
);
const special = fc.constantFrom(
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  '0',
  '12',
  '007',
  'valueOf',
);
const token = fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,12}$/);
const randomCase = (name: string) =>
  fc
    .array(fc.boolean(), { minLength: name.length, maxLength: name.length })
    .map((upper) => [...name].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join(''));
const name = fc.oneof(wellKnown, special, token).chain(randomCase);
const value = fc.oneof(
  fc.string({ maxLength: 16 }).map((s) => Buffer.from(s, 'latin1')),
  fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b)),
  fc.constantFrom(Buffer.from(''), Buffer.from('application/json'), Buffer.from('1')),
);

describe('headersOf', () => {
  test.prop([fc.array(fc.tuple(name, value), { maxLength: 12 })], { numRuns: 500 })(
    "is undici's parseHeaders, flattened",
    (lines) => {
      const raw = lines.flatMap(([n, v]) => [Buffer.from(n, 'latin1'), v]);
      const expected = flattened(parseHeaders(raw) as Record<string, string | string[] | undefined>);
      const actual = headersOf(raw);
      expect(Object.entries(actual)).toEqual(Object.entries(expected));
      expect(Object.getPrototypeOf(actual)).toBe(Object.prototype);
    },
  );
});
