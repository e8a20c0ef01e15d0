/**
 * A guardrail compiled once from the policy, and one check of it on text segments. A check
 * never throws and never reports the matched text: a verdict names the guardrail, what it
 * decided and the kinds of what it found (`email`, `injection:ignore-previous`, ...), so it can be
 * logged, recorded and sent in a header without leaking what it caught.
 */

import { defaultReplacement, redact } from './detectors/redact.js';
import type { Detector } from './detectors/types.js';
import type { GuardrailScope } from './text.js';

export type GuardrailStageName = 'input' | 'output';
export type GuardrailAction = 'block' | 'flag' | 'redact' | 'fallback';

/**
 * Longest text a check reads, per segment (characters). Bodies are bounded by the server's body
 * limit already; this bounds an embedding program's too. Text past it is not checked, except by
 * a length check, which counts it.
 */
export const MAX_CHECKED_CHARS = 1_048_576;

export interface CompiledGuardrail {
  readonly name: string;
  readonly kind: string;
  readonly stage: GuardrailStageName;
  readonly action: GuardrailAction;
  /** Record the verdict, change nothing. */
  readonly shadow: boolean;
  /** Output only: hold the whole answer (`buffer`), or check it as it streams (`scan`). */
  readonly streaming: 'buffer' | 'scan';
  readonly scope: GuardrailScope;
  /** The injection pack's version, shown in verdicts. */
  readonly version: string | null;
  /** Finds spans (regex, keywords, pii, injection); null for whole-text checks. */
  readonly detector: Detector | null;
  /** Whole-text checks (maxLength, jsonSchema): why the texts fail, or null when they pass. */
  readonly judge: ((texts: readonly string[]) => string | null) | null;
}

/** What one guardrail decided for one request (or answer). */
export interface GuardrailVerdict {
  readonly guardrail: string;
  readonly stage: GuardrailStageName;
  /** `pass` when nothing matched; otherwise the guardrail's action. */
  readonly outcome: 'pass' | GuardrailAction;
  /** False in shadow mode: the outcome was recorded, not applied. */
  readonly enforced: boolean;
  /** Kinds of what matched (deduplicated), or the reason a whole-text check failed. */
  readonly found: readonly string[];
  /** The injection pack version, for injection guardrails. */
  readonly version?: string;
  /** Time the check took, in milliseconds. */
  readonly ms: number;
}

export interface CheckResult<R = unknown> {
  readonly outcome: 'pass' | GuardrailAction;
  readonly found: readonly string[];
  /** For an enforced redact: the new text of each segment that changed. */
  readonly redactions: ReadonlyMap<R, string> | null;
}

const PASS: CheckResult<never> = Object.freeze({ outcome: 'pass', found: [], redactions: null });

function bounded(text: string): string {
  return text.length > MAX_CHECKED_CHARS ? text.slice(0, MAX_CHECKED_CHARS) : text;
}

/** Runs `guardrail` on `segments`. */
export function checkSegments<R>(
  guardrail: CompiledGuardrail,
  segments: readonly { readonly text: string; readonly ref: R }[],
): CheckResult<R> {
  if (guardrail.judge !== null) {
    const reason = guardrail.judge(segments.map((s) => s.text));
    return reason === null ? PASS : { outcome: guardrail.action, found: [reason], redactions: null };
  }
  const detector = guardrail.detector;
  if (detector === null) return PASS;
  const found = new Set<string>();
  let redactions: Map<R, string> | null = null;
  const applyRedaction = guardrail.action === 'redact' && !guardrail.shadow;
  for (const segment of segments) {
    const text = bounded(segment.text);
    const spans = detector.find(text);
    if (spans.length === 0) continue;
    for (const span of spans) found.add(span.label);
    if (applyRedaction) {
      redactions ??= new Map();
      redactions.set(segment.ref, redact(text, spans, defaultReplacement) + segment.text.slice(text.length));
    }
  }
  if (found.size === 0) return PASS;
  return { outcome: guardrail.action, found: [...found], redactions };
}

export function verdictOf(
  guardrail: CompiledGuardrail,
  result: CheckResult<unknown>,
  ms: number,
): GuardrailVerdict {
  return {
    guardrail: guardrail.name,
    stage: guardrail.stage,
    outcome: result.outcome,
    enforced: !guardrail.shadow,
    found: result.found,
    ...(guardrail.version === null ? {} : { version: guardrail.version }),
    ms,
  };
}

/** `name=outcome,...` of the enforced verdicts that did something (the `x-switchyard-guardrails` header). */
export function verdictHeader(verdicts: readonly GuardrailVerdict[]): string | null {
  let out = '';
  for (const v of verdicts) {
    if (!v.enforced || v.outcome === 'pass') continue;
    out += `${out === '' ? '' : ','}${v.guardrail}=${v.outcome === 'flag' ? 'flagged' : v.outcome === 'redact' ? 'redacted' : v.outcome}`;
  }
  return out === '' ? null : out;
}
