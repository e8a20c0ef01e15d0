/** The attempt loop: the loop over the plan, one attempt, the race, the stream relay. */

/** Re-exported for server/explain.ts until it imports NEVER_RETRIED from the public entry. */
export { NEVER_RETRIED } from '../../types.js';
export { createExecutor, type Executor, type ExecutorOptions } from './executor.js';
export { policyLabel, retryAfterSeconds } from './responses.js';
export type { GateVerdict, RouteDecision, Settle, TargetGate } from './run.js';
