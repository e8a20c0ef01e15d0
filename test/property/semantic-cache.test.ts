/**
 * Semantic cache safety (issue 14's proof): a semantic hit never crosses tenants (nor the other
 * key fields), never serves below the threshold or past the TTL, and its answer is exactly the
 * stored answer. Checked twice: on the vector index against a reference (exact search over the
 * live entries), and end to end through `engine.handle` with the mock's n-gram embeddings, where
 * every upstream answer has a unique id, so a hit names the miss that stored it. The seed is
 * printed on failure; FC_NUM_RUNS sets the number of runs (default 100).
 */
import { isDeepStrictEqual } from 'node:util';
import { fc, test } from '@fast-check/vitest';
import { afterEach, describe, expect } from 'vitest';
import { normalizeVector, SemanticIndex, similarity } from '../../engine/cache/semantic-index.js';
import type { CachedAnswer } from '../../engine/cache/store.js';
import { embedText } from '../../engine/providers/mock-embeddings.js';
import { VirtualClock } from '../../engine/shared/virtual-clock.js';
import { asJson, closeEngines, harness, KEYS, T0, trafficYaml } from '../integration/traffic/helpers.js';

const NUM_RUNS = Number(process.env.FC_NUM_RUNS ?? 100);

afterEach(closeEngines);

// ---------------------------------------------------------------------------------------------
// The index against a reference

/** Vectors from a few base directions plus small noise, so near and far pairs both occur. */
const arbVector = fc
  .tuple(
    fc.integer({ min: 0, max: 3 }),
    fc.array(fc.integer({ min: -20, max: 20 }), { minLength: 4, maxLength: 4 }),
  )
  .map(([base, noise]) => {
    const v = noise.map((n) => n / 100);
    v[base] += 1;
    return normalizeVector(v) ?? Float32Array.from([1, 0, 0, 0]);
  });

type Op =
  | { kind: 'add'; partition: string; vector: Float32Array; ttl: number }
  | { kind: 'search'; partition: string; vector: Float32Array; threshold: number }
  | { kind: 'advance'; ms: number };

const arbPartition = fc.constantFrom('acme|gpt', 'globex|gpt', 'acme|other');
const arbOp: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('add' as const),
    partition: arbPartition,
    vector: arbVector,
    ttl: fc.integer({ min: 1, max: 50 }),
  }),
  fc.record({
    kind: fc.constant('search' as const),
    partition: arbPartition,
    vector: arbVector,
    threshold: fc.double({ min: 0.5, max: 1, noNaN: true }),
  }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 30 }) }),
);

interface Stored {
  readonly partition: string;
  readonly vector: Float32Array;
  readonly expiresAt: number;
  readonly answer: CachedAnswer;
}

function answerFor(n: number, partition: string): CachedAnswer {
  return { body: { id: `answer-${n}`, partition }, model: 'm', usage: null, storedAt: n, target: 't' };
}

describe('semantic index (reference model)', () => {
  test.prop([fc.array(arbOp, { maxLength: 60 }), fc.boolean()], { numRuns: NUM_RUNS })(
    'a hit is a live entry of the same partition, at or above the threshold, its answer unchanged; unbounded, it is the best one',
    (ops, bounded) => {
      const index = new SemanticIndex(bounded ? { maxEntries: 4 } : {});
      const stored = new Map<string, Stored>();
      let now = 0;
      let n = 0;
      for (const op of ops) {
        if (op.kind === 'advance') now += op.ms;
        else if (op.kind === 'add') {
          const answer = answerFor(n++, op.partition);
          expect(index.add(op.partition, op.vector, answer, op.ttl, now)).toBe(true);
          stored.set((answer.body as { id: string }).id, { ...op, expiresAt: now + op.ttl, answer });
        } else {
          const hit = index.search(op.partition, op.vector, op.threshold, now);
          const live = [...stored.values()].filter((s) => s.partition === op.partition && now < s.expiresAt);
          const best = Math.max(-2, ...live.map((s) => similarity(s.vector, op.vector)));
          if (hit === undefined) {
            // Bounded, an entry may have been evicted; unbounded, a miss means nothing qualified.
            if (!bounded) expect(best).toBeLessThan(op.threshold);
            continue;
          }
          const source = stored.get((hit.answer.body as { id: string }).id);
          expect(source).toBeDefined();
          if (source === undefined) continue;
          expect(source.partition).toBe(op.partition);
          expect(now).toBeLessThan(source.expiresAt);
          expect(hit.similarity).toBeGreaterThanOrEqual(op.threshold);
          expect(hit.similarity).toBeCloseTo(similarity(source.vector, op.vector), 6);
          expect(hit.answer).toEqual(source.answer);
          if (!bounded) expect(hit.similarity).toBeCloseTo(best, 6);
        }
      }
    },
  );
});

// ---------------------------------------------------------------------------------------------
// End to end through the engine

const THRESHOLD = 0.8;
const TTL_MS = 60_000;
const DIMENSIONS = 128;

const PROMPTS = [
  'What is the capital of France?',
  'What is the capital of France, please?',
  'what is the capital of france',
  'What is the capital of Germany?',
  'How do I bake sourdough bread?',
  'How do I bake sourdough bread at home?',
  'Explain recursion in one sentence.',
];

const arbAsk = fc.record({
  tenant: fc.constantFrom<keyof typeof KEYS>('acme', 'globex'),
  prompt: fc.constantFrom(...PROMPTS),
  maxTokens: fc.constantFrom<number | undefined>(undefined, 5),
  advanceMs: fc.constantFrom(0, 0, 1_000, 20_000, 45_000),
});

const yaml = trafficYaml({
  models: `
  primary: { provider: demo, model: m-primary }
  embed: { provider: demo, model: m-embed }`,
  sections: `caches:
  similar: { mode: semantic, ttl: ${TTL_MS / 1000}s, embedding: embed, dimensions: ${DIMENSIONS}, threshold: ${THRESHOLD} }
`,
  routes: `
  - name: main
    targets: [primary]
    cache: similar`,
});

const vectorOf = (prompt: string) => embedText(`user: ${prompt}`, DIMENSIONS);

describe('semantic cache through the engine', () => {
  test.prop([fc.array(arbAsk, { minLength: 1, maxLength: 25 })], {
    numRuns: Math.max(10, Math.floor(NUM_RUNS / 4)),
  })(
    'a hit never crosses tenants or key fields, never serves below the threshold or past the TTL, and equals the stored answer',
    async (asks) => {
      const clock = new VirtualClock({ start: T0 });
      const h = harness(yaml, { clock });
      const misses = new Map<
        string,
        { tenant: string; prompt: string; maxTokens?: number; at: number; body: unknown }
      >();
      for (const ask of asks) {
        await clock.advance(ask.advanceMs);
        const body: Record<string, unknown> = {
          model: 'gpt-test',
          messages: [{ role: 'user', content: ask.prompt }],
        };
        if (ask.maxTokens !== undefined) body.max_tokens = ask.maxTokens;
        const res = asJson(
          await h.engine.handle({ body, headers: { authorization: `Bearer ${KEYS[ask.tenant]}` } }),
        );
        expect(res.status).toBe(200);
        const id = (res.body as { id: string }).id;
        if (res.headers['x-switchyard-cache'] === 'miss') {
          misses.set(id, { ...ask, at: clock.now(), body: res.body });
          continue;
        }
        expect(res.headers['x-switchyard-cache']).toBe('hit');
        const source = misses.get(id);
        expect(source, `hit ${id} names no earlier miss`).toBeDefined();
        if (source === undefined) continue;
        expect(source.tenant).toBe(ask.tenant);
        expect(source.maxTokens).toBe(ask.maxTokens);
        expect(clock.now()).toBeLessThan(source.at + TTL_MS);
        expect(isDeepStrictEqual(res.body, source.body)).toBe(true);
        const header = Number(res.headers['x-switchyard-cache-similarity']);
        expect(res.meta.cacheSimilarity).toBeGreaterThanOrEqual(THRESHOLD);
        expect(header).toBeCloseTo(similarity(vectorOf(source.prompt), vectorOf(ask.prompt)), 3);
      }
    },
  );
});
