/**
 * The full scan of a chunk's text (see openai-frames.ts for what it accepts): one pass that checks
 * the text is what `JSON.stringify` writes and notes the members the attempt loop and the relay
 * need. Hand-written because no JSON library reports whether a text is in canonical form, nor
 * where its members are, without building the value.
 */
import { ChunkFrame, paddedPart } from './openai-chunk-frame.js';

/** Deeper than this, the scan gives up (and the chunk is parsed): no recursion without bound. */
const MAX_DEPTH = 24;
/** Keys held for the repeated-key check, all open objects together; past it the scan gives up. */
const MAX_KEYS = 256;
/** Keys of one object; past it the scan gives up rather than compare every pair. */
const MAX_OBJECT_KEYS = 48;

// Character codes, written as literals in the loops below (an enum would be a property read each).
// " 34  , 44  - 45  . 46  0 48  1 49  9 57  : 58  E 69  [ 91  \ 92  ] 93
// a 97  e 101  f 102  l 108  n 110  r 114  s 115  t 116  u 117  { 123  } 125

/** Where an object sits, for the members the scan takes note of. */
const OTHER = 0;
const TOP = 1;
const CHOICE = 2;
/** The `delta` of a choice. */
const DELTA = 3;

/**
 * One scan at a time (the relay is synchronous while it scans), so the state lives in one
 * instance and a scan allocates nothing unless it accepts.
 */
export class Scanner {
  private s = '';
  private i = 0;
  private readonly keyStart = new Int32Array(MAX_KEYS);
  private readonly keyEnd = new Int32Array(MAX_KEYS);
  private keys = 0;
  private choices = -1;
  private finish = false;
  private idStart = -1;
  private idEnd = -1;
  private createdStart = -1;
  private createdEnd = -1;
  private modelStart = -1;
  private modelEnd = -1;
  private usageStart = -1;
  private usageEnd = -1;
  private usageValue = -1;
  /** The characters of a choice's `delta.content` string (from after its opening quote to its closing one). */
  private contentStart = -1;
  private contentEnd = -1;

  scan(text: string): ChunkFrame | null {
    this.s = text;
    this.i = 0;
    this.keys = 0;
    this.choices = -1;
    this.finish = false;
    this.idStart = this.idEnd = this.createdStart = this.createdEnd = -1;
    this.modelStart = this.modelEnd = this.usageStart = this.usageEnd = this.usageValue = -1;
    this.contentStart = this.contentEnd = -1;
    const ok =
      text.charCodeAt(0) === 123 && this.object(1, TOP) && this.i === text.length && this.choices !== -1;
    this.s = '';
    if (!ok) return null;
    const frame = new ChunkFrame(
      text,
      this.choices,
      this.finish,
      this.idStart,
      this.idEnd,
      this.createdStart,
      this.createdEnd,
      this.modelStart,
      this.modelEnd,
      this.usageStart,
      this.usageEnd,
      this.usageValue,
    );
    if (this.choices === 1 && this.contentStart !== -1) {
      frame.prefix = text.slice(0, this.contentStart);
      frame.suffix = text.slice(this.contentEnd);
      frame.padded = paddedPart(frame.suffix);
    }
    return frame;
  }

  /**
   * Whether `text` has a valid string from its quote at `open` to the one at `close`, and no
   * other quote between them that is not escaped.
   */
  content(text: string, open: number, close: number): boolean {
    this.s = text;
    this.i = open;
    const ok = this.string() && this.i === close + 1;
    this.s = '';
    return ok;
  }

  private value(depth: number): boolean {
    const s = this.s;
    const i = this.i;
    const c = s.charCodeAt(i);
    if (c === 34) return this.string();
    if (c === 123) return this.object(depth + 1, OTHER);
    if (c === 91) return this.array(depth + 1);
    if (c === 110) {
      // null
      if (s.charCodeAt(i + 1) !== 117 || s.charCodeAt(i + 2) !== 108 || s.charCodeAt(i + 3) !== 108)
        return false;
      this.i = i + 4;
      return true;
    }
    if (c === 116) {
      // true
      if (s.charCodeAt(i + 1) !== 114 || s.charCodeAt(i + 2) !== 117 || s.charCodeAt(i + 3) !== 101)
        return false;
      this.i = i + 4;
      return true;
    }
    if (c === 102) {
      // false
      if (
        s.charCodeAt(i + 1) !== 97 ||
        s.charCodeAt(i + 2) !== 108 ||
        s.charCodeAt(i + 3) !== 115 ||
        s.charCodeAt(i + 4) !== 101
      )
        return false;
      this.i = i + 5;
      return true;
    }
    return this.number();
  }

  /** `this.i` at an opening quote. Only the escapes `JSON.stringify` writes. */
  private string(): boolean {
    const s = this.s;
    const n = s.length;
    let i = this.i + 1;
    while (i < n) {
      const c = s.charCodeAt(i);
      // Most characters: lower-case letters and the rest above the backslash, below the surrogates.
      if (c > 92) {
        if (c < 0xd800 || c > 0xdfff) {
          i++;
          continue;
        }
        // A surrogate pair is written as is; a lone one would be escaped.
        const d = s.charCodeAt(i + 1);
        if (c >= 0xdc00 || !(d >= 0xdc00 && d <= 0xdfff)) return false;
        i += 2;
        continue;
      }
      if (c >= 32 && c !== 34 && c !== 92) {
        i++;
        continue;
      }
      if (c === 34) {
        this.i = i + 1;
        return true;
      }
      if (c !== 92) return false; // a raw control character: not JSON
      const e = s.charCodeAt(i + 1);
      // \" \\ \b \f \n \r \t
      if (e === 34 || e === 92 || e === 98 || e === 102 || e === 110 || e === 114 || e === 116) {
        i += 2;
        continue;
      }
      // \u00xx, lower-case hex, for a control character without a short escape; any other \u
      // (a lone surrogate, or a character written as is) and \/ are left to the parser.
      if (e !== 117 || s.charCodeAt(i + 2) !== 48 || s.charCodeAt(i + 3) !== 48) return false;
      const h = s.charCodeAt(i + 4);
      const l = s.charCodeAt(i + 5);
      if (h !== 48 && h !== 49) return false;
      const low = l >= 48 && l <= 57 ? l - 48 : l >= 97 && l <= 102 ? l - 87 : -1;
      if (low === -1) return false;
      const code = (h - 48) * 16 + low;
      if (code === 8 || code === 9 || code === 10 || code === 12 || code === 13) return false;
      i += 6;
    }
    return false;
  }

  /** Only the form `String(n)` writes: no `-0`, no `1.0`, no `1e2`, no digits past a double's precision. */
  private number(): boolean {
    const s = this.s;
    const start = this.i;
    let i = start;
    const negative = s.charCodeAt(i) === 45;
    if (negative) i++;
    const first = s.charCodeAt(i);
    if (first === 48) i++;
    else if (first >= 49 && first <= 57) {
      i++;
      while (isDigit(s.charCodeAt(i))) i++;
    } else return false;
    let integer = true;
    if (s.charCodeAt(i) === 46) {
      integer = false;
      i++;
      if (!isDigit(s.charCodeAt(i))) return false;
      while (isDigit(s.charCodeAt(i))) i++;
    }
    const e = s.charCodeAt(i);
    if (e === 101 || e === 69) {
      integer = false;
      i++;
      const sign = s.charCodeAt(i);
      if (sign === 43 || sign === 45) i++;
      if (!isDigit(s.charCodeAt(i))) return false;
      while (isDigit(s.charCodeAt(i))) i++;
    }
    this.i = i;
    // Up to fifteen digits an integer is exact and written as it is; `-0` is written `0`.
    if (integer && (negative ? i - start - 1 : i - start) <= 15) return !(negative && first === 48);
    const token = s.slice(start, i);
    return String(Number(token)) === token;
  }

  private array(depth: number): boolean {
    if (depth > MAX_DEPTH) return false;
    const s = this.s;
    this.i++;
    if (s.charCodeAt(this.i) === 93) {
      this.i++;
      return true;
    }
    for (;;) {
      if (!this.value(depth)) return false;
      const c = s.charCodeAt(this.i);
      this.i++;
      if (c === 44) continue;
      return c === 93;
    }
  }

  /** `choices`: an array of objects, counted, whose `finish_reason` is noted. */
  private choiceArray(depth: number): boolean {
    const s = this.s;
    if (s.charCodeAt(this.i) !== 91) return false;
    this.i++;
    let count = 0;
    if (s.charCodeAt(this.i) === 93) this.i++;
    else {
      for (;;) {
        if (s.charCodeAt(this.i) !== 123 || !this.object(depth + 1, CHOICE)) return false;
        count++;
        const c = s.charCodeAt(this.i);
        this.i++;
        if (c === 44) continue;
        if (c !== 93) return false;
        break;
      }
    }
    this.choices = count;
    return true;
  }

  /** `this.i` at an opening brace. */
  private object(depth: number, place: number): boolean {
    if (depth > MAX_DEPTH) return false;
    const s = this.s;
    const base = this.keys;
    this.i++;
    if (s.charCodeAt(this.i) === 125) {
      this.i++;
      return true;
    }
    for (;;) {
      const keyStart = this.i;
      if (s.charCodeAt(keyStart) !== 34 || !this.string()) return false;
      const keyEnd = this.i;
      // A key like "1" would be moved to the front of the object.
      if (isDigit(s.charCodeAt(keyStart + 1))) return false;
      if (!this.addKey(base, keyStart, keyEnd)) return false;
      if (s.charCodeAt(keyEnd) !== 58) return false;
      const valueStart = keyEnd + 1;
      this.i = valueStart;
      const key = place === OTHER ? NONE : topKey(s, keyStart, keyEnd - keyStart, place);
      if (key === CHOICES) {
        if (!this.choiceArray(depth)) return false;
      } else if (key === DELTA_KEY && s.charCodeAt(valueStart) === 123) {
        if (!this.object(depth + 1, DELTA)) return false;
      } else {
        if (key === ERROR) return false; // an in-band error: parsed, and failed there
        if (!this.value(depth)) return false;
        const valueEnd = this.i;
        if (key === ID) {
          this.idStart = valueStart;
          this.idEnd = valueEnd;
        } else if (key === CREATED) {
          this.createdStart = valueStart;
          this.createdEnd = valueEnd;
        } else if (key === MODEL) {
          this.modelStart = valueStart;
          this.modelEnd = valueEnd;
        } else if (key === USAGE) {
          this.usageStart = keyStart;
          this.usageValue = valueStart;
          this.usageEnd = valueEnd;
        } else if (key === FINISH_REASON) {
          // Anything but null (the only 4-character value starting with n) is a finish reason.
          if (!(valueEnd - valueStart === 4 && s.charCodeAt(valueStart) === 110)) this.finish = true;
        } else if (key === CONTENT && s.charCodeAt(valueStart) === 34) {
          this.contentStart = valueStart + 1;
          this.contentEnd = valueEnd - 1;
        }
      }
      const c = s.charCodeAt(this.i);
      this.i++;
      if (c === 44) continue;
      if (c !== 125) return false;
      this.keys = base;
      return true;
    }
  }

  /** Records a key of the object whose keys start at `base`; false when it repeats one. */
  private addKey(base: number, start: number, end: number): boolean {
    const top = this.keys;
    if (top >= MAX_KEYS || top - base >= MAX_OBJECT_KEYS) return false;
    const s = this.s;
    const length = end - start;
    for (let k = base; k < top; k++) {
      const other = this.keyStart[k];
      if (this.keyEnd[k] - other !== length) continue;
      let j = 1; // both start with a quote
      while (j < length && s.charCodeAt(start + j) === s.charCodeAt(other + j)) j++;
      if (j === length) return false;
    }
    this.keyStart[top] = start;
    this.keyEnd[top] = end;
    this.keys = top + 1;
    return true;
  }
}

const NONE = 0;
const ID = 1;
const CREATED = 2;
const MODEL = 3;
const USAGE = 4;
const CHOICES = 5;
const ERROR = 6;
const FINISH_REASON = 7;
const DELTA_KEY = 8;
const CONTENT = 9;

/** Which of the members the scan notes the key at `start` (with its quotes, `length` long) is. */
function topKey(s: string, start: number, length: number, place: number): number {
  if (place === CHOICE) {
    if (length === 15) return matches(s, start, '"finish_reason"') ? FINISH_REASON : NONE;
    return length === 7 && matches(s, start, '"delta"') ? DELTA_KEY : NONE;
  }
  if (place === DELTA) return length === 9 && matches(s, start, '"content"') ? CONTENT : NONE;
  switch (length) {
    case 4:
      return s.charCodeAt(start + 1) === 105 && s.charCodeAt(start + 2) === 100 ? ID : NONE;
    case 7: {
      const c = s.charCodeAt(start + 1);
      if (c === 109) return matches(s, start, '"model"') ? MODEL : NONE;
      if (c === 117) return matches(s, start, '"usage"') ? USAGE : NONE;
      if (c === 101) return matches(s, start, '"error"') ? ERROR : NONE;
      return NONE;
    }
    case 9: {
      const c = s.charCodeAt(start + 2);
      if (c === 104) return matches(s, start, '"choices"') ? CHOICES : NONE;
      if (c === 114) return matches(s, start, '"created"') ? CREATED : NONE;
      return NONE;
    }
    default:
      return NONE;
  }
}

/** `s` has `key` at `start` (the length was checked already). */
function matches(s: string, start: number, key: string): boolean {
  return s.startsWith(key, start);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
