import { describe, expect, it } from 'vitest';
import { NOT_SUPPORTED_YET } from '../../../engine/policy/support.js';
import { at, CATALOGUE, check, withCode } from './helpers.js';

/** A minimal valid use of each not-yet-supported feature, keyed by its table pointer. */
const USES: Record<string, { text: string; where: string }> = {
  '/limits': { text: 'limits:\n  l: { key: [tenant], requests: 10/min }\n', where: '7:1' },
  '/budgets': { text: 'budgets:\n  b: { key: [tenant], usd: 5/day }\n', where: '7:1' },
  '/caches': { text: 'caches:\n  c: { mode: exact, ttl: 1h }\n', where: '7:1' },
  '/guardrails': {
    text: 'guardrails:\n  g: { stage: input, kind: injection, action: flag }\n',
    where: '7:1',
  },
  '/stores': { text: 'stores:\n  redis: { url: "redis://127.0.0.1:6379" }\n', where: '7:1' },
  '/recording': { text: 'recording: { path: traffic.jsonl }\n', where: '7:1' },
  '/routes/*/limits': { text: '', where: '10:5' },
  '/routes/*/budgets': { text: '', where: '10:5' },
  '/routes/*/cache': { text: '', where: '10:5' },
  '/routes/*/guardrails': { text: '', where: '10:5' },
};

const ROUTE_USES: Record<string, string> = {
  '/routes/*/limits': '    limits: [l]\n',
  '/routes/*/budgets': '    budgets: [b]\n',
  '/routes/*/cache': '    cache: c\n',
  '/routes/*/guardrails': '    guardrails: [g]\n',
};

describe('validatePolicy: SEM_NOT_SUPPORTED', () => {
  it('covers every row of NOT_SUPPORTED_YET', () => {
    expect(Object.keys(USES).sort()).toEqual(NOT_SUPPORTED_YET.map((r) => r.pointer).sort());
  });

  it.each(NOT_SUPPORTED_YET.map((row) => [row.pointer, row.feature]))(
    '%s (%s) is an error naming the key',
    (pattern, feature) => {
      const use = USES[pattern];
      const text = `${CATALOGUE}${use.text}routes:\n  - name: chat\n    targets: [fast]\n${ROUTE_USES[pattern] ?? ''}`;
      const r = check(text);
      const ds = withCode(r, 'SEM_NOT_SUPPORTED');
      expect(ds).toHaveLength(1);
      const d = ds[0];
      const key = pattern.split('/').pop() ?? '';
      expect(d.severity).toBe('error');
      expect(d.pointer).toBe(pattern.replace('*', '0'));
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
});
