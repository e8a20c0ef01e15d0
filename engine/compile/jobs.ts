/**
 * The `jobs` block, resolved once: how many job requests run at once and the bounds of what a
 * caller may queue. Read by the job runner (engine/jobs) and the HTTP layer for uploads.
 */

import type { Jobs } from '../policy/types.generated.js';
import { parseSize } from '../shared/units.js';

export interface JobSettings {
  /** Job requests in flight at once, all jobs of the process together. */
  readonly concurrency: number;
  /** Largest accepted upload, in bytes. */
  readonly maxFileBytes: number;
  /** Most lines in one batch input file. */
  readonly maxRequests: number;
  /** Most unfinished batches and deferred requests. */
  readonly maxActive: number;
}

/** The schema's defaults. */
export const BUILTIN_JOBS: JobSettings = Object.freeze({
  concurrency: 4,
  maxFileBytes: 100 * 1024 * 1024,
  maxRequests: 50_000,
  maxActive: 1_000,
});

export function compileJobs(jobs: Jobs | undefined): JobSettings {
  if (jobs === undefined) return BUILTIN_JOBS;
  const size = jobs.maxFileSize === undefined ? null : parseSize(jobs.maxFileSize);
  return Object.freeze({
    concurrency: jobs.concurrency ?? BUILTIN_JOBS.concurrency,
    // Validation rejects a size that does not parse (SEM_BAD_SIZE).
    maxFileBytes: size?.ok === true ? size.value : BUILTIN_JOBS.maxFileBytes,
    maxRequests: jobs.maxRequests ?? BUILTIN_JOBS.maxRequests,
    maxActive: jobs.maxActive ?? BUILTIN_JOBS.maxActive,
  });
}
