/** The request body parser: what it accepts, and what it refuses without throwing. */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkJsonShape, MAX_JSON_DEPTH, parseJsonBody } from '../../../server/json-body.js';

describe('parseJsonBody', () => {
  it('parses JSON values, a leading byte-order mark skipped', () => {
    expect(parseJsonBody('{"a":[1,{"b":null}]}')).toEqual({ ok: true, value: { a: [1, { b: null }] } });
    expect(parseJsonBody('\uFEFF{"a":1}')).toEqual({ ok: true, value: { a: 1 } });
    expect(parseJsonBody('"text"')).toEqual({ ok: true, value: 'text' });
  });

  it.each([
    ['an empty body', '', /empty/],
    ['a byte-order mark alone', '\uFEFF', /empty/],
    ['truncated JSON', '{"model": "x", ', /not valid JSON/],
    ['trailing garbage', '{"a":1} x', /not valid JSON/],
    ['__proto__ at the top', '{"__proto__": {"x": 1}}', /"__proto__" key .* refused/],
    ['__proto__ nested in an array', '{"a": [{"b": {"__proto__": {}}}]}', /"__proto__" key .* refused/],
    ['__proto__ spelt with escapes', '{"\\u005f_proto__": {"x": 1}}', /"__proto__" key .* refused/],
    ['constructor.prototype', '{"constructor": {"prototype": {"x": 1}}}', /"__proto__" key .* refused/],
  ])('refuses %s as invalid_json', (_name, text, detail) => {
    const parsed = parseJsonBody(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.problem.code).toBe('invalid_json');
      expect(parsed.problem.detail).toMatch(detail);
    }
  });

  it.each([
    ['1e400', '{"n": 1e400}'],
    ['-1E+309', '{"a": [1, {"t": -1E+309}]}'],
    ['a 309-digit integer (2e308)', `{"max_tokens": 2${'0'.repeat(308)}}`],
    ['300 digits times 10^9', `[${'9'.repeat(300)}e9]`],
    ['a top-level overflow', '1e999'],
  ])('refuses a number too large for a double (%s): forwarded, it would be null', (_name, text) => {
    const parsed = parseJsonBody(text);
    expect(parsed).toMatchObject({ ok: false, problem: { code: 'invalid_json' } });
    if (!parsed.ok) expect(parsed.problem.detail).toMatch(/number too large/);
  });

  it('accepts large but finite numbers, underflow to zero, and digits in strings', () => {
    expect(parseJsonBody('{"n": 1.7976931348623157e308, "m": 1e-400, "k": 12345678901234567890}')).toEqual({
      ok: true,
      value: { n: 1.7976931348623157e308, m: 0, k: 12345678901234567000 },
    });
    expect(parseJsonBody(`{"s": "1e400 ${'9'.repeat(400)}", "t": true, "f": false}`).ok).toBe(true);
  });

  it('refuses a number exactly when JSON.parse would make it infinite (property)', () => {
    // Lengths drawn uniformly (fast-check's arrays favour short ones): overflow needs ~300 digits.
    const digits = (min: number, max: number) =>
      fc
        .integer({ min, max })
        .chain((n) => fc.array(fc.constantFrom(...'0123456789'), { minLength: n, maxLength: n }))
        .map((d) => d.join(''));
    const number = fc
      .tuple(
        fc.constantFrom('', '-'),
        fc.oneof(
          fc.constant('0'),
          fc.tuple(fc.constantFrom(...'123456789'), digits(0, 400)).map(([a, b]) => a + b),
        ),
        fc.option(digits(1, 30), { nil: undefined }),
        fc.option(fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), digits(1, 5)), {
          nil: undefined,
        }),
      )
      .map(
        ([sign, int, frac, exp]) =>
          `${sign}${int}${frac === undefined ? '' : `.${frac}`}${exp === undefined ? '' : exp.join('')}`,
      );
    fc.assert(
      fc.property(fc.array(number, { minLength: 1, maxLength: 4 }), (numbers) => {
        const text = `{"a": [${numbers.join(', ')}], "b": true}`;
        const finite = (JSON.parse(text).a as number[]).every((n) => Number.isFinite(n));
        const parsed = parseJsonBody(text);
        expect(parsed.ok).toBe(finite);
      }),
      { numRuns: 500 },
    );
  });

  it('accepts the words when they are not such keys', () => {
    expect(parseJsonBody('{"content": "__proto__ and constructor"}').ok).toBe(true);
    expect(parseJsonBody('{"constructor": "a string"}').ok).toBe(true);
    expect(parseJsonBody('{"constructor": {"name": "x"}}').ok).toBe(true);
  });

  it('refuses bodies too deep or too complex before parsing', () => {
    const deep = '['.repeat(MAX_JSON_DEPTH + 1) + ']'.repeat(MAX_JSON_DEPTH + 1);
    expect(parseJsonBody(deep)).toMatchObject({ ok: false, problem: { code: 'body_too_deep' } });
    const many = `[${Array.from({ length: 50_001 }, () => '{}').join(',')}]`;
    expect(parseJsonBody(many)).toMatchObject({ ok: false, problem: { code: 'body_too_complex' } });
  });

  it('never throws, and accepts exactly what JSON.parse accepts (shape and prototype keys aside)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.json(), fc.string()), (text) => {
        const parsed = parseJsonBody(text);
        let expected: { ok: boolean; value?: unknown };
        try {
          expected = { ok: true, value: JSON.parse(text.replace(/^\uFEFF/, '')) };
        } catch {
          expected = { ok: false };
        }
        if (text.replace(/^\uFEFF/, '') === '' || checkJsonShape(text) !== null) {
          expect(parsed.ok).toBe(false);
          return;
        }
        const poisoned = /__proto__|constructor/.test(text);
        if (!poisoned) expect(parsed.ok).toBe(expected.ok);
        if (parsed.ok) expect(parsed.value).toEqual(expected.value);
      }),
    );
  });
});
