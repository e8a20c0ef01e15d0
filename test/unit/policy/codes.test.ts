import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALL_DIAGNOSTIC_CODES } from '../../../engine/policy/codes.js';

const root = join(import.meta.dirname, '../../..');
const PREFIX = { parse: 'PARSE_', schema: 'SCHEMA_', reference: 'REF_', semantic: 'SEM_' } as const;

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(rel);
    return e.name.endsWith('.ts') && !e.name.startsWith('codes') ? [rel] : [];
  });
}

describe('the diagnostic code catalogue', () => {
  it('names every code after its stage and documents it (title, example, fix)', () => {
    for (const [code, info] of Object.entries(ALL_DIAGNOSTIC_CODES)) {
      expect(code.startsWith(PREFIX[info.stage]), `${code} is a ${info.stage} code`).toBe(true);
      expect(info.title.trim().length, code).toBeGreaterThan(0);
      expect(info.example.trim().length, code).toBeGreaterThan(0);
      expect(info.fix.trim().length, code).toBeGreaterThan(0);
    }
  });

  it('documents every code the engine source can emit', () => {
    const emitted = new Set<string>();
    for (const file of sourceFiles('engine')) {
      const text = readFileSync(join(root, file), 'utf8');
      for (const m of text.matchAll(/['"`]((?:PARSE|SCHEMA|REF|SEM)_[A-Z0-9_]+)['"`]/g)) emitted.add(m[1]);
    }
    expect(emitted.size).toBeGreaterThan(20);
    const undocumented = [...emitted].filter((code) => !(code in ALL_DIAGNOSTIC_CODES));
    expect(undocumented).toEqual([]);
  });
});
