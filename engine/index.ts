/**
 * Switchyard's public library API. Everything an embedding program needs: load and validate a
 * policy, create an engine, decide and handle requests, render diagnostics.
 */
export type { CompiledPolicy, CompiledRecording } from './compile/compile.js';
export type { Diagnostic, Severity } from './policy/diagnostics.js';

import { ALL_DIAGNOSTIC_CODES } from './policy/codes.js';
import type { Diagnostic } from './policy/diagnostics.js';
import { formatSarif as formatSarifWith, type SarifLog, type SarifOptions } from './policy/format.js';

export { ALL_DIAGNOSTIC_CODES } from './policy/codes.js';
export { formatHuman, formatJson, type SarifLog } from './policy/format.js';

/** SARIF 2.1.0 for code-scanning annotations, with rule titles from the full code catalogue. */
export function formatSarif(diagnostics: readonly Diagnostic[], options: SarifOptions): SarifLog {
  return formatSarifWith(diagnostics, { catalogue: ALL_DIAGNOSTIC_CODES, ...options });
}
export {
  type FailedPolicy,
  type LoadedPolicy,
  loadPolicy,
  type PolicyResult,
  parsePolicy,
} from './compile/load-policy.js';
export { createPolicyLoader, type PolicyLoader, type PolicyLoaderOptions } from './compile/off-thread.js';
export {
  anthropicErrorType,
  EngineError,
  ERRORS,
  type ErrorCode,
  type ErrorSpec,
  type ErrorStage,
  errorBody,
  errorTypeForStatus,
  isErrorCode,
} from './errors.js';
export type { CompiledGuardrail, GuardrailVerdict } from './guardrails/index.js';
export { INJECTION_PACK_VERSION } from './guardrails/index.js';
export { anthropicError } from './ingress/messages.js';
export * as jobs from './jobs/index.js';
export type { PolicySource } from './policy/load.js';
export type { Policy } from './policy/types.generated.js';
export { sseFrame } from './providers/sse.js';
export type { Transport } from './providers/transport.js';
export {
  createPolicyRecorder,
  type PolicyRecorder,
  type PolicyRecorderOptions,
} from './replay/policy-recorder.js';
export {
  createRecorder,
  type RecordedLimit,
  type RecordedLine,
  type Recorder,
  type RecorderOptions,
  type RecordInput,
} from './replay/record.js';
export {
  loadScenario,
  parseScenario,
  type Scenario,
  type ScenarioProblem,
  type ScenarioResult,
} from './replay/scenario.js';
export { TRAFFIC_FORMATS, type TrafficFormatName } from './replay/traffic.js';
export { maxUpstreamCalls } from './runtime/attempts/index.js';
export { createEngine, type Engine, type EngineOptions, type Rejection } from './runtime/engine.js';
export type { RecorderPort } from './runtime/stages/record.js';
export type { StoreEvent } from './runtime/stores.js';
export type {
  BudgetAlertEvent,
  CacheEvent,
  CacheOutcome,
  LimitEvent,
  SpendReport,
} from './runtime/traffic-state.js';
export { Cancellation } from './shared/cancellation.js';
export type { Clock } from './shared/clock.js';
export { systemClock } from './shared/clock.js';
export { isRecord } from './shared/guards.js';
export { CREDENTIAL_HEADERS } from './shared/secrets.js';
export { VirtualClock } from './shared/virtual-clock.js';
export { type BehaviourChange, diffPolicies, formatDiff, type PolicyDiff } from './testing/diff.js';
export {
  findPolicyTests,
  formatJUnit,
  loadPolicyWithoutSecrets,
  type PolicyTestResult,
  type PolicyTestRun,
  runPolicyTests,
} from './testing/policy-tests.js';
export {
  formatReplay,
  ReplayInputError,
  type ReplayOptions,
  replayRecording,
} from './testing/replay.js';
export {
  evaluateGates,
  formatGate,
  formatGateVerdict,
  GATE_METRICS,
  type Gate,
  type GateLimit,
  type GateMetric,
  type GateResult,
  type GateVerdict,
  parseGateLimit,
  parseGates,
} from './testing/replay-gates.js';
export { type HtmlReportOptions, renderReplayHtml } from './testing/replay-render/html.js';
export { formatReplayReport, type TerminalReportOptions } from './testing/replay-render/terminal.js';
export {
  CHANGE_KINDS,
  type ChangeKind,
  type MalformedLine,
  REPLAY_REPORT_SCHEMA,
  type ReplayBucket,
  type ReplayChange,
  type ReplayOutcome,
  type ReplayProgress,
  type ReplayReport,
  type ReplaySide,
  type TrafficFormat,
} from './testing/replay-report.js';
export type * from './types.js';
export { ERROR_CLASSES, NEVER_RETRIED } from './types.js';
