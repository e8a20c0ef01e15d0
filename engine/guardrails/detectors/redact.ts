import type { Detector, Span } from './types.js';

export type Replacement = (span: Span) => string;

/** `[REDACTED:<label>]`. */
export const defaultReplacement: Replacement = (span) => `[REDACTED:${span.label}]`;

/**
 * Sorts spans and merges overlapping ones into their union (labelled like the earliest, longest
 * one). Union, not "first wins": the part of a span that overlaps another is redacted too.
 * Touching spans stay separate.
 */
export function mergeSpans(spans: readonly Span[]): Span[] {
  if (spans.length === 0) return [];
  const sorted = [...spans].sort((a, b) => a.start - b.start || b.end - a.end);
  const out: Span[] = [];
  let cur = sorted[0];
  for (let i = 1; i < sorted.length; i++) {
    const s = sorted[i];
    if (s.start < cur.end) {
      if (s.end > cur.end) cur = { start: cur.start, end: s.end, label: cur.label };
    } else {
      out.push(cur);
      cur = s;
    }
  }
  out.push(cur);
  return out;
}

/** Every detector's spans starting at or after `from`, merged. */
export function findAll(detectors: readonly Detector[], text: string, from = 0): Span[] {
  const spans: Span[] = [];
  for (const d of detectors) for (const s of d.find(text, from)) spans.push(s);
  return mergeSpans(spans);
}

/**
 * Replaces spans (any order, overlaps merged) in `text`.
 *
 * @example
 * redact('mail a@b.io', [{ start: 5, end: 11, label: 'email' }]); // 'mail [REDACTED:email]'
 */
export function redact(
  text: string,
  spans: readonly Span[],
  replace: Replacement = defaultReplacement,
): string {
  const merged = mergeSpans(spans);
  let out = '';
  let at = 0;
  for (const s of merged) {
    const start = Math.max(s.start, at);
    const end = Math.min(s.end, text.length);
    if (end <= start) continue;
    out += text.slice(at, start) + replace(s);
    at = end;
  }
  return out + text.slice(at);
}
