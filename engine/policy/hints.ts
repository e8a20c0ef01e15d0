/**
 * "Did you mean" hints for unknown keys, enum values and references (DESIGN.md §6): the nearest
 * known name by optimal-string-alignment distance, and nothing at all for nonsense, because a
 * wrong hint costs the reader more than no hint.
 */

/**
 * Damerau–Levenshtein distance in its optimal-string-alignment form: insertions, deletions,
 * substitutions and transpositions of adjacent characters each cost 1 (`modles` → `models` is 1).
 */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  // Three rolling rows: the transposition step looks two rows back.
  let prev2: number[] = new Array(b.length + 1).fill(0);
  let prev: number[] = Array.from({ length: b.length + 1 }, (_, j) => j);
  let cur: number[] = new Array(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, prev2[j - 2] + 1);
      }
      cur[j] = d;
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[b.length];
}

/**
 * The largest distance at which `candidate` is still offered: up to 2 edits, but never more than
 * half the name (so `a` never suggests `b` and `ttl` never suggests `url`), and up to a third of
 * the name for long names (so `per-tenant-limti` still finds `per-tenant-limit`).
 */
export function hintThreshold(candidateLength: number): number {
  return Math.max(Math.min(2, Math.floor(candidateLength / 2)), Math.floor(candidateLength / 3));
}

/**
 * Suggests the known name the author most likely meant; undefined when nothing is close enough.
 * Ties go to the candidate whose length is closest to the input, then to the first in code-unit
 * order, so the hint never depends on the order of `candidates`.
 *
 * @example didYouMean('fallbak', ['fallback', 'weighted']) // 'fallback'
 */
export function didYouMean(input: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  let bestLengthGap = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    if (candidate === input) continue;
    const limit = hintThreshold(candidate.length);
    // Cheap bound: the distance is at least the length difference.
    const lengthGap = Math.abs(candidate.length - input.length);
    if (lengthGap > limit || lengthGap > bestDistance) continue;
    const distance = editDistance(input, candidate);
    if (distance === 0 || distance > limit) continue;
    const better =
      distance < bestDistance ||
      (distance === bestDistance &&
        (lengthGap < bestLengthGap ||
          (lengthGap === bestLengthGap && best !== undefined && candidate < best)));
    if (better) {
      best = candidate;
      bestDistance = distance;
      bestLengthGap = lengthGap;
    }
  }
  return best;
}
