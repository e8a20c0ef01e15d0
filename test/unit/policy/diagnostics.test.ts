import { describe, expect, it } from 'vitest';
import {
  DIAGNOSTIC_CODES,
  type Diagnostic,
  hasErrors,
  makeDiagnostic,
  sortDiagnostics,
} from '../../../engine/policy/diagnostics.js';
import { type PolicySource, parsePolicySources } from '../../../engine/policy/load.js';

function diag(partial: Partial<Diagnostic>): Diagnostic {
  return {
    code: 'PARSE_YAML_SYNTAX',
    severity: 'error',
    message: 'm',
    file: 'a.yaml',
    line: 1,
    column: 1,
    pointer: '',
    ...partial,
  };
}

/** Splits a catalogue example into files at `# file: <name>` lines (one file when there are none). */
function exampleSources(example: string): PolicySource[] {
  const parts = example.split(/^# file: (.+)\n/m);
  if (parts.length === 1) return [{ file: 'example.yaml', text: example }];
  const out: PolicySource[] = [];
  for (let i = 1; i < parts.length; i += 2) out.push({ file: parts[i], text: parts[i + 1] });
  return out;
}

/** Codes that need the file system (or sizes) to trigger; tested in load.test.ts. */
const NOT_TRIGGERED_BY_TEXT = new Set(['PARSE_NO_FILES', 'PARSE_FILE_READ', 'PARSE_FILE_TOO_LARGE']);

describe('DIAGNOSTIC_CODES', () => {
  const stageOrder = ['parse', 'schema', 'reference', 'semantic'];

  it('documents every code with a stage-prefixed name, a title, an example and a fix', () => {
    for (const [code, info] of Object.entries(DIAGNOSTIC_CODES)) {
      expect(code).toMatch(/^[A-Z]+(_[A-Z0-9]+)+$/);
      expect(code.startsWith(`${info.stage.toUpperCase()}_`), code).toBe(true);
      expect(info.title.length, code).toBeGreaterThan(0);
      expect(info.example.length, code).toBeGreaterThan(0);
      expect(info.fix.length, code).toBeGreaterThan(0);
    }
  });

  it('is grouped by stage in pipeline order', () => {
    const stages = Object.values(DIAGNOSTIC_CODES).map((i) => stageOrder.indexOf(i.stage));
    expect(stages).toEqual([...stages].sort((a, b) => a - b));
  });

  it.each(
    Object.entries(DIAGNOSTIC_CODES).filter(
      ([code, info]) => info.stage === 'parse' && !NOT_TRIGGERED_BY_TEXT.has(code),
    ),
  )('the example of %s triggers it', (code, info) => {
    const r = parsePolicySources(exampleSources(info.example), { env: {} });
    expect(r.diagnostics.map((d) => d.code)).toContain(code);
  });
});

describe('helpers', () => {
  it('sorts by file, line, column, then code', () => {
    const ds = [
      diag({ file: 'b.yaml', line: 1 }),
      diag({ file: 'a.yaml', line: 2, column: 1 }),
      diag({ file: 'a.yaml', line: 1, column: 5, code: 'PARSE_Z' }),
      diag({ file: 'a.yaml', line: 1, column: 5, code: 'PARSE_A' }),
      diag({ file: 'a.yaml', line: 1, column: 2 }),
    ];
    const sorted = sortDiagnostics(ds);
    expect(sorted.map((d) => `${d.file}:${d.line}:${d.column}:${d.code}`)).toEqual([
      'a.yaml:1:2:PARSE_YAML_SYNTAX',
      'a.yaml:1:5:PARSE_A',
      'a.yaml:1:5:PARSE_Z',
      'a.yaml:2:1:PARSE_YAML_SYNTAX',
      'b.yaml:1:1:PARSE_YAML_SYNTAX',
    ]);
    expect(ds[0].file).toBe('b.yaml'); // input untouched
  });

  it('hasErrors ignores warnings', () => {
    expect(hasErrors([])).toBe(false);
    expect(hasErrors([diag({ severity: 'warning' })])).toBe(false);
    expect(hasErrors([diag({ severity: 'warning' }), diag({})])).toBe(true);
  });

  it('makeDiagnostic copies the location and leaves out absent fields', () => {
    const d = makeDiagnostic('PARSE_X', 'warning', 'msg', { file: 'f', line: 2, column: 3 }, '/a');
    expect(d).toEqual({
      code: 'PARSE_X',
      severity: 'warning',
      message: 'msg',
      file: 'f',
      line: 2,
      column: 3,
      pointer: '/a',
    });
    expect(Object.keys(d)).not.toContain('hint');
    const full = makeDiagnostic(
      'PARSE_X',
      'error',
      'msg',
      { file: 'f', line: 2, column: 3, endLine: 2, endColumn: 9 },
      '',
      {
        route: 'chat',
        hint: 'models',
        related: [],
      },
    );
    expect(full).toMatchObject({ endLine: 2, endColumn: 9, route: 'chat', hint: 'models' });
    expect(full.related).toBeUndefined();
  });
});
