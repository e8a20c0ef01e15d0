import { describe, expect, it } from 'vitest';
import { RetryBudget, RetryBudgets } from '../../../engine/runtime/retry-budget.js';
import { VirtualClock } from '../../../engine/shared/virtual-clock.js';

describe('RetryBudget', () => {
  it('allows at least minRetries per window', () => {
    const b = new RetryBudget({ ratio: 0.2, minRetries: 10, windowMs: 10_000 }, new VirtualClock());
    let granted = 0;
    while (b.tryAcquire()) granted++;
    expect(granted).toBe(10);
  });

  it('allows ratio × requests when that is more', () => {
    const b = new RetryBudget({ ratio: 0.2, minRetries: 10, windowMs: 10_000 }, new VirtualClock());
    for (let i = 0; i < 200; i++) b.recordRequest();
    let granted = 0;
    while (b.tryAcquire()) granted++;
    expect(granted).toBe(40);
  });

  it('slides: retries and requests leave the window after windowMs', async () => {
    const clock = new VirtualClock();
    const b = new RetryBudget({ ratio: 0, minRetries: 2, windowMs: 10_000 }, clock);
    expect(b.tryAcquire()).toBe(true);
    await clock.advance(5_000);
    expect(b.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(false);
    await clock.advance(5_000); // the first retry's bucket left the window
    expect(b.available()).toBe(1);
    await clock.advance(5_000);
    expect(b.available()).toBe(2);
  });

  it('RetryBudgets keeps one budget per route and retains routes', () => {
    const budgets = new RetryBudgets(new VirtualClock(), { minRetries: 1, ratio: 0 });
    expect(budgets.get('r').tryAcquire()).toBe(true);
    expect(budgets.get('r').tryAcquire()).toBe(false);
    expect(budgets.get('s').tryAcquire()).toBe(true);
    budgets.retain(['s']);
    expect(budgets.get('r').tryAcquire()).toBe(true);
  });
});
