import { describe, expect, it } from 'vitest';
import { buildPlan, flattenPlan } from '../../../engine/compile/plan.js';
import { compileYaml } from './helpers.js';

const yaml = `
stores:
  redis: { url: "redis://127.0.0.1:6379/0" }
limits:
  per-tenant: { key: [tenant], requests: 600/min, tokens: 200000/min, burst: { tokens: 5000 } }
  per-target: { key: [target, tenant], requests: 60/min, store: redis, onStoreError: closed }
budgets:
  monthly: { key: [tenant], usd: 500/month, alertAt: [0.5], onExceeded: { downgradeTo: [strong, fast] } }
  per-model: { key: [target], usd: $20/day }
caches:
  faq: { mode: exact, ttl: 24h, key: [model, messages] }
routes:
  - name: chat
    when: { model: gpt-5 }
    targets: [fast]
    retry: { attempts: 4 }
    limits: [per-tenant, per-target]
    budgets: [monthly, per-model]
    cache: faq
  - name: plain
    targets: [fast]
`;

describe('compile: limits, budgets and caches', () => {
  it('compiles each rule once and splits a route’s rules by when they apply', () => {
    const p = compileYaml(yaml);
    expect([...p.limits.keys()]).toEqual(['per-tenant', 'per-target']);
    expect(p.redisUrl).toBe('redis://127.0.0.1:6379/0');
    const [chat, plain] = p.routes;
    expect(plain.traffic).toBeNull();
    const t = chat.traffic;
    if (t === null) throw new Error('chat has traffic rules');
    expect(t.limits.map((l) => l.name)).toEqual(['per-tenant']);
    expect(t.targetLimits.map((l) => [l.name, l.store, l.onStoreError])).toEqual([
      ['per-target', 'redis', 'closed'],
    ]);
    expect(t.limits[0].kinds.map((k) => k.params.capacity)).toEqual([600, 5000]);
    expect(t.budgets.map((b) => b.budget.name)).toEqual(['monthly']);
    expect(t.targetBudgets.map((b) => [b.name, b.perTarget, b.spec.money])).toEqual([
      ['per-model', true, { usd: 20, period: 'day' }],
    ]);
    expect(t.cache?.name).toBe('faq');
    // The same objects as the policy-level maps: compiled once per version.
    expect(t.limits[0]).toBe(p.limits.get('per-tenant'));
    expect(t.cache).toBe(p.caches.get('faq'));
    expect(Object.isFrozen(t)).toBe(true);
  });

  it('resolves downgradeTo as a fallback chain with the route’s own settings', () => {
    const p = compileYaml(yaml);
    const downgrade = p.routes[0].traffic?.budgets[0].downgrade;
    if (downgrade == null) throw new Error('monthly has a downgrade');
    const plan = buildPlan(downgrade, { ctx: null, tools: false, images: false });
    if (plan === null) throw new Error('a plan');
    const targets = flattenPlan(plan);
    expect(targets.map((x) => x.name)).toEqual(['strong', 'fast']);
    expect(targets.every((x) => x.retry.attempts === 4)).toBe(true);
    expect(p.budgets.get('monthly')?.onExceeded).toBe('downgrade');
    expect(p.budgets.get('per-model')?.onExceeded).toBe('block');
  });

  it('keeps a budget’s counters across versions that leave its name, key and period alone', () => {
    const a = compileYaml(yaml).budgets.get('monthly');
    const b = compileYaml(yaml.replace('usd: 500/month', 'usd: 900/month')).budgets.get('monthly');
    const c = compileYaml(yaml.replace('usd: 500/month', 'usd: 500/day')).budgets.get('monthly');
    expect(b?.prefix).toBe(a?.prefix);
    expect(c?.prefix).not.toBe(a?.prefix);
  });
});
