import { describe, expect, it } from 'vitest';
import { at, CATALOGUE, check, HEAD, one, withCode } from './helpers.js';

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

  it('hints a misspelt key', () => {
    const r = check(`${CATALOGUE}routes:\n  - name: chat\n    targest: [fast]\n`);
    const d = one(r, 'SCHEMA_UNKNOWN_KEY');
    expect(d.hint).toBe('targets');
    expect(at(d)).toBe('9:5');
    // The missing `targets` is the same mistake: not reported twice.
    expect(withCode(r, 'SCHEMA_REQUIRED')).toEqual([]);
  });

  it('hints `metadata.task` for `metdata.task` (pattern-property prefixes)', () => {
    const r = check(
      `${CATALOGUE}routes:\n  - name: chat\n    when: { metdata.task: triage }\n    targets: [fast]\n`,
    );
    const d = one(r, 'SCHEMA_UNKNOWN_KEY');
    expect(d.hint).toBe('metadata.task');
    expect(d.pointer).toBe('/routes/0/when/metdata.task');
    expect(at(d)).toBe('9:13');
    expect(d.message).toContain('`when` of route `chat`');
  });

  it('unknown top-level keys are named as such, with a hint', () => {
    const r = check(`${CATALOGUE}modles: {}\nroutes:\n  - name: chat\n    targets: [fast]\n`);
    const d = one(r, 'SCHEMA_UNKNOWN_KEY');
    expect(d.message).toBe('unknown top-level key `modles`');
    expect(d.hint).toBe('models');
    expect(at(d)).toBe('7:1');
  });

  it('SCHEMA_ENUM for an unknown provider kind (discriminator) hints the nearest kind', () => {
    const r = check(
      `${HEAD}providers:\n  openai: { kind: openaii, baseUrl: "https://x" }\nroutes:\n  - name: chat\n    targets: [fast]\n`,
    );
    const d = one(r, 'SCHEMA_ENUM');
    expect(d.hint).toBe('openai');
    expect(d.pointer).toBe('/providers/openai/kind');
    expect(at(d)).toBe('4:19');
    expect(d.message).toBe(
      'unknown kind `openaii` for provider `openai`: expected `openai`, `anthropic` or `mock`',
    );
  });

  it('reports only the chosen discriminated branch (no oneOf wall)', () => {
    const r = check(
      `${HEAD}providers:\n  a: { kind: anthropic, baseUrl: "https://x", bogus: 1 }\nroutes:\n  - name: chat\n    targets: [fast]\n`,
    );
    const schema = r.diagnostics.filter((d) => d.code.startsWith('SCHEMA_'));
    expect(schema.map((d) => d.code)).toEqual(['SCHEMA_UNKNOWN_KEY']);
    expect(schema[0].pointer).toBe('/providers/a/bogus');
  });

  it('a misspelt `kind` is named even though no branch can be chosen', () => {
    const r = check(`${HEAD}providers:\n  a: { knid: mock }\nroutes:\n  - name: chat\n    targets: [fast]\n`);
    const d = one(r, 'SCHEMA_UNKNOWN_KEY');
    expect(d.hint).toBe('kind');
    expect(at(d)).toBe('4:8');
    expect(withCode(r, 'SCHEMA_REQUIRED')).toEqual([]);
  });

  it('SCHEMA_ENUM on a strategy hints `fallback` for `fallbak`', () => {
    const r = check(`${CATALOGUE}routes:\n  - name: chat\n    strategy: fallbak\n    targets: [fast]\n`);
    const d = one(r, 'SCHEMA_ENUM');
    expect(d.hint).toBe('fallback');
    expect(at(d)).toBe('9:15');
    expect(d.message).toContain('expected `fallback`, `weighted`, `latency` or `sticky`');
  });

  it('SCHEMA_ENUM without a hint for nonsense', () => {
    const r = check(`${CATALOGUE}routes:\n  - name: chat\n    strategy: zzzzzz\n    targets: [fast]\n`);
    expect(one(r, 'SCHEMA_ENUM').hint).toBeUndefined();
  });

  it('SCHEMA_CONST: the language version must be v1', () => {
    const r = check(
      `switchyard: v2\npolicy: { name: demo, version: "1" }\nroutes:\n  - name: chat\n    targets: [fast]\n`,
    );
    const d = one(r, 'SCHEMA_CONST');
    expect(d.message).toBe('the language version must be `v1`, not `v2`');
    expect(at(d)).toBe('1:13');
    expect(d.pointer).toBe('/switchyard');
  });

  it('SCHEMA_TYPE names the expected and the given type', () => {
    const r = check(`${CATALOGUE}routes:\n  - name: chat\n    targets: [fast]\n    maxAttempts: three\n`);
    const d = one(r, 'SCHEMA_TYPE');
    expect(d.message).toBe('`maxAttempts` of route `chat` must be a whole number, not a string');
    expect(at(d)).toBe('10:18');
  });

  it('SCHEMA_REQUIRED locates the object and lists every missing key at once', () => {
    const r = check(
      `${HEAD}providers:\n  demo: { kind: mock }\nmodels:\n  fast: {}\nroutes:\n  - name: chat\n    targets: [fast]\n`,
    );
    const d = one(r, 'SCHEMA_REQUIRED');
    expect(d.message).toBe('model `fast` is missing `provider` or `model`');
    expect(d.pointer).toBe('/models/fast');
    expect(at(d)).toBe('6:9');
  });

  it('SCHEMA_REQUIRED for a limit without `requests` or `tokens` is one diagnostic', () => {
    const r = check(
      `${CATALOGUE}limits:\n  l: { key: [tenant] }\nroutes:\n  - name: chat\n    targets: [fast]\n`,
    );
    const d = one(r, 'SCHEMA_REQUIRED');
    expect(d.message).toBe('limit `l` needs at least one of `requests` or `tokens`');
    expect(at(d)).toBe('8:6');
  });

  it('SCHEMA_PATTERN says what format is expected, with an example', () => {
    const r = check(
      `${CATALOGUE}routes:\n  - name: chat\n    targets: [fast]\n    timeout: { total: 30 seconds }\n`,
    );
    const d = one(r, 'SCHEMA_PATTERN');
    expect(d.message).toContain('`30 seconds` is not a valid duration for `timeout.total` of route `chat`');
    expect(d.message).toContain('e.g. `250ms`');
    expect(at(d)).toBe('10:23');
  });

  it('SCHEMA_PATTERN for an invalid name locates the key', () => {
    const r = check(
      `${CATALOGUE}  9lives: { provider: demo, model: m }\nroutes:\n  - name: chat\n    targets: [fast]\n`,
    );
    const d = one(r, 'SCHEMA_PATTERN');
    expect(d.pointer).toBe('/models/9lives');
    expect(d.message).toContain('`9lives` is not a valid model name');
    expect(at(d)).toBe('7:3');
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

  it('a bad nested group target reports the inner problem only', () => {
    const r = check(
      `${CATALOGUE}routes:\n  - name: chat\n    targets:\n      - strategy: fallback\n        targets: [{ model: fast, weight: -1 }]\n`,
    );
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0].code).toBe('SCHEMA_RANGE');
    expect(r.errors[0].pointer).toBe('/routes/0/targets/0/targets/0/weight');
    expect(at(r.errors[0])).toBe('11:42');
  });

  it('a condition written as a list is one SCHEMA_TYPE with an `in` suggestion', () => {
    const r = check(
      `${CATALOGUE}routes:\n  - name: chat\n    when: { model: [a, b] }\n    targets: [fast]\n`,
    );
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0].code).toBe('SCHEMA_TYPE');
    expect(r.errors[0].message).toContain('`{ in: [...] }`');
    expect(at(r.errors[0])).toBe('9:20');
  });

  it('an operator object with a bad operator value reports that operator', () => {
    const r = check(
      `${CATALOGUE}routes:\n  - name: chat\n    when: { input.tokens: { gt: lots } }\n    targets: [fast]\n`,
    );
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0].pointer).toBe('/routes/0/when/input.tokens/gt');
    expect(r.errors[0].code).toBe('SCHEMA_TYPE');
  });

  it('budget onExceeded: a misspelt `block` is one SCHEMA_CONST with a hint', () => {
    const r = check(
      `${CATALOGUE}budgets:\n  b: { key: [tenant], usd: 5/day, onExceeded: blok }\nroutes:\n  - name: chat\n    targets: [fast]\n    budgets: [b]\n`,
    );
    const d = one(r, 'SCHEMA_CONST');
    expect(d.hint).toBe('block');
    expect(d.pointer).toBe('/budgets/b/onExceeded');
    expect(withCode(r, 'SCHEMA_TYPE')).toEqual([]);
  });

  it('every schema diagnostic has a location in the file', () => {
    const r = check(`${HEAD}routes: 5\n`);
    const d = one(r, 'SCHEMA_TYPE');
    expect(at(d)).toBe('3:9');
    expect(d.message).toBe('`routes` must be a list, not a number');
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
