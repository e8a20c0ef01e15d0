/**
 * The state of one request's attempt loop and the end of one attempt. The loop over the plan
 * (walk.ts), one upstream call (call.ts), the race against timers (race.ts), the stream relay
 * (stream-relay.ts) and the answers (responses.ts) all work on an `AttemptRun`; this file owns
 * the rule that an attempt ends exactly once: upstream released, breaker permit settled, the
 * target gate settled, and the attempt recorded.
 */

import type { Span } from '@opentelemetry/api';
import type { ChatCompletionChunk } from '../../providers/openai-types.js';
import type { Provider, StreamItemIterator } from '../../providers/types.js';
import type { AbortSource, Cancellation } from '../../shared/cancellation.js';
import type { Clock } from '../../shared/clock.js';
import type {
  AttemptRecord,
  Decision,
  ErrorClass,
  OpenAIErrorBody,
  RequestContext,
  ResolvedTarget,
  Usage,
} from '../../types.js';
import type { BreakerOutcome, BreakerPermit, BreakerRegistry, CircuitBreaker } from '../breaker.js';
import { type LatencyTracker, orderPlan } from '../latency.js';
import type { RetryBudget, RetryBudgets } from '../retry-budget.js';
import { endAttemptSpan, type RequestTrace } from '../tracing.js';
import type { OutputGuard } from './output.js';

export type RouteDecision = Extract<Decision, { kind: 'route' }>;

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
  | { readonly allowed: true; readonly settle: Settle }
  | {
      readonly allowed: false;
      readonly code: 'rate_limited' | 'budget_exceeded';
      readonly retryAfterMs: number;
      readonly headers: Readonly<Record<string, string>>;
    };

export type Refusal = Extract<GateVerdict, { allowed: false }>;
export type Settle = ((usage: Usage | null, ok: boolean) => void) | null;

/** What every run of one executor shares: providers, time, and the state kept across requests. */
export interface RunDeps {
  readonly providers: Pick<ReadonlyMap<string, Provider>, 'get'>;
  readonly clock: Clock;
  /** Uniform in [0, 1): backoff jitter. */
  readonly random: () => number;
  readonly onAttempt?: (attempt: AttemptRecord) => void;
  readonly breakers: BreakerRegistry;
  readonly latency: LatencyTracker;
  readonly retryBudgets: RetryBudgets;
}

/** Thrown inside a run when the caller's signal aborts; becomes `request_aborted`. */
export class Aborted extends Error {
  constructor() {
    super('aborted');
    this.name = 'Aborted';
  }
}

/**
 * The reason an attempt's upstream call is cancelled with once the attempt has ended (a failure,
 * a timeout): only the provider, whose answer no one waits for any more, sees it. One instance,
 * since capturing a stack per failed attempt cost more than the cancellation.
 */
const RELEASED = new Aborted();

export interface Failure {
  readonly errorClass: ErrorClass;
  readonly status: number | null;
  readonly retryAfterMs: number | null;
  /** The upstream's error body, returned unchanged when the policy ends the request with it. */
  readonly body: OpenAIErrorBody | null;
  /** The route's deadline (not a per-attempt limit) ended the attempt. */
  readonly deadline: boolean;
  /** Ends the request with this failure whatever `fallbackOn` says (an output guardrail's block). */
  readonly terminal?: boolean;
}

/** An attempt in flight; for streams it lives on after the commit, until the stream ends. */
export interface Live {
  readonly target: ResolvedTarget;
  readonly index: number;
  readonly permit: BreakerPermit;
  readonly breaker: CircuitBreaker;
  /** Cancels the upstream call (its AbortSignal made only if the provider read it). */
  readonly cancel: Cancellation;
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
  iterator: StreamItemIterator | null;
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
  readonly settle: Settle;
  /** The attempt's trace span; null when the request is not traced (tracing.ts). */
  readonly span: Span | null;
  /** Ends the race in progress on this attempt as aborted (set by race.ts while one runs). */
  interrupt: (() => void) | null;
}

export function failure(errorClass: ErrorClass, deadline = false): Failure {
  return { errorClass, status: null, retryAfterMs: null, body: null, deadline };
}

export class AttemptRun {
  readonly attempts: AttemptRecord[] = [];
  readonly start: number;
  readonly deadline: number;
  readonly targets: readonly ResolvedTarget[];
  readonly budget: RetryBudget;
  calls = 0;
  upstreamMs = 0;
  backoffMs = 0;
  stoppedBy: 'deadline' | 'max_attempts' | null = null;
  lastFailure: Failure | null = null;
  readonly failureClasses: ErrorClass[] = [];
  retryAfterMs: number | null = null;
  /** After a context_length failure: later targets must have a larger context than this one. */
  contextFloor: ResolvedTarget | null = null;

  constructor(
    readonly deps: RunDeps,
    readonly decision: RouteDecision,
    readonly ctx: RequestContext,
    /** The caller's abort (an AbortSignal or, from the gateway, a Cancellation). */
    readonly signal: AbortSource | undefined,
    readonly gate: TargetGate | null,
    readonly output: OutputGuard | null = null,
    /** The request's trace, parent of the attempt spans; null when not traced. */
    readonly trace: RequestTrace | null = null,
  ) {
    this.start = deps.clock.now();
    this.deadline = this.start + Math.max(0, decision.timeout.totalMs);
    this.targets = orderPlan(decision.plan, deps.latency, decision.targets);
    this.budget = deps.retryBudgets.get(decision.route);
  }

  get now(): number {
    return this.deps.clock.now();
  }

  /** The deadline passed or the global attempt cap is reached (and remembers which). */
  mustStop(): boolean {
    if (this.now >= this.deadline) this.stoppedBy = 'deadline';
    else if (this.calls >= this.decision.maxAttempts) this.stoppedBy ??= 'max_attempts';
    else return false;
    return true;
  }

  /** Time in Switchyard itself: elapsed minus upstream waits and backoff sleeps. */
  overhead(): number {
    return Math.max(0, this.now - this.start - this.upstreamMs - this.backoffMs);
  }

  fail(live: Live, f: Failure): { readonly kind: 'failed'; readonly failure: Failure } {
    this.lastFailure = f;
    this.failureClasses.push(f.errorClass);
    if (f.retryAfterMs !== null) this.retryAfterMs = Math.max(this.retryAfterMs ?? 0, f.retryAfterMs);
    this.finishLive(live, f.errorClass, null, f.status);
    return { kind: 'failed', failure: f };
  }

  /**
   * The caller went away before the commit: cancel upstream, give the breaker no verdict. The
   * attempt has no outcome, so it is not recorded.
   */
  abortLive(live: Live): never {
    this.release(live, true);
    live.recorded = true;
    live.breaker.settle(live.permit, 'cancelled');
    settleGate(live, null, false);
    if (live.span !== null) endAttemptSpan(live.span, 'cancelled');
    throw new Aborted();
  }

  /**
   * Ends an attempt once: frees upstream (aborting it unless it succeeded), settles the breaker
   * and the gate, and records the attempt.
   */
  finishLive(
    live: Live,
    outcome: 'ok' | ErrorClass,
    usage: Usage | null,
    status = live.status,
    verdict: BreakerOutcome = outcome === 'ok' ? 'success' : outcome,
  ): void {
    if (live.recorded) return;
    live.recorded = true;
    const now = this.now;
    this.release(live, outcome !== 'ok');
    live.breaker.settle(live.permit, verdict);
    const record: AttemptRecord = {
      target: live.target.name,
      upstreamModel: live.target.upstreamModel,
      outcome,
      status,
      startedAtMs: live.startedAt - this.start,
      durationMs: now - live.startedAt,
      firstByteMs: live.firstByteAt === null ? null : live.firstByteAt - live.startedAt,
      firstTokenMs: live.firstContentAt === null ? null : live.firstContentAt - live.startedAt,
      usage: usage ?? live.usage,
    };
    settleGate(live, record.usage, outcome === 'ok');
    if (outcome === 'ok' && live.iterator === null)
      this.deps.latency.observe(live.target.name, record.durationMs);
    else if (outcome === 'timeout' || outcome === 'first_token')
      this.deps.latency.observe(live.target.name, record.durationMs);
    this.attempts.push(record);
    if (live.span !== null) endAttemptSpan(live.span, record);
    try {
      this.deps.onAttempt?.(record);
    } catch {
      // An observer's failure must not change the request's outcome.
    }
  }

  /** Frees the upstream call once; `abort` also cancels it (a finished stream needs only return()). */
  release(live: Live, abort: boolean): void {
    if (live.released) return;
    live.released = true;
    live.unlink();
    if (abort) live.cancel.abort(RELEASED);
    const iterator = live.iterator;
    if (iterator?.return !== undefined) {
      try {
        void Promise.resolve(iterator.return()).catch(() => undefined);
      } catch {
        // A misbehaving iterator cannot stop us from moving on.
      }
    }
  }
}

function settleGate(live: Live, usage: Usage | null, ok: boolean): void {
  if (live.settle === null) return;
  try {
    live.settle(usage, ok);
  } catch {
    // Accounting must not change the request's outcome.
  }
}
