// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${...} is the interpolation syntax under test
import { mkdir, mkdtemp, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Diagnostic } from '../../../engine/policy/diagnostics.js';
import { formatHuman, formatJson, formatSarif } from '../../../engine/policy/format.js';
import {
  type LoadResult,
  loadPolicySources,
  MAX_POLICY_FILE_BYTES,
  type PolicySource,
  parsePolicySources,
} from '../../../engine/policy/load.js';

function parse(text: string, env: Record<string, string> = {}): LoadResult {
  return parsePolicySources([{ file: 'policy.yaml', text }], { env });
}

function codes(r: LoadResult): string[] {
  return r.diagnostics.map((d) => d.code);
}

function only(r: LoadResult, code: string): Diagnostic {
  const found = r.diagnostics.filter((d) => d.code === code);
  expect(found, JSON.stringify(r.diagnostics, null, 2)).toHaveLength(1);
  return found[0];
}

/** An error for the model `fast` defined again at `at`, naming the first definition, `first` (column 3 both). */
function expectRedefinedFast(
  d: Diagnostic,
  at: { file: string; line: number },
  first: { file: string; line: number },
): void {
  expect(d).toMatchObject({
    severity: 'error',
    file: at.file,
    line: at.line,
    column: 3,
    pointer: '/models/fast',
    related: [{ file: first.file, line: first.line, column: 3 }],
  });
  expect(d.message).toContain('"fast"');
  expect(d.message).toContain(`${first.file}:${first.line}:3`);
}

describe('parsePolicySources: one file', () => {
  const text = [
    'switchyard: v1', // 1
    'policy: { name: prod, version: "1" }', // 2
    'models:', // 3
    '  fast: { provider: openai, model: gpt-5-nano }', // 4
    'routes:', // 5
    '  - name: chat', // 6
    '    targets: [fast]', // 7
    '',
  ].join('\n');

  it('produces the plain document with no diagnostics', () => {
    const r = parse(text);
    expect(r.diagnostics).toEqual([]);
    expect(r.document).toEqual({
      switchyard: 'v1',
      policy: { name: 'prod', version: '1' },
      models: { fast: { provider: 'openai', model: 'gpt-5-nano' } },
      routes: [{ name: 'chat', targets: ['fast'] }],
    });
    expect(r.sources.get('policy.yaml')).toBe(text);
    expect(r.sourceMap.files).toEqual(['policy.yaml']);
  });

  it('locates values and keys by pointer', () => {
    const { sourceMap } = parse(text);
    expect(sourceMap.locate('')).toMatchObject({ file: 'policy.yaml', line: 1, column: 1 });
    expect(sourceMap.locate('/switchyard')).toEqual({
      file: 'policy.yaml',
      line: 1,
      column: 13,
      endLine: 1,
      endColumn: 15,
    });
    expect(sourceMap.locateKey('/switchyard')).toMatchObject({ line: 1, column: 1, endColumn: 11 });
    expect(sourceMap.locate('/policy/version')).toMatchObject({ line: 2, column: 32 });
    expect(sourceMap.locate('/models/fast')).toMatchObject({ line: 4, column: 9 });
    expect(sourceMap.locateKey('/models/fast')).toMatchObject({ line: 4, column: 3 });
    expect(sourceMap.locate('/routes/0')).toMatchObject({ line: 6, column: 5 });
    expect(sourceMap.locateKey('/routes/0')).toMatchObject({ line: 6, column: 5 }); // no key: falls back
    expect(sourceMap.locate('/routes/0/targets/0')).toMatchObject({ line: 7, column: 15 });
    expect(sourceMap.locate('#/routes/0/targets/0')).toMatchObject({ line: 7, column: 15 });
  });

  it('returns undefined for unknown pointers, and the nearest ancestor on request', () => {
    const { sourceMap } = parse(text);
    expect(sourceMap.locate('/routes/0/when')).toBeUndefined();
    expect(sourceMap.locate('/nope')).toBeUndefined();
    expect(sourceMap.locateNearest('/routes/0/when/model')).toMatchObject({ line: 6, column: 5 });
    expect(sourceMap.locateNearest('/nope/deeper')).toMatchObject({ line: 1, column: 1 });
  });

  it('escapes ~ and / in pointer tokens (RFC 6901)', () => {
    const r = parse('headers:\n  "a/b": 1\n  "c~d": 2\n');
    expect(r.sourceMap.locate('/headers/a~1b')).toMatchObject({ line: 2, column: 10 });
    expect(r.sourceMap.locate('/headers/c~0d')).toMatchObject({ line: 3, column: 10 });
  });

  it('keeps scalar types of YAML 1.2 core and does not re-type strings', () => {
    const r = parse('a: 1\nb: 1.5\nc: true\nd: null\ne: "1"\nf: yes\ng: ~\nh:\n');
    expect(r.document).toEqual({ a: 1, b: 1.5, c: true, d: null, e: '1', f: 'yes', g: null, h: null });
  });

  it('treats a __proto__ key as data, never as the prototype', () => {
    const r = parse('__proto__: { polluted: true }\n');
    const doc = r.document as Record<string, unknown>;
    expect(Object.getPrototypeOf(doc)).toBe(Object.prototype);
    expect(Object.keys(doc)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('parsePolicySources: YAML strictness', () => {
  it('reports syntax errors with positions', () => {
    const r = parse('switchyard: v1\nmodels: { fast: [1, 2\nroutes: []\n');
    expect(r.diagnostics.length).toBeGreaterThan(0);
    for (const d of r.diagnostics) {
      expect(d.code).toBe('PARSE_YAML_SYNTAX');
      expect(d.severity).toBe('error');
      expect(d.file).toBe('policy.yaml');
      expect(d.line).toBeGreaterThanOrEqual(2);
      expect(d.column).toBeGreaterThanOrEqual(1);
    }
    // A file with syntax errors contributes nothing to the merged document.
    expect(r.document).toEqual({});
  });

  it('reports a tab used for indentation at its line', () => {
    const r = parse('models:\n\tfast: 1\n');
    expect(r.diagnostics[0]).toMatchObject({ code: 'PARSE_YAML_SYNTAX', line: 2 });
  });

  it('reports a duplicate key at the second key, with the first as related', () => {
    const r = parse('models:\n  fast: { model: a }\n  slow: { model: b }\n  fast: { model: c }\n');
    const d = only(r, 'PARSE_DUPLICATE_KEY');
    expectRedefinedFast(d, { file: 'policy.yaml', line: 4 }, { file: 'policy.yaml', line: 2 });
    expect(d).toMatchObject({ endLine: 4, endColumn: 7 });
    // The first definition is kept, the duplicate is not silently merged in.
    expect(r.document).toEqual({ models: { fast: { model: 'a' }, slow: { model: 'b' } } });
  });

  it('reports duplicate keys in flow mappings too', () => {
    const r = parse('a: { x: 1, x: 2 }\n');
    expect(only(r, 'PARSE_DUPLICATE_KEY')).toMatchObject({ line: 1, column: 12, pointer: '/a/x' });
  });

  it('rejects a document that is not a mapping', () => {
    for (const text of ['- a\n- b\n', 'just a string\n', '42\n']) {
      const r = parse(text);
      expect(only(r, 'PARSE_NOT_A_MAPPING')).toMatchObject({
        severity: 'error',
        line: 1,
        column: 1,
        pointer: '',
      });
      expect(r.document).toEqual({});
    }
  });

  it('rejects multi-document files at the second document', () => {
    const r = parse('switchyard: v1\n---\nroutes: []\n');
    expect(only(r, 'PARSE_MULTI_DOCUMENT')).toMatchObject({ severity: 'error', line: 2, column: 1 });
  });

  it('warns about an empty file', () => {
    for (const text of ['', '# just a comment\n', '---\n']) {
      const r = parse(text);
      expect(only(r, 'PARSE_EMPTY_FILE').severity).toBe('warning');
      expect(r.document).toEqual({});
    }
  });

  it('rejects collection keys', () => {
    const r = parse('? [a, b]\n: value\nok: 1\n');
    expect(only(r, 'PARSE_COMPLEX_KEY')).toMatchObject({ line: 1, column: 3 });
    expect(r.document).toEqual({ ok: 1 });
  });

  it('resolves aliases, mapping pointers inside them to the anchored source', () => {
    const r = parse('base: &b { timeout: 5s }\nroutes:\n  - defaults: *b\n');
    expect(r.diagnostics).toEqual([]);
    expect(r.document).toEqual({ base: { timeout: '5s' }, routes: [{ defaults: { timeout: '5s' } }] });
    expect(r.sourceMap.locate('/routes/0/defaults')).toMatchObject({ line: 3, column: 15 });
    expect(r.sourceMap.locate('/routes/0/defaults/timeout')).toMatchObject({ line: 1, column: 21 });
  });

  it('reports an alias to an unknown anchor', () => {
    const r = parse('a: *nope\n');
    expect(only(r, 'PARSE_YAML_SYNTAX')).toMatchObject({ line: 1, column: 4, pointer: '/a' });
  });

  it('reports an alias that refers to its own ancestor instead of looping', () => {
    const r = parse('models: &m { fast: *m }\n');
    expect(only(r, 'PARSE_ALIAS_CYCLE')).toMatchObject({ line: 1, column: 20, pointer: '/models/fast' });
  });

  it('bounds alias expansion ("billion laughs")', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (const [name, prev] of [
      ['b', 'a'],
      ['c', 'b'],
      ['d', 'c'],
      ['e', 'd'],
      ['f', 'e'],
      ['g', 'f'],
    ]) {
      lines.push(`${name}: &${name} [${Array(10).fill(`*${prev}`).join(', ')}]`);
    }
    const r = parse(`${lines.join('\n')}\n`);
    expect(only(r, 'PARSE_ALIAS_LIMIT').severity).toBe('error');
  });

  it('treats yaml warnings (unknown tags) as warnings', () => {
    const r = parse('a: !custom value\n');
    expect(only(r, 'PARSE_YAML_WARNING')).toMatchObject({ severity: 'warning', line: 1 });
  });

  it('refuses oversized text', () => {
    const r = parse(`a: "${'x'.repeat(MAX_POLICY_FILE_BYTES)}"\n`);
    expect(codes(r)).toEqual(['PARSE_FILE_TOO_LARGE']);
  });
});

describe('parsePolicySources: ${ENV} interpolation', () => {
  it('substitutes variables and defaults inside strings', () => {
    const r = parse(
      'providers:\n  openai: { apiKey: "${KEY}", baseUrl: "${BASE:-https://api.openai.com}/v1" }\n',
      {
        KEY: 'sk-1',
      },
    );
    expect(r.diagnostics).toEqual([]);
    expect(r.document).toEqual({
      providers: { openai: { apiKey: 'sk-1', baseUrl: 'https://api.openai.com/v1' } },
    });
  });

  it('reports a missing variable at the ${...} token', () => {
    const text = 'providers:\n  openai:\n    kind: openai\n    apiKey: "Bearer ${OPENAI_API_KEY}"\n';
    const d = only(parse(text), 'PARSE_ENV_MISSING');
    expect(d).toMatchObject({
      severity: 'error',
      line: 4,
      column: 21,
      endLine: 4,
      endColumn: 38,
      pointer: '/providers/openai/apiKey',
    });
    expect(d.message).toContain('OPENAI_API_KEY');
  });

  it('locates the second of two identical missing tokens, and tokens in block scalars', () => {
    const r = parse('a: ${X} and ${X}\nb: |\n  line\n  then ${Y}\n');
    const found = r.diagnostics.filter((d) => d.code === 'PARSE_ENV_MISSING').map((d) => [d.line, d.column]);
    expect(found).toEqual([
      [1, 4],
      [1, 13],
      [4, 8],
    ]);
  });

  it('treats $${ as a literal and does not touch keys or non-strings', () => {
    const r = parse('"${KEY}": "$${KEY}"\nn: 5\n', { KEY: 'v' });
    expect(r.diagnostics).toEqual([]);
    expect(r.document).toEqual({ '${KEY}': '${KEY}', n: 5 });
    expect(r.interpolated.size).toBe(0);
  });

  it('records interpolated pointers so later stages can mask them', () => {
    const r = parse('tenants:\n  acme: { keys: ["${ACME_KEY}", plain] }\n', { ACME_KEY: 'k-1' });
    expect([...r.interpolated]).toEqual(['/tenants/acme/keys/0']);
    expect(r.isInterpolated('/tenants/acme/keys/0')).toBe(true);
    expect(r.isInterpolated('/tenants/acme/keys')).toBe(true); // contains one
    expect(r.isInterpolated('')).toBe(true);
    expect(r.isInterpolated('/tenants/acme/keys/1')).toBe(false);
    expect(r.isInterpolated('/tenants/acme/keys/0x')).toBe(false);
  });

  it('reports malformed interpolation', () => {
    const r = parse('a: "${NOT VALID}"\n');
    expect(only(r, 'PARSE_ENV_SYNTAX')).toMatchObject({ line: 1, column: 5 });
  });

  it('reports an aliased missing variable once', () => {
    const r = parse('a: &k "${K}"\nb: *k\n');
    expect(codes(r)).toEqual(['PARSE_ENV_MISSING']);
  });
});

describe('parsePolicySources: fragments', () => {
  const a: PolicySource = {
    file: 'a.yaml',
    text: [
      'switchyard: v1', // 1
      'policy: { name: prod, version: "1" }', // 2
      'models:', // 3
      '  fast: { provider: openai, model: gpt-5-nano }', // 4
      'defaults:', // 5
      '  timeout: { total: 60s }', // 6
      'routes:', // 7
      '  - name: one', // 8
      '  - name: two', // 9
      '  - name: three', // 10
      '',
    ].join('\n'),
  };
  const b: PolicySource = {
    file: 'b.yaml',
    text: [
      'switchyard: v1', // 1
      'models:', // 2
      '  strong: { provider: anthropic, model: claude-4-sonnet }', // 3
      'defaults:', // 4
      '  retry: { attempts: 2 }', // 5
      'routes:', // 6
      '  - name: four', // 7
      '    when: { metadata.task: classification }', // 8
      '    targets: [strong]', // 9
      'guardrails:', // 10
      '  pii: { stage: output, kind: pii }', // 11
      '',
    ].join('\n'),
  };

  it('merges named maps, defaults and routes in file order', () => {
    const r = parsePolicySources([a, b]);
    expect(r.diagnostics).toEqual([]);
    expect(r.document).toEqual({
      switchyard: 'v1',
      policy: { name: 'prod', version: '1' },
      models: {
        fast: { provider: 'openai', model: 'gpt-5-nano' },
        strong: { provider: 'anthropic', model: 'claude-4-sonnet' },
      },
      defaults: { timeout: { total: '60s' }, retry: { attempts: 2 } },
      routes: [
        { name: 'one' },
        { name: 'two' },
        { name: 'three' },
        { name: 'four', when: { 'metadata.task': 'classification' }, targets: ['strong'] },
      ],
      guardrails: { pii: { stage: 'output', kind: 'pii' } },
    });
    expect(r.sourceMap.files).toEqual(['a.yaml', 'b.yaml']);
  });

  it('maps every merged pointer back to its fragment', () => {
    const { sourceMap } = parsePolicySources([a, b]);
    expect(sourceMap.locate('/routes/2')).toMatchObject({ file: 'a.yaml', line: 10, column: 5 });
    expect(sourceMap.locate('/routes/3')).toMatchObject({ file: 'b.yaml', line: 7, column: 5 });
    expect(sourceMap.locate('/routes/3/when')).toMatchObject({ file: 'b.yaml', line: 8, column: 11 });
    expect(sourceMap.locateKey('/routes/3/when')).toMatchObject({ file: 'b.yaml', line: 8, column: 5 });
    expect(sourceMap.locate('/routes/3/targets/0')).toMatchObject({ file: 'b.yaml', line: 9, column: 15 });
    expect(sourceMap.locate('/routes/4')).toBeUndefined();
    expect(sourceMap.locateKey('/models/strong')).toMatchObject({ file: 'b.yaml', line: 3, column: 3 });
    expect(sourceMap.locateKey('/models/fast')).toMatchObject({ file: 'a.yaml', line: 4, column: 3 });
    expect(sourceMap.locate('/defaults/retry/attempts')).toMatchObject({
      file: 'b.yaml',
      line: 5,
      column: 22,
    });
    expect(sourceMap.locate('/guardrails/pii/kind')).toMatchObject({ file: 'b.yaml', line: 11, column: 31 });
    expect(sourceMap.locateKey('/routes')).toMatchObject({ file: 'a.yaml', line: 7 });
    expect(sourceMap.locate('')).toMatchObject({ file: 'a.yaml', line: 1 });
    // Every pointer of the merged document is located.
    const pointers = [...sourceMap.pointers()];
    expect(pointers).toContain('/routes/3/when/metadata.task');
  });

  it('shifts the pointers of a later fragment’s diagnostics past the earlier routes', () => {
    const c = { file: 'c.yaml', text: 'routes:\n  - name: five\n    targets: ["${MISSING}"]\n' };
    const r = parsePolicySources([a, c]);
    expect(only(r, 'PARSE_ENV_MISSING')).toMatchObject({
      file: 'c.yaml',
      line: 3,
      pointer: '/routes/3/targets/0',
    });
  });

  it('reports a name defined in two fragments, naming both places', () => {
    const c = {
      file: 'c.yaml',
      text: 'models:\n  other: { provider: x }\n  fast: { provider: anthropic }\n',
    };
    const r = parsePolicySources([a, c]);
    const d = only(r, 'PARSE_DUPLICATE_NAME');
    expectRedefinedFast(d, { file: 'c.yaml', line: 3 }, { file: 'a.yaml', line: 4 });
    // The first definition wins; the rest of the fragment still merges.
    expect((r.document as { models: Record<string, unknown> }).models).toEqual({
      fast: { provider: 'openai', model: 'gpt-5-nano' },
      other: { provider: 'x' },
    });
    expect(r.sourceMap.locateKey('/models/fast')).toMatchObject({ file: 'a.yaml' });
  });

  it('applies the name rule to any top-level map of names', () => {
    const x = { file: 'x.yaml', text: 'tenants:\n  acme: {}\nextras:\n  thing: 1\n' };
    const y = { file: 'y.yaml', text: 'tenants:\n  acme: {}\nextras:\n  thing: 2\n' };
    const r = parsePolicySources([x, y]);
    expect(codes(r)).toEqual(['PARSE_DUPLICATE_NAME', 'PARSE_DUPLICATE_NAME']);
    expect(r.diagnostics.map((d) => d.pointer)).toEqual(['/tenants/acme', '/extras/thing']);
  });

  it('allows `policy` in one fragment only', () => {
    const c = { file: 'c.yaml', text: 'policy: { name: prod, version: "1" }\n' };
    const d = only(parsePolicySources([a, c]), 'PARSE_FRAGMENT_CONFLICT');
    expect(d).toMatchObject({ file: 'c.yaml', line: 1, column: 1, pointer: '/policy' });
    expect(d.related).toEqual([{ message: expect.any(String), file: 'a.yaml', line: 2, column: 1 }]);
    expect(d.message).toContain('a.yaml:2:1');
  });

  it('requires the same language version where present', () => {
    const same = { file: 'c.yaml', text: 'switchyard: v1\n' };
    expect(parsePolicySources([a, same]).diagnostics).toEqual([]);
    const other = { file: 'c.yaml', text: 'models: {}\nswitchyard: v2\n' };
    expect(only(parsePolicySources([a, other]), 'PARSE_FRAGMENT_CONFLICT')).toMatchObject({
      file: 'c.yaml',
      line: 2,
      pointer: '/switchyard',
    });
  });

  it('reports a defaults entry given in two fragments', () => {
    const c = { file: 'c.yaml', text: 'defaults:\n  timeout: { total: 30s }\n' };
    expect(only(parsePolicySources([a, c]), 'PARSE_FRAGMENT_CONFLICT')).toMatchObject({
      file: 'c.yaml',
      line: 2,
      column: 3,
      pointer: '/defaults/timeout',
      related: [{ file: 'a.yaml', line: 6, column: 3 }],
    });
  });

  it('reports other top-level values that cannot merge', () => {
    const x = { file: 'x.yaml', text: 'extra: 1\nroutes: []\n' };
    const y = { file: 'y.yaml', text: 'extra: 2\nroutes: { not: a list }\n' };
    const r = parsePolicySources([x, y]);
    expect(r.diagnostics.map((d) => [d.code, d.pointer])).toEqual([
      ['PARSE_FRAGMENT_CONFLICT', '/extra'],
      ['PARSE_FRAGMENT_CONFLICT', '/routes'],
    ]);
  });

  it('lets an empty section merge with a full one', () => {
    const x = { file: 'x.yaml', text: 'models:\n' };
    const y = { file: 'y.yaml', text: 'models:\n  fast: {}\n' };
    expect(parsePolicySources([x, y]).document).toEqual({ models: { fast: {} } });
    expect(parsePolicySources([y, x]).document).toEqual({ models: { fast: {} } });
  });

  it('skips fragments with syntax errors but reports everything', () => {
    const broken = { file: 'broken.yaml', text: 'models: { fast: [\n' };
    const r = parsePolicySources([a, broken, b]);
    expect(codes(r).every((c) => c === 'PARSE_YAML_SYNTAX')).toBe(true);
    expect(r.diagnostics.every((d) => d.file === 'broken.yaml')).toBe(true);
    expect((r.document as { routes: unknown[] }).routes).toHaveLength(4);
  });
});

describe('secrets never appear in diagnostics', () => {
  const SECRET = 'sk-live-Sup3rS3cret';

  it('masks interpolated values in every rendered form', () => {
    const sources: PolicySource[] = [
      { file: 'a.yaml', text: 'switchyard: v1\ntenants:\n  acme: { keys: ["${ACME_KEY}"] }\n' },
      {
        file: 'b.yaml',
        text: [
          'switchyard: "${SECRET_VERSION}"',
          'tenants:',
          '  acme: { keys: ["${ACME_KEY}"] }',
          'policy: "${ACME_KEY}"',
          'x: "${ACME_KEY} ${UNSET}"',
          '',
        ].join('\n'),
      },
      { file: 'c.yaml', text: 'policy: "${ACME_KEY}"\ndefaults:\n  token: "${ACME_KEY}"\n' },
      { file: 'd.yaml', text: 'defaults:\n  token: "${ACME_KEY}"\nx: "${ACME_KEY}"\n' },
    ];
    const r = parsePolicySources(sources, { env: { ACME_KEY: SECRET, SECRET_VERSION: SECRET } });
    expect(codes(r)).toEqual(
      expect.arrayContaining(['PARSE_FRAGMENT_CONFLICT', 'PARSE_DUPLICATE_NAME', 'PARSE_ENV_MISSING']),
    );
    expect(r.diagnostics.length).toBeGreaterThanOrEqual(5);
    const rendered = [
      JSON.stringify(r.diagnostics),
      formatHuman(r.diagnostics, r.sources),
      JSON.stringify(formatJson(r.diagnostics)),
      JSON.stringify(formatSarif(r.diagnostics, { toolVersion: '0.0.0' })),
    ];
    for (const text of rendered) expect(text).not.toContain(SECRET);
    // Sanity: the secret did reach the document (so the test is meaningful).
    expect(JSON.stringify(r.document)).toContain(SECRET);
  });
});

describe('loadPolicySources', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'switchyard-load-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads a single file', async () => {
    const file = join(dir, 'policy.yaml');
    await writeFile(file, 'switchyard: v1\nproviders:\n  p: { apiKey: "${K}" }\n');
    const r = await loadPolicySources(file, { env: { K: 'v' } });
    expect(r.diagnostics).toEqual([]);
    expect(r.document).toEqual({ switchyard: 'v1', providers: { p: { apiKey: 'v' } } });
    expect(r.sourceMap.locate('/providers/p/apiKey')).toMatchObject({ file, line: 3 });
  });

  it('defaults the environment to process.env', async () => {
    const file = join(dir, 'policy.yaml');
    await writeFile(file, 'a: "${SWITCHYARD_LOAD_TEST_VAR}"\n');
    process.env.SWITCHYARD_LOAD_TEST_VAR = 'from-env';
    try {
      expect((await loadPolicySources(file)).document).toEqual({ a: 'from-env' });
    } finally {
      delete process.env.SWITCHYARD_LOAD_TEST_VAR;
    }
  });

  it('loads a directory recursively, in relative-path order, skipping tests and dotfiles', async () => {
    await mkdir(join(dir, 'b-dir'));
    await mkdir(join(dir, '.hidden'));
    await writeFile(join(dir, 'a.yaml'), 'switchyard: v1\nroutes:\n  - name: from-a\n');
    await writeFile(join(dir, 'b-dir', 'z.yml'), 'routes:\n  - name: from-b-dir-z\n');
    await writeFile(join(dir, 'c.YAML'), 'routes:\n  - name: from-c\n');
    await writeFile(join(dir, 'a.test.yaml'), 'cases: []\n');
    await writeFile(join(dir, '.secret.yaml'), 'routes:\n  - name: hidden\n');
    await writeFile(join(dir, '.hidden', 'x.yaml'), 'routes:\n  - name: hidden-dir\n');
    await writeFile(join(dir, 'notes.txt'), 'not yaml');
    await symlink(join(dir, 'a.yaml'), join(dir, 'd-link.yaml'));
    const r = await loadPolicySources(dir);
    expect(r.sourceMap.files).toEqual([
      join(dir, 'a.yaml'),
      join(dir, 'b-dir', 'z.yml'),
      join(dir, 'c.YAML'),
      join(dir, 'd-link.yaml'),
    ]);
    const names = (r.document as { routes: { name: string }[] }).routes.map((x) => x.name);
    expect(names).toEqual(['from-a', 'from-b-dir-z', 'from-c', 'from-a']);
    expect(r.sourceMap.locate('/routes/2/name')).toMatchObject({
      file: join(dir, 'c.YAML'),
      line: 2,
      column: 11,
    });
    expect(r.sources.size).toBe(4);
  });

  it('reports a missing path instead of throwing', async () => {
    const missing = join(dir, 'nope.yaml');
    const r = await loadPolicySources(missing);
    expect(r.diagnostics).toEqual([
      expect.objectContaining({
        code: 'PARSE_FILE_READ',
        severity: 'error',
        file: missing,
        line: 1,
        column: 1,
      }),
    ]);
    expect(r.document).toEqual({});
  });

  it('reports a directory without policy files', async () => {
    await writeFile(join(dir, 'only.test.yaml'), 'cases: []\n');
    const r = await loadPolicySources(dir);
    expect(codes(r)).toEqual(['PARSE_NO_FILES']);
  });

  it('refuses files above the size bound without reading them', async () => {
    const big = join(dir, 'big.yaml');
    await writeFile(big, 'a: 1\n');
    await truncate(big, MAX_POLICY_FILE_BYTES + 1);
    await writeFile(join(dir, 'small.yaml'), 'b: 2\n');
    const r = await loadPolicySources(dir);
    expect(codes(r)).toEqual(['PARSE_FILE_TOO_LARGE']);
    expect(r.document).toEqual({ b: 2 });
  });
});
