/**
 * Text folding for phrase matching (keywords and the injection pack). Matching runs on *folded*
 * code points while spans are reported in offsets of the ORIGINAL text, so folding is done per
 * code point and every folded code point remembers which original "unit" it came from.
 *
 * Choices, and why:
 * - Compatibility DEcomposition (NFKD) per code point, not NFKC: composition needs look-ahead
 *   across code points, decomposition does not, so offsets stay exact. `café` written precomposed
 *   (U+00E9) and decomposed (`e` + U+0301) fold to the same code points and match each other;
 *   full-width letters, ligatures and mathematical alphanumerics (𝐢𝐠𝐧𝐨𝐫𝐞, a common evasion) fold
 *   to their plain letters.
 * - Case-insensitive by default: `toLowerCase` of the decomposition (plus final sigma → σ). Not
 *   full case folding: `ß` does not match `ss`.
 * - Accents are significant by default: `cafe` does not match `café` (a different word in many
 *   languages). With `ignoreAccents`, combining diacritics U+0300–U+036F are dropped on both
 *   sides, so `cafe` matches `café`; other marks (e.g. Indic vowel signs) are letters and stay.
 * - A "unit" is a base code point plus the combining marks after it: a match must start at the
 *   first and end at the last folded code point of a unit, so `cafe` never matches the first four
 *   letters of a decomposed `café`, and a span never ends between a letter and its accent.
 * - Whitespace runs fold to one space (so a phrase tolerates extra spaces and line breaks), and
 *   format characters (\p{Cf}: zero-width space/joiners, soft hyphen, bidi controls) are dropped,
 *   so `ig\u200Bnore` matches `ignore`. Both are bounded ({@link WS_RUN_MAX},
 *   {@link IGNORABLE_RUN_MAX}) so that every span has a finite length for streaming hold-back: a
 *   longer run breaks any phrase across it.
 */

export const KIND_OTHER = 0;
/** A letter or digit of a script written with spaces between words: needs a word boundary. */
export const KIND_JOINER = 1;
/** A letter or digit of a script written without spaces (CJK, Thai, …): matches inside text. */
export const KIND_WORD = 2;
/** A combining mark: part of the unit before it, and a word character for boundaries. */
export const KIND_MARK = 3;
export const KIND_SPACE = 4;
/** A format character (\p{Cf}): dropped, transparent inside a phrase. */
export const KIND_IGNORABLE = 5;

/** Most UTF-16 units of one unit (base plus absorbed marks); further marks start a new unit. */
export const UNIT_MAX = 6;
/** Most UTF-16 units of a whitespace run that still folds to one space. */
export const WS_RUN_MAX = 4;
/** Most UTF-16 units of consecutive format characters that a phrase may span. */
export const IGNORABLE_RUN_MAX = 2;

export interface FoldMode {
  readonly caseSensitive: boolean;
  readonly ignoreAccents: boolean;
}

export interface FoldEntry {
  /** The folded code points (empty for ignorable code points). */
  readonly cps: readonly number[];
  readonly kind: number;
}

// Script_Extensions rather than Script so that e.g. the prolonged sound mark ー counts as kana.
const NO_SPACE_CLASS =
  '[\\p{scx=Han}\\p{scx=Hiragana}\\p{scx=Katakana}\\p{scx=Hangul}\\p{scx=Thai}\\p{scx=Lao}\\p{scx=Khmer}\\p{scx=Myanmar}\\p{scx=Tibetan}]';
const NO_SPACE_SCRIPT = new RegExp(NO_SPACE_CLASS, 'u');
/**
 * Regex source (for the `u` flag) of one word character in the sense of {@link isJoinerKind}: a
 * letter, digit or mark not of a script written without spaces. Other detectors use it for their
 * look-arounds, so that every detector agrees on where a word ends: otherwise a finding glued to
 * another one could appear only once the other is redacted.
 */
export const JOINER_SOURCE = `(?:\\p{M}|(?!${NO_SPACE_CLASS})[\\p{L}\\p{N}])`;
const LETTER_OR_DIGIT = /[\p{L}\p{N}]/u;
const MARK = /\p{M}/u;
const SPACE = /\p{White_Space}/u;
const FORMAT = /\p{Cf}/u;
const DIACRITICS = /[\u0300-\u036f]/gu;

/** Memo size of non-ASCII kinds and folds; bounded so hostile text cannot grow it without limit. */
const CACHE_MAX = 50_000;

/** Kind of every ASCII code point, the hot path. */
export const ASCII_KIND = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  ASCII_KIND[c] = /[A-Za-z0-9]/.test(ch) ? KIND_JOINER : /\s/.test(ch) ? KIND_SPACE : KIND_OTHER;
}

const kinds = new Map<number, number>();

/** The kind of a code point, independent of the fold mode. */
export function classify(cp: number): number {
  if (cp < 128) return ASCII_KIND[cp];
  let kind = kinds.get(cp);
  if (kind === undefined) {
    kind = computeKind(cp);
    if (kinds.size < CACHE_MAX) kinds.set(cp, kind);
  }
  return kind;
}

function computeKind(cp: number): number {
  const ch = String.fromCodePoint(cp);
  if (MARK.test(ch)) return KIND_MARK;
  if (LETTER_OR_DIGIT.test(ch)) return NO_SPACE_SCRIPT.test(ch) ? KIND_WORD : KIND_JOINER;
  if (SPACE.test(ch)) return KIND_SPACE;
  if (FORMAT.test(ch)) return KIND_IGNORABLE;
  return KIND_OTHER;
}

/** Whether a code point continues a word for boundary purposes (letters of spaced scripts, marks). */
export const isJoinerKind = (kind: number): boolean => kind === KIND_JOINER || kind === KIND_MARK;

export interface Folder {
  readonly mode: FoldMode;
  /** Lower-cased (or identity) fold of each ASCII code point. */
  readonly ascii: Uint16Array;
  entry(cp: number): FoldEntry;
}

const folders = new Map<string, Folder>();

/** The folder for a mode (shared: folds are pure, and the memo is worth sharing). */
export function getFolder(mode: FoldMode): Folder {
  const key = `${mode.caseSensitive ? 1 : 0}${mode.ignoreAccents ? 1 : 0}`;
  let folder = folders.get(key);
  if (folder === undefined) {
    folder = createFolder(mode);
    folders.set(key, folder);
  }
  return folder;
}

function createFolder(mode: FoldMode): Folder {
  const ascii = new Uint16Array(128);
  for (let c = 0; c < 128; c++) ascii[c] = !mode.caseSensitive && c >= 65 && c <= 90 ? c + 32 : c;
  const asciiEntries: FoldEntry[] = [];
  for (let c = 0; c < 128; c++) asciiEntries.push({ cps: [ascii[c]], kind: ASCII_KIND[c] });
  const cache = new Map<number, FoldEntry>();
  const compute = (cp: number): FoldEntry => {
    const kind = classify(cp);
    if (kind === KIND_IGNORABLE) return { cps: [], kind };
    if (kind === KIND_SPACE) return { cps: [32], kind };
    let s = String.fromCodePoint(cp).normalize('NFKD');
    if (!mode.caseSensitive) s = s.toLowerCase().replace(/ς/g, 'σ');
    if (mode.ignoreAccents) s = s.replace(DIACRITICS, '');
    const cps: number[] = [];
    for (const ch of s) cps.push(ch.codePointAt(0)!);
    return { cps, kind };
  };
  return {
    mode,
    ascii,
    entry(cp: number): FoldEntry {
      if (cp < 128) return ASCII_KIND[cp] === KIND_SPACE ? SPACE_ENTRY : asciiEntries[cp];
      let e = cache.get(cp);
      if (e === undefined) {
        e = compute(cp);
        if (cache.size < CACHE_MAX) cache.set(cp, e);
      }
      return e;
    },
  };
}

const SPACE_ENTRY: FoldEntry = { cps: [32], kind: KIND_SPACE };

export interface FoldedTerm {
  readonly cps: number[];
  /** Kind of the first and last code point of the term as written (for boundary checks). */
  readonly firstKind: number;
  readonly lastKind: number;
}

/**
 * Folds a term the way the matcher folds text: trimmed, whitespace runs to one space, format
 * characters dropped. Returns null for a term that folds to nothing.
 */
export function foldTerm(term: string, folder: Folder): FoldedTerm | null {
  const cps: number[] = [];
  let firstKind = -1;
  let lastKind = KIND_OTHER;
  for (const ch of term.trim()) {
    const cp = ch.codePointAt(0)!;
    const e = folder.entry(cp);
    if (e.kind === KIND_SPACE) {
      if (cps.length > 0 && cps[cps.length - 1] !== 32) cps.push(32);
      continue;
    }
    if (e.cps.length === 0) continue;
    cps.push(...e.cps);
    // A leading mark is odd but harmless; boundaries are decided by the base letters around it.
    if (firstKind === -1) firstKind = e.kind;
    lastKind = e.kind === KIND_MARK ? lastKind : e.kind;
  }
  while (cps.length > 0 && cps[cps.length - 1] === 32) cps.pop();
  if (cps.length === 0) return null;
  return { cps, firstKind, lastKind };
}

/** Reads the code point that ends just before `i` (0 when at the start). */
export function codePointBefore(text: string, i: number): number {
  if (i <= 0) return 0;
  const lo = text.charCodeAt(i - 1);
  if (lo >= 0xdc00 && lo <= 0xdfff && i >= 2) {
    const hi = text.charCodeAt(i - 2);
    if (hi >= 0xd800 && hi <= 0xdbff) return (hi - 0xd800) * 0x400 + (lo - 0xdc00) + 0x10000;
  }
  return lo;
}

/** Whether the code point before `i` continues a word (start-of-text is a boundary). */
export function joinerBefore(text: string, i: number): boolean {
  if (i <= 0) return false;
  return isJoinerKind(classify(codePointBefore(text, i)));
}

/** Whether the code point at `i` continues a word (end-of-text is a boundary). */
export function joinerAt(text: string, i: number): boolean {
  if (i >= text.length) return false;
  return isJoinerKind(classify(text.codePointAt(i)!));
}
