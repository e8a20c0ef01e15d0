/**
 * The recording line's validator is Ajv standalone code generated from the schema
 * (scripts/gen-validators.mjs): the committed file must match the schema, and it must judge lines
 * exactly as Ajv compiling the schema at run time does, errors included.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { validateRecordedLine } from '../../../engine/replay/read.js';
import { generateValidators, RECORDED_LINE_AJV_OPTIONS } from '../../../scripts/gen-validators.mjs';

const root = join(import.meta.dirname, '../../..');
const schema = JSON.parse(readFileSync(join(root, 'schemas/recorded-traffic.schema.json'), 'utf8'));
const fixture = readFileSync(join(import.meta.dirname, 'fixtures/v1-first-release.jsonl'), 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('the generated recording-line validator', () => {
  it('is up to date with schemas/recorded-traffic.schema.json (run `npm run gen:validators`)', async () => {
    const committed = readFileSync(join(root, 'engine/replay/recorded-line.validate.generated.ts'), 'utf8');
    expect(committed).toBe(await generateValidators());
  });

  it('accepts and rejects as the schema compiled at run time does, with the same errors', () => {
    const reference = new Ajv2020({ ...RECORDED_LINE_AJV_OPTIONS }).compile(schema);
    const first = fixture[0];
    const broken: unknown[] = [
      {},
      'not an object',
      { ...first, v: 2 },
      { ...first, time: 'yesterday', requestId: 7 },
      { ...first, attempts: [{ target: 'x' }] },
      { ...first, unknownField: true },
      { ...first, request: { ...(first.request as object), headers: { 'Bad Header': 'x' } } },
    ];
    for (const line of [...fixture, ...broken]) {
      const ok = reference(line);
      const expected = ok
        ? { ok: true, line }
        : { ok: false, errors: (reference.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`) };
      expect(validateRecordedLine(line)).toEqual(expected);
    }
    expect(broken.every((line) => !validateRecordedLine(line).ok)).toBe(true);
    expect(fixture.every((line) => validateRecordedLine(line).ok)).toBe(true);
  });
});
