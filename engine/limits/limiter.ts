/**
 * Rate limits for one request: compile a policy's `limits` entry once (`compileLimit`), then
 * `RateLimiter.admit` at admission and `Reservation.reconcile` when the real token usage is known.
 *
 * - A `requests` rate costs 1 per request. A `tokens` rate reserves an estimate at admission
 *   (input tokens + `max_completion_tokens` / `max_tokens`, or `defaultOutputTokens`), and
 *   `reconcile(actual)` charges or refunds the difference afterwards (a charge is never refused
 *   and may leave the bucket in debt, see `gcra.ts`).
 * - All or nothing: every applicable limit and kind is acquired concurrently; if any refuses, the
 *   ones that admitted are refunded at once, so a refused request costs nothing. (Between the
 *   acquire and the refund another request may see the transient charge; that errs on refusing.)
 * - The headers follow OpenAI: `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` from the
 *   tightest limit of each kind (the refusing one when refused), resets as `1s`, `6m0s`, `20ms`.
 *
 * Each kind of each limit has its own fingerprint (name, key fields, kind, exact rate, capacity),
 * which prefixes its counter keys: a reload that leaves a limit's definition unchanged keeps its
 * state, and changing one limit (or one kind of it) starts only that one afresh (P15). `when` and
 * `onStoreError` are not part of the fingerprint: they decide whether and how the counter is
 * used, not what it counts.
 */
import { createHash } from 'node:crypto';
import { compileWhen, normalizeField, type Predicate } from '../match/match.js';
import type { When } from '../policy/types.generated.js';
import { parseRate, type UnitResult } from '../shared/units.js';
import type { RequestContext } from '../types.js';
import { type GcraParams, rateToParams } from './gcra.js';
import { compileKey, type KeyFunction } from './keys.js';
import type { Acquired, LimiterStore } from './store.js';

export type LimitKind = 'requests' | 'tokens';

/** A `limits` entry of the policy (the shape of the schema's `Limit`). */
export interface LimitSpec {
  readonly key: readonly string[];
  readonly requests?: string;
  readonly tokens?: string;
  /**
   * A number is the capacity of the limit's first kind: `requests` when present, else `tokens`
   * (with both, the tokens capacity is then one period's token amount); `{ requests, tokens }`
   * sizes each kind on its own. A kind without a burst holds one period's amount.
   */
  readonly burst?: number | { readonly requests?: number; readonly tokens?: number };
  readonly when?: When;
  readonly store?: 'memory' | 'redis';
  readonly onStoreError?: 'open' | 'closed';
}

export interface CompiledLimitKind {
  readonly kind: LimitKind;
  readonly params: GcraParams;
  /** Prefix of this kind's counter keys: `rl:<fingerprint>:`. */
  readonly keyPrefix: string;
}

export interface CompiledLimit {
  readonly name: string;
  readonly key: KeyFunction;
  readonly applies: Predicate;
  readonly kinds: readonly CompiledLimitKind[];
  readonly store: 'memory' | 'redis';
  readonly onStoreError: 'open' | 'closed';
}

export const DEFAULT_OUTPUT_TOKENS = 1024;

/** The fingerprint of one kind of one limit: what its counter means. */
export function limitFingerprint(
  name: string,
  keyFields: readonly string[],
  kind: LimitKind,
  params: GcraParams,
): string {
  return createHash('sha256')
    .update(
      JSON.stringify(['limit/v1', name, keyFields, kind, params.amount, params.periodMs, params.capacity]),
    )
    .digest('hex')
    .slice(0, 16);
}

/**
 * Compiles a `limits` entry once per policy version. Errors are strings for the compiler to turn
 * into diagnostics (a rate of 0, a period too large to count exactly).
 *
 * @example
 * const r = compileLimit('per-tenant', { key: ['tenant'], requests: '600/min', tokens: '200000/min' });
 * if (!r.ok) throw new Error(r.error);
 */
export function compileLimit(name: string, spec: LimitSpec): UnitResult<CompiledLimit> {
  const keyFields = spec.key.map(normalizeField);
  const kinds: CompiledLimitKind[] = [];
  let first = true;
  for (const kind of ['requests', 'tokens'] as const) {
    const text = spec[kind];
    if (text === undefined) continue;
    const rate = parseRate(text);
    if (!rate.ok) return { ok: false, error: `limit ${name}: ${kind}: ${rate.error}` };
    // A bare number sizes the first kind only; the object form names each kind.
    const burst = typeof spec.burst === 'object' ? spec.burst[kind] : first ? spec.burst : undefined;
    first = false;
    const params = rateToParams(rate.value, burst);
    if (!params.ok) return { ok: false, error: `limit ${name}: ${kind}: ${params.error}` };
    const fp = limitFingerprint(name, keyFields, kind, params.value);
    kinds.push({ kind, params: params.value, keyPrefix: `rl:${fp}:` });
  }
  if (kinds.length === 0) return { ok: false, error: `limit ${name}: needs requests or tokens` };
  return {
    ok: true,
    value: Object.freeze({
      name,
      key: compileKey(keyFields),
      applies: compileWhen(spec.when),
      kinds: Object.freeze(kinds),
      store: spec.store ?? 'memory',
      onStoreError: spec.onStoreError ?? 'open',
    }),
  };
}

function positiveInt(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.ceil(value) : undefined;
}

/**
 * The token reservation for a request: input tokens plus the output it may produce
 * (`max_completion_tokens`, else `max_tokens`, else `defaultOutputTokens`); embeddings produce none.
 */
export function estimateTokens(ctx: RequestContext, defaultOutputTokens = DEFAULT_OUTPUT_TOKENS): number {
  if (ctx.endpoint === 'embeddings') return ctx.inputTokens;
  const output =
    positiveInt(ctx.body.max_completion_tokens) ?? positiveInt(ctx.body.max_tokens) ?? defaultOutputTokens;
  return ctx.inputTokens + output;
}

/** OpenAI's reset format (Go durations): `0s`, `20ms`, `1s`, `1.5s`, `6m0s`, `1h2m3.4s`. */
export function formatResetDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '';
  const total = Math.max(0, Math.ceil(ms));
  if (total === 0) return '0s';
  if (total < 1000) return `${total}ms`;
  const h = Math.floor(total / 3_600_000);
  const m = Math.floor((total % 3_600_000) / 60_000);
  const s = `${(total % 60_000) / 1000}s`;
  if (h > 0) return `${h}h${m}m${s}`;
  if (m > 0) return `${m}m${s}`;
  return s;
}

export type RateLimitHeaderName =
  | 'x-ratelimit-limit-requests'
  | 'x-ratelimit-remaining-requests'
  | 'x-ratelimit-reset-requests'
  | 'x-ratelimit-limit-tokens'
  | 'x-ratelimit-remaining-tokens'
  | 'x-ratelimit-reset-tokens'
  | 'retry-after';

export type RateLimitHeaders = Readonly<Partial<Record<RateLimitHeaderName, string>>>;

export interface LimitOutcome {
  readonly limit: string;
  readonly kind: LimitKind;
  readonly key: string;
  readonly cost: number;
  readonly result: Acquired;
}

export interface Admission {
  readonly allowed: boolean;
  /** 0 when allowed; the longest wait among refusing limits; `Infinity` when one never can fit. */
  readonly retryAfterMs: number;
  /** A token cost larger than a limit's capacity: retrying cannot help. */
  readonly tooLarge: boolean;
  /** Every check made, in limit order (for logs, metrics and `explain`). */
  readonly outcomes: readonly LimitOutcome[];
  readonly refusedBy: readonly LimitOutcome[];
  /** A store failed and `onStoreError` decided at least one outcome. */
  readonly degraded: boolean;
  readonly headers: RateLimitHeaders;
  /** Tokens reserved per token limit (0 when no token limit applied or the request was refused). */
  readonly reservedTokens: number;
  readonly reservation: Reservation;
}

export interface Reservation {
  /**
   * Charges (`actual > reserved`) or refunds (`actual < reserved`) the difference on every token
   * limit that admitted the request. Only the first call counts; a refused request's is a no-op.
   */
  reconcile(actualTokens: number, now: number): Promise<void>;
}

export interface AdmitRequest {
  readonly ctx: RequestContext;
  readonly route: string;
  readonly target?: string | null;
  /** Token reservation; default `estimateTokens(ctx, defaultOutputTokens)`. */
  readonly estimatedTokens?: number;
}

export interface RateLimiterOptions {
  /** The store of a limit (the engine maps `store` + `onStoreError` to a, resilient, instance). */
  readonly storeFor: (limit: CompiledLimit) => LimiterStore;
  readonly defaultOutputTokens?: number;
}

interface Check {
  readonly limit: CompiledLimit;
  readonly kind: CompiledLimitKind;
  readonly store: LimiterStore;
  readonly key: string;
  readonly cost: number;
}

const NO_RESERVATION: Reservation = { reconcile: async () => {} };

/**
 * @example
 * const limiter = new RateLimiter({ storeFor: (l) => (l.store === 'redis' ? redisFor(l.onStoreError) : memory) });
 * const adm = await limiter.admit(compiledLimits, { ctx, route: 'chat' }, clock.now());
 * if (!adm.allowed) return reply429(adm.headers, adm.retryAfterMs);
 * // ... after the response: await adm.reservation.reconcile(usage.totalTokens, clock.now());
 */
export class RateLimiter {
  readonly #storeFor: (limit: CompiledLimit) => LimiterStore;
  readonly #defaultOutputTokens: number;

  constructor(options: RateLimiterOptions) {
    this.#storeFor = options.storeFor;
    this.#defaultOutputTokens = options.defaultOutputTokens ?? DEFAULT_OUTPUT_TOKENS;
  }

  async admit(limits: readonly CompiledLimit[], request: AdmitRequest, now: number): Promise<Admission> {
    const checks = this.#checks(limits, request);
    if (checks.length === 0) return EMPTY_ADMISSION;

    const results = await Promise.all(checks.map((c) => c.store.acquire(c.key, c.kind.params, c.cost, now)));
    const allowed = results.every((r) => r.allowed);
    if (!allowed) {
      // All or nothing: give back what the admitting limits took, and report their state as it
      // is after the refund.
      await Promise.all(
        checks.map((c, i) => {
          const refunded = refund(c, results[i]);
          if (refunded === null) return undefined;
          results[i] = refunded;
          return c.store.adjust(c.key, c.kind.params, -c.cost, now);
        }),
      );
    }
    return admission(checks, results, allowed);
  }

  /**
   * `admit` at once, when every store the limits use keeps its state in this process
   * (`acquireSync`): the same checks, in the same order, with the same result. Null when a store
   * does not (then `admit`); nothing has been taken then.
   */
  admitSync(limits: readonly CompiledLimit[], request: AdmitRequest, now: number): Admission | null {
    for (const limit of limits) {
      const store = this.#storeFor(limit);
      if (store.acquireSync === undefined || store.adjustSync === undefined) return null;
    }
    const checks = this.#checks(limits, request);
    if (checks.length === 0) return EMPTY_ADMISSION;
    const results: Acquired[] = [];
    let allowed = true;
    for (const c of checks) {
      const r = (c.store.acquireSync as NonNullable<LimiterStore['acquireSync']>)(
        c.key,
        c.kind.params,
        c.cost,
        now,
      );
      results.push(r);
      if (!r.allowed) allowed = false;
    }
    if (!allowed) {
      for (let i = 0; i < checks.length; i++) {
        const c = checks[i];
        const refunded = refund(c, results[i]);
        if (refunded === null) continue;
        results[i] = refunded;
        (c.store.adjustSync as NonNullable<LimiterStore['adjustSync']>)(c.key, c.kind.params, -c.cost, now);
      }
    }
    return admission(checks, results, allowed);
  }

  /** The checks `request` is subject to, in limit order (a token kind costs the estimate). */
  #checks(limits: readonly CompiledLimit[], request: AdmitRequest): Check[] {
    const checks: Check[] = [];
    let tokens = -1;
    for (const limit of limits) {
      if (!limit.applies(request.ctx)) continue;
      const tuple = limit.key({ ctx: request.ctx, route: request.route, target: request.target });
      const store = this.#storeFor(limit);
      for (const kind of limit.kinds) {
        let cost = 1;
        if (kind.kind === 'tokens') {
          if (tokens < 0) {
            tokens = Math.max(
              0,
              Math.ceil(request.estimatedTokens ?? estimateTokens(request.ctx, this.#defaultOutputTokens)),
            );
          }
          cost = tokens;
        }
        checks.push({ limit, kind, store, key: kind.keyPrefix + tuple, cost });
      }
    }
    return checks;
  }
}

/**
 * The state an admitting check reports after a refused request's refund of it; null when it has
 * nothing to give back (it refused, it was degraded, or it cost nothing).
 */
function refund(c: Check, r: Acquired): Acquired | null {
  if (!r.allowed || r.degraded !== undefined || c.cost <= 0) return null;
  const { amount, periodMs } = c.kind.params;
  return {
    ...r,
    remaining: Math.min(r.limit, r.remaining + c.cost),
    resetAfterMs: Math.max(0, r.resetAfterMs - Math.floor((c.cost * periodMs) / amount)),
  };
}

/**
 * The admission of `checks` with their (refund-adjusted) results. Loops rather than `map`,
 * `filter` and `some`: every request of a route with limits makes one (the same values).
 */
function admission(checks: readonly Check[], results: readonly Acquired[], allowed: boolean): Admission {
  const outcomes: LimitOutcome[] = [];
  let refusedBy: LimitOutcome[] | null = null;
  let retryAfterMs = allowed ? 0 : Number.NEGATIVE_INFINITY;
  let tooLarge = false;
  let degraded = false;
  let tokenChecks: Check[] | null = null;
  for (let i = 0; i < checks.length; i++) {
    const c = checks[i];
    const result = results[i];
    const outcome: LimitOutcome = {
      limit: c.limit.name,
      kind: c.kind.kind,
      key: c.key,
      cost: c.cost,
      result,
    };
    outcomes.push(outcome);
    if (result.degraded !== undefined) degraded = true;
    if (!result.allowed) {
      refusedBy ??= [];
      refusedBy.push(outcome);
      if (!allowed) retryAfterMs = Math.max(retryAfterMs, result.retryAfterMs);
      if (result.retryAfterMs === Number.POSITIVE_INFINITY) tooLarge = true;
    }
    if (allowed && c.kind.kind === 'tokens' && c.cost >= 0) {
      tokenChecks ??= [];
      tokenChecks.push(c);
    }
  }
  return {
    allowed,
    retryAfterMs,
    tooLarge,
    outcomes,
    refusedBy: refusedBy ?? [],
    degraded,
    headers: rateLimitHeaders(outcomes, allowed, retryAfterMs),
    // Every token check costs the request's one estimate.
    reservedTokens: tokenChecks !== null ? tokenChecks[0].cost : 0,
    reservation: tokenChecks !== null ? reservation(tokenChecks) : NO_RESERVATION,
  };
}

const EMPTY_ADMISSION: Admission = Object.freeze({
  allowed: true,
  retryAfterMs: 0,
  tooLarge: false,
  outcomes: [],
  refusedBy: [],
  degraded: false,
  headers: {},
  reservedTokens: 0,
  reservation: NO_RESERVATION,
});

function reservation(checks: readonly Check[]): Reservation {
  let done = false;
  return {
    async reconcile(actualTokens: number, now: number): Promise<void> {
      if (done) return;
      done = true;
      const actual = Number.isFinite(actualTokens) ? Math.max(0, Math.ceil(actualTokens)) : 0;
      await Promise.all(
        checks.map((c) => {
          const delta = actual - c.cost;
          return delta === 0 ? undefined : c.store.adjust(c.key, c.kind.params, delta, now);
        }),
      );
    },
  };
}

/** The binding outcome of a kind: the refusing one with the longest wait, else the least remaining. */
function binding(outcomes: readonly LimitOutcome[], kind: LimitKind, allowed: boolean): LimitOutcome | null {
  let best: LimitOutcome | null = null;
  for (const o of outcomes) {
    if (o.kind !== kind) continue;
    if (best === null) {
      best = o;
      continue;
    }
    const a = o.result;
    const b = best.result;
    const better = allowed
      ? a.remaining < b.remaining || (a.remaining === b.remaining && a.resetAfterMs > b.resetAfterMs)
      : (!a.allowed && b.allowed) || (a.allowed === b.allowed && a.retryAfterMs > b.retryAfterMs);
    if (better) best = o;
  }
  return best;
}

function rateLimitHeaders(
  outcomes: readonly LimitOutcome[],
  allowed: boolean,
  retryAfterMs: number,
): RateLimitHeaders {
  const headers: Partial<Record<RateLimitHeaderName, string>> = {};
  const r = binding(outcomes, 'requests', allowed);
  if (r !== null) {
    headers['x-ratelimit-limit-requests'] = String(r.result.limit);
    headers['x-ratelimit-remaining-requests'] = String(r.result.remaining);
    headers['x-ratelimit-reset-requests'] = formatResetDuration(r.result.resetAfterMs);
  }
  const t = binding(outcomes, 'tokens', allowed);
  if (t !== null) {
    headers['x-ratelimit-limit-tokens'] = String(t.result.limit);
    headers['x-ratelimit-remaining-tokens'] = String(t.result.remaining);
    headers['x-ratelimit-reset-tokens'] = formatResetDuration(t.result.resetAfterMs);
  }
  if (!allowed && Number.isFinite(retryAfterMs)) {
    headers['retry-after'] = String(Math.max(1, Math.ceil(retryAfterMs / 1000)));
  }
  return headers;
}
