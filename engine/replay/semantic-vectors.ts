/**
 * The vectors replay answers a semantic cache's embedding calls with on a real (not mock)
 * embedding model, whose vectors a recording does not hold: built from the recorded pairs
 * (`outcome.cacheSource`, `outcome.cacheSimilarity`) so that every recorded hit comes back at its
 * similarity (docs/replay.md). engine/replay/upstream.ts answers the calls with them.
 */
import type { LRUCache } from 'lru-cache';
import { hash32, nextFloat, type Rng } from '../compile/random.js';

/** A recorded semantic cache hit: whose stored answer served it, at which similarity. */
export interface RecordedSemanticHit {
  /** The request id of the request whose answer the entry stored. */
  readonly source: string;
  readonly similarity: number;
}

/** What the vectors need of a replayed request: its id and its recorded semantic hit. */
export interface SemanticCall {
  readonly requestId: string;
  readonly semantic: RecordedSemanticHit | null;
}

/**
 * How far above a recorded similarity replay aims: the index computes in float32, so the
 * replayed similarity lands within about 3e-7 of the aim; aiming 1e-6 above keeps it at or above
 * the recorded figure (a recorded hit at exactly the threshold hits again) and within 2e-6 of it.
 */
export const SIMILARITY_AIM_ABOVE = 1e-6;

/** Most request ids whose cache-embedding seed replay keeps (for requests naming them as source). */
export const MAX_SEMANTIC_SOURCES = 100_000;

/** A deterministic pseudo-random unit vector of `dimensions` from `seed` (float64). */
export function seededUnitVector(seed: number, dimensions: number): Float64Array {
  const rng: Rng = { state: seed >>> 0 };
  const out = new Float64Array(dimensions);
  let sum = 0;
  for (let i = 0; i < dimensions; i++) {
    const v = nextFloat(rng) * 2 - 1;
    out[i] = v;
    sum += v * v;
  }
  const norm = Math.sqrt(sum);
  for (let i = 0; i < dimensions; i++) out[i] /= norm;
  return out;
}

/**
 * The vector replay answers a semantic cache's embedding call of one replayed request with, on a
 * real (not mock) embedding model, whose vectors the recording does not hold. A request the
 * recording says was served by source S at similarity s gets s'·u_S + sqrt(1 - s'²)·w, where
 * u_S is the vector S was given, w a unit vector orthogonal to u_S seeded by the request's id and
 * s' = s + {@link SIMILARITY_AIM_ABOVE} (at most 1): its similarity to S's entry comes back as
 * recorded. Every other request gets a unit vector seeded by its text (a hashed text's stand-in),
 * so identical texts embed identically and different ones are nearly orthogonal (about
 * 1/sqrt(dimensions) apart from 0). Only recorded pairs are close: a looser threshold finds no new
 * hit. `seeds` (bounded, least recently used out) remembers each request's seed for the requests
 * that name it as their source; a source it no longer holds gets a vector seeded by its id, and
 * the request then misses.
 */
export function semanticReplayVector(
  call: SemanticCall,
  text: string,
  dimensions: number,
  seeds: LRUCache<string, number>,
): number[] {
  const hit = call.semantic;
  if (hit === null) {
    const seed = hash32(`text\u0000${text}`);
    seeds.set(call.requestId, seed);
    return Array.from(seededUnitVector(seed, dimensions));
  }
  const u = seededUnitVector(seeds.get(hit.source) ?? hash32(`source\u0000${hit.source}`), dimensions);
  const s = Math.min(1, Math.max(-1, hit.similarity + SIMILARITY_AIM_ABOVE));
  const w = seededUnitVector(hash32(`request\u0000${call.requestId}`), dimensions);
  // Gram-Schmidt: w without its component along u, to unit length.
  let along = 0;
  for (let i = 0; i < dimensions; i++) along += w[i] * u[i];
  let sum = 0;
  for (let i = 0; i < dimensions; i++) {
    w[i] -= along * u[i];
    sum += w[i] * w[i];
  }
  const norm = Math.sqrt(sum);
  const rest = Math.sqrt(Math.max(0, 1 - s * s));
  const out = new Array<number>(dimensions);
  for (let i = 0; i < dimensions; i++) out[i] = s * u[i] + (norm > 0 ? (rest * w[i]) / norm : 0);
  return out;
}
