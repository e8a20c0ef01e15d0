/**
 * The part of the engine's API that serving needs: load and compile a policy, run the engine,
 * record traffic, answer errors. The gateway (`server/`) imports its values from here, not from
 * the public entry (`engine/index.ts`), which also exports the tools a serving process never
 * runs: the policy test runner, replay and its reports, `diff`, scenarios. Importing those cost
 * a `switchyard serve` process about 6 MB of resident memory at idle (docs/footprint.md); an ES
 * module's re-exports are all evaluated, used or not, so keeping them out means not importing
 * them. Types can still come from `engine/index.ts` (type imports are erased). Of the jobs module
 * (batches, deferred requests), only its light part is here; the server loads the rest with
 * {@link loadJobs} when a job store is configured (server/jobs.ts).
 */
export { loadPolicy } from './compile/load-policy.js';
export { createPolicyLoader, setFirstLoadIn } from './compile/off-thread.js';
export { ERRORS, errorBody } from './errors.js';
// Every type of the public API, for the server's type imports: erased at run time, loads nothing.
export type * from './index.js';
export { anthropicError } from './ingress/messages.js';
// The light part of the jobs module (constants, answer shapes, error classes); the rest (runner,
// stores, journal) through loadJobs, when a job store is configured.
export { JOB_ENDPOINTS } from './jobs/input.js';
export { batchObject, deferredObject } from './jobs/job.js';
export { JobStoreUnavailableError, UploadTooLargeError } from './jobs/storage.js';
export { formatHuman } from './policy/format.js';
export { sseFrame } from './providers/sse.js';
export { createPolicyRecorder } from './replay/policy-recorder.js';
export { maxUpstreamCalls } from './runtime/attempts/index.js';
export { createEngine } from './runtime/engine.js';
export { Cancellation } from './shared/cancellation.js';
export { isRecord } from './shared/guards.js';
export { CREDENTIAL_HEADERS } from './shared/secrets.js';
export { NEVER_RETRIED } from './types.js';

/** The jobs module (runner, stores, journal), imported on demand. */
export function loadJobs(): Promise<typeof import('./jobs/index.js')> {
  return import('./jobs/index.js');
}
