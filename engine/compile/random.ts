/**
 * The deterministic randomness of `decide`: a seeded PRNG for weighted groups and a string hash for
 * sticky (rendezvous) groups. Both are tiny, pure and shared with the reference interpreter in
 * `test/support/reference.ts`, so a decision replays bit-for-bit from its seed and sticky key.
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

/**
 * The PRNG of one weighted group: the request's seed mixed with the group's position in its route
 * (pre-order, the route's own group is 0), so sibling and nested groups draw independently.
 */
export function groupRng(seed: number, position: number): Rng {
  return { state: fmix32((seed ^ Math.imul(position + 1, 0x9e3779b9)) >>> 0) };
}

/**
 * Weighted rendezvous (highest-random-weight) score of `member` for the sticky value `key`:
 * `weight / -ln(u)` with `u` uniform in (0, 1) from the hash. The highest score wins; removing a
 * member never moves a key between the remaining members. Weight 0 scores 0 (never first).
 */
export function rendezvousScore(key: string, member: string, weight: number): number {
  const u = (hash32(`${key}\u0000${member}`) + 0.5) / 4294967296;
  return weight / -Math.log(u);
}

/** A Mulberry32 draw function seeded with `seed` (for tests, benchmarks and sampled diffs). */
export function seededRandom(seed: number): () => number {
  const rng: Rng = { state: seed >>> 0 };
  return () => nextFloat(rng);
}
