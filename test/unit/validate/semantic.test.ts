import { describe, expect, it } from 'vitest';
import { at, CATALOGUE, check, one, withCode } from './helpers.js';

const route = (body: string): string => `${CATALOGUE}routes:\n${body}`;

/** The one SEM_UNREACHABLE_ROUTE among `routes`, related to the route before it that matches first. */
function unreachable(routes: string, firstMatch: { line: number; column: number }) {
  const r = check(route(routes));
  const d = one(r, 'SEM_UNREACHABLE_ROUTE');
  expect(d.related?.[0]).toMatchObject(firstMatch);
  return { r, d };
}

describe('validatePolicy: semantic checks', () => {
  it('SEM_DUPLICATE_ROUTE at the second route, related to the first', () => {
    const r = check(
      route(
        '  - name: chat\n    when: { stream: true }\n    targets: [fast]\n  - name: chat\n    targets: [fast]\n',
      ),
    );
    const d = one(r, 'SEM_DUPLICATE_ROUTE');
    expect(at(d)).toBe('11:11');
    expect(d.related).toEqual([
      { message: 'route `chat` is first defined here', file: 'p.yaml', line: 8, column: 11 },
    ]);
    expect(r.policy).toBeNull();
  });

  it('SEM_UNREACHABLE_ROUTE after a catch-all (warning, policy still valid)', () => {
    const { r, d } = unreachable(
      '  - name: default\n    targets: [fast]\n  - name: chat\n    when: { model: gpt-5 }\n    targets: [fast]\n',
      { line: 8, column: 5 },
    );
    expect(d.severity).toBe('warning');
    expect(d.pointer).toBe('/routes/1');
    expect(d.route).toBe('chat');
    expect(at(d)).toBe('10:5');
    expect(d.message).toContain('route `default` before it has no `when`');
    expect(r.policy).not.toBeNull();
  });

  it('SEM_UNREACHABLE_ROUTE after an identical `when` (key order does not matter)', () => {
    const { d } = unreachable(
      '  - name: a\n    when: { model: gpt-5, stream: true }\n    targets: [fast]\n  - name: b\n    when: { stream: true, model: gpt-5 }\n    targets: [fast]\n',
      { line: 9, column: 11 },
    );
    expect(d.route).toBe('b');
  });

  it('distinct conditions are not unreachable', () => {
    const r = check(
      route(
        '  - name: a\n    when: { model: x }\n    targets: [fast]\n  - name: b\n    when: { model: y }\n    targets: [fast]\n',
      ),
    );
    expect(r.diagnostics).toEqual([]);
  });

  it('SEM_UNUSED for every kind of definition', () => {
    const r = check(
      `${CATALOGUE}  spare: { provider: extra, model: m }\nroutes:\n  - name: chat\n    targets: [fast]\n`.replace(
        'providers:\n  demo: { kind: mock }\n',
        'providers:\n  demo: { kind: mock }\n  extra: { kind: mock }\n  idle: { kind: mock }\n',
      ),
    );
    const unused = withCode(r, 'SEM_UNUSED');
    expect(unused.map((d) => [d.pointer, at(d), d.severity])).toEqual([
      ['/providers/idle', '6:3', 'warning'],
      ['/models/spare', '9:3', 'warning'],
    ]);
    expect(unused[1].message).toBe(
      'model `spare` is defined but never used: no route, budget or classifier uses it',
    );
  });

  it('SEM_INVALID_REGEX in nested combinators and guardrails', () => {
    const r = check(
      `${CATALOGUE}guardrails:\n  g: { stage: input, kind: regex, deny: ["ok", "(unclosed"], action: block }\nroutes:\n  - name: chat\n    when:\n      any:\n        - not: { model: { regex: "[z-a]" } }\n        - path: { regex: "(?i)^/v1" }\n    targets: [fast]\n`,
    );
    const regexes = withCode(r, 'SEM_INVALID_REGEX');
    expect(regexes.map((d) => [d.pointer, at(d)])).toEqual([
      ['/guardrails/g/deny/1', '8:48'],
      ['/routes/0/when/any/0/not/model/regex', '13:34'],
    ]);
    expect(regexes[1].message).toMatch(
      /^invalid regular expression `\[z-a\]` in `when\.any\[0\]\.not\.model\.regex` of route `chat`: /,
    );
  });

  it('SEM_INVALID_CONDITION: numeric operators on text, text operators on numbers, non-booleans', () => {
    const r = check(
      route(
        '  - name: chat\n    when:\n      model: { gt: 4 }\n      input.tokens: { glob: "1*" }\n      stream: "yes"\n      header.x-a: { lte: 1 }\n      metadata.n: { gt: 1 }\n    targets: [fast]\n',
      ),
    );
    const conds = withCode(r, 'SEM_INVALID_CONDITION');
    expect(conds.map((d) => [d.pointer, at(d)])).toEqual([
      ['/routes/0/when/model/gt', '10:20'],
      ['/routes/0/when/input.tokens/glob', '11:29'],
      ['/routes/0/when/stream', '12:15'],
      ['/routes/0/when/header.x-a/lte', '13:26'],
    ]);
  });

  it('SEM_ZERO_WEIGHTS', () => {
    const r = check(
      route('  - name: chat\n    strategy: weighted\n    targets: [{ model: fast, weight: 0 }]\n'),
    );
    const d = one(r, 'SEM_ZERO_WEIGHTS');
    expect(d.pointer).toBe('/routes/0/targets');
    expect(at(d)).toBe('10:14');
  });

  it('SEM_GROUP_DEPTH beyond 8 nested groups', () => {
    let targets = '[fast]';
    for (let i = 0; i < 9; i++) targets = `[{ targets: ${targets} }]`;
    const r = check(route(`  - name: chat\n    targets: ${targets}\n`));
    const d = one(r, 'SEM_GROUP_DEPTH');
    expect(d.pointer).toBe(`/routes/0${'/targets/0'.repeat(9)}`);
    let ok = '[fast]';
    for (let i = 0; i < 8; i++) ok = `[{ targets: ${ok} }]`;
    expect(check(route(`  - name: chat\n    targets: ${ok}\n`)).diagnostics).toEqual([]);
  });

  it('SEM_STICKY_KEY: sticky without a key is an error, a key without sticky a warning', () => {
    const r = check(
      route(
        '  - name: chat\n    strategy: sticky\n    targets: [fast, { stickyKey: tenant, targets: [fast] }]\n',
      ),
    );
    const ds = withCode(r, 'SEM_STICKY_KEY');
    expect(ds.map((d) => [d.severity, d.pointer, at(d)])).toEqual([
      ['error', '/routes/0/strategy', '9:15'],
      ['warning', '/routes/0/targets/1/stickyKey', '10:23'],
    ]);
  });

  it('SEM_BAD_DURATION / SEM_BAD_RATE / SEM_BAD_SIZE for values that pass the pattern but overflow', () => {
    const r = check(
      `${CATALOGUE}limits:\n  l: { key: [tenant], requests: 1/99999999999999999999d }\ncaches:\n  c: { mode: exact, ttl: 1h, maxSize: 99999999999gb }\nroutes:\n  - name: chat\n    targets: [fast]\n    timeout: { total: 99999999999999999999d }\n`,
    );
    expect(one(r, 'SEM_BAD_RATE')).toMatchObject({ pointer: '/limits/l/requests', line: 8, column: 33 });
    expect(one(r, 'SEM_BAD_SIZE')).toMatchObject({ pointer: '/caches/c/maxSize', line: 10 });
    const d = one(r, 'SEM_BAD_DURATION');
    expect(d).toMatchObject({ pointer: '/routes/0/timeout/total', line: 14, column: 23 });
    expect(d.message).toContain('too large');
  });

  it('SEM_TIMEOUT_ORDER (warning) in a scope and against inherited defaults', () => {
    const r = check(
      `${CATALOGUE}defaults:\n  timeout: { firstToken: 20s, total: 60s }\nroutes:\n  - name: chat\n    targets: [fast]\n    timeout: { total: 10s }\n  - name: b\n    targets: [fast]\n    timeout: { connect: 90s }\n`,
    );
    const ds = withCode(r, 'SEM_TIMEOUT_ORDER');
    expect(ds.map((d) => [d.severity, d.pointer, at(d)])).toEqual([
      ['warning', '/routes/0/timeout/total', '12:23'],
      ['warning', '/routes/1/timeout/connect', '15:25'],
    ]);
    expect(ds[0].message).toBe(
      '`firstToken` (`20s`) is longer than `total` (`10s`) in `timeout` of route `chat`; the total deadline cuts it short',
    );
  });

  it('SEM_DUPLICATE_TENANT_KEY without printing the key', () => {
    const r = check(
      route('  - name: chat\n    targets: [fast]\n').replace(
        'routes:',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: an interpolation in the policy text
        'tenants:\n  acme: { keys: [k-1, "${SHARED}"] }\n  globex: { keys: ["${SHARED}"] }\nroutes:',
      ),
      { SHARED: 'sk-very-secret' },
    );
    const d = one(r, 'SEM_DUPLICATE_TENANT_KEY');
    expect(d.pointer).toBe('/tenants/globex/keys/0');
    expect(at(d)).toBe('9:20');
    expect(d.related?.[0]).toMatchObject({ line: 8, column: 23 });
    expect(JSON.stringify(r.diagnostics)).not.toContain('sk-very-secret');
  });

  it('SEM_EMPTY_TENANT_KEY for a blank key', () => {
    const r = check(
      route('  - name: chat\n    targets: [fast]\n').replace(
        'routes:',
        'tenants:\n  acme: { keys: ["  "] }\nroutes:',
      ),
    );
    expect(one(r, 'SEM_EMPTY_TENANT_KEY')).toMatchObject({ pointer: '/tenants/acme/keys/0', line: 8 });
  });

  it('SEM_PREFILL_CONTINUE unless a later target declares prefill', () => {
    const base = `${CATALOGUE}  strong: { provider: demo, model: m2 }\nroutes:\n  - name: chat\n    targets: [fast, strong]\n    stream: { midStream: continue }\n`;
    const d = one(check(base), 'SEM_PREFILL_CONTINUE');
    expect(d).toMatchObject({
      severity: 'warning',
      pointer: '/routes/0/stream/midStream',
      line: 11,
      column: 26,
    });
    const ok = base.replace('model: m2 }', 'model: m2, capabilities: { prefill: true } }');
    expect(withCode(check(ok), 'SEM_PREFILL_CONTINUE')).toEqual([]);
    const inherited = `${CATALOGUE}defaults:\n  stream: { midStream: continue }\nroutes:\n  - name: chat\n    targets: [fast]\n`;
    expect(one(check(inherited), 'SEM_PREFILL_CONTINUE')).toMatchObject({ pointer: '/routes/0', line: 10 });
  });

  it('collects every problem in one run', () => {
    const r = check(
      route(
        '  - name: chat\n    targets: [fsat]\n    strategy: sticky\n  - name: chat\n    targets: [fast]\n',
      ),
    );
    expect(r.errors.map((d) => d.code)).toEqual([
      'REF_UNKNOWN_MODEL',
      'SEM_STICKY_KEY',
      'SEM_DUPLICATE_ROUTE',
    ]);
  });
});
