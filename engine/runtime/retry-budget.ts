/**
 * Per-route retry budgets: same-target retries are allowed up to `ratio` of the route's requests
 * over a sliding window (with a floor of `minRetries` per window), so an outage does not multiply
 * traffic into a retry storm. An exhausted budget only stops retries; fail-over still happens.
 *
 * The window is kept as `BUCKETS` fixed buckets on the Clock, so memory per route is constant.
 */
import type { Clock } from '../shared/clock.js';

export interface RetryBudgetSettings {
  /** Retries allowed per request in the window (0.2 = one retry per five requests). */
  readonly ratio: number;
  /** Retries always allowed per window, however little traffic there is. */
  readonly minRetries: number;
  readonly windowMs: number;
}

export const DEFAULT_RETRY_BUDGET: RetryBudgetSettings = { ratio: 0.2, minRetries: 10, windowMs: 10_000 };

const BUCKETS = 10;

export class RetryBudget {
  readonly #requests = new Array<number>(BUCKETS).fill(0);
  readonly #retries = new Array<number>(BUCKETS).fill(0);
  /** The bucket epoch (floor(now / width)) each slot currently holds. */
  readonly #epochs = new Array<number>(BUCKETS).fill(Number.NEGATIVE_INFINITY);
  readonly #width: number;

  constructor(
    readonly settings: RetryBudgetSettings,
    private readonly clock: Clock,
  ) {
    this.#width = Math.max(1, settings.windowMs / BUCKETS);
  }

  recordRequest(): void {
    this.#requests[this.#slot()] += 1;
  }

  /** The number of retries the window still allows. */
  available(): number {
    const { requests, retries } = this.#totals();
    const allowed = Math.max(this.settings.minRetries, Math.floor(this.settings.ratio * requests));
    return Math.max(0, allowed - retries);
  }

  /** Takes one retry from the budget; false (and nothing taken) when the budget is spent. */
  tryAcquire(): boolean {
    if (this.available() <= 0) return false;
    this.#retries[this.#slot()] += 1;
    return true;
  }

  #slot(): number {
    const epoch = Math.floor(this.clock.now() / this.#width);
    const slot = ((epoch % BUCKETS) + BUCKETS) % BUCKETS;
    if (this.#epochs[slot] !== epoch) {
      this.#epochs[slot] = epoch;
      this.#requests[slot] = 0;
      this.#retries[slot] = 0;
    }
    return slot;
  }

  #totals(): { requests: number; retries: number } {
    const current = Math.floor(this.clock.now() / this.#width);
    let requests = 0;
    let retries = 0;
    for (let i = 0; i < BUCKETS; i++) {
      if (current - this.#epochs[i] < BUCKETS) {
        requests += this.#requests[i];
        retries += this.#retries[i];
      }
    }
    return { requests, retries };
  }
}

/** The budgets of one engine, one per route name. */
export class RetryBudgets {
  readonly #budgets = new Map<string, RetryBudget>();
  readonly settings: RetryBudgetSettings;

  constructor(
    private readonly clock: Clock,
    settings: Partial<RetryBudgetSettings> = {},
  ) {
    this.settings = { ...DEFAULT_RETRY_BUDGET, ...settings };
  }

  get(route: string): RetryBudget {
    let budget = this.#budgets.get(route);
    if (budget === undefined) {
      budget = new RetryBudget(this.settings, this.clock);
      this.#budgets.set(route, budget);
    }
    return budget;
  }

  retain(routes: Iterable<string>): void {
    const keep = new Set(routes);
    for (const route of [...this.#budgets.keys()]) if (!keep.has(route)) this.#budgets.delete(route);
  }
}
