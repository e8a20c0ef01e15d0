import { compilePhraseMatcher } from './automaton.js';
import { selectLeftmostLongest } from './select.js';
import type { Detector, Span } from './types.js';

export interface KeywordOptions {
  /** Default false: case-insensitive (lower-casing of the NFKD decomposition, see fold.ts). */
  readonly caseSensitive?: boolean;
  /**
   * Default false: accents are significant (`cafe` does not match `café`; `café` matches both its
   * precomposed and decomposed spellings). True drops combining diacritics on both sides.
   */
  readonly ignoreAccents?: boolean;
}

export interface KeywordDetector extends Detector {
  /** Distinct terms after folding. */
  readonly size: number;
}

/**
 * Whole-word, whole-phrase matching of a term list (20,000+ terms are fine: one Aho-Corasick
 * automaton, built once). Terms of scripts written with spaces need a word boundary on each side
 * (no letter, digit or mark of such a script next to them); CJK, Thai and the like match inside
 * text. Whitespace inside a term matches any short whitespace run. Overlapping occurrences are
 * resolved leftmost-longest. Labels are `keyword`.
 *
 * @example
 * const d = compileKeywordDetector(['top secret', 'Projekt Zeus']);
 * d.find('This is TOP  secret.'); // [{ start: 8, end: 19, label: 'keyword' }]
 */
export function compileKeywordDetector(
  terms: readonly string[],
  options: KeywordOptions = {},
): KeywordDetector {
  const matcher = compilePhraseMatcher(
    terms.map((text) => ({ text, payload: 0 })),
    { caseSensitive: options.caseSensitive === true, ignoreAccents: options.ignoreAccents === true },
  );
  return {
    size: matcher.size,
    maxMatchLength: matcher.maxMatchLength,
    find(text: string, from = 0): Span[] {
      const hits = matcher.scan(text, from);
      if (hits.length === 0) return [];
      return selectLeftmostLongest(hits.map((h) => ({ start: h.start, end: h.end, label: 'keyword' })));
    },
  };
}

/**
 * Parses a terms file: one term per line, `#` starts a comment line, blank lines are ignored and
 * terms are trimmed. A `#` inside a term is kept (`C#` is a term), only a line starting with `#`
 * (after leading whitespace) is a comment.
 */
export function loadKeywordFile(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split(/\r\n|\n|\r/)) {
    const term = line.trim();
    if (term === '' || term.startsWith('#')) continue;
    out.push(term);
  }
  return out;
}
