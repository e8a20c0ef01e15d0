/**
 * The loop over the plan: targets in order, never going back, each retried while its retry
 * settings, the retry budget and the deadline allow, skipping open breakers and targets their
 * own limits refuse (docs/design.md §2).
 */
import { abortSignalOf } from '../../shared/cancellation.js';
import { NEVER_RETRIED, type PlanNode, type ResolvedTarget, type StreamSettings } from '../../types.js';
import { retryWait } from '../backoff.js';
import type { BreakerPermit, CircuitBreaker } from '../breaker.js';
import { type AttemptResult, callTarget } from './call.js';
import {
  Aborted,
  type AttemptRun,
  type Failure,
  type GateVerdict,
  type Refusal,
  type Settle,
} from './run.js';

const OPEN_GATE: GateVerdict = Object.freeze({ allowed: true, settle: null });

export type Success = Extract<AttemptResult, { kind: 'json' | 'stream' }>;

type TargetResult =
  | { readonly kind: 'success'; readonly result: Success }
  | { readonly kind: 'next'; readonly failure: Failure }
  | { readonly kind: 'terminal'; readonly failure: Failure }
  | { readonly kind: 'stop' };

export type WalkResult =
  | { readonly kind: 'success'; readonly result: Success }
  | { readonly kind: 'terminal'; readonly failure: Failure }
  | { readonly kind: 'refused'; readonly refusal: Refusal }
  | { readonly kind: 'exhausted' };

/**
 * Tries targets from `from` onwards, in order. Open-breaker targets are skipped; when every
 * eligible target was skipped as open (and nothing was called), the one whose cooldown ends first
 * is called anyway, as a probe. `prefill` resumes a broken stream: only prefill-capable targets,
 * and never a forced call of an open target (the all-open rule is for the request's first walk).
 */
export async function walk(run: AttemptRun, from: number, prefill?: string): Promise<WalkResult> {
  const skippedOpen: { index: number; breaker: CircuitBreaker }[] = [];
  let refused: Refusal | null = null;
  let called = false;
  for (let index = from; index < run.targets.length; index++) {
    if (run.mustStop()) return { kind: 'exhausted' };
    const target = run.targets[index];
    if (!eligible(run, target, prefill)) continue;
    const breaker = run.deps.breakers.get(target);
    const permit = breaker.tryAcquire();
    if (permit === null) {
      skippedOpen.push({ index, breaker });
      continue;
    }
    // The gate after the breaker, so an open target is never charged to its limits. No gate (no
    // per-target limits): no await, which would cost a microtask turn per attempt.
    const verdict = run.gate === null ? OPEN_GATE : await admit(run, target, breaker, permit);
    if (!verdict.allowed) {
      if (refused === null || verdict.retryAfterMs < refused.retryAfterMs) refused = verdict;
      continue;
    }
    called = true;
    const result = await runTarget(run, index, breaker, permit, prefill, verdict.settle);
    if (result.kind === 'success' || result.kind === 'terminal') return result;
    if (result.kind === 'stop') return { kind: 'exhausted' };
  }
  if (!called && skippedOpen.length > 0 && prefill === undefined && !run.mustStop()) {
    let earliest = skippedOpen[0];
    for (const s of skippedOpen) {
      if (s.breaker.cooldownEndsAt() < earliest.breaker.cooldownEndsAt()) earliest = s;
    }
    const permit = earliest.breaker.forceAcquire();
    const verdict = await admit(run, run.targets[earliest.index], earliest.breaker, permit);
    if (verdict.allowed) {
      const result = await runTarget(run, earliest.index, earliest.breaker, permit, prefill, verdict.settle);
      if (result.kind === 'success' || result.kind === 'terminal') return result;
    } else if (refused === null || verdict.retryAfterMs < refused.retryAfterMs) {
      refused = verdict;
    }
  }
  // Nothing was called because the targets' own limits or budgets refused: say so (429), with
  // the soonest retry, rather than reporting an upstream failure that never happened.
  if (!called && refused !== null && run.attempts.length === 0) return { kind: 'refused', refusal: refused };
  return { kind: 'exhausted' };
}

/** The gate's verdict on calling `target` now; a refusal gives the breaker permit back. */
async function admit(
  run: AttemptRun,
  target: ResolvedTarget,
  breaker: CircuitBreaker,
  permit: BreakerPermit,
): Promise<GateVerdict> {
  if (run.gate === null) return OPEN_GATE;
  let verdict: GateVerdict;
  try {
    verdict = await run.gate.admit(target);
  } catch (error) {
    breaker.settle(permit, 'cancelled');
    throw error;
  }
  if (!verdict.allowed) breaker.settle(permit, 'cancelled');
  return verdict;
}

function eligible(run: AttemptRun, target: ResolvedTarget, prefill: string | undefined): boolean {
  if (prefill !== undefined && !target.capabilities.prefill) return false;
  const floor = run.contextFloor;
  if (floor !== null) {
    // context_length is never retried on the same model; an unknown window cannot be "larger".
    if (target.provider === floor.provider && target.upstreamModel === floor.upstreamModel) return false;
    if (floor.context !== null && (target.context === null || target.context <= floor.context)) return false;
  }
  return true;
}

/** Calls one target, retrying it while its retry settings, the budget and the deadline allow. */
async function runTarget(
  run: AttemptRun,
  index: number,
  breaker: CircuitBreaker,
  firstPermit: BreakerPermit,
  prefill: string | undefined,
  firstSettle: Settle,
): Promise<TargetResult> {
  const target = run.targets[index];
  const retry = target.retry;
  let permit = firstPermit;
  let settle = firstSettle;
  for (let call = 0; ; call++) {
    const result = await callTarget(run, index, breaker, permit, prefill, settle);
    if (result.kind !== 'failed') return { kind: 'success', result };
    const failure = result.failure;
    if (failure.deadline) {
      run.stoppedBy = 'deadline';
      return { kind: 'stop' };
    }
    if (failure.terminal === true) return { kind: 'terminal', failure };
    if (failure.errorClass === 'context_length') run.contextFloor = target;
    const retryable =
      retry.retryOn.includes(failure.errorClass) &&
      !NEVER_RETRIED.has(failure.errorClass) &&
      call < retry.attempts;
    if (retryable && !run.mustStop()) {
      const next = await awaitRetry(run, target, breaker, call, failure);
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
 * fail over instead: Retry-After over the cap, a backoff that would cross the deadline, an open
 * breaker, or a spent retry budget.
 */
async function awaitRetry(
  run: AttemptRun,
  target: ResolvedTarget,
  breaker: CircuitBreaker,
  call: number,
  failure: Failure,
): Promise<{ permit: BreakerPermit; settle: Settle } | null> {
  const wait = retryWait(target.retry, call, failure.retryAfterMs, run.deps.random);
  if (wait.kind === 'failover') return null;
  if (run.now + wait.ms >= run.deadline) return null;
  const permit = breaker.tryAcquire();
  if (permit === null) return null;
  if (!run.budget.tryAcquire()) {
    breaker.settle(permit, 'cancelled');
    return null;
  }
  const before = run.now;
  try {
    await run.deps.clock.sleep(wait.ms, abortSignalOf(run.signal));
  } catch (error) {
    breaker.settle(permit, 'cancelled');
    if (run.signal?.aborted) throw new Aborted();
    throw error;
  } finally {
    run.backoffMs += run.now - before;
  }
  // A retry is another upstream call: the target's own limits must admit it too.
  const verdict = await admit(run, target, breaker, permit);
  return verdict.allowed ? { permit, settle: verdict.settle } : null;
}

// ---------------------------------------------------------------------------------------------
// The bound, stated next to the loop it bounds

/** What `maxUpstreamCalls` reads of a route decision. */
export interface CallBoundInput {
  readonly plan: PlanNode;
  readonly maxAttempts: number;
  readonly stream: StreamSettings;
}

interface Span {
  /** The most calls the walk can make inside the node. */
  readonly calls: number;
  /** The walk never gets past the node (it holds a target whose `fallbackOn` is empty). */
  readonly stops: boolean;
}

/**
 * The most upstream calls `walk` can make for a decision (P8's bound, made exact): each target
 * at most `1 + retry.attempts` times (once only when its `retryOn` holds nothing but classes that
 * are never retried), once per target however often the plan names it, in plan order; the walk
 * goes past a target only when its `fallbackOn` lets a failure move on (an empty one ends the
 * request at its last failure), except that a stream broken after its first token may continue
 * on a later target (`midStream: continue`); a latency group may run its members in any order;
 * when every breaker is open, the one target probed may sit anywhere; and never more than the
 * route's `maxAttempts`. `explain` prints it.
 *
 * @example
 * maxUpstreamCalls(decision, { stream: false }); // two targets, `retry.attempts: 0` → 2
 */
export function maxUpstreamCalls(
  decision: CallBoundInput,
  options: { readonly stream?: boolean } = {},
): number {
  // A stream that continues after a cut walks on whatever the broken target's fallbackOn says.
  const canStop = !(options.stream === true && decision.stream.midStream === 'continue');
  const seen = new Set<string>();
  const { calls } = span(decision.plan, seen, canStop);
  // When every target's breaker is open, the walk probes the one whose cooldown ends first,
  // wherever it sits in the plan (with its retries): that target alone may exceed the span.
  const probe = Math.max(0, ...[...targetsOf(decision.plan)].map(callsOf));
  return Math.max(0, Math.min(decision.maxAttempts, Math.max(calls, probe)));
}

function* targetsOf(node: PlanNode): Generator<ResolvedTarget> {
  if (node.kind === 'target') yield node.target;
  else for (const child of node.children) yield* targetsOf(child);
}

/** One target's most calls: its first and its retries (none if it retries only never-retried classes). */
function callsOf(target: ResolvedTarget): number {
  const { retry } = target;
  return 1 + (retry.retryOn.some((c) => !NEVER_RETRIED.has(c)) ? retry.attempts : 0);
}

function span(node: PlanNode, seen: Set<string>, canStop: boolean): Span {
  if (node.kind === 'target') {
    const target = node.target;
    // The attempt order (orderPlan) calls a target named twice at its first place only.
    if (seen.has(target.name)) return { calls: 0, stops: false };
    seen.add(target.name);
    return { calls: callsOf(target), stops: canStop && target.retry.fallbackOn.length === 0 };
  }
  const parts = node.children.map((child) => span(child, seen, canStop));
  if (node.strategy === 'latency') {
    // Any order: every member that lets the walk on first, then the largest one that does not.
    let calls = 0;
    let stopper = -1;
    for (const p of parts) {
      if (p.stops) stopper = Math.max(stopper, p.calls);
      else calls += p.calls;
    }
    return stopper < 0 ? { calls, stops: false } : { calls: calls + stopper, stops: true };
  }
  let calls = 0;
  for (const p of parts) {
    calls += p.calls;
    if (p.stops) return { calls, stops: true };
  }
  return { calls, stops: false };
}
