/**
 * Cost of a usage at a price (engine/limits/budgets.ts `costUsd`), with prompt caching: cost is
 * additive and monotone in every token count, and tokens served from the provider's cache never
 * cost more than the same tokens uncached when the cached rate is at most the input rate.
 * fast-check prints the seed of any failure; set FC_NUM_RUNS for a longer run.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { costUsd } from '../../engine/limits/budgets.js';
import type { Price } from '../../engine/types.js';

const NUM_RUNS = Number(process.env.FC_NUM_RUNS ?? 200);
const rate = fc.double({ min: 0, max: 100, noNaN: true, noDefaultInfinity: true });
const count = fc.integer({ min: 0, max: 10_000_000 });

/** A price whose cached rate is at most its input rate (as every provider's is). */
const priceArb: fc.Arbitrary<Price> = fc
  .record({
    input: rate,
    output: rate,
    cacheFraction: fc.double({ min: 0, max: 1, noNaN: true }),
    cacheWrite: rate,
  })
  .map(({ input, output, cacheFraction, cacheWrite }) => ({
    input,
    output,
    cachedInput: input * cacheFraction,
    cacheWrite,
  }));

/** A usage whose cached and written tokens are part of its prompt tokens. */
const usageArb = fc
  .record({ plain: count, cached: count, written: count, completion: count })
  .map(({ plain, cached, written, completion }) => ({
    promptTokens: plain + cached + written,
    completionTokens: completion,
    cachedTokens: cached,
    cacheWriteTokens: written,
  }));

type CostUsage = Parameters<typeof costUsd>[0];
const add = (a: CostUsage, b: CostUsage): CostUsage => ({
  promptTokens: a.promptTokens + b.promptTokens,
  completionTokens: a.completionTokens + b.completionTokens,
  cachedTokens: (a.cachedTokens ?? 0) + (b.cachedTokens ?? 0),
  cacheWriteTokens: (a.cacheWriteTokens ?? 0) + (b.cacheWriteTokens ?? 0),
});
/** Relative tolerance for sums of floating-point products. */
const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

describe('cost of usage with prompt caching', () => {
  it('is additive: the cost of two usages is the sum of their costs', () => {
    fc.assert(
      fc.property(usageArb, usageArb, priceArb, (a, b, price) => {
        expect(close(costUsd(add(a, b), price), costUsd(a, price) + costUsd(b, price))).toBe(true);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('is monotone: more tokens of any kind never cost less', () => {
    fc.assert(
      fc.property(usageArb, usageArb, priceArb, (a, more, price) => {
        expect(costUsd(add(a, more), price)).toBeGreaterThanOrEqual(costUsd(a, price) * (1 - 1e-12));
        expect(costUsd(a, price)).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('tokens read from the cache never cost more than the same tokens uncached', () => {
    fc.assert(
      fc.property(usageArb, priceArb, (usage, price) => {
        const uncached = { ...usage, cachedTokens: 0 };
        expect(costUsd(usage, price)).toBeLessThanOrEqual(costUsd(uncached, price) * (1 + 1e-12));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('without cached rates, caching changes nothing', () => {
    fc.assert(
      fc.property(usageArb, rate, rate, (usage, input, output) => {
        const plain = { promptTokens: usage.promptTokens, completionTokens: usage.completionTokens };
        expect(close(costUsd(usage, { input, output }), costUsd(plain, { input, output }))).toBe(true);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
