import { describe, expect, it } from 'vitest';
import { at, CATALOGUE, check, HEAD, itReportsOne, one, withCode } from './helpers.js';

describe('validatePolicy: schema diagnostics', () => {
  it('accepts a minimal valid policy and returns it typed', () => {
    const r = check(`${CATALOGUE}routes:\n  - name: chat\n    targets: [fast]\n`);
    expect(r.diagnostics).toEqual([]);
    expect(r.policy?.routes[0].name).toBe('chat');
  });

  it('SCHEMA_UNKNOWN_KEY locates the key and names the route', () => {
    const r = check(`${CATALOGUE}routes:\n  - name: chat\n    targets: [fast]\n    fallbak: [fast]\n`);
    const d = one(r, 'SCHEMA_UNKNOWN_KEY');
    expect(d.message).toBe('unknown key `fallbak` in route `chat`');
    expect(at(d)).toBe('10:5');
    expect(d.pointer).toBe('/routes/0/fallbak');
    expect(d.route).toBe('chat');
    expect(d.file).toBe('p.yaml');
    expect(r.policy).toBeNull();
  });

  itReportsOne([
    {
      what: 'hints a misspelt key',
      text: `${CATALOGUE}routes:\n  - name: chat\n    targest: [fast]\n`,
      code: 'SCHEMA_UNKNOWN_KEY',
      has: { hint: 'targets' },
      at: '9:5',
      // The missing `targets` is the same mistake: not reported twice.
      none: ['SCHEMA_REQUIRED'],
    },
    {
      what: 'hints `metadata.task` for `metdata.task` (pattern-property prefixes)',
      text: `${CATALOGUE}routes:\n  - name: chat\n    when: { metdata.task: triage }\n    targets: [fast]\n`,
      code: 'SCHEMA_UNKNOWN_KEY',
      has: { hint: 'metadata.task', pointer: '/routes/0/when/metdata.task' },
      at: '9:13',
      mentions: ['`when` of route `chat`'],
    },
    {
      what: 'unknown top-level keys are named as such, with a hint',
      text: `${CATALOGUE}modles: {}\nroutes:\n  - name: chat\n    targets: [fast]\n`,
      code: 'SCHEMA_UNKNOWN_KEY',
      has: { message: 'unknown top-level key `modles`', hint: 'models' },
      at: '7:1',
    },
    {
      what: 'SCHEMA_ENUM for an unknown provider kind (discriminator) hints the nearest kind',
      text: `${HEAD}providers:\n  openai: { kind: openaii, baseUrl: "https://x" }\nroutes:\n  - name: chat\n    targets: [fast]\n`,
      code: 'SCHEMA_ENUM',
      has: {
        hint: 'openai',
        pointer: '/providers/openai/kind',
        message: 'unknown kind `openaii` for provider `openai`: expected `openai`, `anthropic` or `mock`',
      },
      at: '4:19',
    },
    {
      what: 'a misspelt `kind` is named even though no branch can be chosen',
      text: `${HEAD}providers:\n  a: { knid: mock }\nroutes:\n  - name: chat\n    targets: [fast]\n`,
      code: 'SCHEMA_UNKNOWN_KEY',
      has: { hint: 'kind' },
      at: '4:8',
      none: ['SCHEMA_REQUIRED'],
    },
    {
      what: 'SCHEMA_ENUM on a strategy hints `fallback` for `fallbak`',
      text: `${CATALOGUE}routes:\n  - name: chat\n    strategy: fallbak\n    targets: [fast]\n`,
      code: 'SCHEMA_ENUM',
      has: { hint: 'fallback' },
      at: '9:15',
      mentions: ['expected `fallback`, `weighted`, `latency` or `sticky`'],
    },
    {
      what: 'SCHEMA_CONST: the language version must be v1',
      text: `switchyard: v2\npolicy: { name: demo, version: "1" }\nroutes:\n  - name: chat\n    targets: [fast]\n`,
      code: 'SCHEMA_CONST',
      has: { message: 'the language version must be `v1`, not `v2`', pointer: '/switchyard' },
      at: '1:13',
    },
    {
      what: 'SCHEMA_TYPE names the expected and the given type',
      text: `${CATALOGUE}routes:\n  - name: chat\n    targets: [fast]\n    maxAttempts: three\n`,
      code: 'SCHEMA_TYPE',
      has: { message: '`maxAttempts` of route `chat` must be a whole number, not a string' },
      at: '10:18',
    },
    {
      what: 'SCHEMA_REQUIRED locates the object and lists every missing key at once',
      text: `${HEAD}providers:\n  demo: { kind: mock }\nmodels:\n  fast: {}\nroutes:\n  - name: chat\n    targets: [fast]\n`,
      code: 'SCHEMA_REQUIRED',
      has: { message: 'model `fast` is missing `provider` or `model`', pointer: '/models/fast' },
      at: '6:9',
    },
    {
      what: 'SCHEMA_REQUIRED for a limit without `requests` or `tokens` is one diagnostic',
      text: `${CATALOGUE}limits:\n  l: { key: [tenant] }\nroutes:\n  - name: chat\n    targets: [fast]\n`,
      code: 'SCHEMA_REQUIRED',
      has: { message: 'limit `l` needs at least one of `requests` or `tokens`' },
      at: '8:6',
    },
    {
      what: 'SCHEMA_PATTERN says what format is expected, with an example',
      text: `${CATALOGUE}routes:\n  - name: chat\n    targets: [fast]\n    timeout: { total: 30 seconds }\n`,
      code: 'SCHEMA_PATTERN',
      mentions: ['`30 seconds` is not a valid duration for `timeout.total` of route `chat`', 'e.g. `250ms`'],
      at: '10:23',
    },
    {
      what: 'SCHEMA_PATTERN for an invalid name locates the key',
      text: `${CATALOGUE}  9lives: { provider: demo, model: m }\nroutes:\n  - name: chat\n    targets: [fast]\n`,
      code: 'SCHEMA_PATTERN',
      has: { pointer: '/models/9lives' },
      mentions: ['`9lives` is not a valid model name'],
      at: '7:3',
    },
    {
      what: 'budget onExceeded: a misspelt `block` is one SCHEMA_CONST with a hint',
      text: `${CATALOGUE}budgets:\n  b: { key: [tenant], usd: 5/day, onExceeded: blok }\nroutes:\n  - name: chat\n    targets: [fast]\n    budgets: [b]\n`,
      code: 'SCHEMA_CONST',
      has: { hint: 'block', pointer: '/budgets/b/onExceeded' },
      none: ['SCHEMA_TYPE'],
    },
    {
      what: 'every schema diagnostic has a location in the file',
      text: `${HEAD}routes: 5\n`,
      code: 'SCHEMA_TYPE',
      has: { message: '`routes` must be a list, not a number' },
      at: '3:9',
    },
    {
      what: 'a bad nested group target reports the inner problem only',
      text: `${CATALOGUE}routes:\n  - name: chat\n    targets:\n      - strategy: fallback\n        targets: [{ model: fast, weight: -1 }]\n`,
      code: 'SCHEMA_RANGE',
      onlyError: true,
      has: { pointer: '/routes/0/targets/0/targets/0/weight' },
      at: '11:42',
    },
    {
      what: 'a condition written as a list is one SCHEMA_TYPE with an `in` suggestion',
      text: `${CATALOGUE}routes:\n  - name: chat\n    when: { model: [a, b] }\n    targets: [fast]\n`,
      code: 'SCHEMA_TYPE',
      onlyError: true,
      mentions: ['`{ in: [...] }`'],
      at: '9:20',
    },
    {
      what: 'an operator object with a bad operator value reports that operator',
      text: `${CATALOGUE}routes:\n  - name: chat\n    when: { input.tokens: { gt: lots } }\n    targets: [fast]\n`,
      code: 'SCHEMA_TYPE',
      onlyError: true,
      has: { pointer: '/routes/0/when/input.tokens/gt' },
    },
  ]);

  it('SCHEMA_ENUM without a hint for nonsense', () => {
    const r = check(`${CATALOGUE}routes:\n  - name: chat\n    strategy: zzzzzz\n    targets: [fast]\n`);
    expect(one(r, 'SCHEMA_ENUM').hint).toBeUndefined();
  });

  it('reports only the chosen discriminated branch (no oneOf wall)', () => {
    const r = check(
      `${HEAD}providers:\n  a: { kind: anthropic, baseUrl: "https://x", bogus: 1 }\nroutes:\n  - name: chat\n    targets: [fast]\n`,
    );
    const schema = r.diagnostics.filter((d) => d.code.startsWith('SCHEMA_'));
    expect(schema.map((d) => d.code)).toEqual(['SCHEMA_UNKNOWN_KEY']);
    expect(schema[0].pointer).toBe('/providers/a/bogus');
  });

  it('SCHEMA_RANGE for numbers, empty lists and duplicates', () => {
    const r = check(
      `${CATALOGUE}routes:\n  - name: chat\n    targets: [fast]\n    retry: { attempts: 50, retryOn: [connect, connect] }\n    when: {}\n`,
    );
    const ranges = withCode(r, 'SCHEMA_RANGE');
    expect(ranges.map((d) => [d.pointer, at(d)])).toEqual([
      ['/routes/0/retry/attempts', '10:24'],
      ['/routes/0/retry/retryOn', '10:37'],
      ['/routes/0/when', '11:11'],
    ]);
    expect(ranges[0].message).toBe('`retry.attempts` of route `chat` must be at most 10');
    expect(ranges[2].message).toContain('omit `when` to match every request');
  });

  it('a bad target gives exactly one diagnostic (no oneOf wall)', () => {
    for (const target of ['3', '{ model: fast, wieght: 2 }', '[fast]', '{ strategy: fallback }']) {
      const r = check(`${CATALOGUE}routes:\n  - name: chat\n    targets: [${target}]\n`);
      expect(r.errors, target).toHaveLength(1);
      expect(r.errors[0].pointer.startsWith('/routes/0/targets/0'), target).toBe(true);
    }
    const r = check(`${CATALOGUE}routes:\n  - name: chat\n    targets: [3]\n`);
    expect(r.errors[0].code).toBe('SCHEMA_TYPE');
    expect(r.errors[0].message).toContain('a model name, a model with a weight, or a nested group');
    expect(at(r.errors[0])).toBe('9:15');
  });

  it('does not run when the load stage failed on the whole document', () => {
    const r = check('switchyard: [v1\n');
    expect(r.policy).toBeNull();
    expect(r.diagnostics).toEqual([]);
    expect(r.load.diagnostics.length).toBeGreaterThan(0);
  });

  it('does not repeat what the load stage reported (duplicate keys), and returns no policy', () => {
    const r = check(
      `${CATALOGUE}  fast: { provider: demo, model: m2 }\nroutes:\n  - name: chat\n    targets: [fast]\n`,
    );
    expect(r.load.diagnostics.map((d) => d.code)).toEqual(['PARSE_DUPLICATE_KEY']);
    expect(r.errors).toEqual([]);
    expect(r.policy).toBeNull();
  });
});
