/**
 * The deterministic randomness of `decide`: a seeded PRNG for weighted groups and a string hash for
 * sticky (rendezvous) groups. Both are tiny, pure and shared with the reference interpreter in
 * `test/support/reference.ts`, so a decision replays bit-for-bit from its seed and sticky key. The
 * generator and the hash themselves live in `engine/shared/random.ts`.
 */
import { fmix32, hash32, type Rng } from '../shared/random.js';

export { fmix32, hash32, mulberry32, nextFloat, type Rng, seededRandom } from '../shared/random.js';

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
