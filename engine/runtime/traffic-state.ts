/**
 * The traffic state behind limits, budgets and caches that lives across requests and reloads:
 * the per-version snapshot (limiter, budget trackers), the single-flight table, the keys spent
 * against (for `/admin/spend`), and the observer hooks. The per-request work is in the admission
 * and cache stages (stages/admission.ts, stages/cache.ts); settling what they hold is the
 * accounting stage's.
 *
 * Time is the engine's Clock everywhere; stores get `now` as an argument.
 */

import { SingleFlight } from '../cache/single-flight.js';
import type { CachedAnswer } from '../cache/store.js';
import type { CompiledBudget, CompiledPolicy } from '../compile/compile.js';
import type { AlertWebhook } from '../compile/traffic.js';
import { BudgetTracker } from '../limits/budgets.js';
import { RateLimiter } from '../limits/limiter.js';
import type { Clock } from '../shared/clock.js';
import type { MoneyPeriod } from '../shared/units.js';
import type { PolicyIdentity } from '../types.js';
import type { TrafficStores } from './stores.js';

export type CacheOutcome = 'hit' | 'miss' | 'bypass';

/** A request (or one target of it) refused or rerouted by a limit or a budget. */
export interface LimitEvent {
  /**
   * `rate_limited` / `budget_exceeded`: the request was refused (429); `downgraded`: a budget
   * moved it to its `downgradeTo` targets; `target_rate_limited` / `target_over_budget`: one target
   * was skipped by a rule keyed on `target`.
   */
  readonly kind:
    | 'rate_limited'
    | 'budget_exceeded'
    | 'downgraded'
    | 'target_rate_limited'
    | 'target_over_budget';
  readonly route: string;
  readonly target: string | null;
  /** The refusing limits, or the exceeded budget. */
  readonly rules: readonly string[];
  /** ms until a retry can succeed; null when unknown. */
  readonly retryAfterMs: number | null;
  /** A store failure decided the outcome (`onStoreError: closed`). */
  readonly degraded: boolean;
}

/** A budget crossed an `alertAt` threshold, or reached its limit; once per crossing and period. */
export interface BudgetAlertEvent {
  readonly kind: 'threshold' | 'exceeded';
  readonly budget: string;
  /** The budget's counter key (`tenant=acme`). */
  readonly key: string;
  /** The fraction crossed (1 for `exceeded`). */
  readonly threshold: number;
  readonly spentUsd: number;
  readonly limitUsd: number;
  readonly period: MoneyPeriod;
  readonly periodStartMs: number;
  /** When the period ends (and the threshold can fire again). */
  readonly resetAtMs: number;
  /** Clock time of the record that crossed (ms). */
  readonly at: number;
  /** The policy whose budget it is. */
  readonly policy: PolicyIdentity;
  /** The budget's `alerts` (its header values mask themselves in JSON); null when not declared. */
  readonly webhook: AlertWebhook | null;
}

export interface CacheEvent {
  /**
   * `stored` follows a `miss` (or `bypass` with `no-cache`) whose answer was written;
   * `embedding_failed`: a semantic cache could not embed the prompt (the request went on as a miss).
   */
  readonly outcome: CacheOutcome | 'stored' | 'embedding_failed';
  readonly route: string;
  readonly cache: string;
  /** A hit served from another request's upstream call (single flight), not from the store. */
  readonly coalesced: boolean;
}

export interface TrafficHooks {
  readonly onLimit?: (event: LimitEvent) => void;
  readonly onBudgetAlert?: (event: BudgetAlertEvent) => void;
  readonly onCache?: (event: CacheEvent) => void;
}

/** Spend per budget and key in the current period, as `GET /admin/spend` shows it. */
export interface SpendReport {
  /** Clock time of the report (ms). */
  readonly at: number;
  readonly budgets: readonly {
    readonly name: string;
    readonly limitUsd: number;
    readonly period: 'hour' | 'day' | 'month';
    readonly store: 'memory' | 'redis';
    /**
     * Keys this engine has recorded spend for (at most 10 000 per budget, most recent first);
     * with a Redis store, keys only other replicas recorded are not listed.
     */
    readonly keys: readonly {
      readonly key: string;
      readonly spentUsd: number;
      readonly exceeded: boolean;
      readonly periodStartMs: number;
      readonly resetAtMs: number;
    }[];
  }[];
}

/** The traffic state of one policy version: built once per version, on swap. */
export interface TrafficSnapshot {
  readonly policy: CompiledPolicy;
  readonly limiter: RateLimiter;
  readonly trackers: ReadonlyMap<string, BudgetTracker>;
}

const MAX_SPEND_KEYS = 10_000;

/** Calls an observer hook; hooks are for logs and metrics and never change a decision. */
export function safely<E>(hook: ((event: E) => void) | undefined, event: E): void {
  if (hook === undefined) return;
  try {
    hook(event);
  } catch {
    // An observer's failure must not change the request's outcome.
  }
}

export interface TrafficOptions {
  readonly clock: Clock;
  readonly stores: TrafficStores;
  readonly hooks: TrafficHooks;
}

export class Traffic {
  readonly clock: Clock;
  readonly stores: TrafficStores;
  readonly hooks: TrafficHooks;
  readonly flights = new SingleFlight<CachedAnswer | null>();
  /** Budget counter prefix → keys recorded, oldest first (for `spend()`). */
  readonly #spendKeys = new Map<string, Set<string>>();

  constructor(options: TrafficOptions) {
    this.clock = options.clock;
    this.stores = options.stores;
    this.hooks = options.hooks;
  }

  /** The traffic state of a policy version; null when it declares no limits, budgets or caches. */
  prepare(policy: CompiledPolicy): TrafficSnapshot | null {
    if (policy.limits.size === 0 && policy.budgets.size === 0 && policy.caches.size === 0) {
      // No caches or Redis in the new policy: the old ones must go too.
      this.stores.retainCaches([]);
      this.stores.retainRedis([]);
      return null;
    }
    const redisUrl = policy.redisUrl;
    const usesRedis =
      [...policy.limits.values()].some((l) => l.store === 'redis') ||
      [...policy.budgets.values()].some((b) => b.store === 'redis') ||
      [...policy.caches.values()].some((c) => c.store === 'redis');
    if (redisUrl !== null && usesRedis) this.stores.connect(redisUrl, policy.redisCommandTimeoutMs);
    this.stores.retainRedis(redisUrl !== null && usesRedis ? [redisUrl] : []);
    const limiter = new RateLimiter({ storeFor: (limit) => this.stores.limiterStore(limit, redisUrl) });
    const trackers = new Map<string, BudgetTracker>();
    for (const budget of policy.budgets.values()) {
      trackers.set(
        budget.name,
        new BudgetTracker(budget.spec, this.stores.counterStore(budget.store, redisUrl), {
          prefix: budget.prefix,
        }),
      );
    }
    this.stores.retainCaches(policy.caches.values());
    return { policy, limiter, trackers };
  }

  async spend(snapshot: TrafficSnapshot | null): Promise<SpendReport> {
    const at = this.clock.now();
    if (snapshot === null) return { at, budgets: [] };
    const budgets = await Promise.all(
      [...snapshot.policy.budgets.values()].map(async (budget) => {
        const tracker = snapshot.trackers.get(budget.name);
        const keys = [...(this.#spendKeys.get(budget.prefix) ?? [])].reverse();
        const states = tracker === undefined ? [] : await Promise.all(keys.map((k) => tracker.check(k, at)));
        return {
          name: budget.name,
          limitUsd: budget.spec.money.usd,
          period: budget.spec.money.period,
          store: budget.store,
          keys: states.map((s, i) => ({
            key: keys[i],
            spentUsd: s.spent,
            exceeded: s.exceeded,
            periodStartMs: s.periodStartMs,
            resetAtMs: s.resetAtMs,
          })),
        };
      }),
    );
    return { at, budgets };
  }

  tracker(snapshot: TrafficSnapshot, budget: CompiledBudget): BudgetTracker {
    const tracker = snapshot.trackers.get(budget.name);
    if (tracker === undefined) throw new Error(`internal: no tracker for budget "${budget.name}"`);
    return tracker;
  }

  /** Adds `cost` to a budget's key and reports every `alertAt` threshold it crossed. */
  async recordSpend(
    snapshot: TrafficSnapshot,
    budget: CompiledBudget,
    key: string,
    cost: number,
    now: number,
  ): Promise<void> {
    this.#rememberKey(budget.prefix, key);
    const r = await this.tracker(snapshot, budget).record(key, cost, now);
    if (r.crossed.length === 0 && !r.becameExceeded) return;
    const base = {
      budget: budget.name,
      key,
      spentUsd: r.spent,
      limitUsd: r.limit,
      period: budget.spec.money.period,
      periodStartMs: r.periodStartMs,
      resetAtMs: r.resetAtMs,
      at: now,
      policy: snapshot.policy.identity,
      webhook: budget.alerts,
    };
    for (const threshold of r.crossed)
      safely(this.hooks.onBudgetAlert, { kind: 'threshold', threshold, ...base });
    if (r.becameExceeded) safely(this.hooks.onBudgetAlert, { kind: 'exceeded', threshold: 1, ...base });
  }

  #rememberKey(prefix: string, key: string): void {
    let keys = this.#spendKeys.get(prefix);
    if (keys === undefined) {
      keys = new Set();
      this.#spendKeys.set(prefix, keys);
    }
    keys.delete(key); // re-inserted last: most recent
    keys.add(key);
    if (keys.size > MAX_SPEND_KEYS) {
      const oldest = keys.values().next();
      if (oldest.done !== true) keys.delete(oldest.value);
    }
  }
}
