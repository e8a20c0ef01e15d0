/**
 * The `complexity` classifier: a score in [0, 1] from the text alone, no model call. Four signals,
 * each in [0, 1], weighted (docs/classifiers.md states the same):
 *
 * | signal    | weight | value                                                                 |
 * |-----------|--------|-----------------------------------------------------------------------|
 * | reasoning | 0.40   | distinct reasoning cues (`step by step`, `prove`, `why`, ...) / 2, at most 1 |
 * | code      | 0.30   | 1 with a code fence; else code-like lines / 4, at most 1              |
 * | length    | 0.20   | characters / 2000, at most 1                                          |
 * | questions | 0.10   | question marks / 3, at most 1                                         |
 *
 * The score is rounded to 3 decimals, so the same text always lands in the same band.
 */

/** Whole-word cues of a request that asks for reasoning, not recall. Built once. */
const REASONING_CUES: readonly RegExp[] = [
  /\bstep[- ]by[- ]step\b/i,
  /\bprove\b|\bproof\b/i,
  /\bwhy\b/i,
  /\bexplain\b|\bexplanation\b/i,
  /\bderive\b|\bderivation\b/i,
  /\banaly[sz]e\b|\banalysis\b/i,
  /\bcompare\b|\bcomparison\b|\btrade-?offs?\b/i,
  /\bjustify\b|\breasoning\b/i,
  /\boptimi[sz]e\b|\bdebug\b|\brefactor\b/i,
  /\bdesign\b|\barchitecture\b/i,
];

const FENCE = /```|~~~/;
/** A line that looks like code: a statement end, a block, a definition keyword or an arrow. */
const CODE_LINE =
  /[{};]\s*$|^\s*(def|function|class|import|from|return|const|let|var|public|private|fn|func|#include|SELECT|package)\b|=>|\)\s*\{/;

export const COMPLEXITY_WEIGHTS = { reasoning: 0.4, code: 0.3, length: 0.2, questions: 0.1 } as const;

export interface ComplexitySignals {
  readonly reasoning: number;
  readonly code: number;
  readonly length: number;
  readonly questions: number;
}

export function complexitySignals(text: string): ComplexitySignals {
  let cues = 0;
  for (const cue of REASONING_CUES) if (cue.test(text)) cues++;
  let code = 0;
  if (FENCE.test(text)) code = 1;
  else {
    let lines = 0;
    for (const line of text.split('\n')) if (CODE_LINE.test(line)) lines++;
    code = Math.min(1, lines / 4);
  }
  let questions = 0;
  for (let i = text.indexOf('?'); i >= 0; i = text.indexOf('?', i + 1)) questions++;
  return {
    reasoning: Math.min(1, cues / 2),
    code,
    length: Math.min(1, text.length / 2000),
    questions: Math.min(1, questions / 3),
  };
}

/** The complexity score of `text`, in [0, 1], rounded to 3 decimals. */
export function complexityScore(text: string): number {
  const s = complexitySignals(text);
  const w = COMPLEXITY_WEIGHTS;
  const score = w.reasoning * s.reasoning + w.code * s.code + w.length * s.length + w.questions * s.questions;
  return Math.round(Math.min(1, Math.max(0, score)) * 1000) / 1000;
}

/** A band: a label and the upper bound (inclusive) of its scores. */
export interface ScoreBand {
  readonly label: string;
  readonly upTo: number;
}

/**
 * The label of `score`: the band with the smallest bound at or above it (`bands` sorted by bound,
 * ascending). Validation makes the last bound 1; a score above every bound takes the last band.
 */
export function bandOf(bands: readonly ScoreBand[], score: number): string {
  for (const band of bands) if (score <= band.upTo) return band.label;
  return bands[bands.length - 1].label;
}
