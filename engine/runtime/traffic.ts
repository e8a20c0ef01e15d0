/**
 * Traffic rules around the attempt loop: rate limits, budgets and the response cache, composed
 * in this order for a route that declares any of them (a route that declares none never comes
 * here):
 *
 * 1. **Limits** (key without `target`): acquired at admission, all or nothing. A refusal is a 429
 *    `rate_limited` with `Retry-After` and `x-ratelimit-*`; an admitted request carries the
 *    `x-ratelimit-*` headers of its tightest limits. Token limits reserve the estimate
 *    (`estimateTokens`) and are reconciled with the usage the attempts reported once the answer
 *    is complete (for a stream, when it ends); a request that failed without usage gives its
 *    reservation back, a successful one without usage keeps it.
 * 2. **Budgets** (key without `target`): the period's spend is read; an exceeded budget blocks
 *    (429 `budget_exceeded`, `Retry-After` until the period ends) or replaces the plan by its
 *    `downgradeTo` chain (a block wins over a downgrade). Spend (`meta.costUsd`) is recorded
 *    after the answer; each `alertAt` threshold is reported once per crossing (`onBudgetAlert`).
 * 3. **Cache**: a request the cache's `when` does not match, or one with `Cache-Control:
 *    no-cache`, bypasses the read; otherwise a stored answer is served (a streamed request gets it
 *    replayed as a stream) and concurrent identical misses wait on one upstream call (single
 *    flight; a waiter whose leader failed runs on its own). Only complete successful answers are
 *    stored, never with `no-store`. `x-switchyard-cache: hit|miss|bypass` is on every response of
 *    a route with a cache. A hit costs no tokens and no spend: its token reservation is refunded.
 * 4. **Per-target rules** (limits and budgets whose key names `target`): a gate the attempt loop
 *    consults before each upstream call, see `TargetGate` in execute.ts.
 *
 * Time is the engine's Clock everywhere; stores get `now` as an argument.
 */

import { toCachedAnswer } from '../cache/answer.js';
import type { CompiledCache } from '../cache/compile.js';
import { cacheDirectives } from '../cache/keys.js';
import { SingleFlight } from '../cache/single-flight.js';
import type { CachedAnswer, CacheStore } from '../cache/store.js';
import { replayStream, StreamAssembler, wantsUsage } from '../cache/stream.js';
import type { CompiledBudget, CompiledPolicy, CompiledRoute, RouteTraffic } from '../compile/compile.js';
import { buildPlan, flattenPlan } from '../compile/plan.js';
import { hasImageContent } from '../context.js';
import { BudgetTracker, costUsd } from '../limits/budgets.js';
import { type Admission, RateLimiter, type RateLimitHeaders } from '../limits/limiter.js';
import type { EngineResponse, RequestContext, ResponseMeta, Usage } from '../types.js';
import type { Clock } from './clock.js';
import { ENGINE_ERRORS, EngineError, engineErrorBody } from './errors.js';
import { type GateVerdict, policyLabel, type RouteDecision, type TargetGate } from './execute.js';
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
  readonly periodStartMs: number;
}

export interface CacheEvent {
  /** `stored` follows a `miss` (or `bypass` with `no-cache`) whose answer was written. */
  readonly outcome: CacheOutcome | 'stored';
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

export type Execute = (decision: RouteDecision, gate: TargetGate | undefined) => Promise<EngineResponse>;

const MAX_SPEND_KEYS = 10_000;

/** A single-flight waiter's own deadline passed before its leader answered. */
const TIMED_OUT: unique symbol = Symbol('timed out');

const OPEN: GateVerdict = Object.freeze({ allowed: true, settle: null });

function noop(): void {}

function safely<E>(hook: ((event: E) => void) | undefined, event: E): void {
  if (hook === undefined) return;
  try {
    hook(event);
  } catch {
    // Hooks are for logs and metrics; they never change a decision.
  }
}

/** `x-ratelimit-*` without `retry-after` (only a refusal carries that). */
function rateHeaders(headers: RateLimitHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name !== 'retry-after' && value !== undefined) out[name] = value;
  }
  return out;
}

function retryAfterSeconds(ms: number): string {
  return String(Math.max(1, Math.ceil(ms / 1000)));
}

function toOpenAIUsage(u: Usage): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.totalTokens,
  };
}

/** Tokens the attempts reported, all together; null when none reported any. */
function attemptTokens(meta: ResponseMeta): number | null {
  let total: number | null = null;
  for (const a of meta.attempts) if (a.usage !== null) total = (total ?? 0) + a.usage.totalTokens;
  return total;
}

async function* fromArray(frames: readonly string[]): AsyncGenerator<string> {
  yield* frames;
}

/**
 * Feeds every frame to the assembler on its way to the caller. An explicit iterator, not a
 * generator: `return()` before the first `next()` must still reach the attempt loop's iterator
 * (which then releases upstream and resolves `done`).
 */
function tap(events: AsyncIterable<string>, assembler: StreamAssembler): AsyncGenerator<string> {
  const inner = events[Symbol.asyncIterator]();
  const iterator: AsyncGenerator<string> = {
    async next() {
      const step = await inner.next();
      // The attempt loop writes one `data:` line per frame.
      if (step.done !== true && step.value.startsWith('data: '))
        assembler.pushData(step.value.slice(6).trimEnd());
      return step;
    },
    async return(value: unknown) {
      if (inner.return !== undefined) await inner.return();
      return { done: true, value };
    },
    async throw(error: unknown) {
      if (inner.throw !== undefined) return inner.throw(error);
      if (inner.return !== undefined) await inner.return();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

export interface TrafficOptions {
  readonly clock: Clock;
  readonly stores: TrafficStores;
  readonly hooks: TrafficHooks;
}

interface CacheUse {
  readonly cache: CompiledCache;
  readonly store: CacheStore;
  readonly key: string;
  readonly write: boolean;
  outcome: CacheOutcome;
  /** Set for the leader of a single flight: hands its answer (or null) to the waiters. */
  share: ((answer: CachedAnswer | null) => void) | null;
}

export class Traffic {
  readonly #clock: Clock;
  readonly #stores: TrafficStores;
  readonly #hooks: TrafficHooks;
  readonly #flights = new SingleFlight<CachedAnswer | null>();
  /** Budget counter prefix → keys recorded, oldest first (for `spend()`). */
  readonly #spendKeys = new Map<string, Set<string>>();

  constructor(options: TrafficOptions) {
    this.#clock = options.clock;
    this.#stores = options.stores;
    this.#hooks = options.hooks;
  }

  /** The traffic state of a policy version; null when it declares no limits, budgets or caches. */
  prepare(policy: CompiledPolicy): TrafficSnapshot | null {
    if (policy.limits.size === 0 && policy.budgets.size === 0 && policy.caches.size === 0) {
      // No caches or Redis in the new policy: the old ones must go too.
      this.#stores.retainCaches([]);
      this.#stores.retainRedis([]);
      return null;
    }
    const redisUrl = policy.redisUrl;
    const usesRedis =
      [...policy.limits.values()].some((l) => l.store === 'redis') ||
      [...policy.budgets.values()].some((b) => b.store === 'redis') ||
      [...policy.caches.values()].some((c) => c.store === 'redis');
    if (redisUrl !== null && usesRedis) this.#stores.connect(redisUrl);
    this.#stores.retainRedis(redisUrl !== null && usesRedis ? [redisUrl] : []);
    const limiter = new RateLimiter({ storeFor: (limit) => this.#stores.limiterStore(limit, redisUrl) });
    const trackers = new Map<string, BudgetTracker>();
    for (const budget of policy.budgets.values()) {
      trackers.set(
        budget.name,
        new BudgetTracker(budget.spec, this.#stores.counterStore(budget.store, redisUrl), {
          prefix: budget.prefix,
        }),
      );
    }
    this.#stores.retainCaches(policy.caches.values());
    return { policy, limiter, trackers };
  }

  async spend(snapshot: TrafficSnapshot | null): Promise<SpendReport> {
    const at = this.#clock.now();
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

  /** Runs a request of a route with traffic rules through limits, budgets, cache and `execute`. */
  async run(
    snapshot: TrafficSnapshot,
    route: CompiledRoute,
    traffic: RouteTraffic,
    decision: RouteDecision,
    ctx: RequestContext,
    signal: AbortSignal | undefined,
    execute: Execute,
  ): Promise<EngineResponse> {
    const start = this.#clock.now();
    const extra: Record<string, string> = {};

    // 1. Limits.
    let admission: Admission | null = null;
    if (traffic.limits.length > 0) {
      admission = await snapshot.limiter.admit(traffic.limits, { ctx, route: route.name }, start);
      if (!admission.allowed) {
        safely(this.#hooks.onLimit, {
          kind: 'rate_limited',
          route: route.name,
          target: null,
          rules: admission.refusedBy.map((o) => o.limit),
          retryAfterMs: Number.isFinite(admission.retryAfterMs) ? admission.retryAfterMs : null,
          degraded: admission.refusedBy.some((o) => o.result.degraded !== undefined),
        });
        const headers: Record<string, string> = { ...rateHeaders(admission.headers) };
        if (admission.headers['retry-after'] !== undefined)
          headers['retry-after'] = admission.headers['retry-after'];
        const message = admission.tooLarge
          ? `This request needs more tokens than rate limit "${admission.refusedBy[0]?.limit}" can ever admit at once; lower max_tokens or the input.`
          : 'Rate limit reached for this key; retry after the time in Retry-After.';
        return this.#refuse(
          ctx.tenant,
          snapshot.policy,
          route.name,
          'rate_limited',
          message,
          headers,
          traffic.cache !== null,
        );
      }
      Object.assign(extra, rateHeaders(admission.headers));
    }
    const refund = (): void => {
      if (admission !== null && admission.reservedTokens > 0) {
        void admission.reservation.reconcile(0, this.#clock.now()).catch(noop);
      }
    };

    // 2. Budgets.
    let effective = decision;
    const spendKeys: { budget: CompiledBudget; key: string }[] = [];
    if (traffic.budgets.length > 0) {
      const checks = traffic.budgets.map((rb) => ({ rb, key: rb.budget.key({ ctx, route: route.name }) }));
      let states: Awaited<ReturnType<BudgetTracker['check']>>[];
      try {
        states = await Promise.all(
          checks.map(({ rb, key }) => this.#tracker(snapshot, rb.budget).check(key, start)),
        );
      } catch (error) {
        refund(); // the limits admitted (and reserved tokens for) a request that goes no further
        throw error;
      }
      let downgrade: (typeof checks)[number] | null = null;
      for (let i = 0; i < checks.length; i++) {
        const { rb, key } = checks[i];
        spendKeys.push({ budget: rb.budget, key });
        const state = states[i];
        if (!state.exceeded) continue;
        if (rb.downgrade === null) {
          refund();
          const retryAfterMs = Math.max(0, state.resetAtMs - start);
          safely(this.#hooks.onLimit, {
            kind: 'budget_exceeded',
            route: route.name,
            target: null,
            rules: [rb.budget.name],
            retryAfterMs,
            degraded: !Number.isFinite(state.spent),
          });
          return this.#refuse(
            ctx.tenant,
            snapshot.policy,
            route.name,
            'budget_exceeded',
            `Budget "${rb.budget.name}" is exhausted for this period.`,
            { ...extra, 'retry-after': retryAfterSeconds(retryAfterMs) },
            traffic.cache !== null,
          );
        }
        downgrade ??= checks[i];
      }
      if (downgrade !== null && downgrade.rb.downgrade !== null) {
        const plan = buildPlan(downgrade.rb.downgrade, {
          ctx,
          tools: ctx.tools,
          images: hasImageContent(ctx.body),
        });
        if (plan === null) {
          refund();
          return this.#refuse(
            ctx.tenant,
            snapshot.policy,
            route.name,
            'budget_exceeded',
            `Budget "${downgrade.rb.budget.name}" is exhausted and none of its downgrade targets can serve this request.`,
            extra,
            traffic.cache !== null,
          );
        }
        effective = { ...decision, plan, targets: flattenPlan(plan) };
        extra['x-switchyard-downgraded'] = downgrade.rb.budget.name;
        safely(this.#hooks.onLimit, {
          kind: 'downgraded',
          route: route.name,
          target: null,
          rules: [downgrade.rb.budget.name],
          retryAfterMs: null,
          degraded: false,
        });
      }
    }

    const gate =
      traffic.targetLimits.length > 0 || traffic.targetBudgets.length > 0
        ? this.#gate(snapshot, traffic, route.name, ctx)
        : undefined;

    // 3. Cache.
    const use = traffic.cache === null ? null : this.#cacheUse(snapshot, traffic.cache, route.name, ctx);
    if (use !== null) {
      extra['x-switchyard-cache'] = use.outcome;
      if (use.outcome === 'miss') {
        let served: EngineResponse | null;
        try {
          served = await this.#lookup(snapshot, use, route.name, ctx, signal, start, extra, decision);
        } catch (error) {
          refund(); // a waiter that aborted or timed out never calls upstream
          throw error;
        }
        if (served !== null) {
          refund();
          return served;
        }
      }
      safely(this.#hooks.onCache, {
        outcome: use.outcome,
        route: route.name,
        cache: use.cache.name,
        coalesced: false,
      });
    }

    // 4. The attempt loop, then the accounting.
    let response: EngineResponse;
    try {
      response = await execute(effective, gate);
    } catch (error) {
      use?.share?.(null);
      refund();
      throw error;
    }
    const account = async (meta: ResponseMeta, answer: CachedAnswer | null): Promise<void> => {
      const now = this.#clock.now();
      use?.share?.(answer);
      const work: Promise<unknown>[] = [];
      if (answer !== null && use?.write === true) {
        work.push(
          use.store.set(use.key, answer, use.cache.ttlMs, now).then(() =>
            safely(this.#hooks.onCache, {
              outcome: 'stored',
              route: route.name,
              cache: use.cache.name,
              coalesced: false,
            }),
          ),
        );
      }
      if (admission !== null && admission.reservedTokens > 0) {
        const actual = attemptTokens(meta) ?? (meta.target !== null ? admission.reservedTokens : 0);
        work.push(admission.reservation.reconcile(actual, now));
      }
      const cost = meta.costUsd ?? 0;
      if (cost > 0)
        for (const { budget, key } of spendKeys) work.push(this.#record(snapshot, budget, key, cost, now));
      await Promise.allSettled(work);
    };

    if (response.kind === 'json') {
      const answer =
        use !== null && response.status === 200 && response.meta.target !== null
          ? toCachedAnswer(response.body, response.meta.target, this.#clock.now())
          : null;
      // In the background: the cache write, token reconcile and budget record may be Redis round
      // trips the caller need not wait for (the single-flight share happens synchronously).
      void account(response.meta, answer).catch(noop);
      return this.#decorate(response, extra, use?.outcome ?? null);
    }

    const assembler = use !== null && (use.write || use.share !== null) ? new StreamAssembler() : null;
    const events = assembler === null ? response.events : tap(response.events, assembler);
    const outcome = use?.outcome ?? null;
    const done = response.done.then(async (meta) => {
      let answer: CachedAnswer | null = null;
      try {
        // Only a stream that ended with [DONE] and a finish reason on every choice is complete.
        const body = assembler?.done === true && meta.target !== null ? assembler.result() : null;
        if (body !== null && meta.target !== null) {
          if (body.usage === undefined && meta.usage !== null) body.usage = toOpenAIUsage(meta.usage);
          answer = toCachedAnswer(body, meta.target, this.#clock.now());
        }
      } finally {
        await account(meta, answer);
      }
      return outcome === null ? meta : { ...meta, cache: outcome };
    });
    return {
      ...response,
      headers: { ...response.headers, ...extra },
      events,
      done,
      meta: outcome === null ? response.meta : { ...response.meta, cache: outcome },
    };
  }

  #tracker(snapshot: TrafficSnapshot, budget: CompiledBudget): BudgetTracker {
    const tracker = snapshot.trackers.get(budget.name);
    if (tracker === undefined) throw new Error(`internal: no tracker for budget "${budget.name}"`);
    return tracker;
  }

  async #record(
    snapshot: TrafficSnapshot,
    budget: CompiledBudget,
    key: string,
    cost: number,
    now: number,
  ): Promise<void> {
    this.#rememberKey(budget.prefix, key);
    const r = await this.#tracker(snapshot, budget).record(key, cost, now);
    const base = {
      budget: budget.name,
      key,
      spentUsd: r.spent,
      limitUsd: r.limit,
      periodStartMs: r.periodStartMs,
    };
    for (const threshold of r.crossed)
      safely(this.#hooks.onBudgetAlert, { kind: 'threshold', threshold, ...base });
    if (r.becameExceeded) safely(this.#hooks.onBudgetAlert, { kind: 'exceeded', threshold: 1, ...base });
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

  #cacheUse(
    snapshot: TrafficSnapshot,
    cache: CompiledCache,
    route: string,
    ctx: RequestContext,
  ): CacheUse | null {
    if (!cache.applies(ctx)) {
      return { cache, store: NO_STORE, key: '', write: false, outcome: 'bypass', share: null };
    }
    const directives = cacheDirectives(ctx);
    return {
      cache,
      store: this.#stores.cacheStore(cache, snapshot.policy.redisUrl),
      key: cache.keyFor(ctx, route, directives),
      write: directives.write,
      outcome: directives.read ? 'miss' : 'bypass',
      share: null,
    };
  }

  /**
   * A stored answer, or one shared by the leader of a concurrent identical miss; null to go
   * upstream (the caller is then the leader, or its leader failed).
   */
  async #lookup(
    snapshot: TrafficSnapshot,
    use: CacheUse,
    route: string,
    ctx: RequestContext,
    signal: AbortSignal | undefined,
    start: number,
    extra: Record<string, string>,
    decision: RouteDecision,
  ): Promise<EngineResponse | null> {
    const stored = await use.store.get(use.key, start);
    if (stored !== undefined) {
      const hit = this.#serveHit(snapshot.policy, route, ctx, stored, start, extra);
      if (hit !== null) {
        safely(this.#hooks.onCache, { outcome: 'hit', route, cache: use.cache.name, coalesced: false });
        return hit;
      }
    }
    let leader = false;
    let share: (answer: CachedAnswer | null) => void = noop;
    const flight = this.#flights.run(
      use.key,
      () => {
        leader = true;
        return new Promise<CachedAnswer | null>((resolve) => {
          share = resolve;
        });
      },
      { signal },
    );
    if (leader) {
      flight.catch(noop); // the leader's own abort; the waiters still get its answer
      use.share = share;
      return null;
    }
    let answer: CachedAnswer | null;
    try {
      const waited = await this.#waitForLeader(flight, start + Math.max(0, decision.timeout.totalMs));
      if (waited === TIMED_OUT) return this.#waiterTimeout(snapshot.policy, route, ctx, start, extra);
      answer = waited;
    } catch (error) {
      if (signal?.aborted) throw new EngineError('SY_ABORTED', { route, cause: error });
      answer = null;
    }
    if (answer === null) return null;
    const hit = this.#serveHit(snapshot.policy, route, ctx, answer, start, extra);
    if (hit !== null)
      safely(this.#hooks.onCache, { outcome: 'hit', route, cache: use.cache.name, coalesced: true });
    return hit;
  }

  /**
   * A waiter's wait for its leader, bounded by the waiter's own route deadline: a leader whose
   * answer never comes (a stream nobody reads) must not hold the waiters forever.
   */
  async #waitForLeader(
    flight: Promise<CachedAnswer | null>,
    deadline: number,
  ): Promise<CachedAnswer | null | typeof TIMED_OUT> {
    const cancel = new AbortController();
    const timer = this.#clock.sleep(Math.max(0, deadline - this.#clock.now()), cancel.signal).then(
      (): typeof TIMED_OUT => TIMED_OUT,
      // Cancelled once the flight settled: this branch never wins the race.
      () => new Promise<never>(noop),
    );
    try {
      return await Promise.race([flight, timer]);
    } finally {
      cancel.abort();
    }
  }

  /** The 504 of a waiter whose leader did not answer within the waiter's route deadline. */
  #waiterTimeout(
    policy: CompiledPolicy,
    route: string,
    ctx: RequestContext,
    start: number,
    extra: Record<string, string>,
  ): EngineResponse {
    const meta: ResponseMeta = {
      policy: policy.identity,
      route,
      tenant: ctx.tenant,
      target: null,
      attempts: [],
      cache: null,
      usage: null,
      costUsd: null,
      overheadMs: Math.max(0, this.#clock.now() - start),
    };
    return {
      kind: 'json',
      status: ENGINE_ERRORS.SY_TIMEOUT.status,
      headers: {
        'x-switchyard-route': route,
        'x-switchyard-attempts': '0',
        'x-switchyard-policy': policyLabel(policy.identity),
        ...extra,
      },
      body: engineErrorBody('SY_TIMEOUT', { lastClass: 'timeout' }),
      meta,
    };
  }

  #serveHit(
    policy: CompiledPolicy,
    route: string,
    ctx: RequestContext,
    answer: CachedAnswer,
    start: number,
    extra: Record<string, string>,
  ): EngineResponse | null {
    const headers: Record<string, string> = {
      'x-switchyard-route': route,
      'x-switchyard-attempts': '0',
      'x-switchyard-policy': policyLabel(policy.identity),
      'x-switchyard-target': answer.target,
      ...extra,
      'x-switchyard-cache': 'hit',
    };
    const meta: ResponseMeta = {
      policy: policy.identity,
      route,
      tenant: ctx.tenant,
      target: answer.target,
      attempts: [],
      cache: 'hit',
      usage: answer.usage,
      costUsd: 0,
      overheadMs: Math.max(0, this.#clock.now() - start),
    };
    if (!ctx.stream) return { kind: 'json', status: 200, headers, body: answer.body, meta };
    const frames = replayStream(answer, { includeUsage: wantsUsage(ctx.body) });
    if (frames === null) return null; // not a chat completion: serve the streamed request upstream
    return {
      kind: 'stream',
      status: 200,
      headers: { ...headers, 'content-type': 'text/event-stream' },
      events: fromArray(frames),
      done: Promise.resolve(meta),
      meta,
    };
  }

  #gate(snapshot: TrafficSnapshot, traffic: RouteTraffic, route: string, ctx: RequestContext): TargetGate {
    return {
      admit: async (target) => {
        const now = this.#clock.now();
        let admission: Admission | null = null;
        if (traffic.targetLimits.length > 0) {
          admission = await snapshot.limiter.admit(
            traffic.targetLimits,
            { ctx, route, target: target.name },
            now,
          );
          if (!admission.allowed) {
            safely(this.#hooks.onLimit, {
              kind: 'target_rate_limited',
              route,
              target: target.name,
              rules: admission.refusedBy.map((o) => o.limit),
              retryAfterMs: Number.isFinite(admission.retryAfterMs) ? admission.retryAfterMs : null,
              degraded: admission.refusedBy.some((o) => o.result.degraded !== undefined),
            });
            return {
              allowed: false,
              code: 'rate_limited',
              retryAfterMs: admission.retryAfterMs,
              headers: rateHeaders(admission.headers),
            };
          }
        }
        const budgets: { budget: CompiledBudget; key: string }[] = [];
        for (const budget of traffic.targetBudgets) {
          const key = budget.key({ ctx, route, target: target.name });
          const state = await this.#tracker(snapshot, budget).check(key, now);
          if (state.exceeded) {
            if (admission !== null && admission.reservedTokens > 0) {
              void admission.reservation.reconcile(0, now).catch(noop);
            }
            const retryAfterMs = Math.max(0, state.resetAtMs - now);
            safely(this.#hooks.onLimit, {
              kind: 'target_over_budget',
              route,
              target: target.name,
              rules: [budget.name],
              retryAfterMs,
              degraded: !Number.isFinite(state.spent),
            });
            return { allowed: false, code: 'budget_exceeded', retryAfterMs, headers: {} };
          }
          budgets.push({ budget, key });
        }
        if (admission === null && budgets.length === 0) return OPEN;
        const held = admission;
        return {
          allowed: true,
          settle: (usage, ok) => {
            const at = this.#clock.now();
            if (held !== null && held.reservedTokens > 0) {
              const actual = usage?.totalTokens ?? (ok ? held.reservedTokens : 0);
              void held.reservation.reconcile(actual, at).catch(noop);
            }
            if (usage !== null && target.price !== null) {
              const cost = costUsd(usage, target.price);
              if (cost > 0) {
                for (const { budget, key } of budgets)
                  void this.#record(snapshot, budget, key, cost, at).catch(noop);
              }
            }
          },
        };
      },
    };
  }

  #refuse(
    tenant: string | null,
    policy: CompiledPolicy,
    route: string,
    code: 'rate_limited' | 'budget_exceeded',
    message: string,
    headers: Record<string, string>,
    hasCache: boolean,
  ): EngineResponse {
    const all: Record<string, string> = {
      'x-switchyard-route': route,
      'x-switchyard-attempts': '0',
      'x-switchyard-policy': policyLabel(policy.identity),
      ...headers,
    };
    if (hasCache) all['x-switchyard-cache'] = 'bypass';
    return {
      kind: 'json',
      status: 429,
      headers: all,
      body: { error: { message, type: 'rate_limit_error', code } },
      meta: {
        policy: policy.identity,
        route,
        tenant,
        target: null,
        attempts: [],
        cache: hasCache ? 'bypass' : null,
        usage: null,
        costUsd: null,
        overheadMs: 0,
      },
    };
  }

  #decorate(
    response: Extract<EngineResponse, { kind: 'json' }>,
    extra: Record<string, string>,
    outcome: CacheOutcome | null,
  ): EngineResponse {
    return {
      ...response,
      headers: { ...response.headers, ...extra },
      meta: outcome === null ? response.meta : { ...response.meta, cache: outcome },
    };
  }
}

/** The store of a request the cache does not apply to: never read nor written. */
const NO_STORE: CacheStore = {
  get: async () => undefined,
  set: async () => {},
  delete: async () => {},
  close: async () => {},
};
