import { describe, expect, it } from 'vitest';
import { at, CATALOGUE, check, HEAD, itReportsOne, one, withCode } from './helpers.js';

describe('validatePolicy: references', () => {
  itReportsOne([
    {
      what: 'REF_UNKNOWN_MODEL hints `fast` for `fsat`',
      text: `${CATALOGUE}routes:\n  - name: chat\n    targets: [fsat]\n`,
      code: 'REF_UNKNOWN_MODEL',
      has: {
        hint: 'fast',
        pointer: '/routes/0/targets/0',
        route: 'chat',
        message: 'unknown model `fsat` in `targets[0]` of route `chat`: not defined in `models`',
      },
      at: '9:15',
    },
    {
      what: 'REF_UNKNOWN_MODEL in a budget downgradeTo',
      text: `${CATALOGUE}budgets:\n  b: { key: [tenant], usd: 5/day, onExceeded: { downgradeTo: [fsat] } }\nroutes:\n  - name: chat\n    targets: [fast]\n    budgets: [b]\n`,
      code: 'REF_UNKNOWN_MODEL',
      has: { pointer: '/budgets/b/onExceeded/downgradeTo/0', hint: 'fast' },
      at: '8:63',
    },
    {
      what: 'REF_UNKNOWN_PROVIDER',
      text: `${HEAD}providers:\n  openai: { kind: mock }\nmodels:\n  fast: { provider: opneai, model: m }\nroutes:\n  - name: chat\n    targets: [fast]\n`,
      code: 'REF_UNKNOWN_PROVIDER',
      has: { hint: 'openai' },
      at: '6:21',
      // The provider the hint names is not also reported unused.
      none: ['SEM_UNUSED'],
    },
    {
      what: 'says so when nothing of the kind is defined',
      text: `${HEAD}routes:\n  - name: chat\n    targets: [fast]\n`,
      code: 'REF_UNKNOWN_MODEL',
      mentions: ['no models are defined'],
    },
  ]);

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

  it('REF_UNKNOWN_LIMIT / BUDGET / CACHE / GUARDRAIL with hints', () => {
    const r = check(
      `${CATALOGUE}limits:\n  per-tenant: { key: [tenant], requests: 10/min }\nbudgets:\n  monthly: { key: [tenant], usd: 5/month }\n` +
        `caches:\n  faq: { mode: exact, ttl: 1h }\nguardrails:\n  pii: { stage: output, kind: pii, entities: [email], action: redact }\n` +
        `routes:\n  - name: chat\n    targets: [fast]\n    limits: [per-tenat]\n    budgets: [montly]\n    cache: fqa\n    guardrails: [ppi]\n`,
    );
    const expected = {
      REF_UNKNOWN_LIMIT: { hint: 'per-tenant', pointer: '/routes/0/limits/0', line: 18, column: 14 },
      REF_UNKNOWN_BUDGET: { hint: 'monthly', pointer: '/routes/0/budgets/0', line: 19 },
      REF_UNKNOWN_CACHE: { hint: 'faq', pointer: '/routes/0/cache', line: 20, column: 12 },
      REF_UNKNOWN_GUARDRAIL: { hint: 'pii', pointer: '/routes/0/guardrails/0', line: 21 },
    };
    for (const [code, fields] of Object.entries(expected)) expect(one(r, code)).toMatchObject(fields);
  });

  it('skips references whose own value failed the schema', () => {
    const r = check(`${CATALOGUE}routes:\n  - name: chat\n    targets: [{ model: 5 }]\n`);
    expect(withCode(r, 'REF_UNKNOWN_MODEL')).toEqual([]);
    expect(r.errors.map((d) => d.code)).toEqual(['SCHEMA_TYPE']);
  });
});
