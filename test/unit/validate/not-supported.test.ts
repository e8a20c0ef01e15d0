import { describe, expect, it } from 'vitest';
import { NOT_SUPPORTED_YET } from '../../../engine/policy/support.js';
import { at, CATALOGUE, check, withCode } from './helpers.js';

/** A minimal valid use of each not-yet-supported feature, keyed by its table pointer. */
const MODEL_TOTAL = '  slow: { provider: demo, model: m2, timeout: { total: 10s } }\n';

const USES: Record<string, { text: string; where: string; pointer?: string }> = {
  // A model's `total` was accepted and silently ignored (the route's total applies).
  '/models/*/timeout/total': {
    text: MODEL_TOTAL,
    where: `7:${MODEL_TOTAL.indexOf('total') + 1}`,
    pointer: '/models/slow/timeout/total',
  },
};

const ROUTE_USES: Record<string, string> = {};

describe('validatePolicy: SEM_NOT_SUPPORTED', () => {
  it('covers every row of NOT_SUPPORTED_YET', () => {
    expect(Object.keys(USES).sort()).toEqual(NOT_SUPPORTED_YET.map((r) => r.pointer).sort());
  });

  it.each(NOT_SUPPORTED_YET.map((row) => [row.pointer, row.feature]))(
    '%s (%s) is an error naming the key',
    (pattern, feature) => {
      const use = USES[pattern];
      const text = pattern.startsWith('/models/')
        ? `${CATALOGUE}${use.text}routes:\n  - name: chat\n    targets: [fast, slow]\n`
        : `${CATALOGUE}${use.text}routes:\n  - name: chat\n    targets: [fast]\n${ROUTE_USES[pattern] ?? ''}`;
      const r = check(text);
      const ds = withCode(r, 'SEM_NOT_SUPPORTED');
      expect(ds).toHaveLength(1);
      const d = ds[0];
      const key = pattern.split('/').pop() ?? '';
      expect(d.severity).toBe('error');
      expect(d.pointer).toBe(use.pointer ?? pattern.replace('*', '0'));
      expect(d.message).toContain(`\`${key}\``);
      expect(d.message).toContain(`not supported yet (${feature})`);
      expect(d.message).toContain('remove it');
      expect(at(d)).toBe(use.where);
      if (pattern.startsWith('/routes/')) {
        expect(d.route).toBe('chat');
        expect(d.message).toContain('in route `chat`');
      }
      expect(r.policy).toBeNull();
    },
  );

  it('does not compare a model timeout with a total (SEM_TIMEOUT_ORDER belongs to routes)', () => {
    const text = `${CATALOGUE}  slow: { provider: demo, model: m2, timeout: { firstToken: 90s } }\ndefaults:\n  timeout: { total: 60s }\nroutes:\n  - name: chat\n    targets: [fast, slow]\n`;
    expect(withCode(check(text), 'SEM_TIMEOUT_ORDER')).toEqual([]);
  });
});

describe('validatePolicy: limits, budgets, caches and stores are supported', () => {
  const traffic = `${CATALOGUE}stores:\n  redis: { url: "redis://127.0.0.1:6379/0" }\nlimits:\n  l: { key: [tenant], requests: 10/min, tokens: 1000/min, burst: { requests: 5, tokens: 500 }, store: redis }\n  t: { key: [target], requests: 60/min }\nbudgets:\n  b: { key: [tenant], usd: 5/day, alertAt: [0.5], onExceeded: { downgradeTo: [fast] } }\ncaches:\n  c: { mode: exact, ttl: 1h, key: [model, messages], store: redis }\nroutes:\n  - name: chat\n    targets: [fast]\n    limits: [l, t]\n    budgets: [b]\n    cache: c\n`;

  it('accepts them without SEM_NOT_SUPPORTED', () => {
    const r = check(traffic);
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(r.policy).not.toBeNull();
  });

  it('refuses `store: redis` without `stores.redis`', () => {
    const r = check(traffic.replace('stores:\n  redis: { url: "redis://127.0.0.1:6379/0" }\n', ''));
    expect(withCode(r, 'REF_UNKNOWN_STORE').map((d) => d.pointer)).toEqual([
      '/limits/l/store',
      '/caches/c/store',
    ]);
  });

  it('refuses a rate of 0, a zero ttl and a rate too large to count', () => {
    const r = check(
      traffic
        .replace('requests: 60/min', 'requests: 0/min')
        .replace('ttl: 1h', 'ttl: 0s')
        .replace(
          'tokens: 1000/min, burst: { requests: 5, tokens: 500 }',
          'tokens: 1/300000d, burst: { tokens: 99999999 }',
        ),
    );
    expect(withCode(r, 'SCHEMA_PATTERN').map((d) => d.pointer)).toEqual(['/limits/t/requests']);
    expect(withCode(r, 'SEM_BAD_DURATION').map((d) => d.pointer)).toEqual(['/caches/c/ttl']);
    expect(withCode(r, 'SEM_BAD_RATE').map((d) => d.pointer)).toEqual(['/limits/l/tokens']);
    expect(r.policy).toBeNull();
  });
});
