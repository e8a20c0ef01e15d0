/**
 * The detector contract shared by every guardrail detector. A detector is compiled once from
 * policy settings; `find` then runs per request on bounded input and never throws.
 */

export interface Span {
  readonly start: number;
  readonly end: number;
  /** e.g. 'email', 'card', 'keyword', 'injection:<rule-id>', 'regex' */
  readonly label: string;
}

export interface Detector {
  /**
   * Non-overlapping matches in order of start. Never throws; work is linear in the text (or
   * bounded by the caller's input cap for user regexes).
   *
   * `from` (default 0) makes the text before it context only: no span starts before `from`, but
   * look-behinds and word boundaries still see it. The streaming redactor relies on this to scan a
   * window of a stream with the same result as scanning the whole text.
   */
  find(text: string, from?: number): Span[];
  /**
   * Longest span this detector can match, in UTF-16 units; Infinity if unbounded (regex). Used as
   * the hold-back window of streaming scans.
   */
  readonly maxMatchLength: number;
}

/**
 * How far past either end of a span any built-in detector reads to decide it (a word boundary is
 * one code point, up to two units; the PII look-arounds read at most two characters). Streaming
 * scans hold this much more than `maxMatchLength - 1` and keep it as context before a window.
 */
export const LOOKAROUND = 2;
