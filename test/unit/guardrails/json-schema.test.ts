import { describe, expect, it } from 'vitest';
import { compileJsonSchemaCheck, measureLength } from '../../../engine/guardrails/detectors/index.js';

const schema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  required: ['city', 'days'],
  properties: { city: { type: 'string' }, days: { type: 'integer', minimum: 1 } },
  additionalProperties: false,
};

describe('compileJsonSchemaCheck', () => {
  const c = compileJsonSchemaCheck(schema);
  if (!c.ok) throw new Error(c.message);

  it('accepts bare JSON and the first fenced json block', () => {
    expect(c.check(' {"city":"Paris","days":3} ')).toEqual({
      valid: true,
      value: { city: 'Paris', days: 3 },
    });
    const answer = 'Here you go:\n```json\n{"city":"Oslo","days":2}\n```\nand\n```json\n{"bad":1}\n```';
    expect(c.check(answer)).toEqual({ valid: true, value: { city: 'Oslo', days: 2 } });
    expect(c.check('```\n{"city":"Rome","days":1}\n```').valid).toBe(true);
  });

  it('says why an answer is refused', () => {
    expect(c.check('{"city":"Paris"}')).toEqual({
      valid: false,
      reason: "(root) must have required property 'days'",
    });
    expect(c.check('{"city":"Paris","days":0}')).toEqual({ valid: false, reason: '/days must be >= 1' });
    const r = c.check('The weather is nice');
    expect(r.valid).toBe(false);
    if (!r.valid) expect(r.reason).toMatch(/^not JSON: /);
  });

  it('refuses an invalid schema at compile time', () => {
    const bad = compileJsonSchemaCheck({ type: 'nonsense' });
    expect(bad.ok).toBe(false);
  });

  it('compiles schemas sharing an $id independently', () => {
    expect(compileJsonSchemaCheck({ $id: 'x', type: 'string' }).ok).toBe(true);
    expect(compileJsonSchemaCheck({ $id: 'x', type: 'number' }).ok).toBe(true);
  });
});

describe('measureLength', () => {
  it('counts UTF-16 units and estimates ceil(chars / 4) tokens like the engine', () => {
    expect(measureLength('')).toEqual({ chars: 0, tokens: 0 });
    expect(measureLength('hello')).toEqual({ chars: 5, tokens: 2 });
    expect(measureLength('a'.repeat(8))).toEqual({ chars: 8, tokens: 2 });
  });
});
