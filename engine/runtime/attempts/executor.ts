/**
 * The attempt loop's entry: walks a route's targets in plan order, with retries, backoff,
 * timeouts, circuit breakers and fallback, and turns the outcome into an EngineResponse (JSON or
 * an SSE stream). docs/design.md §2 is the specification; the rules where it is silent are stated at
 * the point where they apply (walk.ts, call.ts, stream-relay.ts).
 *
 * Every wait races against the Clock port, so the whole loop runs on virtual time in tests:
 * - first token: until the JSON answer, or until the first stream chunk with content/tool calls;
 * - idle: the gap between stream items;
 * - total (route): the whole request, every attempt and backoff; a target's own `total` bounds
 *   one attempt.
 */
import { EngineError } from '../../errors.js';
import type { Provider } from '../../providers/types.js';
import type { AbortSource } from '../../shared/cancellation.js';
import type { Clock } from '../../shared/clock.js';
import type { AttemptRecord, EngineResponse, RequestContext } from '../../types.js';
import { BreakerRegistry } from '../breaker.js';
import { LatencyTracker } from '../latency.js';
import { type RetryBudgetSettings, RetryBudgets } from '../retry-budget.js';
import type { RequestTrace } from '../tracing.js';
import type { OutputGuard } from './output.js';
import { exhaustedResponse, jsonResponse, refusedResponse, terminalResponse } from './responses.js';
import { Aborted, AttemptRun, type RouteDecision, type RunDeps, type TargetGate } from './run.js';
import { streamResponse } from './stream-relay.js';
import { type WalkResult, walk } from './walk.js';

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

export interface Executor {
  /**
   * Runs a route decision. Resolves with the answer or an error response (policy outcomes are
   * values); rejects only with an EngineError: `request_aborted` when `signal` aborts before a
   * stream is handed back, `internal_error` on bugs.
   *
   * @example
   * const executor = createExecutor({ providers, clock: systemClock, random: Math.random });
   * const response = await executor.execute(decision, ctx, request.signal);
   */
  execute(
    decision: RouteDecision,
    ctx: RequestContext,
    signal?: AbortSource,
    /** The providers of the policy snapshot that made `decision` (default: the executor's). */
    providers?: Pick<ReadonlyMap<string, Provider>, 'get'>,
    options?: {
      readonly gate?: TargetGate;
      readonly output?: OutputGuard;
      /** The request's trace: attempt spans are its children (tracing.ts). */
      readonly trace?: RequestTrace | null;
    },
  ): Promise<EngineResponse>;
  readonly breakers: BreakerRegistry;
  readonly latency: LatencyTracker;
  readonly retryBudgets: RetryBudgets;
  /** After a reload: drop breaker/latency state of targets (and budgets of routes) no longer present. */
  retain(targetNames: Iterable<string>, routeNames?: Iterable<string>): void;
}

export function createExecutor(options: ExecutorOptions): Executor {
  const breakers = new BreakerRegistry(options.clock);
  const latency = new LatencyTracker({ alpha: options.latencyAlpha });
  const retryBudgets = new RetryBudgets(options.clock, options.retryBudget);
  const deps: RunDeps = {
    providers: options.providers,
    clock: options.clock,
    random: options.random,
    onAttempt: options.onAttempt,
    breakers,
    latency,
    retryBudgets,
  };
  return {
    breakers,
    latency,
    retryBudgets,
    async execute(decision, ctx, signal, providers, opts) {
      const run = new AttemptRun(
        providers === undefined ? deps : { ...deps, providers },
        decision,
        ctx,
        signal,
        opts?.gate ?? null,
        opts?.output ?? null,
        opts?.trace ?? null,
      );
      try {
        if (run.signal?.aborted) throw new Aborted();
        run.budget.recordRequest();
        return answer(run, await walk(run, 0));
      } catch (error) {
        if (error instanceof Aborted || signal?.aborted) {
          throw new EngineError('request_aborted', { route: decision.route, cause: error });
        }
        if (error instanceof EngineError) throw error;
        throw new EngineError('internal_error', { route: decision.route, cause: error });
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

/** The walk's outcome as the answer (in `execute`'s own frame: no async function of its own). */
function answer(run: AttemptRun, result: WalkResult): EngineResponse {
  if (result.kind === 'success') {
    const success = result.result;
    return success.kind === 'json'
      ? jsonResponse(run, success.live, success.body, success.usage)
      : streamResponse(run, success.live);
  }
  if (result.kind === 'terminal') return terminalResponse(run, result.failure);
  if (result.kind === 'refused') return refusedResponse(run, result.refusal);
  return exhaustedResponse(run);
}
