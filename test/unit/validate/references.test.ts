import { describe, expect, it } from 'vitest';
import { at, CATALOGUE, check, HEAD, one, withCode } from './helpers.js';

describe('validatePolicy: references', () => {
  it('REF_UNKNOWN_MODEL hints `fast` for `fsat`', () => {
    const r = check(`${CATALOGUE}routes:\n  - name: chat\n    targets: [fsat]\n`);
    const d = one(r, 'REF_UNKNOWN_MODEL');
    expect(d.hint).toBe('fast');
    expect(d.pointer).toBe('/routes/0/targets/0');
    expect(at(d)).toBe('9:15');
    expect(d.route).toBe('chat');
    expect(d.message).toBe('unknown model `fsat` in `targets[0]` of route `chat`: not defined in `models`');
  });

  it('REF_UNKNOWN_MODEL in weighted and nested group targets', () => {
    const r = check(
      `${CATALOGUE}routes:\n  - name: chat\n    targets:\n      - { model: fats, weight: 2 }\n      - targets: [stong]\n`,
    );
    const refs = withCode(r, 'REF_UNKNOWN_MODEL');
    expect(refs.map((d) => [d.pointer, at(d), d.hint])).toEqual([
      ['/routes/0/targets/0/model', '10:18', 'fast'],
      ['/routes/0/targets/1/targets/0', '11:19', undefined],
    ]);
  });

  it('REF_UNKNOWN_MODEL in a budget downgradeTo', () => {
    const r = check(
      `${CATALOGUE}budgets:\n  b: { key: [tenant], usd: 5/day, onExceeded: { downgradeTo: [fsat] } }\nroutes:\n  - name: chat\n    targets: [fast]\n    budgets: [b]\n`,
    );
    const d = one(r, 'REF_UNKNOWN_MODEL');
    expect(d.pointer).toBe('/budgets/b/onExceeded/downgradeTo/0');
    expect(d.hint).toBe('fast');
    expect(at(d)).toBe('8:63');
  });

  it('REF_UNKNOWN_PROVIDER', () => {
    const r = check(
      `${HEAD}providers:\n  openai: { kind: mock }\nmodels:\n  fast: { provider: opneai, model: m }\nroutes:\n  - name: chat\n    targets: [fast]\n`,
    );
    const d = one(r, 'REF_UNKNOWN_PROVIDER');
    expect(d.hint).toBe('openai');
    expect(at(d)).toBe('6:21');
    // The provider the hint names is not also reported unused.
    expect(withCode(r, 'SEM_UNUSED')).toEqual([]);
  });

  it('says so when nothing of the kind is defined', () => {
    const r = check(`${HEAD}routes:\n  - name: chat\n    targets: [fast]\n`);
    expect(one(r, 'REF_UNKNOWN_MODEL').message).toContain('no models are defined');
  });

  it('REF_UNKNOWN_LIMIT / BUDGET / CACHE / GUARDRAIL with hints', () => {
    const r = check(
      `${CATALOGUE}limits:\n  per-tenant: { key: [tenant], requests: 10/min }\nbudgets:\n  monthly: { key: [tenant], usd: 5/month }\n` +
        `caches:\n  faq: { mode: exact, ttl: 1h }\nguardrails:\n  pii: { stage: output, kind: pii, entities: [email], action: redact }\n` +
        `routes:\n  - name: chat\n    targets: [fast]\n    limits: [per-tenat]\n    budgets: [montly]\n    cache: fqa\n    guardrails: [ppi]\n`,
    );
    expect(one(r, 'REF_UNKNOWN_LIMIT')).toMatchObject({
      hint: 'per-tenant',
      pointer: '/routes/0/limits/0',
      line: 18,
      column: 14,
    });
    expect(one(r, 'REF_UNKNOWN_BUDGET')).toMatchObject({
      hint: 'monthly',
      pointer: '/routes/0/budgets/0',
      line: 19,
    });
    expect(one(r, 'REF_UNKNOWN_CACHE')).toMatchObject({
      hint: 'faq',
      pointer: '/routes/0/cache',
      line: 20,
      column: 12,
    });
    expect(one(r, 'REF_UNKNOWN_GUARDRAIL')).toMatchObject({
      hint: 'pii',
      pointer: '/routes/0/guardrails/0',
      line: 21,
    });
  });

  it('skips references whose own value failed the schema', () => {
    const r = check(`${CATALOGUE}routes:\n  - name: chat\n    targets: [{ model: 5 }]\n`);
    expect(withCode(r, 'REF_UNKNOWN_MODEL')).toEqual([]);
    expect(r.errors.map((d) => d.code)).toEqual(['SCHEMA_TYPE']);
  });
});
