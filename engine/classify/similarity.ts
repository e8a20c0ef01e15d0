/**
 * Nearest labelled example by cosine similarity, exact search over typed arrays: an embedding
 * classifier has at most a few hundred examples, where an index would cost more than it saves.
 */

export interface LabelledVector {
  readonly label: string;
  readonly vector: Float32Array;
  /** The vector's Euclidean norm, computed once. */
  readonly norm: number;
}

export function norm(v: Float32Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

/** Cosine similarity; 0 when either vector is zero or the lengths differ. */
export function cosine(a: Float32Array, aNorm: number, b: Float32Array, bNorm: number): number {
  if (a.length !== b.length || aNorm === 0 || bNorm === 0) return 0;
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i] * b[i];
  return dot / (aNorm * bNorm);
}

/** The most similar example and its similarity; null when there are none. Ties: the first. */
export function nearest(
  examples: readonly LabelledVector[],
  query: Float32Array,
): { readonly label: string; readonly similarity: number } | null {
  const qn = norm(query);
  let best: { label: string; similarity: number } | null = null;
  for (const e of examples) {
    const s = cosine(e.vector, e.norm, query, qn);
    if (best === null || s > best.similarity) best = { label: e.label, similarity: s };
  }
  return best;
}
