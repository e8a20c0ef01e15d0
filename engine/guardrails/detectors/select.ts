import type { Span } from './types.js';

/**
 * Leftmost-longest selection: sorts candidate spans by start (longest first on ties) and keeps
 * each one that starts at or after the end of the last kept span. Every detector that merges
 * candidates from several sources (terms, entities, rules) uses this one rule, so their output is
 * deterministic and a naive reference can reproduce it.
 */
export function selectLeftmostLongest(candidates: Span[]): Span[] {
  if (candidates.length <= 1) return candidates;
  candidates.sort((a, b) => a.start - b.start || b.end - a.end);
  const out: Span[] = [];
  let end = -1;
  for (const c of candidates) {
    if (c.start >= end) {
      out.push(c);
      end = c.end;
    }
  }
  return out;
}
