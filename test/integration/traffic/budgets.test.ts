/**
 * Budgets through `engine.handle()` on a virtual clock: spend = usage x price, counted per key and
 * UTC period; `block` refuses with 429 `budget_exceeded` once spend reaches the budget,
 * `downgradeTo` switches to the cheaper chain; each `alertAt` threshold is reported once; a new
 * period starts from zero; `engine.spend()` shows the counters.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../engine/shared/virtual-clock.js';
import { asJson, closeEngines, harness, PRICES, readStream, request, T0 } from './helpers.js';

afterEach(closeEngines);

// "Say hello." → 3 prompt tokens; "Echo: Say hello." → 4 completion tokens (the mock's usage).
const PRIMARY_COST = (3 * PRICES.primary.input + 4 * PRICES.primary.output) / 1e6; // 0.0011
const DAY = 86_400_000;

function budgetPolicy(onExceeded: string, alertAt = '[0.5, 0.9]') {
  return {
    sections: `budgets:\n  daily: { key: [tenant], usd: 0.003/day, alertAt: ${alertAt}, onExceeded: ${onExceeded} }\n`,
    routes: `
  - name: main
    targets: [primary]
    budgets: [daily]`,
  };
}

describe('budgets', () => {
  it('block: serves until spend reaches the budget, then 429 budget_exceeded until the period ends', async () => {
    const clock = new VirtualClock({ start: T0 + 1_000 });
    const h = harness(budgetPolicy('block'), { clock });
    for (let i = 0; i < 3; i++) {
      const r = asJson(await h.engine.handle(request()));
      expect(r.status).toBe(200);
      expect(r.meta.costUsd).toBeCloseTo(PRIMARY_COST, 12);
    }
    const blocked = asJson(await h.engine.handle(request()));
    expect(blocked.status).toBe(429);
    expect(blocked.body).toEqual({
      error: { message: expect.stringContaining('daily'), type: 'rate_limit_error', code: 'budget_exceeded' },
    });
    expect(blocked.headers['retry-after']).toBe(String((DAY - 1_000) / 1000));
    expect(h.calls).toHaveLength(3);
    // Budgets are per key: another tenant still spends.
    expect(asJson(await h.engine.handle(request({ tenant: 'globex' }))).status).toBe(200);
    expect(h.limits.map((e) => e.kind)).toEqual(['budget_exceeded']);

    const spend = await h.engine.spend();
    expect(spend.budgets).toHaveLength(1);
    expect(spend.budgets[0]).toMatchObject({
      name: 'daily',
      limitUsd: 0.003,
      period: 'day',
      store: 'memory',
    });
    const acme = spend.budgets[0].keys.find((k) => k.key === 'tenant=acme');
    expect(acme?.spentUsd).toBeCloseTo(3 * PRIMARY_COST, 9);
    expect(acme?.exceeded).toBe(true);
    expect(acme?.resetAtMs).toBe(T0 + DAY);

    // The next UTC day starts from zero.
    await clock.advanceTo(T0 + DAY);
    expect(asJson(await h.engine.handle(request())).status).toBe(200);
  });

  it('downgradeTo: switches to the cheaper targets once the budget is reached', async () => {
    const clock = new VirtualClock({ start: T0 });
    const h = harness(budgetPolicy('{ downgradeTo: [backup] }'), { clock });
    const targets: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = asJson(await h.engine.handle(request()));
      expect(r.status).toBe(200);
      targets.push(r.headers['x-switchyard-target']);
    }
    expect(targets).toEqual(['primary', 'primary', 'primary', 'backup', 'backup']);
    expect(h.limits.filter((e) => e.kind === 'downgraded')).toHaveLength(2);
    // Streams too.
    const stream = await h.engine.handle(request({ stream: true }));
    expect(stream.headers['x-switchyard-target']).toBe('backup');
    expect(stream.headers['x-switchyard-downgraded']).toBe('daily');
    expect((await readStream(stream)).done).toBe(true);
  });

  it('reports each alertAt threshold once per crossing, and the crossing of the limit', async () => {
    const clock = new VirtualClock({ start: T0 });
    const h = harness(budgetPolicy('{ downgradeTo: [backup] }', '[0.3, 0.5]'), { clock });
    for (let i = 0; i < 8; i++) await h.engine.handle(request());
    expect(h.alerts.map((a) => [a.kind, a.threshold])).toEqual([
      ['threshold', 0.3], // 0.0011 (0.37)
      ['threshold', 0.5], // 0.0022 (0.73)
      ['exceeded', 1], // 0.0033
    ]);
    expect(h.alerts[0]).toMatchObject({ budget: 'daily', key: 'tenant=acme', limitUsd: 0.003 });
    // A new period can cross them again.
    await clock.advanceTo(T0 + DAY);
    await h.engine.handle(request());
    expect(h.alerts.map((a) => a.threshold)).toEqual([0.3, 0.5, 1, 0.3]);
  });

  it('counts streamed answers when the stream ends', async () => {
    const clock = new VirtualClock({ start: T0 });
    const h = harness(budgetPolicy('block'), { clock });
    for (let i = 0; i < 3; i++)
      expect((await readStream(await h.engine.handle(request({ stream: true })))).done).toBe(true);
    expect(asJson(await h.engine.handle(request())).status).toBe(429);
  });

  it('a budget keyed on target skips the target over it', async () => {
    const clock = new VirtualClock({ start: T0 });
    const h = harness(
      {
        sections: 'budgets:\n  per-model: { key: [target], usd: 0.002/day }\n',
        routes: `
  - name: main
    targets: [primary, backup]
    budgets: [per-model]`,
      },
      { clock },
    );
    const targets: string[] = [];
    for (let i = 0; i < 4; i++)
      targets.push(asJson(await h.engine.handle(request())).headers['x-switchyard-target']);
    expect(targets).toEqual(['primary', 'primary', 'backup', 'backup']);
    expect(h.limits.filter((e) => e.kind === 'target_over_budget').map((e) => e.target)).toEqual([
      'primary',
      'primary',
    ]);
  });
});
