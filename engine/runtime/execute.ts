/**
 * The execute stage's attempt loop: walks a route's targets in plan order, with retries, backoff,
 * timeouts, circuit breakers and fallback, and turns the outcome into an EngineResponse (JSON or
 * an SSE stream). DESIGN.md §2 is the specification; the rules where it is silent are stated at
 * the point where they apply.
 *
 * Every wait races against the Clock port, so the whole loop runs on virtual time in tests:
 * - first token: until the JSON answer, or until the first stream chunk with content/tool calls;
 * - idle: the gap between stream items;
 * - total (route): the whole request, every attempt and backoff; a target's own `total` bounds
 *   one attempt.
 * The provider enforces only the connect timeout and the abort signal.
 */

import type { ChatCompletionChunk, ResponseBody } from '../providers/openai-types.js';
import { isRecord } from '../providers/openai-types.js';
import {
  type Provider,
  type ProviderCallResult,
  type ProviderError,
  ProviderFailure,
  type StreamItem,
} from '../providers/types.js';
import type {
  AttemptRecord,
  Decision,
  EngineResponse,
  ErrorClass,
  OpenAIErrorBody,
  PolicyIdentity,
  RequestContext,
  ResolvedTarget,
  ResponseMeta,
  Usage,
} from '../types.js';
import { retryWait } from './backoff.js';
import { type BreakerOutcome, type BreakerPermit, BreakerRegistry, type CircuitBreaker } from './breaker.js';
import type { Clock } from './clock.js';
import { ENGINE_ERRORS, EngineError, type EngineErrorCode, engineErrorBody } from './errors.js';
import { LatencyTracker, orderPlan } from './latency.js';
import { type RetryBudget, type RetryBudgetSettings, RetryBudgets } from './retry-budget.js';

export type RouteDecision = Extract<Decision, { kind: 'route' }>;

/** `name@version+hash12`: what served a request, in headers, logs and metrics. */
export function policyLabel(policy: PolicyIdentity): string {
  return `${policy.name}@${policy.version}+${policy.hash.slice(0, 12)}`;
}

export interface ExecutorOptions {
  /** Providers by policy name (`ResolvedTarget.provider`); a Map, or anything with its `get`. */
  readonly providers: Pick<ReadonlyMap<string, Provider>, 'get'>;
  readonly clock: Clock;
  /** Uniform in [0, 1): backoff jitter. */
  readonly random: () => number;
  /** Called once per finished attempt (a committed stream's attempt when the stream ends). */
  readonly onAttempt?: (attempt: AttemptRecord) => void;
  readonly retryBudget?: Partial<RetryBudgetSettings>;
  /** EWMA weight of a new latency sample; default 0.3. */
  readonly latencyAlpha?: number;
}

/**
 * A per-attempt check before a target is called: the route's limits and budgets keyed on
 * `target` (a provider's own RPM/TPM, a per-model budget). A refused target is skipped like an
 * open breaker; when every target was refused and none was called, the request ends with the
 * refusal (429). An admitted attempt's `settle` is called once when the attempt ends, with the
 * usage it reported (token reconciliation, spend).
 */
export interface TargetGate {
  admit(target: ResolvedTarget): Promise<GateVerdict>;
}

export type GateVerdict =
  | { readonly allowed: true; readonly settle: ((usage: Usage | null, ok: boolean) => void) | null }
  | {
      readonly allowed: false;
      readonly code: 'rate_limited' | 'budget_exceeded';
      readonly retryAfterMs: number;
      readonly headers: Readonly<Record<string, string>>;
    };

type Refusal = Extract<GateVerdict, { allowed: false }>;

export interface ExecuteOptions {
  /** The providers of the policy snapshot that made the decision (default: the executor's). */
  readonly providers?: Pick<ReadonlyMap<string, Provider>, 'get'>;
  readonly gate?: TargetGate;
}

export interface Executor {
  /**
   * Runs a route decision. Resolves with the answer or an error response (policy outcomes are
   * values); rejects only with an EngineError: `SY_ABORTED` when `signal` aborts before a stream
   * is handed back, `SY_PROVIDER_MISSING`/`SY_INTERNAL` on bugs.
   *
   * @example
   * const executor = createExecutor({ providers, clock: systemClock, random: Math.random });
   * const response = await executor.execute(decision, ctx, request.signal);
   */
  execute(
    decision: RouteDecision,
    ctx: RequestContext,
    signal?: AbortSignal,
    /** The providers of the policy snapshot that made `decision` (default: the executor's). */
    providers?: Pick<ReadonlyMap<string, Provider>, 'get'>,
    options?: Pick<ExecuteOptions, 'gate'>,
  ): Promise<EngineResponse>;
  readonly breakers: BreakerRegistry;
  readonly latency: LatencyTracker;
  readonly retryBudgets: RetryBudgets;
  /** After a reload: drop breaker/latency state of targets (and budgets of routes) no longer present. */
  retain(targetNames: Iterable<string>, routeNames?: Iterable<string>): void;
}

/** Classes never re-sent to the same target, whatever `retryOn` says (DESIGN.md §2). */
export const NEVER_RETRIED: ReadonlySet<ErrorClass> = new Set<ErrorClass>([
  'timeout',
  'first_token',
  'idle',
  'context_length',
  'content_policy',
]);

const OPEN_GATE: GateVerdict = Object.freeze({ allowed: true, settle: null });

/** The reason a race's losing timer is cancelled with (allocated once). */
const RACE_SETTLED = Object.freeze({ reason: 'race settled' });

const TIMEOUT_CLASSES: ReadonlySet<ErrorClass> = new Set<ErrorClass>(['timeout', 'first_token', 'idle']);
const UNAVAILABLE_CLASSES: ReadonlySet<ErrorClass> = new Set<ErrorClass>(['rate_limited', 'overloaded']);
/** The caller's own fault: the only upstream error bodies passed through unchanged. */
const PASS_THROUGH_CLASSES: ReadonlySet<ErrorClass> = new Set<ErrorClass>([
  'bad_request',
  'content_policy',
  'context_length',
]);

export function createExecutor(options: ExecutorOptions): Executor {
  const breakers = new BreakerRegistry(options.clock);
  const latency = new LatencyTracker({ alpha: options.latencyAlpha });
  const retryBudgets = new RetryBudgets(options.clock, options.retryBudget);
  const shared: Shared = { ...options, breakers, latency, retryBudgets };
  return {
    breakers,
    latency,
    retryBudgets,
    async execute(decision, ctx, signal, providers, options) {
      const run = new Run(
        providers === undefined ? shared : { ...shared, providers },
        decision,
        ctx,
        signal,
        options?.gate ?? null,
      );
      try {
        return await run.execute();
      } catch (error) {
        if (error instanceof Aborted || signal?.aborted) {
          throw new EngineError('SY_ABORTED', {
            route: decision.route,
            attempts: run.attempts,
            cause: error,
          });
        }
        if (error instanceof EngineError) throw error;
        throw new EngineError('SY_INTERNAL', { route: decision.route, attempts: run.attempts, cause: error });
      }
    },
    retain(targetNames, routeNames) {
      const names = [...targetNames];
      breakers.retain(names);
      latency.retain(names);
      if (routeNames !== undefined) retryBudgets.retain(routeNames);
    },
  };
}

// ---------------------------------------------------------------------------------------------

interface Shared extends ExecutorOptions {
  readonly breakers: BreakerRegistry;
  readonly latency: LatencyTracker;
  readonly retryBudgets: RetryBudgets;
}

/** Thrown inside a run when the caller's signal aborts; becomes `SY_ABORTED`. */
class Aborted extends Error {
  constructor() {
    super('aborted');
    this.name = 'Aborted';
  }
}

interface Failure {
  readonly errorClass: ErrorClass;
  readonly status: number | null;
  readonly retryAfterMs: number | null;
  /** The upstream's error body, returned unchanged when the policy ends the request with it. */
  readonly body: OpenAIErrorBody | null;
  /** The route's deadline (not a per-attempt limit) ended the attempt. */
  readonly deadline: boolean;
}

type Raced<T> =
  | { readonly kind: 'value'; readonly value: T }
  | { readonly kind: 'error'; readonly error: unknown }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'aborted' };

/** An attempt in flight; for streams it lives on after the commit, until the stream ends. */
interface Live {
  readonly target: ResolvedTarget;
  readonly index: number;
  readonly permit: BreakerPermit;
  readonly breaker: CircuitBreaker;
  readonly controller: AbortController;
  readonly unlink: () => void;
  readonly startedAt: number;
  readonly attemptDeadline: number;
  readonly firstTokenAt: number;
  /** A continuation after a mid-stream failure (its leading role chunk is dropped). */
  readonly continuation: boolean;
  status: number | null;
  firstByteAt: number | null;
  firstContentAt: number | null;
  lastItemAt: number | null;
  iterator: AsyncIterator<StreamItem> | null;
  sawFinish: boolean;
  usage: Usage | null;
  /** Chunks read before the commit, forwarded when the stream is handed to the caller. */
  buffered: ChatCompletionChunk[];
  /** The stream ended successfully before or at the commit. */
  complete: boolean;
  /** Upstream released (signal unlinked, iterator returned, aborted on failure). */
  released: boolean;
  /** The attempt's record was written and its breaker permit settled. */
  recorded: boolean;
  /** The gate's settlement for this attempt (limits and budgets keyed on `target`). */
  readonly settle: ((usage: Usage | null, ok: boolean) => void) | null;
}

type AttemptResult =
  | { readonly kind: 'json'; readonly live: Live; readonly body: ResponseBody; readonly usage: Usage | null }
  | { readonly kind: 'stream'; readonly live: Live }
  | { readonly kind: 'failed'; readonly failure: Failure };

type TargetResult =
  | { readonly kind: 'success'; readonly result: Extract<AttemptResult, { kind: 'json' | 'stream' }> }
  | { readonly kind: 'next'; readonly failure: Failure }
  | { readonly kind: 'terminal'; readonly failure: Failure }
  | { readonly kind: 'stop' };

type WalkResult =
  | { readonly kind: 'success'; readonly result: Extract<AttemptResult, { kind: 'json' | 'stream' }> }
  | { readonly kind: 'terminal'; readonly failure: Failure }
  | { readonly kind: 'refused'; readonly refusal: Refusal }
  | { readonly kind: 'exhausted' };

type Settle = Live['settle'];

interface WalkOptions {
  /**
   * Resume a broken stream: only prefill-capable targets, with this partial answer. A resumption
   * never force-calls an open target (the all-open rule is for the request's first walk).
   */
  readonly prefill?: string;
}

type ReadResult =
  | { readonly kind: 'chunk'; readonly chunk: ChatCompletionChunk }
  | { readonly kind: 'end' }
  | { readonly kind: 'aborted' }
  | { readonly kind: 'failed'; readonly failure: Failure };

class Run {
  readonly attempts: AttemptRecord[] = [];
  readonly #start: number;
  readonly #deadline: number;
  readonly #targets: readonly ResolvedTarget[];
  readonly #budget: RetryBudget;
  readonly #includeUsage: boolean;
  #calls = 0;
  #upstreamMs = 0;
  #backoffMs = 0;
  #stoppedBy: 'deadline' | 'max_attempts' | null = null;
  #lastFailure: Failure | null = null;
  readonly #failureClasses: ErrorClass[] = [];
  #retryAfterMs: number | null = null;
  /** After a context_length failure: later targets must have a larger context than this one. */
  #contextFloor: ResolvedTarget | null = null;

  constructor(
    private readonly shared: Shared,
    private readonly decision: RouteDecision,
    private readonly ctx: RequestContext,
    private readonly signal: AbortSignal | undefined,
    private readonly gate: TargetGate | null,
  ) {
    this.#start = shared.clock.now();
    this.#deadline = this.#start + Math.max(0, decision.timeout.totalMs);
    this.#targets = orderPlan(decision.plan, shared.latency);
    this.#budget = shared.retryBudgets.get(decision.route);
    const options = ctx.body.stream_options;
    this.#includeUsage = isRecord(options) && options.include_usage === true;
  }

  get #now(): number {
    return this.shared.clock.now();
  }

  async execute(): Promise<EngineResponse> {
    if (this.signal?.aborted) throw new Aborted();
    this.#budget.recordRequest();
    const walk = await this.#walk(0, {});
    if (walk.kind === 'success') {
      const { result } = walk;
      return result.kind === 'json' ? this.#jsonResponse(result) : this.#streamResponse(result.live);
    }
    if (walk.kind === 'terminal') return this.#terminalResponse(walk.failure);
    if (walk.kind === 'refused') return this.#refusedResponse(walk.refusal);
    return this.#exhaustedResponse();
  }

  // ---- the walk ---------------------------------------------------------------------------

  /**
   * Tries targets from `from` onwards, in order, never going back. Open-breaker targets are
   * skipped; when every eligible target was skipped as open (and nothing was called), the one
   * whose cooldown ends first is called anyway, as a probe.
   */
  async #walk(from: number, options: WalkOptions): Promise<WalkResult> {
    const skippedOpen: { index: number; breaker: CircuitBreaker }[] = [];
    let refused: Refusal | null = null;
    let called = false;
    for (let index = from; index < this.#targets.length; index++) {
      if (this.#mustStop()) return { kind: 'exhausted' };
      const target = this.#targets[index];
      if (!this.#eligible(target, options)) continue;
      const breaker = this.shared.breakers.get(target);
      const permit = breaker.tryAcquire();
      if (permit === null) {
        skippedOpen.push({ index, breaker });
        continue;
      }
      // The gate after the breaker, so an open target is never charged to its limits.
      const verdict = await this.#admit(target, breaker, permit);
      if (!verdict.allowed) {
        if (refused === null || verdict.retryAfterMs < refused.retryAfterMs) refused = verdict;
        continue;
      }
      called = true;
      const result = await this.#runTarget(index, breaker, permit, options, verdict.settle);
      if (result.kind === 'success' || result.kind === 'terminal') return result;
      if (result.kind === 'stop') return { kind: 'exhausted' };
    }
    if (!called && skippedOpen.length > 0 && options.prefill === undefined && !this.#mustStop()) {
      let earliest = skippedOpen[0];
      for (const s of skippedOpen) {
        if (s.breaker.cooldownEndsAt() < earliest.breaker.cooldownEndsAt()) earliest = s;
      }
      const permit = earliest.breaker.forceAcquire();
      const verdict = await this.#admit(this.#targets[earliest.index], earliest.breaker, permit);
      if (verdict.allowed) {
        const result = await this.#runTarget(
          earliest.index,
          earliest.breaker,
          permit,
          options,
          verdict.settle,
        );
        if (result.kind === 'success' || result.kind === 'terminal') return result;
      } else if (refused === null || verdict.retryAfterMs < refused.retryAfterMs) {
        refused = verdict;
      }
    }
    // Nothing was called because the targets' own limits or budgets refused: say so (429), with
    // the soonest retry, rather than reporting an upstream failure that never happened.
    if (!called && refused !== null && this.attempts.length === 0)
      return { kind: 'refused', refusal: refused };
    return { kind: 'exhausted' };
  }

  /** The gate's verdict on calling `target` now; a refusal gives the breaker permit back. */
  async #admit(target: ResolvedTarget, breaker: CircuitBreaker, permit: BreakerPermit): Promise<GateVerdict> {
    if (this.gate === null) return OPEN_GATE;
    let verdict: GateVerdict;
    try {
      verdict = await this.gate.admit(target);
    } catch (error) {
      breaker.settle(permit, 'cancelled');
      throw error;
    }
    if (!verdict.allowed) breaker.settle(permit, 'cancelled');
    return verdict;
  }

  #eligible(target: ResolvedTarget, options: WalkOptions): boolean {
    if (options.prefill !== undefined && !target.capabilities.prefill) return false;
    const floor = this.#contextFloor;
    if (floor !== null) {
      // context_length is never retried on the same model; an unknown window cannot be "larger".
      if (target.provider === floor.provider && target.upstreamModel === floor.upstreamModel) return false;
      if (floor.context !== null && (target.context === null || target.context <= floor.context))
        return false;
    }
    return true;
  }

  #mustStop(): boolean {
    if (this.#now >= this.#deadline) this.#stoppedBy = 'deadline';
    else if (this.#calls >= this.decision.maxAttempts) this.#stoppedBy ??= 'max_attempts';
    else return false;
    return true;
  }

  /** Calls one target, retrying it while its retry settings, the budget and the deadline allow. */
  async #runTarget(
    index: number,
    breaker: CircuitBreaker,
    firstPermit: BreakerPermit,
    options: WalkOptions,
    firstSettle: Settle,
  ): Promise<TargetResult> {
    const target = this.#targets[index];
    const retry = target.retry;
    let permit = firstPermit;
    let settle = firstSettle;
    for (let call = 0; ; call++) {
      const result = await this.#attempt(index, breaker, permit, options, settle);
      if (result.kind !== 'failed') return { kind: 'success', result };
      const failure = result.failure;
      if (failure.deadline) {
        this.#stoppedBy = 'deadline';
        return { kind: 'stop' };
      }
      if (failure.errorClass === 'context_length') this.#contextFloor = target;
      const retryable =
        retry.retryOn.includes(failure.errorClass) &&
        !NEVER_RETRIED.has(failure.errorClass) &&
        call < retry.attempts;
      if (retryable && !this.#mustStop()) {
        const next = await this.#awaitRetry(target, breaker, call, failure);
        if (next !== null) {
          permit = next.permit;
          settle = next.settle;
          continue;
        }
      }
      return retry.fallbackOn.includes(failure.errorClass)
        ? { kind: 'next', failure }
        : { kind: 'terminal', failure };
    }
  }

  /**
   * Waits out the backoff before retry number `call` and returns the permit for it, or null to
   * fail over instead: Retry-After over the cap, a backoff that would cross the deadline, an
   * open breaker, or a spent retry budget.
   */
  async #awaitRetry(
    target: ResolvedTarget,
    breaker: CircuitBreaker,
    call: number,
    failure: Failure,
  ): Promise<{ permit: BreakerPermit; settle: Settle } | null> {
    const wait = retryWait(target.retry, call, failure.retryAfterMs, this.shared.random);
    if (wait.kind === 'failover') return null;
    if (this.#now + wait.ms >= this.#deadline) return null;
    const permit = breaker.tryAcquire();
    if (permit === null) return null;
    if (!this.#budget.tryAcquire()) {
      breaker.settle(permit, 'cancelled');
      return null;
    }
    const before = this.#now;
    try {
      await this.shared.clock.sleep(wait.ms, this.signal);
    } catch (error) {
      breaker.settle(permit, 'cancelled');
      if (this.signal?.aborted) throw new Aborted();
      throw error;
    } finally {
      this.#backoffMs += this.#now - before;
    }
    // A retry is another upstream call: the target's own limits must admit it too.
    const verdict = await this.#admit(target, breaker, permit);
    return verdict.allowed ? { permit, settle: verdict.settle } : null;
  }

  // ---- one attempt ------------------------------------------------------------------------

  /** One upstream call. A stream is read until its first content (the commit point) or its end. */
  async #attempt(
    index: number,
    breaker: CircuitBreaker,
    permit: BreakerPermit,
    options: WalkOptions,
    settle: Settle,
  ): Promise<AttemptResult> {
    const target = this.#targets[index];
    const provider = this.shared.providers.get(target.provider);
    if (provider === undefined) {
      breaker.settle(permit, 'cancelled');
      settle?.(null, false);
      throw new EngineError('SY_PROVIDER_MISSING', { route: this.decision.route, cause: target.provider });
    }
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(this.signal?.reason);
    this.signal?.addEventListener('abort', onAbort, { once: true });
    const startedAt = this.#now;
    const attemptDeadline = Math.min(this.#deadline, startedAt + Math.max(0, target.timeout.totalMs));
    const live: Live = {
      target,
      index,
      permit,
      breaker,
      controller,
      unlink: () => this.signal?.removeEventListener('abort', onAbort),
      startedAt,
      attemptDeadline,
      firstTokenAt: Math.min(attemptDeadline, startedAt + Math.max(0, target.timeout.firstTokenMs)),
      continuation: options.prefill !== undefined,
      status: null,
      firstByteAt: null,
      firstContentAt: null,
      lastItemAt: null,
      iterator: null,
      sawFinish: false,
      usage: null,
      buffered: [],
      complete: false,
      released: false,
      recorded: false,
      settle,
    };
    this.#calls += 1;
    const call = callSafely(provider, {
      upstreamModel: target.upstreamModel,
      endpoint: this.ctx.endpoint,
      body: this.ctx.body,
      stream: this.ctx.stream,
      signal: controller.signal,
      // The target's own connect timeout, unchanged: transport pools are keyed by it, and the race
      // below already aborts the call at the deadline.
      connectTimeoutMs: Math.max(0, target.timeout.connectMs),
      ...(options.prefill !== undefined ? { prefill: options.prefill } : {}),
    });
    const raced = await this.#race(call, live.firstTokenAt);
    if (raced.kind === 'aborted') return this.#abortLive(live);
    if (raced.kind === 'timeout') return this.#fail(live, this.#timeoutFailure(live, live.firstTokenAt));
    if (raced.kind === 'error') return this.#fail(live, classifyThrown(raced.error, 'connect'));

    const response: ProviderCallResult = raced.value;
    live.firstByteAt = this.#now;
    if (!response.ok) return this.#fail(live, fromProviderError(response.error));
    live.status = response.status;
    if (response.kind === 'json') {
      if (this.ctx.stream) return this.#fail(live, malformed());
      live.firstContentAt = live.firstByteAt;
      this.#finishLive(live, 'ok', response.usage);
      return { kind: 'json', live, body: response.body, usage: response.usage };
    }
    live.iterator = response.items[Symbol.asyncIterator]();
    if (!this.ctx.stream) return this.#fail(live, malformed());
    for (;;) {
      const read = await this.#read(live);
      if (read.kind === 'aborted') return this.#abortLive(live);
      if (read.kind === 'failed') return this.#fail(live, read.failure);
      if (read.kind === 'end') {
        live.complete = true;
        live.firstContentAt ??= this.#now;
      } else {
        live.buffered.push(read.chunk);
      }
      if (live.firstContentAt !== null) {
        this.shared.latency.observe(target.name, live.firstContentAt - live.startedAt);
        return { kind: 'stream', live };
      }
    }
  }

  /** Reads the next stream item under the first-token, idle and deadline timers. */
  async #read(live: Live): Promise<ReadResult> {
    const iterator = live.iterator;
    // Never report a released stream as complete: that would turn a cancellation into [DONE].
    if (iterator === null || live.released) return { kind: 'failed', failure: streamCut() };
    const idleAt =
      (live.lastItemAt ?? live.firstByteAt ?? live.startedAt) + Math.max(0, live.target.timeout.idleMs);
    const firstTokenAt = live.firstContentAt === null ? live.firstTokenAt : Number.POSITIVE_INFINITY;
    // Before the first content only first-token applies: neither the gap after the headers nor the
    // one after a content-less role chunk is "between chunks" (DESIGN.md §2: time to first content).
    const limit = Math.min(
      live.attemptDeadline,
      firstTokenAt,
      live.firstContentAt === null ? Infinity : idleAt,
    );
    const raced = await this.#race(iterator.next(), limit);
    if (raced.kind === 'aborted') return { kind: 'aborted' };
    if (raced.kind === 'timeout') return { kind: 'failed', failure: this.#timeoutFailure(live, limit) };
    if (raced.kind === 'error') return { kind: 'failed', failure: classifyThrown(raced.error, 'stream_cut') };
    const step = raced.value;
    live.lastItemAt = this.#now;
    if (step.done === true) {
      return live.sawFinish ? { kind: 'end' } : { kind: 'failed', failure: streamCut() };
    }
    const item = step.value;
    if (item.type === 'done') return { kind: 'end' };
    const chunk = item.chunk;
    if (chunk.usage) live.usage = fromOpenAIUsage(chunk.usage);
    for (const choice of chunk.choices ?? []) {
      if (choice.finish_reason !== null && choice.finish_reason !== undefined) live.sawFinish = true;
      const delta = choice.delta;
      const hasContent = typeof delta?.content === 'string' && delta.content.length > 0;
      if (live.firstContentAt === null && (hasContent || (delta?.tool_calls?.length ?? 0) > 0)) {
        live.firstContentAt = this.#now;
      }
    }
    return { kind: 'chunk', chunk };
  }

  /**
   * Which timer fired: the route deadline, the attempt's own total, first token, or idle. `until`
   * is the limit the race waited for: a real timer may fire a little before the clock reads it,
   * so the time of the failure is never taken as earlier than that limit.
   */
  #timeoutFailure(live: Live, until: number): Failure {
    const now = Math.max(this.#now, until);
    if (now >= this.#deadline) return timeoutFailure('timeout', true);
    if (now >= live.attemptDeadline) return timeoutFailure('timeout', false);
    if (live.firstContentAt === null && now >= live.firstTokenAt) return timeoutFailure('first_token', false);
    return timeoutFailure('idle', false);
  }

  /**
   * Races an upstream promise against the deadline `until` and the caller's signal. The loser's
   * timer is cancelled so no stray sleep stays on a virtual clock.
   */
  async #race<T>(promise: Promise<T>, until: number): Promise<Raced<T>> {
    // Handlers are attached before anything else: an upstream promise that rejects after an
    // early return (the caller already gone) must never become an unhandled rejection.
    const settled: Promise<Raced<T>> = promise.then(
      (value): Raced<T> => ({ kind: 'value', value }),
      (error: unknown): Raced<T> => ({ kind: 'error', error }),
    );
    if (this.signal?.aborted) return { kind: 'aborted' };
    const before = this.#now;
    if (!Number.isFinite(until)) {
      // No timer to cancel: the upstream call is itself tied to the caller's signal (#attempt),
      // so an abort settles `promise`. This path allocates no controller and no listener.
      try {
        const raced = await settled;
        return this.signal?.aborted ? { kind: 'aborted' } : raced;
      } finally {
        this.#upstreamMs += this.#now - before;
      }
    }
    const cancel = new AbortController();
    // A preallocated reason: `abort()` without one builds a DOMException with a stack trace on
    // every race (it was ~9% of gateway CPU in the profile).
    const onAbort = (): void => cancel.abort(RACE_SETTLED);
    this.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = this.shared.clock.sleep(Math.max(0, until - this.#now), cancel.signal).then(
      (): Raced<T> => ({ kind: 'timeout' }),
      (): Raced<T> => ({ kind: 'aborted' }),
    );
    try {
      const raced = await Promise.race([settled, timer]);
      // The caller's abort wins over whatever the upstream did because of it.
      return this.signal?.aborted ? { kind: 'aborted' } : raced;
    } finally {
      cancel.abort(RACE_SETTLED);
      this.signal?.removeEventListener('abort', onAbort);
      this.#upstreamMs += this.#now - before;
    }
  }

  #fail(live: Live, failure: Failure): AttemptResult {
    this.#lastFailure = failure;
    this.#failureClasses.push(failure.errorClass);
    if (failure.retryAfterMs !== null)
      this.#retryAfterMs = Math.max(this.#retryAfterMs ?? 0, failure.retryAfterMs);
    this.#finishLive(live, failure.errorClass, null, failure.status);
    return { kind: 'failed', failure };
  }

  /**
   * The caller went away before the commit: cancel upstream, give the breaker no verdict. The
   * attempt has no outcome, so it is not recorded.
   */
  #abortLive(live: Live): never {
    this.#release(live, true);
    live.recorded = true;
    live.breaker.settle(live.permit, 'cancelled');
    this.#settleGate(live, null, false);
    throw new Aborted();
  }

  #settleGate(live: Live, usage: Usage | null, ok: boolean): void {
    if (live.settle === null) return;
    try {
      live.settle(usage, ok);
    } catch {
      // Accounting must not change the request's outcome.
    }
  }

  /**
   * Ends an attempt once: frees upstream (aborting it unless it succeeded), settles the breaker
   * and records the attempt.
   */
  #finishLive(
    live: Live,
    outcome: 'ok' | ErrorClass,
    usage: Usage | null,
    status = live.status,
    verdict: BreakerOutcome = outcome === 'ok' ? 'success' : outcome,
  ): void {
    if (live.recorded) return;
    live.recorded = true;
    const now = this.#now;
    this.#release(live, outcome !== 'ok');
    live.breaker.settle(live.permit, verdict);
    const record: AttemptRecord = {
      target: live.target.name,
      upstreamModel: live.target.upstreamModel,
      outcome,
      status,
      startedAtMs: live.startedAt - this.#start,
      durationMs: now - live.startedAt,
      firstByteMs: live.firstByteAt === null ? null : live.firstByteAt - live.startedAt,
      firstTokenMs: live.firstContentAt === null ? null : live.firstContentAt - live.startedAt,
      usage: usage ?? live.usage,
    };
    this.#settleGate(live, record.usage, outcome === 'ok');
    if (outcome === 'ok' && live.iterator === null)
      this.shared.latency.observe(live.target.name, record.durationMs);
    else if (outcome === 'timeout' || outcome === 'first_token')
      this.shared.latency.observe(live.target.name, record.durationMs);
    this.#record(record);
  }

  /** Frees the upstream call once; `abort` also cancels it (a finished stream needs only return()). */
  #release(live: Live, abort: boolean): void {
    if (live.released) return;
    live.released = true;
    live.unlink();
    if (abort && !live.controller.signal.aborted) live.controller.abort(new Aborted());
    const iterator = live.iterator;
    if (iterator?.return !== undefined) {
      try {
        void Promise.resolve(iterator.return()).catch(() => undefined);
      } catch {
        // A misbehaving iterator cannot stop us from moving on.
      }
    }
  }

  #record(record: AttemptRecord): void {
    this.attempts.push(record);
    try {
      this.shared.onAttempt?.(record);
    } catch {
      // An observer's failure must not change the request's outcome.
    }
  }

  // ---- responses --------------------------------------------------------------------------

  #headers(target: ResolvedTarget | null, extra: Record<string, string> = {}): Record<string, string> {
    const { policy } = this.decision;
    const headers: Record<string, string> = {
      'x-switchyard-route': this.decision.route,
      'x-switchyard-attempts': String(this.attempts.length),
      'x-switchyard-policy': policyLabel(policy),
      ...extra,
    };
    if (target !== null) headers['x-switchyard-target'] = target.name;
    return headers;
  }

  #meta(target: ResolvedTarget | null, usage: Usage | null, overheadMs: number): ResponseMeta {
    return {
      policy: this.decision.policy,
      route: this.decision.route,
      tenant: this.ctx.tenant,
      target: target?.name ?? null,
      attempts: [...this.attempts],
      cache: null,
      usage,
      costUsd: this.#cost(),
      overheadMs,
    };
  }

  /** Time in Switchyard itself: elapsed minus upstream waits and backoff sleeps. */
  #overhead(): number {
    return Math.max(0, this.#now - this.#start - this.#upstreamMs - this.#backoffMs);
  }

  /** Usage × price over every attempt that reported usage (a failed attempt may be billed too). */
  #cost(): number | null {
    let cost: number | null = null;
    for (const attempt of this.attempts) {
      const target = this.#targets.find((t) => t.name === attempt.target);
      if (attempt.usage === null || !target?.price) continue;
      cost =
        (cost ?? 0) +
        (attempt.usage.promptTokens * target.price.input +
          attempt.usage.completionTokens * target.price.output) /
          1e6;
    }
    return cost;
  }

  #jsonResponse(result: Extract<AttemptResult, { kind: 'json' }>): EngineResponse {
    const { target } = result.live;
    return {
      kind: 'json',
      status: result.live.status ?? 200,
      headers: this.#headers(target),
      body: { ...result.body, model: target.upstreamModel },
      meta: this.#meta(target, result.usage, this.#overhead()),
    };
  }

  /** Every target was refused by its own limits or budgets before any call: 429. */
  #refusedResponse(refusal: Refusal): EngineResponse {
    const headers: Record<string, string> = { ...refusal.headers };
    if (Number.isFinite(refusal.retryAfterMs)) {
      headers['retry-after'] = String(Math.max(1, Math.ceil(refusal.retryAfterMs / 1000)));
    }
    const message =
      refusal.code === 'rate_limited'
        ? `Every target of route "${this.decision.route}" is at its rate limit; retry after the time in Retry-After.`
        : `Every target of route "${this.decision.route}" is over its budget for this period.`;
    return {
      kind: 'json',
      status: 429,
      headers: this.#headers(null, headers),
      body: { error: { message, type: 'rate_limit_error', code: refusal.code } },
      meta: this.#meta(null, null, this.#overhead()),
    };
  }

  /**
   * The policy ends the request with this error. A caller's fault (bad request, content policy,
   * context length) is passed through with the upstream's body and status, unchanged; anything
   * else (auth, 5xx, overload, ...) becomes the generic engine error, so that raw upstream text or
   * the provider's (masked) gateway key never reaches the caller.
   */
  #terminalResponse(failure: Failure): EngineResponse {
    if (failure.body !== null && failure.status !== null && PASS_THROUGH_CLASSES.has(failure.errorClass)) {
      return {
        kind: 'json',
        status: failure.status,
        headers: this.#headers(null),
        body: failure.body,
        meta: this.#meta(null, null, this.#overhead()),
      };
    }
    const code: EngineErrorCode = TIMEOUT_CLASSES.has(failure.errorClass)
      ? 'SY_TIMEOUT'
      : UNAVAILABLE_CLASSES.has(failure.errorClass)
        ? 'SY_UPSTREAM_UNAVAILABLE'
        : 'SY_EXHAUSTED';
    return this.#errorResponse(code, failure.errorClass);
  }

  /**
   * Nothing answered. The status says why: 504 when the deadline or a timeout ended it, 503 when
   * every failure was a 429/503/529 or every target was circuit-open, else 502.
   */
  #exhaustedResponse(): EngineResponse {
    const last = this.#lastFailure;
    let code: EngineErrorCode;
    if (this.#stoppedBy === 'deadline' || (last !== null && TIMEOUT_CLASSES.has(last.errorClass)))
      code = 'SY_TIMEOUT';
    else if (this.#failureClasses.every((c) => UNAVAILABLE_CLASSES.has(c))) code = 'SY_UPSTREAM_UNAVAILABLE';
    else code = 'SY_EXHAUSTED';
    return this.#errorResponse(code, last?.errorClass ?? 'circuit_open');
  }

  #errorResponse(code: EngineErrorCode, lastClass: string): EngineResponse {
    const extra: Record<string, string> = {};
    if (code === 'SY_UPSTREAM_UNAVAILABLE' && this.#retryAfterMs !== null) {
      extra['retry-after'] = String(Math.max(1, Math.ceil(this.#retryAfterMs / 1000)));
    }
    const custom = this.decision.onExhausted;
    const body = engineErrorBody(code, { lastClass });
    return {
      kind: 'json',
      status: custom?.status ?? ENGINE_ERRORS[code].status,
      headers: this.#headers(null, extra),
      body:
        custom === null
          ? body
          : {
              error: {
                message: custom.message,
                type: custom.status >= 500 ? 'api_error' : 'invalid_request_error',
                code: body.error.code,
              },
            },
      meta: this.#meta(null, null, this.#overhead()),
    };
  }

  // ---- streaming --------------------------------------------------------------------------

  #streamResponse(first: Live): EngineResponse {
    const overheadMs = this.#overhead();
    // The committed attempt is recorded only when the stream ends; the header counts it already,
    // as a JSON answer's does.
    const headers = this.#headers(first.target, {
      'x-switchyard-attempts': String(this.attempts.length + (first.recorded ? 0 : 1)),
    });
    const initialMeta = this.#meta(first.target, null, overheadMs);
    let resolveDone: (meta: ResponseMeta) => void = () => undefined;
    const done = new Promise<ResponseMeta>((resolve) => {
      resolveDone = resolve;
    });
    const firstChunk = first.buffered[0];
    const identity = { id: firstChunk?.id ?? 'chatcmpl-switchyard', created: firstChunk?.created ?? 0 };
    const served: Live[] = [first];
    const onEnd = (): void => {
      const last = served[served.length - 1];
      resolveDone(this.#meta(last.target, sumUsage(served.map((l) => l.usage)), overheadMs));
    };
    const generator = this.#events(first, identity, served, onEnd);
    const events = this.#guardedEvents(generator, () => {
      // The generator never started, so its `finally` will not run: the same clean-up here.
      this.#release(first, true);
      if (!first.recorded) this.#finishLive(first, 'ok', null, first.status, 'cancelled');
      onEnd();
    });
    return { kind: 'stream', status: first.status ?? 200, headers, events, done, meta: initialMeta };
  }

  /**
   * The caller's iterator over `generator`. `return()` (or `throw()`) before the first `next()`
   * would end a generator without running its `finally`, leaving upstream open, the breaker permit
   * and the gate unsettled and `done` pending: `beforeStart` does that clean-up instead.
   */
  #guardedEvents(generator: AsyncGenerator<string>, beforeStart: () => void): AsyncGenerator<string> {
    let started = false;
    let ended = false;
    const endUnstarted = (): void => {
      if (started || ended) return;
      ended = true;
      beforeStart();
    };
    const iterator: AsyncGenerator<string> = {
      next: (...args: [] | [unknown]) => {
        if (ended) return Promise.resolve({ done: true, value: undefined });
        started = true;
        return generator.next(...args);
      },
      return: (value: unknown) => {
        endUnstarted();
        return generator.return(value);
      },
      throw: (error: unknown) => {
        endUnstarted();
        return generator.throw(error);
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  async *#events(
    first: Live,
    identity: { readonly id: string; readonly created: number },
    served: Live[],
    onEnd: () => void,
  ): AsyncGenerator<string> {
    let live = first;
    let text = '';
    let toolCalls = false;
    const frame = (chunk: ChatCompletionChunk, from: Live): string | null => {
      const choices = chunk.choices ?? [];
      for (const c of choices) {
        if (typeof c.delta?.content === 'string') text += c.delta.content;
        if ((c.delta?.tool_calls?.length ?? 0) > 0) toolCalls = true;
      }
      if (choices.length === 0) return null; // usage-only chunk: reported once, at the end
      if (from.continuation && choices.every(isEmptyChoice)) return null; // the resumed answer's role chunk
      const { usage: _usage, ...rest } = chunk;
      return sse({ ...rest, id: identity.id, created: identity.created, model: from.target.upstreamModel });
    };

    try {
      for (;;) {
        for (const chunk of live.buffered.splice(0)) {
          const f = frame(chunk, live);
          if (f !== null) yield f;
        }
        if (live.complete) {
          this.#finishLive(live, 'ok', null);
          const usage = sumUsage(served.map((l) => l.usage));
          if (this.#includeUsage && usage !== null) {
            yield sse({
              id: identity.id,
              object: 'chat.completion.chunk',
              created: identity.created,
              model: live.target.upstreamModel,
              choices: [],
              usage: toOpenAIUsage(usage),
            });
          }
          yield 'data: [DONE]\n\n';
          return;
        }
        const read = await this.#read(live);
        if (read.kind === 'aborted') return; // the caller aborted: `finally` cancels upstream
        if (read.kind === 'chunk') live.buffered.push(read.chunk);
        else if (read.kind === 'end') live.complete = true;
        else {
          // Content already reached the caller: the failure is never presented as success.
          const original = read.failure;
          this.#fail(live, original);
          const resumed =
            this.decision.stream.midStream === 'continue' && !toolCalls
              ? await this.#resume(live, text)
              : null;
          if (resumed === null) {
            yield sse(engineErrorBody('SY_STREAM_INTERRUPTED', { lastClass: original.errorClass }));
            return;
          }
          live = resumed;
          served.push(live);
        }
      }
    } catch (error) {
      // Only an abort while resuming lands here; anything else is a bug worth surfacing.
      if (!(error instanceof Aborted)) throw error;
    } finally {
      // Client disconnect or abort: cancel upstream; the upstream did not fail, so the attempt is
      // recorded as 'ok' and the breaker gets no verdict.
      this.#release(live, true);
      if (!live.recorded) this.#finishLive(live, 'ok', null, live.status, 'cancelled');
      onEnd();
    }
  }

  /** Continues a broken stream on a later prefill-capable target; null when none takes over. */
  async #resume(broken: Live, partial: string): Promise<Live | null> {
    const walk = await this.#walk(broken.index + 1, { prefill: partial });
    if (walk.kind !== 'success' || walk.result.kind !== 'stream') return null;
    return walk.result.live;
  }
}

// ---------------------------------------------------------------------------------------------

/** A provider that throws synchronously (against its contract) yields a rejected promise instead. */
function callSafely(
  provider: Provider,
  request: Parameters<Provider['call']>[0],
): Promise<ProviderCallResult> {
  try {
    return provider.call(request);
  } catch (error) {
    return Promise.reject(error);
  }
}

function sse(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}

function fromProviderError(error: ProviderError): Failure {
  return {
    errorClass: error.class,
    status: error.status,
    retryAfterMs: error.retryAfterMs,
    body: error.body,
    deadline: false,
  };
}

function classifyThrown(error: unknown, fallback: ErrorClass): Failure {
  if (error instanceof ProviderFailure) return fromProviderError(error.failure);
  return { errorClass: fallback, status: null, retryAfterMs: null, body: null, deadline: false };
}

function timeoutFailure(errorClass: ErrorClass, deadline: boolean): Failure {
  return { errorClass, status: null, retryAfterMs: null, body: null, deadline };
}

function streamCut(): Failure {
  return { errorClass: 'stream_cut', status: null, retryAfterMs: null, body: null, deadline: false };
}

function malformed(): Failure {
  return { errorClass: 'malformed', status: null, retryAfterMs: null, body: null, deadline: false };
}

function fromOpenAIUsage(u: {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}): Usage {
  return {
    promptTokens: u.prompt_tokens,
    completionTokens: u.completion_tokens,
    totalTokens: u.total_tokens,
  };
}

function toOpenAIUsage(u: Usage): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.totalTokens,
  };
}

function isEmptyChoice(c: ChatCompletionChunk['choices'][number]): boolean {
  const hasContent = typeof c.delta?.content === 'string' && c.delta.content.length > 0;
  return !hasContent && (c.delta?.tool_calls?.length ?? 0) === 0 && c.finish_reason == null;
}

function sumUsage(usages: readonly (Usage | null)[]): Usage | null {
  const present = usages.filter((u): u is Usage => u !== null);
  if (present.length === 0) return null;
  return {
    promptTokens: present.reduce((n, u) => n + u.promptTokens, 0),
    completionTokens: present.reduce((n, u) => n + u.completionTokens, 0),
    totalTokens: present.reduce((n, u) => n + u.totalTokens, 0),
  };
}
