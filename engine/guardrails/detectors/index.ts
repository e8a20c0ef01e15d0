/**
 * The guardrail detector library: pure detectors compiled once from policy settings, run per
 * request on bounded input, plus redaction (one-shot and streaming) and the answer checks
 * (JSON Schema, length). No I/O anywhere on the request path.
 */

export { compileInjectionDetector, type InjectionDetector, type InjectionOptions } from './injection.js';
export {
  expandTemplate,
  INJECTION_PACK_VERSION,
  INJECTION_RULES,
  type InjectionFamily,
  type InjectionRule,
  MAX_EXPANSIONS,
} from './injection-pack.js';
export { type CompileJsonSchemaResult, compileJsonSchemaCheck, type JsonCheckResult } from './json-schema.js';
export {
  compileKeywordDetector,
  type KeywordDetector,
  type KeywordOptions,
  loadKeywordFile,
} from './keywords.js';
export { measureLength } from './length.js';
export { compilePiiDetector, PII_ENTITIES, type PiiDetector, type PiiEntity } from './pii.js';
export {
  cardValid,
  IBAN_LENGTHS,
  ibanChecksumValid,
  ibanValid,
  ipv4Valid,
  ipv6Valid,
  luhnValid,
  ssnValid,
} from './pii-validators.js';
export { defaultReplacement, findAll, mergeSpans, type Replacement, redact } from './redact.js';
export {
  type CompileRegexResult,
  checkReDoS,
  compileRegexDetector,
  DEFAULT_CHECK_TIMEOUT_MS,
  DEFAULT_MAX_MATCHES,
  type ReDoSVerdict,
  type RegexOptions,
  type RegexProblem,
} from './regex.js';
export {
  CONTEXT,
  createStreamRedactor,
  createStreamScanner,
  defaultWindow,
  MAX_DEFAULT_WINDOW,
  MIN_RELEASE,
  type ScanStep,
  type StreamOptions,
  type StreamRedactor,
  type StreamScanner,
} from './stream.js';
export type { Detector, Span } from './types.js';
export { LOOKAROUND } from './types.js';
