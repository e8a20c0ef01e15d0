/**
 * A job's saved state and how clients see it: a batch as the Batch API's object, a deferred
 * request as a `switchyard.job` object.
 *
 * Status life cycle (the Batch API's): `validating` → `in_progress` → `finalizing` → `completed`;
 * `validating` → `failed` (the input file has problems, listed in `errors`); `in_progress` →
 * `cancelling` → `cancelled` (requests in flight finish, the rest never run); `in_progress` →
 * `expired` when the completion window ends first. Cancelled and expired jobs have their partial
 * results in the output file, and every request that did not run is a line of the error file
 * (`batch_cancelled`, `batch_expired`): each `custom_id` appears exactly once across the two.
 */

import { isRecord } from '../shared/guards.js';
import type { LineProblem } from './input.js';

export type JobStatus =
  | 'validating'
  | 'failed'
  | 'in_progress'
  | 'finalizing'
  | 'completed'
  | 'expired'
  | 'cancelling'
  | 'cancelled';

export const TERMINAL: ReadonlySet<JobStatus> = new Set<JobStatus>([
  'failed',
  'completed',
  'expired',
  'cancelled',
]);

export interface JobRecord {
  readonly version: 1;
  readonly id: string;
  readonly kind: 'batch' | 'deferred';
  /** The tenant that created it; null when the policy declares none. */
  readonly owner: string | null;
  readonly endpoint: string;
  /** The batch's input file; null for a deferred request (its body is in the job's directory). */
  readonly input_file_id: string | null;
  readonly completion_window: string;
  readonly metadata: Readonly<Record<string, string>> | null;
  /** Headers a deferred request keeps from its original request (`x-…`, credentials never). */
  readonly headers: Readonly<Record<string, string>>;
  status: JobStatus;
  readonly created_at: number;
  in_progress_at: number | null;
  readonly expires_at: number;
  finalizing_at: number | null;
  completed_at: number | null;
  failed_at: number | null;
  expired_at: number | null;
  cancelling_at: number | null;
  cancelled_at: number | null;
  /** Requests in the input file (0 until validated). */
  total: number;
  completed: number;
  failed: number;
  input_tokens: number;
  output_tokens: number;
  errors: LineProblem[] | null;
  output_file_id: string | null;
  error_file_id: string | null;
}

export function isJobRecord(v: unknown): v is JobRecord {
  return (
    isRecord(v) &&
    v.version === 1 &&
    typeof v.id === 'string' &&
    (v.kind === 'batch' || v.kind === 'deferred') &&
    typeof v.status === 'string' &&
    typeof v.endpoint === 'string' &&
    typeof v.created_at === 'number' &&
    typeof v.total === 'number'
  );
}

/** The Batch API's object (`GET /v1/batches/{id}`). */
export function batchObject(job: JobRecord): Record<string, unknown> {
  return {
    id: job.id,
    object: 'batch',
    endpoint: job.endpoint,
    errors: job.errors === null ? null : { object: 'list', data: job.errors },
    input_file_id: job.input_file_id,
    completion_window: job.completion_window,
    status: job.status,
    output_file_id: job.output_file_id,
    error_file_id: job.error_file_id,
    created_at: job.created_at,
    in_progress_at: job.in_progress_at,
    expires_at: job.expires_at,
    finalizing_at: job.finalizing_at,
    completed_at: job.completed_at,
    failed_at: job.failed_at,
    expired_at: job.expired_at,
    cancelling_at: job.cancelling_at,
    cancelled_at: job.cancelled_at,
    request_counts: { total: job.total, completed: job.completed, failed: job.failed },
    usage: {
      input_tokens: job.input_tokens,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: job.output_tokens,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: job.input_tokens + job.output_tokens,
    },
    metadata: job.metadata,
  };
}

/**
 * A deferred request as its caller polls it (`GET /v1/jobs/{id}`): the status and, once it ran,
 * the answer as the synchronous call would have returned it (`response.status_code`, `body`).
 */
export function deferredObject(
  job: JobRecord,
  result: Record<string, unknown> | null,
): Record<string, unknown> {
  return {
    id: job.id,
    object: 'switchyard.job',
    endpoint: job.endpoint,
    status: job.status,
    created_at: job.created_at,
    expires_at: job.expires_at,
    in_progress_at: job.in_progress_at,
    completed_at: job.completed_at,
    failed_at: job.failed_at,
    expired_at: job.expired_at,
    cancelled_at: job.cancelled_at,
    response: result?.response ?? null,
    error: result?.error ?? deferredError(job),
  };
}

function deferredError(job: JobRecord): { code: string; message: string } | null {
  const first = job.errors?.[0];
  if (first !== undefined) return { code: first.code, message: first.message };
  if (job.status === 'cancelled')
    return { code: 'job_cancelled', message: 'The request was cancelled before it ran.' };
  if (job.status === 'expired')
    return { code: 'job_expired', message: 'The request expired before it could run.' };
  return null;
}
