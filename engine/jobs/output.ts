/**
 * Running one job request through the engine, and its result as a line of the Batch API's output
 * or error file: `{"id", "custom_id", "response": {"status_code", "request_id", "body"}, "error"}`.
 *
 * A request refused by the gateway's own rate limit (429 `rate_limited`), or whose targets are all
 * rate-limited, overloaded or open (503 `upstream_unavailable`), is not a result: the job waits
 * (the limit's `Retry-After`, or a backoff) and runs it again, up to {@link MAX_DEFERRALS} times.
 * Background work thus yields to interactive traffic under a shared limit instead of failing.
 */

import type { CompiledPolicy } from '../compile/compile.js';
import type { Engine } from '../runtime/engine.js';
import { isRecord } from '../shared/guards.js';
import type { EngineResponse, NativeAnswer, RequestInput } from '../types.js';
import type { JobLine } from './input.js';

export interface OutputLine {
  readonly id: string;
  readonly custom_id: string;
  readonly response: {
    readonly status_code: number;
    readonly request_id: string;
    readonly body: unknown;
  } | null;
  /** A failure that is not an HTTP answer (the job expired or was cancelled before it ran). */
  readonly error: { readonly code: string; readonly message: string } | null;
}

/** The header every job request carries: routes can match it (`when: { header.x-switchyard-job: batch }`). */
export const JOB_HEADER = 'x-switchyard-job';

/** Times one request may be put back (rate-limited, upstreams unavailable) before its answer is kept. */
export const MAX_DEFERRALS = 20;

/** Bounds of the wait before a deferred request runs again. */
const MIN_WAIT_MS = 250;
const MAX_WAIT_MS = 60_000;

export type LineOutcome =
  | {
      readonly kind: 'done';
      readonly ok: boolean;
      readonly out: OutputLine;
      readonly usage: readonly [number, number] | null;
    }
  /** Run the request again after `waitMs` (not a result). */
  | { readonly kind: 'later'; readonly waitMs: number; readonly reason: string }
  /** Cut by a shutdown or a cancel: not a result; it runs again on the next start. */
  | { readonly kind: 'aborted' };

export interface LineContext {
  /** The job's id (`batch_…`, `job_…`). */
  readonly jobId: string;
  readonly jobKind: 'batch' | 'deferred';
  /** The tenant the job belongs to; its key is looked up in the serving policy. */
  readonly tenant: string | null;
  /** Headers of the original request a job keeps (deferred requests: `x-…` headers). */
  readonly headers: Readonly<Record<string, string>>;
  /** How many times this request was deferred already. */
  readonly deferrals: number;
  readonly signal: AbortSignal;
  /** Its answer from a provider's native batch (native.ts): the engine uses it instead of a call. */
  readonly nativeAnswer?: NativeAnswer;
}

const tenantKeys = new WeakMap<CompiledPolicy, Map<string, string>>();

/** A key of `tenant` in `policy` (the first declared), computed once per policy snapshot. */
export function tenantKey(policy: CompiledPolicy, tenant: string): string | null {
  let keys = tenantKeys.get(policy);
  if (keys === undefined) {
    keys = new Map();
    for (const [key, info] of policy.tenantsByKey) if (!keys.has(info.name)) keys.set(info.name, key);
    tenantKeys.set(policy, keys);
  }
  return keys.get(tenant) ?? null;
}

/** The id of a request of a job: stable across restarts, so a rerun keeps its id. */
export function lineRequestId(jobId: string, index: number): string {
  return `${jobId}-${index}`;
}

function errorCodeOf(body: unknown): string | null {
  if (!isRecord(body) || !isRecord(body.error)) return null;
  return typeof body.error.code === 'string' ? body.error.code : null;
}

function retryAfterMs(headers: Readonly<Record<string, string>>): number | null {
  const value = headers['retry-after'];
  if (value === undefined) return null;
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : null;
}

function clampWait(ms: number): number {
  return Math.min(MAX_WAIT_MS, Math.max(MIN_WAIT_MS, Math.ceil(ms)));
}

/** Drains a stream answer (a job never asks for one, but the engine's contract allows it). */
async function settle(response: EngineResponse): Promise<{ status: number; body: unknown }> {
  if (response.kind === 'json') return { status: response.status, body: response.body };
  for await (const _frame of response.events) {
    // drained: its end settles its accounting
  }
  await response.done;
  return {
    status: 502,
    body: {
      error: { message: 'The answer was a stream; job answers are JSON.', type: 'api_error', code: null },
    },
  };
}

/**
 * Runs one request of a job through `engine.handle`: the same routes, limits, budgets, guardrails
 * and recording as an interactive request, as the job's tenant.
 */
/** The headers a job request runs with: the kept ones, the job header, the tenant's key. */
export function jobLineHeaders(
  policy: CompiledPolicy,
  ctx: Pick<LineContext, 'headers' | 'jobKind' | 'tenant'>,
): Record<string, string> {
  const headers: Record<string, string> = { ...ctx.headers, [JOB_HEADER]: ctx.jobKind };
  if (ctx.tenant !== null) {
    const key = tenantKey(policy, ctx.tenant);
    // A tenant the policy no longer declares runs without a key: the engine refuses it (401).
    if (key !== null) headers.authorization = `Bearer ${key}`;
  }
  return headers;
}

export async function runJobLine(engine: Engine, line: JobLine, ctx: LineContext): Promise<LineOutcome> {
  const headers = jobLineHeaders(engine.policy, ctx);
  const requestId = lineRequestId(ctx.jobId, line.index);
  // A signal of its own, linked to the job's: whatever the engine attaches to it goes away with
  // the request, and the job's signal holds one listener per request in flight, not per request.
  const own = new AbortController();
  const cut = (): void => own.abort(ctx.signal.reason);
  if (ctx.signal.aborted) return { kind: 'aborted' };
  ctx.signal.addEventListener('abort', cut, { once: true });
  let status: number;
  let body: unknown;
  let response: EngineResponse;
  try {
    const input: RequestInput = {
      body: line.body,
      headers,
      path: line.url,
      requestId,
      signal: own.signal,
      ...(ctx.nativeAnswer === undefined ? {} : { nativeAnswer: ctx.nativeAnswer }),
    };
    response = await engine.handle(input);
    ({ status, body } = await settle(response));
  } finally {
    ctx.signal.removeEventListener('abort', cut);
  }
  if (ctx.signal.aborted) return { kind: 'aborted' };
  if (ctx.deferrals < MAX_DEFERRALS) {
    const code = errorCodeOf(body);
    if (status === 429 && code === 'rate_limited') {
      const wait = retryAfterMs(response.headers) ?? 1000;
      return { kind: 'later', waitMs: clampWait(wait), reason: 'rate_limited' };
    }
    if (status === 503 && code === 'upstream_unavailable') {
      return { kind: 'later', waitMs: clampWait(1000 * 2 ** ctx.deferrals), reason: 'upstream_unavailable' };
    }
  }
  const meta = response.kind === 'json' ? response.meta : null;
  const usage = meta?.usage ?? null;
  return {
    kind: 'done',
    ok: status >= 200 && status < 300,
    out: {
      id: `${ctx.jobId.replace(/^(batch|job)_/, 'batch_req_')}_${line.index}`,
      custom_id: line.customId,
      response: { status_code: status, request_id: requestId, body },
      error: null,
    },
    usage: usage === null ? null : [usage.promptTokens, usage.completionTokens],
  };
}

/** The error line of a request that never ran (the job was cancelled or expired first). */
export function notRunLine(
  jobId: string,
  index: number,
  customId: string,
  code: 'batch_cancelled' | 'batch_expired',
): OutputLine {
  return {
    id: `${jobId.replace(/^(batch|job)_/, 'batch_req_')}_${index}`,
    custom_id: customId,
    response: null,
    error: {
      code,
      message:
        code === 'batch_cancelled'
          ? 'The batch was cancelled before this request ran.'
          : 'The batch expired before this request could run.',
    },
  };
}
