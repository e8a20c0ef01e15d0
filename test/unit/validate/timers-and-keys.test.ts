import { describe, expect, it } from 'vitest';
import * as publicEntry from '../../../engine/index.js';
import { ERROR_CLASSES, NEVER_RETRIED } from '../../../engine/types.js';
import { CATALOGUE, check, one, withCode } from './helpers.js';

const ROUTE = 'routes:\n  - name: chat\n    targets: [fast]\n';

describe('SEM_BAD_DURATION: timer bounds', () => {
  it.each([
    ['defaults:\n  timeout: { total: 30d }\n', '/defaults/timeout/total'],
    ['defaults:\n  timeout: { idle: 25d }\n', '/defaults/timeout/idle'],
    ['defaults:\n  retry: { backoff: { max: 30d } }\n', '/defaults/retry/backoff/max'],
    ['defaults:\n  retry: { respectRetryAfter: 30d }\n', '/defaults/retry/respectRetryAfter'],
    ['defaults:\n  breaker: { cooldown: 30d }\n', '/defaults/breaker/cooldown'],
  ])('refuses a timer longer than 2^31-1 ms: %s', (text, pointer) => {
    const r = check(`${CATALOGUE}${text}${ROUTE}`);
    const d = one(r, 'SEM_BAD_DURATION');
    expect(d).toMatchObject({ severity: 'error', pointer });
    expect(d.message).toContain('2147483647ms');
    expect(r.policy).toBeNull();
  });

  it('accepts 24 days (under the limit)', () => {
    const r = check(`${CATALOGUE}defaults:\n  timeout: { total: 24d, firstToken: 24d }\n${ROUTE}`);
    expect(withCode(r, 'SEM_BAD_DURATION')).toEqual([]);
  });

  it.each(['total', 'firstToken', 'idle', 'connect'])('refuses a zero timeout.%s', (key) => {
    const r = check(`${CATALOGUE}${ROUTE}    timeout: { ${key}: 0ms }\n`);
    const d = one(r, 'SEM_BAD_DURATION');
    expect(d.pointer).toBe(`/routes/0/timeout/${key}`);
    expect(d.message).toMatch(/is 0/);
  });

  it('leaves a long cache ttl and budget period alone (they are not timers)', () => {
    const r = check(
      `${CATALOGUE}caches:\n  c: { mode: exact, ttl: 365d, key: [messages] }\n${ROUTE}    cache: c\n`,
    );
    expect(withCode(r, 'SEM_BAD_DURATION')).toEqual([]);
  });
});

describe('cache keys', () => {
  it('refuses an empty key list (schema minItems)', () => {
    const r = check(`${CATALOGUE}caches:\n  c: { mode: exact, ttl: 1h, key: [] }\n${ROUTE}    cache: c\n`);
    expect(r.errors.map((d) => d.pointer)).toContain('/caches/c/key');
    expect(r.policy).toBeNull();
  });

  it('SEM_CACHE_KEY warns when the key names neither messages nor a body field', () => {
    const r = check(
      `${CATALOGUE}caches:\n  c: { mode: exact, ttl: 1h, key: [model, tenant] }\n${ROUTE}    cache: c\n`,
    );
    expect(one(r, 'SEM_CACHE_KEY')).toMatchObject({ severity: 'warning', pointer: '/caches/c/key' });
    for (const key of ['[model, messages]', '[body.input]']) {
      const ok = check(
        `${CATALOGUE}caches:\n  c: { mode: exact, ttl: 1h, key: ${key} }\n${ROUTE}    cache: c\n`,
      );
      expect(withCode(ok, 'SEM_CACHE_KEY')).toEqual([]);
    }
  });
});

describe('SEM_NEVER_RETRIED', () => {
  it('has one source: the public entry re-exports the set of engine/types.ts', () => {
    expect(publicEntry.NEVER_RETRIED).toBe(NEVER_RETRIED);
  });

  it.each(ERROR_CLASSES)('warns about `retryOn: [%s]` exactly when the engine never retries it', (cls) => {
    const r = check(`${CATALOGUE}defaults:\n  retry: { retryOn: [${cls}] }\n${ROUTE}`);
    expect(withCode(r, 'SEM_NEVER_RETRIED')).toHaveLength(NEVER_RETRIED.has(cls) ? 1 : 0);
  });

  it('warns naming the classes that are never retried on the same target', () => {
    const r = check(
      `${CATALOGUE}defaults:\n  retry: { retryOn: [server_error, timeout, context_length] }\n${ROUTE}`,
    );
    const d = one(r, 'SEM_NEVER_RETRIED');
    expect(d).toMatchObject({ severity: 'warning', pointer: '/defaults/retry/retryOn' });
    expect(d.message).toContain('`timeout` and `context_length`');
    expect(d.message).not.toContain('server_error');
    expect(r.policy).not.toBeNull();
    expect(
      withCode(
        check(`${CATALOGUE}defaults:\n  retry: { retryOn: [server_error] }\n${ROUTE}`),
        'SEM_NEVER_RETRIED',
      ),
    ).toEqual([]);
  });
});

describe('API keys with whitespace', () => {
  it('refuses a tenant key containing whitespace without printing it', () => {
    const r = check(`${CATALOGUE}tenants:\n  acme: { keys: ["sk secret-123"] }\n${ROUTE}`);
    const d = one(r, 'SEM_BAD_API_KEY');
    expect(d).toMatchObject({ severity: 'error', pointer: '/tenants/acme/keys/0' });
    expect(JSON.stringify(r.diagnostics)).not.toContain('secret-123');
  });

  it('refuses an interpolated key with a trailing newline, and a provider apiKey with a space', () => {
    const r = check(`${CATALOGUE}tenants:\n  acme: { keys: ["\${K}"] }\n${ROUTE}`, { K: 'sk-abc\n' });
    expect(one(r, 'SEM_BAD_API_KEY').pointer).toBe('/tenants/acme/keys/0');
    const p = check(
      `${CATALOGUE.replace('demo: { kind: mock }', 'demo: { kind: openai, baseUrl: "https://x", apiKey: "sk abc-777" }')}${ROUTE}`,
    );
    expect(one(p, 'SEM_BAD_API_KEY').pointer).toBe('/providers/demo/apiKey');
    expect(JSON.stringify(p.diagnostics)).not.toContain('abc-777');
  });
});

describe('SEM_WEIGHT_IGNORED', () => {
  const two = `${CATALOGUE}  strong: { provider: demo, model: m2 }\n`;
  it.each([
    ['', 'fallback'],
    ['    strategy: fallback\n', 'fallback'],
    ['    strategy: latency\n', 'latency'],
  ])('warns on weights of a %s group', (strategy, name) => {
    const r = check(
      `${two}routes:\n  - name: chat\n${strategy}    targets: [{ model: fast, weight: 0 }, strong]\n`,
    );
    const d = one(r, 'SEM_WEIGHT_IGNORED');
    expect(d).toMatchObject({ severity: 'warning', pointer: '/routes/0/targets/0/weight' });
    expect(d.message).toContain(`strategy: ${name}`);
  });

  it('is quiet for weighted and sticky groups', () => {
    for (const s of ['weighted', 'sticky\n    stickyKey: header.x-session']) {
      const r = check(
        `${two}routes:\n  - name: chat\n    strategy: ${s}\n    targets: [{ model: fast, weight: 3 }, strong]\n`,
      );
      expect(withCode(r, 'SEM_WEIGHT_IGNORED')).toEqual([]);
    }
  });
});

describe('wording', () => {
  it('keeps acronyms: "not a valid URL"', () => {
    const r = check(`${CATALOGUE}stores:\n  redis: { url: "http://x" }\n${ROUTE}`);
    const msgs = r.diagnostics.map((d) => d.message).join('\n');
    expect(msgs).toContain('is not a valid URL for `stores.redis.url`');
    expect(msgs).not.toMatch(/uRL/);
  });

  it('an interpolated regex reads "the value of … is not a valid regular expression"', () => {
    const r = check(
      `${CATALOGUE}routes:\n  - name: chat\n    when: { model: { regex: "\${RX}" } }\n    targets: [fast]\n`,
      {
        RX: '(',
      },
    );
    const d = one(r, 'SEM_INVALID_REGEX');
    expect(d.message).toMatch(
      /^the value of `when\.model\.regex` of route `chat` is not a valid regular expression/,
    );
    expect(d.message).not.toContain('regular expression the value');
  });
});
