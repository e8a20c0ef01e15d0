/**
 * Creating jobs: the checks of a `POST /v1/batches` body, and a new job's record. The runner
 * (runner.ts) saves and starts what these return.
 */

import { isRecord } from '../shared/guards.js';
import type { JobRecord } from './job.js';
import type { StoredFile } from './storage.js';

/** The one completion window accepted, as in the Batch API. */
export const COMPLETION_WINDOWS: Readonly<Record<string, number>> = Object.freeze({ '24h': 24 * 3600 });

/** Why a request about a job was refused; the HTTP layer maps each to a catalogue error. */
export type JobRefusal =
  | { readonly kind: 'not_found' }
  | { readonly kind: 'invalid'; readonly message: string; readonly param: string | null }
  | { readonly kind: 'too_many_jobs'; readonly limit: number }
  | { readonly kind: 'not_cancellable'; readonly status: string };

export type JobResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly refusal: JobRefusal };

export interface CreateBatchInput {
  readonly owner: string | null;
  readonly inputFileId: unknown;
  readonly endpoint: unknown;
  readonly completionWindow: unknown;
  readonly metadata: unknown;
}

export interface CreateDeferredInput {
  readonly owner: string | null;
  readonly endpoint: string;
  readonly body: Readonly<Record<string, unknown>>;
  readonly headers: Readonly<Record<string, string>>;
}

export const ok = <T>(value: T): JobResult<T> => ({ ok: true, value });
export const refuse = (refusal: JobRefusal): JobResult<never> => ({ ok: false, refusal });

function validMetadata(v: unknown): v is Record<string, string> | null {
  if (v === null || v === undefined) return true;
  if (!isRecord(v)) return false;
  const entries = Object.entries(v);
  return (
    entries.length <= 16 &&
    entries.every(([k, value]) => k.length <= 64 && typeof value === 'string' && value.length <= 512)
  );
}

export interface CheckedBatch {
  readonly inputFileId: string;
  readonly endpoint: string;
  readonly window: string;
  readonly metadata: Record<string, string> | null;
}

/** The fields of a batch request, checked; `file` reads the input file (null: absent). */
export async function checkBatchInput(
  input: CreateBatchInput,
  endpoints: readonly string[],
  file: (id: string) => Promise<StoredFile | null>,
): Promise<JobResult<CheckedBatch>> {
  const { inputFileId, endpoint, completionWindow, metadata } = input;
  if (typeof inputFileId !== 'string' || inputFileId === '') {
    return refuse({ kind: 'invalid', message: 'input_file_id is required.', param: 'input_file_id' });
  }
  if (typeof endpoint !== 'string' || !endpoints.includes(endpoint)) {
    return refuse({
      kind: 'invalid',
      message: `endpoint must be one of ${endpoints.join(', ')}.`,
      param: 'endpoint',
    });
  }
  if (typeof completionWindow !== 'string' || !Object.hasOwn(COMPLETION_WINDOWS, completionWindow)) {
    return refuse({
      kind: 'invalid',
      message: `completion_window must be ${Object.keys(COMPLETION_WINDOWS).join(' or ')}.`,
      param: 'completion_window',
    });
  }
  if (!validMetadata(metadata)) {
    return refuse({
      kind: 'invalid',
      message:
        'metadata must be an object of at most 16 string values (keys up to 64 characters, values up to 512).',
      param: 'metadata',
    });
  }
  const stored = await file(inputFileId);
  if (stored === null || stored.owner !== input.owner || stored.file.purpose !== 'batch') {
    return refuse({
      kind: 'invalid',
      message: `No input file ${JSON.stringify(inputFileId.slice(0, 100))} with purpose "batch" (upload one with POST /v1/files).`,
      param: 'input_file_id',
    });
  }
  return ok({ inputFileId, endpoint, window: completionWindow, metadata: metadata ?? null });
}

export interface NewRecord {
  readonly id: string;
  readonly kind: JobRecord['kind'];
  readonly owner: string | null;
  readonly endpoint: string;
  readonly inputFileId: string | null;
  readonly window: string;
  readonly metadata: Record<string, string> | null;
  readonly headers: Record<string, string>;
}

/** A job as created (`validating`), at `now` (Unix seconds). */
export function newRecord(o: NewRecord, now: number): JobRecord {
  return {
    version: 1,
    id: o.id,
    kind: o.kind,
    owner: o.owner,
    endpoint: o.endpoint,
    input_file_id: o.inputFileId,
    completion_window: o.window,
    metadata: o.metadata,
    headers: o.headers,
    status: 'validating',
    created_at: now,
    in_progress_at: null,
    expires_at: now + (COMPLETION_WINDOWS[o.window] ?? 24 * 3600),
    finalizing_at: null,
    completed_at: null,
    failed_at: null,
    expired_at: null,
    cancelling_at: null,
    cancelled_at: null,
    total: 0,
    completed: 0,
    failed: 0,
    input_tokens: 0,
    output_tokens: 0,
    errors: null,
    output_file_id: null,
    error_file_id: null,
  };
}
