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
