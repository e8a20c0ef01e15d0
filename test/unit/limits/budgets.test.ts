import { describe, expect, it } from 'vitest';
import {
  BudgetTracker,
  budgetFingerprint,
  costUsd,
  periodEnd,
  periodStart,
} from '../../../engine/limits/budgets.js';
import { MemoryStore } from '../../../engine/limits/memory-store.js';
import { ResilientStore } from '../../../engine/limits/resilient-store.js';
import type { CounterStore, LimiterStore } from '../../../engine/limits/store.js';

const at = (iso: string) => Date.parse(iso);

describe('periods (UTC)', () => {
  it('starts hours, days and months in UTC', () => {
    const now = at('2026-03-15T13:45:12.345Z');
    expect(periodStart('hour', now)).toBe(at('2026-03-15T13:00:00Z'));
    expect(periodStart('day', now)).toBe(at('2026-03-15T00:00:00Z'));
    expect(periodStart('month', now)).toBe(at('2026-03-01T00:00:00Z'));
    expect(periodEnd('hour', now)).toBe(at('2026-03-15T14:00:00Z'));
    expect(periodEnd('day', now)).toBe(at('2026-03-16T00:00:00Z'));
    expect(periodEnd('month', now)).toBe(at('2026-04-01T00:00:00Z'));
  });

  it('rolls over years and handles February', () => {
    expect(periodEnd('month', at('2026-12-31T23:59:59.999Z'))).toBe(at('2027-01-01T00:00:00Z'));
    expect(periodEnd('month', at('2028-02-10T00:00:00Z'))).toBe(at('2028-03-01T00:00:00Z'));
    expect(periodStart('month', at('2027-01-01T00:00:00Z'))).toBe(at('2027-01-01T00:00:00Z'));
  });
});

describe('costUsd', () => {
  it('prices usage per million tokens', () => {
    expect(costUsd({ promptTokens: 1_000_000, completionTokens: 500_000 }, { input: 3, output: 15 })).toBe(
      10.5,
    );
    expect(costUsd({ promptTokens: 100, completionTokens: 0 }, { input: 0.05, output: 0.4 })).toBeCloseTo(
      5e-6,
      12,
    );
  });
});

describe('costUsd with prompt caching', () => {
  const price = { input: 3, output: 15, cachedInput: 0.3, cacheWrite: 3.75 };

  it('prices cache reads at cachedInput and cache writes at cacheWrite, the rest at input', () => {
    // 1M prompt tokens: 600k read from the cache, 100k written to it, 300k plain.
    const usage = {
      promptTokens: 1_000_000,
      completionTokens: 0,
      cachedTokens: 600_000,
      cacheWriteTokens: 100_000,
    };
    expect(costUsd(usage, price)).toBeCloseTo(0.3 * 3 + 0.6 * 0.3 + 0.1 * 3.75, 12);
  });

  it('prices cached tokens at input when no cached rate is declared', () => {
    const usage = {
      promptTokens: 1_000_000,
      completionTokens: 0,
      cachedTokens: 600_000,
      cacheWriteTokens: 100_000,
    };
    expect(costUsd(usage, { input: 3, output: 15 })).toBeCloseTo(3, 12);
  });

  it('never goes negative when a provider reports more cached tokens than prompt tokens', () => {
    const usage = { promptTokens: 10, completionTokens: 0, cachedTokens: 50, cacheWriteTokens: 50 };
    expect(costUsd(usage, price)).toBeCloseTo((10 * 0.3) / 1e6, 15);
  });
});

describe('BudgetTracker', () => {
  const now = at('2026-03-15T13:45:00Z');

  it('tracks spend, reports each threshold once and the moment it is exceeded', async () => {
    const t = new BudgetTracker(
      { money: { usd: 10, period: 'day' }, alertAt: [0.8, 0.5, 0.5, 1] },
      new MemoryStore(),
    );
    expect(await t.check('acme', now)).toMatchObject({ exceeded: false, spent: 0, limit: 10 });
    expect((await t.record('acme', 4, now)).crossed).toEqual([]);
    const r = await t.record('acme', 4.5, now);
    expect(r).toMatchObject({ crossed: [0.5, 0.8], spent: 8.5, exceeded: false, becameExceeded: false });
    expect((await t.record('acme', 1, now)).crossed).toEqual([]);
    const last = await t.record('acme', 0.5, now);
    expect(last).toMatchObject({ crossed: [1], exceeded: true, becameExceeded: true, spent: 10 });
    expect(await t.record('acme', 3, now)).toMatchObject({
      crossed: [],
      becameExceeded: false,
      exceeded: true,
    });
    expect((await t.check('other', now)).spent).toBe(0);
  });

  it('starts every period afresh', async () => {
    const t = new BudgetTracker({ money: { usd: 1, period: 'hour' }, alertAt: [0.5] }, new MemoryStore());
    expect((await t.record('k', 0.6, now)).crossed).toEqual([0.5]);
    const next = now + 3_600_000;
    expect(await t.check('k', next)).toMatchObject({ spent: 0, periodStartMs: at('2026-03-15T14:00:00Z') });
    expect((await t.record('k', 0.6, next)).crossed).toEqual([0.5]);
  });

  it('is exact in nano-dollars (0.1 + 0.2 reaches 0.3)', async () => {
    const t = new BudgetTracker({ money: { usd: 0.3, period: 'day' } }, new MemoryStore());
    await t.record('k', 0.1, now);
    const r = await t.record('k', 0.2, now);
    expect(r).toMatchObject({ spent: 0.3, exceeded: true, becameExceeded: true });
  });

  it('reports a threshold once among concurrent records', async () => {
    const t = new BudgetTracker(
      { money: { usd: 1, period: 'month' }, alertAt: [0.25, 0.5, 0.75] },
      new MemoryStore(),
    );
    const records = await Promise.all(Array.from({ length: 40 }, () => t.record('k', 0.03, now)));
    expect(records.flatMap((r) => r.crossed).sort()).toEqual([0.25, 0.5, 0.75]);
  });

  it('ignores zero, negative and non-finite costs', async () => {
    const t = new BudgetTracker({ money: { usd: 1, period: 'day' }, alertAt: [0.5] }, new MemoryStore());
    for (const c of [0, -1, Number.NaN])
      expect(await t.record('k', c, now)).toMatchObject({ spent: 0, crossed: [] });
  });

  it('keeps spend across a change of usd or alertAt, not across a rename or a new period length', () => {
    expect(budgetFingerprint('m', ['tenant'], 'month')).toBe(budgetFingerprint('m', ['tenant'], 'month'));
    expect(budgetFingerprint('m', ['tenant'], 'month')).not.toBe(budgetFingerprint('n', ['tenant'], 'month'));
    expect(budgetFingerprint('m', ['tenant'], 'month')).not.toBe(budgetFingerprint('m', ['tenant'], 'day'));
  });

  it('with the store down: open never reports exceeded, closed always does', async () => {
    const down: LimiterStore & CounterStore = {
      acquire: () => Promise.reject(new Error('down')),
      adjust: () => Promise.reject(new Error('down')),
      add: () => Promise.reject(new Error('down')),
      get: () => Promise.reject(new Error('down')),
      close: async () => {},
    };
    const spec = { money: { usd: 1, period: 'day' as const }, alertAt: [0.5] };
    const open = new BudgetTracker(spec, new ResilientStore(down, { onStoreError: 'open' }));
    const closed = new BudgetTracker(spec, new ResilientStore(down, { onStoreError: 'closed' }));
    expect(await open.check('k', now)).toMatchObject({ exceeded: false });
    expect(await open.record('k', 5, now)).toMatchObject({ crossed: [], becameExceeded: false });
    expect(await closed.check('k', now)).toMatchObject({ exceeded: true });
    expect(await closed.record('k', 5, now)).toMatchObject({ crossed: [], becameExceeded: false });
  });
});
