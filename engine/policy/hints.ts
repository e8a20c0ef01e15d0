/**
 * "Did you mean" hints for unknown keys, enum values and references (docs/design.md §6): the nearest
 * known name by Damerau–Levenshtein distance, and nothing at all for nonsense, because a
 * wrong hint costs the reader more than no hint.
 */

/**
 * Damerau–Levenshtein distance (unrestricted, Lowrance–Wagner): insertions, deletions,
 * substitutions and transpositions of adjacent characters each cost 1, and a transposed pair may
 * be edited again (`demo` → `mdo` is 2, where the optimal-string-alignment variant says 3), so
 * any typo of at most two edits is found (`modles` → `models` is 1).
 */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  const width = b.length + 2;
  const d: number[] = new Array((a.length + 2) * width).fill(0);
  const max = a.length + b.length;
  d[0] = max;
  for (let i = 0; i <= a.length; i++) {
    d[(i + 1) * width] = max;
    d[(i + 1) * width + 1] = i;
  }
  for (let j = 0; j <= b.length; j++) {
    d[j + 1] = max;
    d[width + j + 1] = j;
  }
  // Last row in which each character of `a` was seen.
  const lastRow = new Map<string, number>();
  for (let i = 1; i <= a.length; i++) {
    let lastMatchCol = 0;
    for (let j = 1; j <= b.length; j++) {
      const k = lastRow.get(b[j - 1]) ?? 0;
      const l = lastMatchCol;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      if (cost === 0) lastMatchCol = j;
      d[(i + 1) * width + j + 1] = Math.min(
        d[i * width + j] + cost,
        d[(i + 1) * width + j] + 1,
        d[i * width + j + 1] + 1,
        d[k * width + l] + (i - k - 1) + 1 + (j - l - 1),
      );
    }
    lastRow.set(a[i - 1], i);
  }
  return d[(a.length + 1) * width + b.length + 1];
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
