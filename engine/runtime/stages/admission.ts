/**
 * Stage `admission`: the route's rate limits and budgets whose key does not name `target`, and
 * the per-attempt gate for those that do.
 *
 * 1. **Limits**: acquired all or nothing. A refusal is a 429 `rate_limited` with `Retry-After` and
 *    `x-ratelimit-*`; an admitted request carries the `x-ratelimit-*` headers of its tightest
 *    limits. Token limits reserve the estimate and hold it until the answer is complete; the
 *    accounting stage then reconciles it with the usage the attempts reported. A request that
 *    ended without usage gives its reservation back unless a target served it; a cache hit gives
 *    it back too.
 * 2. **Budgets**: the period's spend is read; an exceeded budget blocks (429 `budget_exceeded`,
 *    `Retry-After` until the period ends) or replaces the plan by its `downgradeTo` chain (a block
 *    wins over a downgrade), except for an answer a native batch already gave (`nativeAnswer`:
 *    paid for, so served and its cost recorded). The answer's cost is recorded against every
 *    budget key when it is complete; each `alertAt` threshold is reported once per crossing.
 * 3. **Per-target rules** (key names `target`): a gate the attempt loop consults before each
 *    upstream call (`TargetGate`); the attempt's own settlement reconciles and records them.
 */
import type { CompiledBudget, CompiledRoute, RouteTraffic } from '../../compile/compile.js';
import { buildPlan, flattenPlan } from '../../compile/plan.js';
import { hasImageContent } from '../../context.js';
import { costUsd } from '../../limits/budgets.js';
import type { Admission, RateLimitHeaders } from '../../limits/limiter.js';
import { needsResponsesApi } from '../../shared/responses-only.js';
import type { EngineResponse, RequestContext, ResponseMeta } from '../../types.js';
import { type GateVerdict, retryAfterSeconds, type TargetGate } from '../attempts/index.js';
import type { NamedStage, Next } from '../pipeline.js';
import type { RequestScope } from '../scope.js';
import { type LimitEvent, safely, type Traffic, type TrafficSnapshot } from '../traffic-state.js';
import { errorAnswer } from './answer.js';

const OPEN: GateVerdict = Object.freeze({ allowed: true, settle: null });

function noop(): void {}

/** `x-ratelimit-*` without `retry-after` (only a refusal carries that). */
function rateHeaders(headers: RateLimitHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name !== 'retry-after' && value !== undefined) out[name] = value;
  }
  return out;
}

/** A request at admission, with the rules of its route. */
interface Admitting {
  readonly scope: RequestScope;
  readonly snapshot: TrafficSnapshot;
  readonly route: CompiledRoute;
  readonly rules: RouteTraffic;
  readonly ctx: RequestContext;
}

/** The event of a refusal by rate limits (of the request, or of one target). */
function limitRefusal(
  kind: 'rate_limited' | 'target_rate_limited',
  route: string,
  target: string | null,
  admission: Admission,
): LimitEvent {
  return {
    kind,
    route,
    target,
    rules: admission.refusedBy.map((o) => o.limit),
    retryAfterMs: Number.isFinite(admission.retryAfterMs) ? admission.retryAfterMs : null,
    degraded: admission.refusedBy.some((o) => o.result.degraded !== undefined),
  };
}

/** Tokens the attempts reported, all together; null when none reported any. */
function attemptTokens(meta: ResponseMeta): number | null {
  let total: number | null = null;
  for (const a of meta.attempts) if (a.usage !== null) total = (total ?? 0) + a.usage.totalTokens;
  return total;
}

/** What a token reservation is reconciled to once the answer is complete. */
function actualTokens(meta: ResponseMeta | null, reserved: number): number {
  if (meta === null || meta.cache === 'hit') return 0;
  return attemptTokens(meta) ?? (meta.target !== null ? reserved : 0);
}

export function admissionStage(traffic: Traffic): NamedStage {
  const clock = traffic.clock;
  const hooks = traffic.hooks;

  /** A limit or budget acted: the hook (metrics) and the request's record. */
  const limitEvent = (scope: RequestScope, event: LimitEvent): void => {
    scope.addLimit(event);
    safely(hooks.onLimit, event);
  };

  /** A 429 of this stage; the cache (if any) is bypassed, since it is never reached. */
  const refuse = (
    scope: RequestScope,
    rules: RouteTraffic,
    code: 'rate_limited' | 'budget_exceeded',
    detail: string,
    headers: Record<string, string>,
  ): EngineResponse => {
    if (rules.cache !== null || rules.semanticCache !== null) {
      scope.cache = 'bypass';
      scope.setHeader('x-switchyard-cache', 'bypass');
    }
    return errorAnswer(scope, code, clock.now(), { params: { detail }, headers });
  };

  const admitLimits = async (request: Admitting): Promise<EngineResponse | null> => {
    const { scope, snapshot, route, rules, ctx } = request;
    return limitsAdmitted(
      request,
      await snapshot.limiter.admit(rules.limits, { ctx, route: route.name }, scope.startedAt),
    );
  };

  /** What the route's limits decided: a refusal (429), or null with the request's headers and hold. */
  const limitsAdmitted = (request: Admitting, admission: Admission): EngineResponse | null => {
    const { scope, route, rules } = request;
    if (!admission.allowed) {
      limitEvent(scope, limitRefusal('rate_limited', route.name, null, admission));
      const headers = rateHeaders(admission.headers);
      if (admission.headers['retry-after'] !== undefined)
        headers['retry-after'] = admission.headers['retry-after'];
      const detail = admission.tooLarge
        ? `This request needs more tokens than rate limit "${admission.refusedBy[0]?.limit}" can ever admit at once; lower max_tokens or the input.`
        : 'Rate limit reached for this key; retry after the time in Retry-After.';
      return refuse(scope, rules, 'rate_limited', detail, headers);
    }
    const limits = admission.headers;
    for (const name in limits) {
      const value = limits[name as keyof RateLimitHeaders];
      // What rateHeaders keeps, set in the same order without the intermediate records.
      if (name !== 'retry-after' && value !== undefined && Object.hasOwn(limits, name))
        scope.setHeader(name, value);
    }
    if (admission.reservedTokens > 0) holdReservation(scope, admission);
    return null;
  };

  const holdReservation = (scope: RequestScope, admission: Admission): void => {
    scope.hold({
      settle: (meta) =>
        admission.reservation.reconcile(actualTokens(meta, admission.reservedTokens), clock.now()),
    });
  };

  const checkBudgets = async (request: Admitting): Promise<EngineResponse | null> => {
    const { scope, snapshot, route, rules, ctx } = request;
    const start = scope.startedAt;
    const checks = rules.budgets.map((rb) => ({ rb, key: rb.budget.key({ ctx, route: route.name }) }));
    const states = await Promise.all(
      checks.map(({ rb, key }) => traffic.tracker(snapshot, rb.budget).check(key, start)),
    );
    let downgrade: (typeof checks)[number] | null = null;
    // An answer a provider's native batch already gave (and charged for) is neither refused nor
    // downgraded: its cost is recorded like any other (a budget can be overshot by a batch).
    const paid = scope.input.nativeAnswer !== undefined;
    for (let i = 0; i < checks.length; i++) {
      const { rb } = checks[i];
      const state = states[i];
      if (!state.exceeded || paid) continue;
      if (rb.downgrade === null) {
        const retryAfterMs = Math.max(0, state.resetAtMs - start);
        limitEvent(scope, {
          kind: 'budget_exceeded',
          route: route.name,
          target: null,
          rules: [rb.budget.name],
          retryAfterMs,
          degraded: !Number.isFinite(state.spent),
        });
        return refuse(
          scope,
          rules,
          'budget_exceeded',
          `Budget "${rb.budget.name}" is exhausted for this period.`,
          {
            'retry-after': retryAfterSeconds(retryAfterMs),
          },
        );
      }
      downgrade ??= checks[i];
    }
    if (downgrade !== null && downgrade.rb.downgrade !== null && scope.routed !== null) {
      const plan = buildPlan(downgrade.rb.downgrade, {
        ctx,
        tools: ctx.tools,
        images: hasImageContent(ctx.body),
        responses: needsResponsesApi(ctx.body),
      });
      if (plan === null) {
        return refuse(
          scope,
          rules,
          'budget_exceeded',
          `Budget "${downgrade.rb.budget.name}" is exhausted and none of its downgrade targets can serve this request.`,
          {},
        );
      }
      scope.routed = { ...scope.routed, plan, targets: flattenPlan(plan) };
      scope.setHeader('x-switchyard-downgraded', downgrade.rb.budget.name);
      limitEvent(scope, {
        kind: 'downgraded',
        route: route.name,
        target: null,
        rules: [downgrade.rb.budget.name],
        retryAfterMs: null,
        degraded: false,
      });
    }
    // The answer's cost is recorded against every key of the route's budgets once it is complete.
    scope.hold({
      settle: (meta) => {
        const cost = meta?.costUsd ?? 0;
        if (!(cost > 0)) return;
        const now = clock.now();
        return Promise.allSettled(
          checks.map(({ rb, key }) => traffic.recordSpend(snapshot, rb.budget, key, cost, now)),
        ).then(noop);
      },
    });
    return null;
  };

  const gate = (
    scope: RequestScope,
    snapshot: TrafficSnapshot,
    rules: RouteTraffic,
    route: string,
    ctx: RequestContext,
  ): TargetGate => ({
    admit: async (target) => {
      const now = clock.now();
      let admission: Admission | null = null;
      if (rules.targetLimits.length > 0) {
        admission = await snapshot.limiter.admit(
          rules.targetLimits,
          { ctx, route, target: target.name },
          now,
        );
        if (!admission.allowed) {
          limitEvent(scope, limitRefusal('target_rate_limited', route, target.name, admission));
          return {
            allowed: false,
            code: 'rate_limited',
            retryAfterMs: admission.retryAfterMs,
            headers: rateHeaders(admission.headers),
          };
        }
      }
      const budgets: { budget: CompiledBudget; key: string }[] = [];
      for (const budget of rules.targetBudgets) {
        const key = budget.key({ ctx, route, target: target.name });
        const state = await traffic.tracker(snapshot, budget).check(key, now);
        // A native batch's answer is already paid for (see checkBudgets).
        if (state.exceeded && scope.input.nativeAnswer === undefined) {
          if (admission !== null && admission.reservedTokens > 0) {
            void admission.reservation.reconcile(0, now).catch(noop);
          }
          const retryAfterMs = Math.max(0, state.resetAtMs - now);
          limitEvent(scope, {
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
          const at = clock.now();
          if (held !== null && held.reservedTokens > 0) {
            const actual = usage?.totalTokens ?? (ok ? held.reservedTokens : 0);
            void held.reservation.reconcile(actual, at).catch(noop);
          }
          if (usage !== null && target.price !== null) {
            const cost = costUsd(usage, target.price);
            if (cost > 0) {
              for (const { budget, key } of budgets)
                void traffic.recordSpend(snapshot, budget, key, cost, at).catch(noop);
            }
          }
        },
      };
    },
  });

  const admit = async (request: Admitting, next: Next): Promise<EngineResponse> => {
    if (request.rules.limits.length > 0) {
      const refused = await admitLimits(request);
      if (refused !== null) return refused;
    }
    return afterLimits(request, next);
  };

  /** Budgets, then the per-target gate, then the stages after this one. */
  const afterLimits = async (request: Admitting, next: Next): Promise<EngineResponse> => {
    if (request.rules.budgets.length > 0) {
      const refused = await checkBudgets(request);
      if (refused !== null) return refused;
    }
    return gateThenNext(request, next);
  };

  const gateThenNext = (request: Admitting, next: Next): Promise<EngineResponse> => {
    const { scope, snapshot, route, rules, ctx } = request;
    if (rules.targetLimits.length > 0 || rules.targetBudgets.length > 0) {
      scope.gate = gate(scope, snapshot, rules, route.name, ctx);
    }
    return next(scope);
  };

  /**
   * Limits whose stores are all in this process are decided at once (`admitSync`): the same
   * decision, without a promise per level. Otherwise, or with budgets, as `admit`.
   */
  const admitNow = (request: Admitting, next: Next): Promise<EngineResponse> => {
    const { scope, snapshot, route, rules, ctx } = request;
    const admission = snapshot.limiter.admitSync(rules.limits, { ctx, route: route.name }, scope.startedAt);
    if (admission === null) return admit(request, next);
    const refused = limitsAdmitted(request, admission);
    if (refused !== null) return Promise.resolve(refused);
    return rules.budgets.length > 0 ? afterLimits(request, next) : gateThenNext(request, next);
  };

  return {
    name: 'admission',
    // Not async itself: a route without limits or budgets passes straight through.
    run: (scope, next) => {
      const snapshot = scope.snapshot.traffic;
      const route = scope.route;
      const rules = route?.traffic ?? null;
      const ctx = scope.context;
      if (snapshot === null || route === null || rules === null || ctx === null) return next(scope);
      if (
        rules.limits.length === 0 &&
        rules.budgets.length === 0 &&
        rules.targetLimits.length === 0 &&
        rules.targetBudgets.length === 0
      )
        return next(scope);
      const request: Admitting = { scope, snapshot, route, rules, ctx };
      return rules.limits.length > 0 ? admitNow(request, next) : admit(request, next);
    },
  };
}
