/** Background jobs: batches, deferred requests and `switchyard batch run` (see runner.ts). */

export { maskUrl } from '../runtime/stores.js';
export { type Caller, jobCaller } from './caller.js';
export { type ExecuteResult, executeJob, Wakeup } from './execute.js';
export {
  checkInputFile,
  DEFAULT_MAX_LINE_BYTES,
  JOB_ENDPOINTS,
  type JobLine,
  jobLines,
  type LineProblem,
  type ParsedLine,
} from './input.js';
export { batchObject, deferredObject, type JobRecord, type JobStatus } from './job.js';
export { JournalWriter, recoverOutput } from './journal.js';
export { readLines } from './lines.js';
export { JOB_HEADER, type LineOutcome, type OutputLine, runJobLine } from './output.js';
export {
  DEFAULT_JOBS_PREFIX,
  RedisJobStore,
  type RedisJobStoreOptions,
  redisJobStoreProblem,
} from './redis-store.js';
export {
  COMPLETION_WINDOWS,
  type CreateBatchInput,
  type CreateDeferredInput,
  DEFAULT_LEASE_MS,
  type JobLog,
  type JobPage,
  type JobRefusal,
  type JobResult,
  JobRunner,
  type JobRunnerOptions,
} from './runner.js';
export { Slots } from './slots.js';
export {
  type FileObject,
  type JobStorage,
  JobStoreUnavailableError,
  type Lease,
  LeaseLostError,
  newId,
  type StoredFile,
  UploadTooLargeError,
} from './storage.js';
export { JobStore } from './store.js';
