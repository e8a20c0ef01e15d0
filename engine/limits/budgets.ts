/**
 * Spending budgets: cost accounting per key tuple and calendar period (UTC), over a CounterStore.
 *
 * Money is counted in whole nano-dollars (1e-9 USD): each recorded cost is rounded to the nearest
 * nano-dollar, so counter increments are integers, exact under concurrency (Redis INCRBY), and
 * every total is returned to exactly one `record`. A threshold `t` of the budget `L` is crossed
 * by the one record whose (before, after] interval contains `round(t x L)`; that record alone
 * reports it, so each `alertAt` fires once per period however many replicas record at once.
 * A new period is a new counter, which starts at 0 and can cross every threshold again.
 *
 * What to do when a budget is exceeded (`block`, `downgradeTo`) is the engine's decision; the
 * tracker only reports the state. A budget counts as exceeded once spend reaches the limit.
 */
import { createHash } from 'node:crypto';
import type { Money, MoneyPeriod } from '../shared/units.js';
import type { Price, Usage } from '../types.js';
import type { CounterStore } from './store.js';

export const NANO_USD_PER_USD = 1e9;

/** Counters outlive their period by this much, so a late record or read still finds them. */
const COUNTER_GRACE_MS = 3_600_000;

/** Start of the UTC hour, day or month that contains `now` (ms since the Unix epoch). */
export function periodStart(period: MoneyPeriod, now: number): number {
  const d = new Date(Math.floor(now));
  switch (period) {
    case 'hour':
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours());
    case 'day':
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
    case 'month':
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  }
}

/** Start of the next period (exclusive end of the one containing `now`). */
export function periodEnd(period: MoneyPeriod, now: number): number {
  const start = new Date(periodStart(period, now));
  switch (period) {
    case 'hour':
      return start.getTime() + 3_600_000;
    case 'day':
      return start.getTime() + 86_400_000;
    case 'month':
      return Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1);
  }
}

/**
 * Cost in USD of a usage at a price in USD per million tokens. The prompt tokens read from the
 * provider's prompt cache are priced at `cachedInput`, those written to it at `cacheWrite`, the
 * rest at `input`. A usage reporting more cached tokens than prompt tokens (a provider bug) is
 * clamped, so cost never goes negative.
 */
export function costUsd(
  usage: Pick<Usage, 'promptTokens' | 'completionTokens' | 'cachedTokens' | 'cacheWriteTokens'>,
  price: Price,
): number {
  const prompt = usage.promptTokens;
  const cached = Math.min(prompt, usage.cachedTokens ?? 0);
  const written = Math.min(prompt - cached, usage.cacheWriteTokens ?? 0);
  const plain = prompt - cached - written;
  return (
    (plain * price.input +
      cached * (price.cachedInput ?? price.input) +
      written * (price.cacheWrite ?? price.input) +
      usage.completionTokens * price.output) /
    1_000_000
  );
}

export function toNanoUsd(usd: number): number {
  return Math.round(usd * NANO_USD_PER_USD);
}

export interface BudgetSpec {
  readonly money: Money;
  /** Fractions of the budget in (0, 1]; duplicates are ignored. */
  readonly alertAt?: readonly number[];
}

export interface BudgetState {
  readonly exceeded: boolean;
  /** USD spent in the current period. */
  readonly spent: number;
  /** The budget in USD per period. */
  readonly limit: number;
  readonly periodStartMs: number;
  /** When the period ends and spend starts again from 0. */
  readonly resetAtMs: number;
}

export interface BudgetRecord extends BudgetState {
  /** The `alertAt` fractions this record crossed (ascending); each is reported once per period. */
  readonly crossed: readonly number[];
  /** True when this record is the one that reached the limit. */
  readonly becameExceeded: boolean;
}

export interface BudgetTrackerOptions {
  /** Namespaces the counters; default: a fingerprint of `name`, key fields and period. */
  readonly prefix?: string;
  readonly name?: string;
  readonly keyFields?: readonly string[];
}

/**
 * The state of a budget survives reloads as long as its name, key fields and period stay the
 * same; changing `usd` or `alertAt` keeps the money already spent (it was spent).
 */
export function budgetFingerprint(name: string, keyFields: readonly string[], period: MoneyPeriod): string {
  return createHash('sha256')
    .update(JSON.stringify(['budget/v1', name, keyFields, period]))
    .digest('hex')
    .slice(0, 16);
}

/**
 * @example
 * const monthly = new BudgetTracker({ money: { usd: 500, period: 'month' }, alertAt: [0.5, 0.8] }, store,
 *   { name: 'monthly', keyFields: ['tenant'] });
 * if ((await monthly.check(key, clock.now())).exceeded) ...
 * const { crossed } = await monthly.record(key, costUsd(usage, price), clock.now());
 */
export class BudgetTracker {
  readonly #store: CounterStore;
  readonly #period: MoneyPeriod;
  readonly #limitUsd: number;
  readonly #limitNano: number;
  /** [fraction, threshold in nano-dollars], ascending. */
  readonly #thresholds: readonly (readonly [number, number])[];
  readonly #prefix: string;

  constructor(spec: BudgetSpec, store: CounterStore, options: BudgetTrackerOptions = {}) {
    this.#store = store;
    this.#period = spec.money.period;
    this.#limitUsd = spec.money.usd;
    this.#limitNano = toNanoUsd(spec.money.usd);
    const fractions = [...new Set(spec.alertAt ?? [])].filter((f) => f > 0 && f <= 1).sort((a, b) => a - b);
    this.#thresholds = fractions.map((f) => [f, Math.max(1, Math.round(f * this.#limitNano))] as const);
    this.#prefix =
      options.prefix ??
      `budget:${budgetFingerprint(options.name ?? '', options.keyFields ?? [], spec.money.period)}:`;
  }

  async check(key: string, now: number): Promise<BudgetState> {
    const start = periodStart(this.#period, now);
    return this.#state(await this.#store.get(this.#prefix + key, start), start, now);
  }

  /** Adds a cost (USD, ≥ 0) to the current period and reports the thresholds it crossed. */
  async record(key: string, cost: number, now: number): Promise<BudgetRecord> {
    const start = periodStart(this.#period, now);
    const end = periodEnd(this.#period, now);
    const amount = Number.isFinite(cost) && cost > 0 ? toNanoUsd(cost) : 0;
    const total =
      amount === 0
        ? await this.#store.get(this.#prefix + key, start)
        : await this.#store.add(this.#prefix + key, amount, start, end - now + COUNTER_GRACE_MS);
    const before = total - amount;
    const crossed: number[] = [];
    for (const [fraction, threshold] of this.#thresholds) {
      if (before < threshold && threshold <= total) crossed.push(fraction);
    }
    const state = this.#state(total, start, now);
    return {
      ...state,
      crossed,
      becameExceeded: amount > 0 && before < this.#limitNano && this.#limitNano <= total,
    };
  }

  #state(totalNano: number, start: number, now: number): BudgetState {
    return {
      exceeded: totalNano >= this.#limitNano,
      spent: totalNano / NANO_USD_PER_USD,
      limit: this.#limitUsd,
      periodStartMs: start,
      resetAtMs: periodEnd(this.#period, now),
    };
  }
}
