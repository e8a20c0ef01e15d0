/**
 * Small deterministic randomness shared by the engine: a string hash and a seeded PRNG
 * (Mulberry32). `decide` draws weighted and sticky choices from them (compile/random.ts), and the
 * mock provider derives its answers (tool arguments, JSON, embeddings) from them, so both replay
 * bit-for-bit from a seed.
 */

/** Murmur3's 32-bit finaliser: spreads every input bit over the whole word. */
export function fmix32(h: number): number {
  let x = h >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** FNV-1a over UTF-16 code units, finalised with {@link fmix32}. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

/** The state of a Mulberry32 generator: a plain object, so the hot path creates no closures. */
export interface Rng {
  state: number;
}

/** The next Mulberry32 draw, uniform in [0, 1). */
export function nextFloat(rng: Rng): number {
  const a = (rng.state + 0x6d2b79f5) >>> 0;
  rng.state = a;
  let t = Math.imul(a ^ (a >>> 15), a | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/**
 * Mulberry32 as a function: a fast 32-bit PRNG, uniform in [0, 1).
 *
 * @example const next = mulberry32(42); next(); next();
 */
export function mulberry32(seed: number): () => number {
  const rng: Rng = { state: seed >>> 0 };
  return () => nextFloat(rng);
}

/** A Mulberry32 draw function seeded with `seed` (for tests, benchmarks and sampled diffs). */
export function seededRandom(seed: number): () => number {
  const rng: Rng = { state: seed >>> 0 };
  return () => nextFloat(rng);
}
