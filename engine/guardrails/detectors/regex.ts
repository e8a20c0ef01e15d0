/**
 * User regexes as a detector, each one checked for catastrophic backtracking when it is compiled.
 *
 * The ReDoS check is `recheck` (automata-theoretic analysis with a fuzzing fallback, so it finds
 * real attack strings, also for polynomial blow-ups) and, only where recheck cannot decide within
 * its time budget, `safe-regex2` (a star-height heuristic: it catches nested quantifiers but not
 * e.g. `(a|a)*`, hence second). recheck runs on its pure-JavaScript backend: the same answer on
 * every platform and offline, no worker thread, child process or JVM (its default synchronous
 * path starts a worker that spawns a native binary). That backend is slow to load (~230 ms, so it
 * is loaded on first use, never by importing this module) and takes milliseconds for ordinary
 * patterns, up to seconds for large counted repetitions such as `\bsk-[A-Za-z0-9]{20,}` — hence
 * the per-pattern budget ({@link DEFAULT_CHECK_TIMEOUT_MS}) and the heuristic behind it.
 *
 * Verdicts: exponential, or polynomial of degree 3 and more, is refused. Quadratic is accepted
 * with a warning: an unanchored search for a pattern like `[a-z]+@[a-z]+` is quadratic on a long
 * run of letters in every backtracking engine, so refusing it would refuse ordinary patterns; the
 * caller's input cap bounds it (8 KB of hostile input is a few milliseconds).
 */
import { createRequire } from 'node:module';
import type * as Recheck from 'recheck';
import { selectLeftmostLongest } from './select.js';
import type { Detector, Span } from './types.js';

export const DEFAULT_CHECK_TIMEOUT_MS = 1_000;
/**
 * Matches scanned per pattern per `find`; past it the rest of the text from the next match is
 * reported as one span (fail closed: over-redaction rather than a leak or an unbounded list).
 */
export const DEFAULT_MAX_MATCHES = 10_000;

export interface RegexOptions {
  /** recheck's time budget per pattern, in milliseconds. */
  readonly checkTimeoutMs?: number;
  readonly maxMatches?: number;
  /** Span label, default `regex`. */
  readonly label?: string;
  /**
   * Skip the ReDoS check: for patterns already checked (the compiler, after validation did it),
   * so a policy is not analysed twice.
   */
  readonly skipReDoSCheck?: boolean;
}

export interface RegexProblem {
  readonly index: number;
  readonly message: string;
}

export type CompileRegexResult =
  | { ok: true; detector: Detector; warnings: RegexProblem[] }
  | { ok: false; problems: RegexProblem[] };

type SafeRegex = (re: string | RegExp, opts?: { limit?: number }) => boolean;

const require = createRequire(import.meta.url);
let recheck: typeof Recheck | undefined;
let safeRegex: SafeRegex | undefined;

/** Runs recheck on its pure backend unless the operator chose another one explicitly. */
function recheckSync(source: string, flags: string, timeout: number): Recheck.Diagnostics {
  recheck ??= require('recheck') as typeof Recheck;
  const saved = process.env.RECHECK_SYNC_BACKEND;
  if (saved === undefined) process.env.RECHECK_SYNC_BACKEND = 'pure';
  try {
    return recheck.checkSync(source, flags, { timeout });
  } finally {
    // recheck reads the variable on each call; restore it so nothing else sees our choice.
    if (saved === undefined) delete process.env.RECHECK_SYNC_BACKEND;
  }
}

export type ReDoSVerdict = { safe: true; warning?: string } | { safe: false; message: string };

/** The ReDoS verdict for one compiled pattern (exported for tests and diagnostics). */
export function checkReDoS(
  source: string,
  flags: string,
  timeoutMs = DEFAULT_CHECK_TIMEOUT_MS,
): ReDoSVerdict {
  let d: Recheck.Diagnostics;
  try {
    d = recheckSync(source, flags, timeoutMs);
  } catch (err) {
    d = { source, flags, status: 'unknown', error: { kind: 'unexpected', message: String(err) } };
  }
  if (d.status === 'safe') return { safe: true };
  if (d.status === 'vulnerable') {
    const attack = `e.g. ${d.attack.pattern}`;
    if (d.complexity.type === 'exponential')
      return { safe: false, message: `can backtrack catastrophically (exponential time on ${attack})` };
    if (d.complexity.degree >= 3)
      return {
        safe: false,
        message: `can backtrack catastrophically (polynomial time of degree ${d.complexity.degree} on ${attack})`,
      };
    return { safe: true, warning: `takes quadratic time on hostile input (${attack}); inputs are capped` };
  }
  const why = d.error.kind === 'timeout' ? `did not finish within ${timeoutMs} ms` : d.error.kind;
  safeRegex ??= require('safe-regex2') as SafeRegex;
  if (safeRegex(new RegExp(source, flags)))
    return { safe: true, warning: `checked only by the star-height heuristic (recheck ${why})` };
  return {
    safe: false,
    message: `has nested quantifiers that can backtrack catastrophically (recheck ${why})`,
  };
}

/** A leading `(?i)`, `(?s)`, `(?m)` or a combination: PCRE/RE2 habits, turned into flags. */
const INLINE_FLAGS = /^\(\?([ims]+)\)/;

function buildRegex(pattern: string): { ok: true; regex: RegExp } | { ok: false; message: string } {
  let flags = 'g';
  let body = pattern;
  const inline = INLINE_FLAGS.exec(pattern);
  if (inline) {
    for (const f of new Set(inline[1])) flags += f;
    body = pattern.slice(inline[0].length);
  }
  // The `u` flag when the pattern allows it (code-point semantics, \p{…} classes, stricter
  // syntax); patterns written for non-Unicode mode (e.g. an escaped `\-` outside a class) still
  // compile without it rather than being refused.
  try {
    return { ok: true, regex: new RegExp(body, `${flags}u`) };
  } catch {
    try {
      return { ok: true, regex: new RegExp(body, flags) };
    } catch (err) {
      // V8 says "Invalid regular expression: /body/flags: reason"; the reason is what helps.
      const message =
        err instanceof Error
          ? err.message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '')
          : String(err);
      return { ok: false, message };
    }
  }
}

/**
 * Compiles regex patterns (JavaScript syntax, optional leading `(?i)`) into one detector after a
 * ReDoS check of each; all problems are reported, with the pattern's index.
 *
 * @example
 * const r = compileRegexDetector(['\\bpassword\\b', '(?i)confidential']);
 * if (r.ok) r.detector.find('CONFIDENTIAL password'); // two spans labelled 'regex'
 */
export function compileRegexDetector(
  patterns: readonly string[],
  options: RegexOptions = {},
): CompileRegexResult {
  const timeout = options.checkTimeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  const maxMatches = options.maxMatches ?? DEFAULT_MAX_MATCHES;
  const label = options.label ?? 'regex';
  const problems: RegexProblem[] = [];
  const warnings: RegexProblem[] = [];
  const regexes: RegExp[] = [];
  patterns.forEach((pattern, index) => {
    const built = buildRegex(pattern);
    if (!built.ok) {
      problems.push({ index, message: `invalid regular expression: ${built.message}` });
      return;
    }
    const { source, flags } = built.regex;
    const verdict =
      options.skipReDoSCheck === true
        ? { safe: true as const }
        : checkReDoS(source, flags.replace('g', ''), timeout);
    if (!verdict.safe) problems.push({ index, message: `refused: the pattern ${verdict.message}` });
    else {
      if (verdict.warning !== undefined) warnings.push({ index, message: verdict.warning });
      regexes.push(built.regex);
    }
  });
  if (problems.length > 0) return { ok: false, problems };
  const detector: Detector = {
    maxMatchLength: regexes.length === 0 ? 0 : Number.POSITIVE_INFINITY,
    find(text: string, from = 0): Span[] {
      const candidates: Span[] = [];
      for (const re of regexes) scan(re, text, from, maxMatches, label, candidates);
      return selectLeftmostLongest(candidates);
    },
  };
  return { ok: true, detector, warnings };
}

function scan(re: RegExp, text: string, from: number, maxMatches: number, label: string, out: Span[]): void {
  re.lastIndex = from;
  let count = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m[0].length === 0) {
      // An empty match redacts nothing; step past it (by a code point under `u`).
      re.lastIndex = m.index + (re.unicode && (text.codePointAt(m.index) ?? 0) > 0xffff ? 2 : 1);
      continue;
    }
    if (++count > maxMatches) {
      out.push({ start: m.index, end: text.length, label });
      return;
    }
    out.push({ start: m.index, end: m.index + m[0].length, label });
  }
}
