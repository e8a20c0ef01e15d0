/** The attempt loop: the loop over the plan, one attempt, the race, the stream relay. */
export { createExecutor, type Executor, type ExecutorOptions } from './executor.js';
export type { OutputGuard } from './output.js';
export { policyLabel, retryAfterSeconds } from './responses.js';
export type { GateVerdict, RouteDecision, Settle, TargetGate } from './run.js';
export { type CallBoundInput, maxUpstreamCalls } from './walk.js';
