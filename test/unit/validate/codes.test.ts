import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VALIDATE_CODES } from '../../../engine/policy/codes-validate.js';
import { DIAGNOSTIC_CODES } from '../../../engine/policy/diagnostics.js';
import { check } from './helpers.js';

/** Fallback codes that no input reaches with the current schema (kept for schema growth). */
const FALLBACKS = new Set(['SCHEMA_OTHER']);

describe('VALIDATE_CODES', () => {
  it('documents each code with a stage-prefixed name, a title, an example and a fix', () => {
    const prefix = { schema: 'SCHEMA_', reference: 'REF_', semantic: 'SEM_' } as const;
    for (const [code, info] of Object.entries(VALIDATE_CODES)) {
      expect(info.stage === 'schema' || info.stage === 'reference' || info.stage === 'semantic', code).toBe(
        true,
      );
      expect(code.startsWith(prefix[info.stage as keyof typeof prefix]), code).toBe(true);
      expect(info.title.length, code).toBeGreaterThan(0);
      expect(info.example.length, code).toBeGreaterThan(0);
      expect(info.fix.length, code).toBeGreaterThan(0);
      expect(Object.hasOwn(DIAGNOSTIC_CODES, code), `${code} clashes with a load code`).toBe(false);
    }
  });

  it.each(Object.entries(VALIDATE_CODES).filter(([code]) => !FALLBACKS.has(code)))(
    'the example of %s triggers it',
    (code, info) => {
      const r = check(info.example);
      expect(
        r.diagnostics.map((d) => d.code),
        JSON.stringify(r.diagnostics, null, 2),
      ).toContain(code);
    },
  );

  it('every code the validate stage can emit is catalogued', () => {
    const folder = join(import.meta.dirname, '../../../engine/policy/validate');
    const source = readdirSync(folder)
      .filter((f) => f.endsWith('.ts'))
      .map((f) => readFileSync(join(folder, f), 'utf8'))
      .join('\n');
    const emitted = new Set(source.match(/'(SCHEMA|REF|SEM)_[A-Z_]+'/g)?.map((s) => s.slice(1, -1)));
    expect(emitted.size).toBeGreaterThan(20);
    expect([...emitted].filter((c) => !(c in VALIDATE_CODES))).toEqual([]);
  });

  it('every code the validate tests assert on is catalogued', () => {
    const dir = import.meta.dirname;
    const used = new Set<string>();
    for (const f of readdirSync(dir)) {
      if (!f.endsWith('.test.ts') || f === 'codes.test.ts') continue;
      for (const m of readFileSync(join(dir, f), 'utf8').match(/'(SCHEMA|REF|SEM)_[A-Z_]+'/g) ?? [])
        used.add(m.slice(1, -1));
    }
    expect([...used].filter((c) => !(c in VALIDATE_CODES))).toEqual([]);
  });
});
