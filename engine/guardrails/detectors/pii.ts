/**
 * PII and credential recognizers: a pattern proposes a candidate, a validator (checksum or
 * structure, pii-validators.ts) accepts or rejects it, as in Microsoft Presidio. All regexes are
 * built here, once, at module load; `find` only runs them.
 *
 * Every pattern starts with a one-character look-behind and ends with a look-ahead of at most two
 * characters (LOOKAROUND in types.ts), so that a number inside a longer number, a dotted version
 * or an identifier is not a finding. Patterns match ASCII shapes with Unicode-aware look-arounds
 * and have no nested ambiguous quantifiers; every repetition is bounded, which bounds `maxMatchLength`.
 */

import { JOINER_SOURCE } from './fold.js';
import { cardValid, ibanValid, ipv4Valid, ipv6Valid, ssnValid } from './pii-validators.js';
import { selectLeftmostLongest } from './select.js';
import type { Detector, Span } from './types.js';

export type PiiEntity = 'email' | 'phone' | 'card' | 'iban' | 'ssn' | 'ip' | 'secret';

export const PII_ENTITIES: readonly PiiEntity[] = ['email', 'phone', 'card', 'iban', 'ssn', 'ip', 'secret'];

interface Recognizer {
  readonly entity: PiiEntity;
  readonly regex: RegExp;
  readonly maxLength: number;
  /**
   * A character every match contains, and the characters a match may have before it. With it,
   * the regex runs (sticky) only at the start of the run around each anchor rather than at every
   * offset: the look-behind refuses a start inside such a run, so the run start is the only
   * candidate. Worth it for patterns whose look-behind defeats the regex engine's fast scan.
   */
  readonly anchor?: { readonly char: string; readonly run: RegExp; readonly also?: string };
  /** Length of the finding at `m.index` (0 to reject); may be shorter than the match. */
  accept(m: RegExpExecArray, text: string): number;
}

const whole = (ok: boolean, m: RegExpExecArray): number => (ok ? m[0].length : 0);
const digitCount = (s: string): number => s.replace(/\D/g, '').length;

/**
 * `§` is a word character exactly as the keyword and injection detectors see it (a letter, digit
 * or mark of a script written with spaces): a number glued to Latin letters is part of a word, one
 * right after CJK text ("卡号4111…") is not. All patterns use it in their look-arounds, so that
 * detectors agree on where words end and redacting one finding never uncovers another.
 */
const re = (source: string): RegExp => new RegExp(source.replaceAll('§', JOINER_SOURCE), 'gu');

// Local part ≤ 64, at most four domain labels, TLD of letters: bounded, and a long run of
// letters is scanned once (the look-behind refuses starts inside a run).
const EMAIL = re(
  String.raw`(?<!§|[._%+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.){1,4}[A-Za-z]{2,24}(?!§|[_\-]|\.[A-Za-z0-9])`,
);

// International (+country code, separators required between groups, or E.164 without any),
// NANP `(415) 555-2671` / `415-555-2671` (area and exchange start 2–9, one separator kind),
// trunk-prefixed national `020 7946 0958`, French pairs `01 23 45 67 89`. Separators are what
// keeps dates (2024-05-01), times, versions and plain digit runs (order ids) out. A number
// starting with `+` or `(` may follow a word or a digit ("at+44…", "…4444(415) 555-2671").
// Two regexes rather than one alternation of look-behinds, which would defeat the regex
// engine's first-character scan (7 µs instead of under 1 µs per KB).
const PHONE_TAIL = String.raw`(?!§|_|[./:\-]\d)`;
const PHONE_PLUS = re(
  String.raw`(?<![+(])(?:\+\d{1,3}(?:[ .\-]?\(\d{1,4}\)[ .\-]?\d{1,8})?(?:[ .\-]\d{1,8}){1,6}|\+\d{8,15}|\([2-9]\d{2}\) ?[2-9]\d{2}[ .\-]\d{4})${PHONE_TAIL}`,
);
const PHONE_DIGIT = re(
  String.raw`(?<!§|[_+./:\-])(?:[2-9]\d{2}([ .\-])[2-9]\d{2}\1\d{4}|0\d{2,4}[ \-]\d{3,4}[ \-]?\d{3,4}|0[1-9]([ .\-])\d{2}(?:\2\d{2}){3})${PHONE_TAIL}`,
);

// A following group ("… 1111 123", a CVV) is taken greedily and trimmed off by the validator.
const CARD = re(String.raw`(?<!§|[_.,+/:\-])\d(?:[ \-]?\d){12,18}(?!§|_|[.,]\d)`);

const IBAN = re(String.raw`(?<!§|_)[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?!§|_)`);

const SSN = re(String.raw`(?<!§|[_\-])(\d{3})-(\d{2})-(\d{4})(?!§|_|-\d)`);

const IPV4 = re(String.raw`(?<!§|[_.:\-])(?:\d{1,3}\.){3}\d{1,3}(?!§|[_\-]|\.\d)`);
/** A dotted quad right after one of these words is a version number, not an address. */
const VERSION_CONTEXT = /\b(?:version|release|build|v)\s*[:=]?\s*["'(]?$/i;

// A compressed address may also start at `::` right after a word ("abc::1:2:3").
const H = '[0-9A-Fa-f]{1,4}';
const IPV6 = re(
  String.raw`(?:(?<!§|[_:.])(?=[0-9A-Fa-f])|(?<![:.])(?=::))(?:(?:${H}:){7}${H}|(?:${H}(?::${H}){0,6})?::(?:${H}(?::${H}){0,6})?)(?!§|[_:]|\.\d)`,
);

// Provider credential shapes. A generic "Bearer <anything>" is not included (documentation is
// full of `Bearer <token>`); JWTs are, since `eyJ….eyJ….` (base64 of `{"`) is unmistakable.
const SECRET = re(
  String.raw`(?<!§|[_\-])(?:sk-(?:proj-|svcacct-|admin-|ant-[a-z]{3,8}\d{2}-)?[A-Za-z0-9_\-]{20,250}|(?:AKIA|ASIA)[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,255}|AIza[0-9A-Za-z_\-]{35}|xox[abposr]-[0-9A-Za-z\-]{10,250}|eyJ[A-Za-z0-9_\-]{8,1000}\.eyJ[A-Za-z0-9_\-]{8,1000}\.[A-Za-z0-9_\-]{8,1000})(?!§|[_\-])`,
);
/** Random key material has digits; `sk-some-long-identifier-name` in prose or code does not. */
const HAS_DIGIT = /\d/;

const RECOGNIZERS: readonly Recognizer[] = [
  {
    entity: 'email',
    regex: EMAIL,
    maxLength: 64 + 1 + 4 * 64 + 24,
    anchor: { char: '@', run: /[A-Za-z0-9._%+-]/ },
    accept: (m) => m[0].length,
  },
  {
    entity: 'phone',
    regex: PHONE_PLUS,
    maxLength: 40,
    accept: (m) => {
      // The groups are taken greedily ("+44 20 7946 0958 4111 …" runs into the next number);
      // retry at each earlier space (not at `.` or `-`: the look-ahead refuses those).
      for (let s = m[0]; ; ) {
        const n = digitCount(s);
        if (s.startsWith('+') ? n >= 8 && n <= 15 : n >= 10 && n <= 12) return s.length;
        const cut = s.lastIndexOf(' ');
        if (cut < 8) return 0;
        s = s.slice(0, cut);
      }
    },
  },
  {
    entity: 'phone',
    regex: PHONE_DIGIT,
    maxLength: 17,
    accept: (m) => whole(digitCount(m[0]) >= 10 && digitCount(m[0]) <= 12, m),
  },
  {
    entity: 'card',
    regex: CARD,
    maxLength: 37,
    accept: (m) => {
      // Of the match and its prefixes at group boundaries, prefer a valid 16-digit number (the
      // usual card, and "4111 … 1111 078" is more likely a card and a CVV than a 19-digit card
      // that happens to pass Luhn), then 15 (Amex), then the longest valid one.
      let best = 0;
      let bestRank = 0;
      for (let s = m[0]; ; ) {
        if (cardValid(s)) {
          const digits = s.replace(/\D/g, '').length;
          const rank = digits === 16 ? 3 : digits === 15 ? 2 : 1;
          if (rank > bestRank) {
            best = s.length;
            bestRank = rank;
          }
        }
        const cut = Math.max(s.lastIndexOf(' '), s.lastIndexOf('-'));
        if (cut < 13) return best;
        s = s.slice(0, cut);
      }
    },
  },
  {
    entity: 'iban',
    regex: IBAN,
    maxLength: 64,
    accept: (m) => {
      // The greedy match may have taken a following upper-case word ("… 32 BIC"); retry at
      // each earlier space before giving up.
      let s = m[0];
      for (;;) {
        if (ibanValid(s.replace(/ /g, ''))) return s.length;
        const cut = s.lastIndexOf(' ');
        if (cut < 15) return 0;
        s = s.slice(0, cut);
      }
    },
  },
  { entity: 'ssn', regex: SSN, maxLength: 11, accept: (m) => whole(ssnValid(m[1], m[2], m[3]), m) },
  {
    entity: 'ip',
    regex: IPV4,
    maxLength: 15,
    accept: (m, text) =>
      whole(ipv4Valid(m[0]) && !VERSION_CONTEXT.test(text.slice(Math.max(0, m.index - 24), m.index)), m),
  },
  {
    entity: 'ip',
    regex: IPV6,
    maxLength: 39,
    // A compressed address may also start at the run's `::` (after a non-address word).
    anchor: { char: ':', run: /[0-9A-Fa-f:]/, also: '::' },
    accept: (m) => whole(ipv6Valid(m[0]), m),
  },
  {
    entity: 'secret',
    regex: SECRET,
    maxLength: 3 + 1000 + 4 + 1000 + 1 + 1000,
    accept: (m) => {
      const s = m[0];
      const plain = s.startsWith('sk-') || s.startsWith('xox');
      return whole(!plain || HAS_DIGIT.test(s.slice(4)), m);
    },
  },
];

export interface PiiDetector extends Detector {
  readonly entities: readonly PiiEntity[];
}

/**
 * A detector for the given entities; labels are the entity names.
 *
 * @example
 * compilePiiDetector(['email', 'card']).find('mail a@b.io, card 4111 1111 1111 1111');
 * // [{ start: 5, end: 11, label: 'email' }, { start: 18, end: 37, label: 'card' }]
 */
export function compilePiiDetector(entities: readonly PiiEntity[]): PiiDetector {
  const wanted = new Set(entities);
  const recognizers = RECOGNIZERS.filter((r) => wanted.has(r.entity));
  return {
    entities: [...wanted],
    maxMatchLength: recognizers.reduce((max, r) => Math.max(max, r.maxLength), 0),
    find(text: string, from = 0): Span[] {
      const candidates: Span[] = [];
      for (const r of recognizers) {
        if (r.anchor !== undefined) scanAnchored(r, r.anchor, text, from, candidates);
        else scanAll(r, text, from, candidates);
      }
      return selectLeftmostLongest(candidates);
    },
  };
}

function scanAll(r: Recognizer, text: string, from: number, out: Span[]): void {
  const re = r.regex;
  re.lastIndex = from;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const length = r.accept(m, text);
    if (length > 0) {
      out.push({ start: m.index, end: m.index + length, label: r.entity });
      re.lastIndex = m.index + length;
    } else re.lastIndex = m.index + 1;
  }
}

const sticky = new Map<RegExp, RegExp>();

function scanAnchored(
  r: Recognizer,
  anchor: NonNullable<Recognizer['anchor']>,
  text: string,
  from: number,
  out: Span[],
): void {
  let re = sticky.get(r.regex);
  if (re === undefined) {
    re = new RegExp(r.regex.source, 'uy');
    sticky.set(r.regex, re);
  }
  let pos = from;
  let tried = -1;
  for (let a = text.indexOf(anchor.char, pos); a >= 0; a = text.indexOf(anchor.char, pos)) {
    let s = a;
    while (s > 0 && a - s <= r.maxLength && anchor.run.test(text[s - 1])) s--;
    // A start before `from` belongs to text already scanned; a run longer than a match has none.
    if (s >= from && s >= pos && s !== tried && a - s <= r.maxLength) {
      tried = s;
      let length = tryAt(r, re, text, s);
      if (length === 0 && anchor.also !== undefined) {
        const q = text.indexOf(anchor.also, s);
        if (q > s && q <= a + 1) {
          length = tryAt(r, re, text, q);
          if (length > 0) s = q;
        }
      }
      if (length > 0) {
        out.push({ start: s, end: s + length, label: r.entity });
        pos = s + length;
        continue;
      }
    }
    pos = a + 1;
  }
}

function tryAt(r: Recognizer, re: RegExp, text: string, at: number): number {
  re.lastIndex = at;
  const m = re.exec(text);
  return m === null ? 0 : r.accept(m, text);
}
