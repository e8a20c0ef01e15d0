/**
 * Validation conformance: data-driven cases in `test/conformance/validate/*.yaml`. Each case is
 * a broken policy (one or more files) and the diagnostics it must produce:
 * `{ note, files: { name: text }, env?, secret?, want: [{ code, line, column?, file?, hint?, severity?, related? }] }`.
 * The errors produced must be exactly the wanted ones (no noise); warnings are checked when
 * wanted. `secret`, when given, must appear in no message.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { formatHuman, formatJson, parsePolicy } from '../../engine/index.js';

interface Want {
  code: string;
  line: number;
  column?: number;
  file?: string;
  hint?: string;
  severity?: 'error' | 'warning';
  related?: string;
}

interface Case {
  note: string;
  files: Record<string, string>;
  env?: Record<string, string>;
  secret?: string;
  want: Want[];
}

const dir = join(import.meta.dirname, 'validate');
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));

describe.each(files)('validate conformance: %s', (file) => {
  const doc = parse(readFileSync(join(dir, file), 'utf8')) as { cases: Case[] };
  it.each(doc.cases.map((c) => [c.note, c] as const))('%s', (_note, c) => {
    const sources = Object.entries(c.files).map(([name, text]) => ({ file: name, text }));
    const result = parsePolicy(sources, { env: c.env ?? {} });
    const report = formatHuman(result.diagnostics, result.sources);
    expect(result.ok, report).toBe(false);
    for (const want of c.want) {
      const found = result.diagnostics.find(
        (d) =>
          d.code === want.code &&
          d.line === want.line &&
          (want.column === undefined || d.column === want.column) &&
          (want.file === undefined || d.file === want.file) &&
          (want.hint === undefined || d.hint === want.hint) &&
          d.severity === (want.severity ?? 'error') &&
          (want.related === undefined || (d.related ?? []).some((r) => r.file === want.related)),
      );
      expect(found, `wanted ${JSON.stringify(want)}\n${report}`).toBeDefined();
    }
    const wantedErrors = c.want.filter((w) => (w.severity ?? 'error') === 'error').length;
    const errors = result.diagnostics.filter((d) => d.severity === 'error');
    expect(errors.length, `exactly the wanted errors, no noise:\n${report}`).toBe(wantedErrors);
    if (c.secret !== undefined) {
      expect(JSON.stringify(formatJson(result.diagnostics))).not.toContain(c.secret);
      expect(report).not.toContain(c.secret);
    }
  });
});
