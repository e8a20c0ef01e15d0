/* biome-ignore-all lint/suspicious/noTemplateCurlyInString: policies under test use ${ENV} interpolation */
import { describe, expect, it } from 'vitest';
import { CATALOGUE, check, HEAD, one } from './helpers.js';

const SECRET = 'sk-live-0123456789abcdef';

function expectNoSecret(r: ReturnType<typeof check>, secret = SECRET): void {
  const text = JSON.stringify([...r.load.diagnostics, ...r.diagnostics]);
  expect(text).not.toContain(secret);
}

describe('validatePolicy: secrets never reach a message', () => {
  it('an interpolated value that fails a pattern is "the value"', () => {
    const r = check(
      `${HEAD}providers:\n  p: { kind: openai, baseUrl: "\${BASE}", apiKey: "\${KEY}" }\nmodels:\n  fast: { provider: p, model: m }\nroutes:\n  - name: chat\n    targets: [fast]\n`,
      { BASE: SECRET, KEY: SECRET },
    );
    const d = one(r, 'SCHEMA_PATTERN');
    expect(d.message.startsWith('the value is not a valid base URL')).toBe(true);
    expectNoSecret(r);
  });

  it('an interpolated provider kind is neither printed nor hinted', () => {
    const r = check(
      `${HEAD}providers:\n  p: { kind: "\${KIND}" }\nroutes:\n  - name: chat\n    targets: [fast]\n`,
      {
        KIND: 'openaii',
      },
    );
    const d = one(r, 'SCHEMA_ENUM');
    expect(d.hint).toBeUndefined();
    expectNoSecret(r, 'openaii');
  });

  it('an interpolated reference is neither printed nor hinted', () => {
    const r = check(`${CATALOGUE}routes:\n  - name: chat\n    targets: ["\${MODEL}"]\n`, { MODEL: 'fsat' });
    const d = one(r, 'REF_UNKNOWN_MODEL');
    expect(d.message).toBe(
      'the value of `targets[0]` of route `chat` is not a known model: not defined in `models`',
    );
    expect(d.hint).toBeUndefined();
    expectNoSecret(r, 'fsat');
  });

  it('secret keys are masked even when written literally (apiKey, headers, redis url)', () => {
    const r = check(
      `${HEAD}providers:\n  p: { kind: openai, baseUrl: "https://x", apiKey: 5, headers: { Authorization: 7 } }\nstores:\n  redis: { url: "${SECRET}" }\nmodels:\n  fast: { provider: p, model: m }\nroutes:\n  - name: chat\n    targets: [fast]\n`,
    );
    expect(r.errors.map((d) => d.pointer)).toEqual(
      expect.arrayContaining([
        '/providers/p/apiKey',
        '/providers/p/headers/Authorization',
        '/stores/redis/url',
      ]),
    );
    expect(r.errors.find((d) => d.pointer === '/stores/redis/url')?.message).toMatch(
      /^the value is not a valid/,
    );
    expectNoSecret(r);
  });

  it('interpolated tenant keys: duplicates and blanks are reported without the key', () => {
    const r = check(
      `${CATALOGUE}tenants:\n  a: { keys: ["\${K1}"] }\n  b: { keys: ["\${K2}", "\${K3}"] }\nroutes:\n  - name: chat\n    targets: [fast]\n`,
      { K1: SECRET, K2: SECRET, K3: '   ' },
    );
    one(r, 'SEM_DUPLICATE_TENANT_KEY');
    one(r, 'SEM_EMPTY_TENANT_KEY');
    expectNoSecret(r);
  });

  it('an interpolated regex that does not compile is not quoted', () => {
    const r = check(
      `${CATALOGUE}routes:\n  - name: chat\n    when: { model: { regex: "\${RE}" } }\n    targets: [fast]\n`,
      {
        RE: '(secret-pattern',
      },
    );
    one(r, 'SEM_INVALID_REGEX');
    expectNoSecret(r, 'secret-pattern');
  });
});
