import { describe, expect, it } from 'vitest';
import type { Diagnostic } from '../../../engine/policy/diagnostics.js';
import { formatHuman, formatJson, formatSarif } from '../../../engine/policy/format.js';
import { parsePolicySources } from '../../../engine/policy/load.js';

const text = 'switchyard: v1\nroutes:\n  - name: chat\n    strategy: fallbak\n';
const sources = new Map([['policy.yaml', text]]);

const unknownStrategy: Diagnostic = {
  code: 'SCHEMA_ENUM',
  severity: 'error',
  message: 'unknown strategy "fallbak"',
  file: 'policy.yaml',
  line: 4,
  column: 15,
  endLine: 4,
  endColumn: 22,
  pointer: '/routes/0/strategy',
  route: 'chat',
  hint: 'fallback',
};

const warning: Diagnostic = {
  code: 'PARSE_EMPTY_FILE',
  severity: 'warning',
  message: 'policy file has no content',
  file: 'empty.yaml',
  line: 1,
  column: 1,
  pointer: '',
};

describe('formatHuman', () => {
  it('renders location, severity, code, message, hint and a code frame', () => {
    expect(formatHuman([unknownStrategy], sources)).toBe(
      [
        'policy.yaml:4:15: error SCHEMA_ENUM: unknown strategy "fallbak" (did you mean "fallback"?)',
        '4 |     strategy: fallbak',
        '  |               ^^^^^^^',
        '',
        '1 error, 0 warnings',
        '',
      ].join('\n'),
    );
  });

  it('renders related locations as notes, sorts, and counts warnings', () => {
    const r = parsePolicySources([
      { file: 'a.yaml', text: 'models:\n  fast: {}\n' },
      { file: 'b.yaml', text: 'models:\n  fast: {}\n' },
    ]);
    const out = formatHuman([warning, ...r.diagnostics], r.sources);
    expect(out).toContain(
      'b.yaml:2:3: error PARSE_DUPLICATE_NAME: "fast" is defined twice in `models`: already defined at a.yaml:2:3\n' +
        '2 |   fast: {}\n' +
        '  |   ^^^^\n' +
        '  a.yaml:2:3: note: first definition of "fast"',
    );
    expect(out.indexOf('b.yaml')).toBeLessThan(out.indexOf('empty.yaml:1:1: warning PARSE_EMPTY_FILE'));
    expect(out.endsWith('1 error, 1 warning\n')).toBe(true);
  });

  it('omits the frame when the source is unknown and caret-marks a single column otherwise', () => {
    expect(formatHuman([warning], new Map())).toBe(
      'empty.yaml:1:1: warning PARSE_EMPTY_FILE: policy file has no content\n\n0 errors, 1 warning\n',
    );
    const point = { ...unknownStrategy, endLine: undefined, endColumn: undefined, hint: undefined };
    expect(formatHuman([point], sources)).toContain('  |               ^\n');
  });

  it('keeps tabs in the caret indent', () => {
    const d = { ...warning, file: 't.yaml', line: 1, column: 3 };
    expect(formatHuman([d], new Map([['t.yaml', '\t\tx: 1']]))).toContain('1 | \t\tx: 1\n  | \t\t^');
  });

  it('colours only on request', () => {
    expect(formatHuman([unknownStrategy], sources)).not.toContain('\u001b[');
    expect(formatHuman([unknownStrategy], sources, { color: true })).toContain('\u001b[31m');
  });

  it('summarises an empty run', () => {
    expect(formatHuman([], sources)).toBe('0 errors, 0 warnings\n');
  });
});

describe('formatJson', () => {
  it('reports ok and only defined fields', () => {
    const sparse = { ...warning, hint: undefined, route: undefined };
    const json = formatJson([unknownStrategy, sparse]);
    expect(json.ok).toBe(false);
    expect(json.diagnostics[1]).toEqual(unknownStrategy);
    expect(Object.keys(json.diagnostics[0])).not.toContain('hint');
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
    expect(formatJson([warning]).ok).toBe(true);
    expect(formatJson([])).toEqual({ ok: true, diagnostics: [] });
  });
});

describe('formatSarif', () => {
  it('produces a SARIF 2.1.0 log with rules and results', () => {
    const related: Diagnostic = {
      ...warning,
      code: 'PARSE_DUPLICATE_NAME',
      severity: 'error',
      file: 'dir\\b.yaml',
      related: [{ message: 'first', file: 'a.yaml', line: 2, column: 3 }],
    };
    const log = formatSarif([unknownStrategy, warning, related], { toolVersion: '1.2.3' });
    expect(log.version).toBe('2.1.0');
    expect(log.$schema).toContain('sarif-2.1.0');
    const run = log.runs[0];
    expect(run.tool.driver).toMatchObject({ name: 'switchyard', version: '1.2.3' });
    expect(run.tool.driver.rules.map((r) => r.id)).toEqual([
      'PARSE_DUPLICATE_NAME',
      'PARSE_EMPTY_FILE',
      'SCHEMA_ENUM',
    ]);
    expect(run.tool.driver.rules[1].shortDescription.text).toBe('Policy file is empty');
    expect(run.tool.driver.rules[2].shortDescription.text).toBe('SCHEMA_ENUM'); // not catalogued (yet)
    const enumResult = run.results.find((r) => r.ruleId === 'SCHEMA_ENUM')!;
    expect(enumResult).toMatchObject({
      level: 'error',
      ruleIndex: 2,
      message: { text: 'unknown strategy "fallbak" (did you mean "fallback"?)' },
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: 'policy.yaml' },
            region: { startLine: 4, startColumn: 15, endLine: 4, endColumn: 22 },
          },
          logicalLocations: [{ fullyQualifiedName: '/routes/0/strategy' }],
        },
      ],
      properties: { pointer: '/routes/0/strategy', route: 'chat', hint: 'fallback' },
    });
    const warnResult = run.results.find((r) => r.ruleId === 'PARSE_EMPTY_FILE')!;
    expect(warnResult.level).toBe('warning');
    const custom = formatSarif([unknownStrategy], {
      toolVersion: '1',
      catalogue: { SCHEMA_ENUM: { stage: 'schema', title: 'Unknown enum value', example: 'x', fix: 'y' } },
    });
    expect(custom.runs[0].tool.driver.rules[0]).toMatchObject({
      shortDescription: { text: 'Unknown enum value' },
      properties: { stage: 'schema' },
    });
    const dup = run.results.find((r) => r.ruleId === 'PARSE_DUPLICATE_NAME')!;
    expect(dup.locations[0].physicalLocation.artifactLocation.uri).toBe('dir/b.yaml');
    expect(dup.relatedLocations).toEqual([
      {
        id: 1,
        message: { text: 'first' },
        physicalLocation: { artifactLocation: { uri: 'a.yaml' }, region: { startLine: 2, startColumn: 3 } },
      },
    ]);
  });
});
