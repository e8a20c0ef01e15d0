/**
 * The answers of the attempt loop: the upstream's JSON answer, a 429 when every target's own
 * limits refused, the upstream's error when it is the caller's fault, and the catalogue's
 * upstream errors (502/503/504) otherwise. Headers and metadata of every answer are built here.
 */

import { ERRORS, type ErrorCode, errorBody, errorTypeForStatus } from '../../errors.js';
import { costUsd } from '../../limits/budgets.js';
import type { ResponseBody } from '../../providers/openai-types.js';
import type {
  EngineResponse,
  ErrorClass,
  PolicyIdentity,
  ResolvedTarget,
  ResponseMeta,
  Usage,
} from '../../types.js';
import type { AttemptRun, Failure, Live, Refusal } from './run.js';

const TIMEOUT_CLASSES: ReadonlySet<ErrorClass> = new Set<ErrorClass>(['timeout', 'first_token', 'idle']);
const UNAVAILABLE_CLASSES: ReadonlySet<ErrorClass> = new Set<ErrorClass>(['rate_limited', 'overloaded']);
/**
 * The caller's own fault: the only upstream error bodies passed through unchanged; and an
 * output guardrail's refusal, whose body is the catalogue's `guardrail_blocked`.
 */
const PASS_THROUGH_CLASSES: ReadonlySet<ErrorClass> = new Set<ErrorClass>([
  'bad_request',
  'content_policy',
  'context_length',
  'guardrail',
]);

/** `name@version+hash12`: what served a request, in headers, logs and metrics. */
export function policyLabel(policy: PolicyIdentity): string {
  // Every answer carries it, and a compiled policy's identity is one frozen object: the label is
  // built once per identity (an unfrozen one, which could change, is labelled afresh).
  const known = labels.get(policy);
  if (known !== undefined) return known;
  const label = `${policy.name}@${policy.version}+${policy.hash.slice(0, 12)}`;
  if (Object.isFrozen(policy)) labels.set(policy, label);
  return label;
}
const labels = new WeakMap<PolicyIdentity, string>();

/** `Retry-After` in whole seconds, at least 1. */
export function retryAfterSeconds(ms: number): string {
  return String(Math.max(1, Math.ceil(ms / 1000)));
}

export function runHeaders(
  run: AttemptRun,
  target: ResolvedTarget | null,
  extra?: Readonly<Record<string, string>>,
): Record<string, string> {
  const headers: Record<string, string> = {
    'x-switchyard-route': run.decision.route,
    'x-switchyard-attempts': String(run.attempts.length),
    'x-switchyard-policy': policyLabel(run.decision.policy),
  };
  if (extra !== undefined) Object.assign(headers, extra);
  if (target !== null) headers['x-switchyard-target'] = target.name;
  return headers;
}

export function runMeta(
  run: AttemptRun,
  target: ResolvedTarget | null,
  usage: Usage | null,
  overheadMs: number,
): ResponseMeta {
  return {
    policy: run.decision.policy,
    route: run.decision.route,
    tenant: run.ctx.tenant,
    target: target?.name ?? null,
    attempts: [...run.attempts],
    cache: null,
    usage,
    costUsd: runCost(run),
    overheadMs,
  };
}

/** Usage × price over every attempt that reported usage (a failed attempt may be billed too). */
function runCost(run: AttemptRun): number | null {
  let cost: number | null = null;
  for (const attempt of run.attempts) {
    if (attempt.usage === null) continue;
    const target = run.targets.find((t) => t.name === attempt.target);
    if (!target?.price) continue;
    cost = (cost ?? 0) + costUsd(attempt.usage, target.price);
  }
  return cost;
}

export function jsonResponse(
  run: AttemptRun,
  live: Live,
  body: ResponseBody,
  usage: Usage | null,
): EngineResponse {
  const { target } = live;
  return {
    kind: 'json',
    status: live.status ?? 200,
    headers: runHeaders(run, target),
    body: { ...body, model: target.upstreamModel },
    meta: runMeta(run, target, usage, run.overhead()),
  };
}

/** Every target was refused by its own limits or budgets before any call: 429. */
export function refusedResponse(run: AttemptRun, refusal: Refusal): EngineResponse {
  const headers: Record<string, string> = { ...refusal.headers };
  if (Number.isFinite(refusal.retryAfterMs)) headers['retry-after'] = retryAfterSeconds(refusal.retryAfterMs);
  const detail =
    refusal.code === 'rate_limited'
      ? `Every target of route "${run.decision.route}" is at its rate limit; retry after the time in Retry-After.`
      : `Every target of route "${run.decision.route}" is over its budget for this period.`;
  return {
    kind: 'json',
    status: ERRORS[refusal.code].status,
    headers: runHeaders(run, null, headers),
    body: errorBody(refusal.code, { detail }),
    meta: runMeta(run, null, null, run.overhead()),
  };
}

/**
 * The policy ends the request with this error. A caller's fault (bad request, content policy,
 * context length) is passed through with the upstream's status and (scrubbed) body; anything
 * else (auth, 5xx, overload, ...) becomes the catalogue's upstream error, so raw upstream text
 * never reaches the caller.
 */
export function terminalResponse(run: AttemptRun, failure: Failure): EngineResponse {
  if (failure.body !== null && failure.status !== null && PASS_THROUGH_CLASSES.has(failure.errorClass)) {
    return {
      kind: 'json',
      status: failure.status,
      headers: runHeaders(run, null),
      body: failure.body,
      meta: runMeta(run, null, null, run.overhead()),
    };
  }
  const code: ErrorCode = TIMEOUT_CLASSES.has(failure.errorClass)
    ? 'upstream_timeout'
    : UNAVAILABLE_CLASSES.has(failure.errorClass)
      ? 'upstream_unavailable'
      : 'upstream_failed';
  return upstreamError(run, code, failure.errorClass);
}

/**
 * Nothing answered. The status says why: 504 when the deadline or a timeout ended it, 503 when
 * every failure was a 429/503/529 or every target was circuit-open, else 502.
 */
export function exhaustedResponse(run: AttemptRun): EngineResponse {
  const last = run.lastFailure;
  // Every answer was refused by an output guardrail's fallback: say so, not "upstream failed".
  if (last !== null && last.errorClass === 'guardrail' && run.decision.onExhausted === null) {
    return terminalResponse(run, last);
  }
  let code: ErrorCode;
  if (run.stoppedBy === 'deadline' || (last !== null && TIMEOUT_CLASSES.has(last.errorClass)))
    code = 'upstream_timeout';
  else if (run.failureClasses.every((c) => UNAVAILABLE_CLASSES.has(c))) code = 'upstream_unavailable';
  else code = 'upstream_failed';
  return upstreamError(run, code, last?.errorClass ?? 'circuit_open');
}

/** A catalogue upstream error, with the route's `onExhausted` status and message when declared. */
function upstreamError(run: AttemptRun, code: ErrorCode, lastClass: string): EngineResponse {
  const extra: Record<string, string> = {};
  if (code === 'upstream_unavailable' && run.retryAfterMs !== null) {
    extra['retry-after'] = retryAfterSeconds(run.retryAfterMs);
  }
  const custom = run.decision.onExhausted;
  const body = errorBody(code, { lastClass });
  return {
    kind: 'json',
    status: custom?.status ?? ERRORS[code].status,
    headers: runHeaders(run, null, extra),
    body:
      custom === null
        ? body
        : {
            error: {
              message: custom.message,
              type: errorTypeForStatus(custom.status),
              code: body.error.code,
            },
          },
    meta: runMeta(run, null, null, run.overhead()),
  };
}
