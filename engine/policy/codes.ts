/**
 * The complete diagnostic code catalogue: each stage keeps its own table next to its code, and
 * this module joins them. docs/diagnostics.md is generated from it and a test checks that every
 * code a stage can emit is documented here.
 */
import { VALIDATE_CODES } from './codes-validate.js';
import { DIAGNOSTIC_CODES, type DiagnosticCodeInfo } from './diagnostics.js';

/** Codes of the front-half pipeline itself (policy.ts). */
const PIPELINE_CODES: Record<string, DiagnosticCodeInfo> = {
  SEM_COMPILE_FAILED: {
    stage: 'semantic',
    title: 'The compiler failed on a policy that passed validation (an engine bug)',
    example: '# any policy that triggers the bug; the message carries the compiler error\n',
    fix: 'Report it with the policy; meanwhile, change the construct the message names.',
  },
};

export const ALL_DIAGNOSTIC_CODES: Readonly<Record<string, DiagnosticCodeInfo>> = Object.freeze({
  ...DIAGNOSTIC_CODES,
  ...VALIDATE_CODES,
  ...PIPELINE_CODES,
});
