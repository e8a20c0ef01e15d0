/** Guardrails: detectors compiled once, text by scope, one check, verdicts. */
export * from './detectors/index.js';
export {
  type CheckResult,
  type CompiledGuardrail,
  checkSegments,
  type GuardrailAction,
  type GuardrailStageName,
  type GuardrailVerdict,
  MAX_CHECKED_CHARS,
  verdictHeader,
  verdictOf,
} from './guardrail.js';
export {
  type AnswerRef,
  type AnswerSegment,
  answerSegments,
  type GuardrailScope,
  replaceAnswerSegments,
  replaceSegments,
  requestSegments,
  type Segment,
  type SegmentRef,
} from './text.js';
