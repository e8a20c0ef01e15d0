/**
 * An Aho-Corasick automaton over folded code points (see fold.ts), built once, that reports
 * every whole-word occurrence of every phrase with offsets into the original text.
 *
 * Why our own automaton rather than an npm one (modern-ahocorasick, @monyone/aho-corasick,
 * ahocorasick were considered): matching has to run on a folded stream (NFKD, case, dropped
 * format characters, collapsed and bounded whitespace runs) while mapping back to original
 * offsets unit by unit, apply our boundary rule (spaced scripts need word boundaries, CJK/Thai do
 * not), start at a `from` offset with the text before it as context (streaming), and stay within
 * a provable span length. The libraries either match the raw string or bring their own folding
 * and grapheme/word rules, so we would fold twice and still remap offsets. The automaton itself is
 * ~150 lines: transitions in flat typed arrays (a dense table for ASCII at the root), failure and
 * dictionary-suffix links, so a scan costs O(text + hits) whatever the number of phrases.
 */
import {
  ASCII_KIND,
  type Folder,
  type FoldMode,
  foldTerm,
  getFolder,
  IGNORABLE_RUN_MAX,
  isJoinerKind,
  joinerAt,
  joinerBefore,
  KIND_MARK,
  KIND_SPACE,
  UNIT_MAX,
  WS_RUN_MAX,
} from './fold.js';

export interface PhraseEntry {
  readonly text: string;
  readonly payload: number;
}

/** One occurrence (all occurrences are reported, overlapping ones included). */
export interface PhraseHit {
  readonly start: number;
  readonly end: number;
  readonly payload: number;
}

export interface PhraseMatcher {
  /** Distinct folded phrases (duplicates after folding keep the first entry's payload). */
  readonly size: number;
  readonly maxMatchLength: number;
  scan(text: string, from: number): PhraseHit[];
}

/** Compiles phrases once; entries that fold to nothing are ignored. */
export function compilePhraseMatcher(entries: readonly PhraseEntry[], mode: FoldMode): PhraseMatcher {
  const folder = getFolder(mode);
  // Build with a single edge map (parent * 0x110000 + code point) and plain arrays, then freeze
  // into typed arrays; per-state Maps would cost far more memory at 20,000+ phrases.
  const edges = new Map<number, number>();
  const kids: number[][] = [[]];
  const via: number[] = [0];
  const depth: number[] = [0];
  const payload: number[] = [-1];
  const firstJoin: boolean[] = [false];
  const lastJoin: boolean[] = [false];
  let maxDepth = 0;
  let maxMatchLength = 0;
  for (const entry of entries) {
    const folded = foldTerm(entry.text, folder);
    if (folded === null) continue;
    let s = 0;
    for (const cp of folded.cps) {
      const key = s * 0x110000 + cp;
      let t = edges.get(key);
      if (t === undefined) {
        t = kids.length;
        edges.set(key, t);
        kids.push([]);
        kids[s].push(t);
        via.push(cp);
        depth.push(depth[s] + 1);
        payload.push(-1);
        firstJoin.push(false);
        lastJoin.push(false);
      }
      s = t;
    }
    if (payload[s] >= 0) continue;
    payload[s] = entry.payload;
    firstJoin[s] = isJoinerKind(folded.firstKind);
    lastJoin[s] = isJoinerKind(folded.lastKind);
    maxDepth = Math.max(maxDepth, folded.cps.length);
    let bound = (folded.cps.length - 1) * IGNORABLE_RUN_MAX;
    for (const cp of folded.cps) bound += cp === 32 ? WS_RUN_MAX : UNIT_MAX;
    maxMatchLength = Math.max(maxMatchLength, bound);
  }

  const n = kids.length;
  const edgeStart = new Int32Array(n + 1);
  for (let s = 0; s < n; s++) edgeStart[s + 1] = edgeStart[s] + kids[s].length;
  const edgeCp = new Int32Array(edgeStart[n]);
  const edgeTo = new Int32Array(edgeStart[n]);
  for (let s = 0; s < n; s++) {
    const sorted = kids[s].sort((a, b) => via[a] - via[b]);
    for (let k = 0; k < sorted.length; k++) {
      edgeCp[edgeStart[s] + k] = via[sorted[k]];
      edgeTo[edgeStart[s] + k] = sorted[k];
    }
  }
  const rootAscii = new Int32Array(128).fill(-1);
  for (let k = edgeStart[0]; k < edgeStart[1]; k++) if (edgeCp[k] < 128) rootAscii[edgeCp[k]] = edgeTo[k];

  const tables: Tables = {
    edgeStart,
    edgeCp,
    edgeTo,
    rootAscii,
    fail: new Int32Array(n),
    dict: new Int32Array(n).fill(-1),
    depth: Int32Array.from(depth),
    payload: Int32Array.from(payload),
    firstJoin: Uint8Array.from(firstJoin, Number),
    lastJoin: Uint8Array.from(lastJoin, Number),
    mask: 0,
    maxDepth,
    ascii: folder.ascii,
    folder,
  };
  // Failure links in breadth-first order; `dict` skips to the nearest suffix state ending a phrase.
  const { fail, dict } = tables;
  const queue: number[] = [...kids[0]];
  for (let q = 0; q < queue.length; q++) {
    const u = queue[q];
    for (const v of kids[u]) {
      const c = via[v];
      let f = fail[u];
      let target = 0;
      for (;;) {
        const g = child(tables, f, c);
        if (g >= 0) {
          target = g;
          break;
        }
        if (f === 0) break;
        f = fail[f];
      }
      fail[v] = target;
      dict[v] = payload[target] >= 0 ? target : dict[target];
      queue.push(v);
    }
  }
  let ringSize = 1;
  while (ringSize <= maxDepth) ringSize <<= 1;
  tables.mask = ringSize - 1;

  return {
    size: payload.filter((p) => p >= 0).length,
    maxMatchLength,
    scan: (text: string, from: number): PhraseHit[] => scan(tables, text, from),
  };
}

/** The frozen automaton; module-level functions over it keep the scan loop free of closures. */
interface Tables {
  readonly edgeStart: Int32Array;
  readonly edgeCp: Int32Array;
  readonly edgeTo: Int32Array;
  readonly rootAscii: Int32Array;
  readonly fail: Int32Array;
  readonly dict: Int32Array;
  readonly depth: Int32Array;
  readonly payload: Int32Array;
  readonly firstJoin: Uint8Array;
  readonly lastJoin: Uint8Array;
  mask: number;
  readonly maxDepth: number;
  readonly ascii: Uint16Array;
  readonly folder: Folder;
}

function child(t: Tables, s: number, cp: number): number {
  if (s === 0 && cp < 128) return t.rootAscii[cp];
  const edgeCp = t.edgeCp;
  let lo = t.edgeStart[s];
  let hi = t.edgeStart[s + 1];
  if (hi - lo <= 8) {
    for (; lo < hi; lo++) if (edgeCp[lo] === cp) return t.edgeTo[lo];
    return -1;
  }
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = edgeCp[mid];
    if (c === cp) return t.edgeTo[mid];
    if (c < cp) lo = mid + 1;
    else hi = mid;
  }
  return -1;
}

function step(t: Tables, state: number, cp: number): number {
  let s = state;
  for (;;) {
    const next = child(t, s, cp);
    if (next >= 0) return next;
    if (s === 0) return 0;
    s = t.fail[s];
  }
}

/** Reports every phrase ending in `state` at folded position `pos`, original offset `end`. */
function report(
  t: Tables,
  state: number,
  pos: number,
  end: number,
  text: string,
  ringStart: Int32Array,
  hits: PhraseHit[],
): void {
  let s = t.payload[state] >= 0 ? state : t.dict[state];
  while (s >= 0) {
    const start = ringStart[(pos - t.depth[s] + 1) & t.mask];
    if (
      start >= 0 &&
      !(t.firstJoin[s] === 1 && joinerBefore(text, start)) &&
      !(t.lastJoin[s] === 1 && joinerAt(text, end))
    )
      hits.push({ start, end, payload: t.payload[s] });
    s = t.dict[s];
  }
}

function scan(t: Tables, text: string, from: number): PhraseHit[] {
  const hits: PhraseHit[] = [];
  if (t.maxDepth === 0) return hits;
  const { ascii, payload, dict, folder, mask, rootAscii } = t;
  // Start offset of the unit each recent folded position begins, or -1 when the position is not
  // the first code point of its unit (a match may not start there).
  const ringStart = new Int32Array(mask + 1);
  const len = text.length;
  let state = 0;
  let pos = -1;
  let spaceStart = -1;
  let ignorable = 0;
  let i = from;
  while (i < len) {
    const c = text.charCodeAt(i);
    if (c < 128) {
      const kind = ASCII_KIND[c];
      // Hot path: an ASCII letter, digit or symbol with no combining mark after it.
      if (kind !== KIND_SPACE && (i + 1 >= len || text.charCodeAt(i + 1) < 0x300)) {
        spaceStart = -1;
        ignorable = 0;
        pos++;
        ringStart[pos & mask] = i;
        state = state === 0 ? rootAscii[ascii[c]] : step(t, state, ascii[c]);
        if (state < 0) state = 0;
        else if (payload[state] >= 0 || dict[state] >= 0) report(t, state, pos, i + 1, text, ringStart, hits);
        i++;
        continue;
      }
      if (kind === KIND_SPACE && spaceStart < 0) {
        ignorable = 0;
        spaceStart = i;
        pos++;
        ringStart[pos & mask] = -1;
        if (state !== 0) state = step(t, state, 32);
        i++;
        continue;
      }
    }
    const cp = text.codePointAt(i)!;
    const width = cp > 0xffff ? 2 : 1;
    const e = folder.entry(cp);
    if (e.kind === KIND_SPACE) {
      ignorable = 0;
      if (spaceStart >= 0) {
        // A run longer than WS_RUN_MAX breaks phrases, keeping every span's length bounded.
        if (i + width - spaceStart > WS_RUN_MAX) state = 0;
      } else {
        spaceStart = i;
        pos++;
        ringStart[pos & mask] = -1;
        state = step(t, state, 32);
      }
      i += width;
      continue;
    }
    if (e.cps.length === 0) {
      ignorable += width;
      if (ignorable > IGNORABLE_RUN_MAX) state = 0;
      i += width;
      continue;
    }
    // A unit: this code point and the combining marks after it (up to UNIT_MAX code units).
    let end = i + width;
    let marks: number[] | null = null;
    while (end < len) {
      const m = text.codePointAt(end)!;
      const w = m > 0xffff ? 2 : 1;
      const me = folder.entry(m);
      if (me.kind !== KIND_MARK || end + w - i > UNIT_MAX) break;
      if (marks === null) marks = [];
      for (const x of me.cps) marks.push(x);
      end += w;
    }
    spaceStart = -1;
    ignorable = 0;
    let first = true;
    for (const x of e.cps) {
      pos++;
      ringStart[pos & mask] = first ? i : -1;
      first = false;
      state = step(t, state, x);
    }
    if (marks !== null)
      for (const x of marks) {
        pos++;
        ringStart[pos & mask] = -1;
        state = step(t, state, x);
      }
    if (payload[state] >= 0 || dict[state] >= 0) report(t, state, pos, end, text, ringStart, hits);
    i = end;
  }
  return hits;
}
