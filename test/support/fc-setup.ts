/**
 * Replays a property-test failure: `FC_SEED=<seed> [FC_PATH=<path>] npx vitest run <file>` runs
 * every fast-check property with that seed (fast-check prints both on failure).
 */
import fc from 'fast-check';

const seed = process.env.FC_SEED;
if (seed !== undefined && seed !== '') {
  fc.configureGlobal({
    seed: Number(seed),
    ...(process.env.FC_PATH ? { path: process.env.FC_PATH } : {}),
    endOnFailure: true,
  });
}
