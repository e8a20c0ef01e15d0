/**
 * Replay of semantic cache hits on a real embedding model (docs/replay.md): embeddings are not
 * recorded, but a hit's source and similarity are, and replay's vectors give each recorded pair
 * its similarity back. Checked twice:
 *
 * - on the vectors and the index: for random sources, recorded hits (similarity s) and a
 *   threshold t, a replayed hit is found iff s >= t, names its source, and comes back at s (at
 *   or above, within 2e-6); misses that store their vectors (a stricter replay) create no hit;
 * - end to end: traffic recorded through the engine with a stub real embedding model at random
 *   similarities and a random threshold t0 replays unchanged under t0 (P16), and under any t a
 *   pair hits iff its similarity is at least both t0 (it was a recorded hit) and t.
 *
 * FC_NUM_RUNS sets the number of runs of the first (default 100); the second runs a fifth as many.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { LRUCache } from 'lru-cache';
import { afterAll, describe, expect } from 'vitest';
import { normalizeVector, SemanticIndex } from '../../engine/cache/semantic-index.js';
import type { CachedAnswer } from '../../engine/cache/store.js';
import { parsePolicy, replayRecording } from '../../engine/index.js';
import { semanticReplayVector } from '../../engine/replay/semantic-vectors.js';
import { createReplayCall } from '../../engine/replay/upstream.js';
import { recordTraffic } from '../support/replay-traffic.js';
import { type StubText, semanticRealPolicyYaml, stubEmbeddingProviders } from '../support/stub-embeddings.js';

const NUM_RUNS = Number(process.env.FC_NUM_RUNS ?? 100);

const dir = mkdtempSync(join(tmpdir(), 'sy-replay-semantic-prop-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Recorded similarities: thousandths in [0.5, 1]. */
const arbShare = fc.integer({ min: 500, max: 1000 }).map((k) => k / 1000);
/** Thresholds on the similarities' grid (equality included) and between its points, below 1. */
const arbThreshold = fc.integer({ min: 1000, max: 1999 }).map((k) => k / 2000);
/**
 * Thresholds between the grid's points only: a recorded similarity is the index's float32
 * arithmetic on the stub's vectors, within 1e-7 of its grid point, so a threshold on the point
 * itself would make the recording's own hit a coin toss.
 */
const arbOffGrid = fc.integer({ min: 500, max: 999 }).map((k) => (k + 0.5) / 1000);

const ANSWER: CachedAnswer = { body: { id: 'x' }, target: 'fast', usage: null, storedAt: 0 } as CachedAnswer;

/** What the cache stage does with an embedding answer: float32, then unit length. */
function asStored(values: readonly number[]): Float32Array {
  const v = normalizeVector(Float32Array.from(values));
  if (v === null) throw new Error('no direction');
  return v;
}

describe('replayed semantic vectors', () => {
  test.prop(
    [
      fc.constantFrom(256, 512, 1536),
      fc.integer({ min: 1, max: 6 }),
      fc.array(fc.record({ source: fc.nat(), similarity: arbShare }), { minLength: 1, maxLength: 12 }),
      arbThreshold,
    ],
    { numRuns: NUM_RUNS },
  )(
    'a recorded hit hits again iff its similarity is at least the threshold, at its similarity',
    (dimensions, sources, hits, threshold) => {
      const seeds = new LRUCache<string, number>({ max: 1000 });
      const index = new SemanticIndex({ maxEntries: 1000 });
      for (let i = 0; i < sources; i++) {
        const call = createReplayCall(`s${i}`, [], null, 1);
        index.add(
          'p',
          asStored(semanticReplayVector(call, `text ${i}`, dimensions, seeds)),
          ANSWER,
          1000,
          0,
          `s${i}`,
        );
      }
      for (const [j, hit] of hits.entries()) {
        const source = `s${hit.source % sources}`;
        const call = createReplayCall(`r${j}`, [], null, 1, { source, similarity: hit.similarity });
        const vector = asStored(semanticReplayVector(call, `paraphrase ${j}`, dimensions, seeds));
        const found = index.search('p', vector, threshold, 1);
        expect(found !== undefined).toBe(hit.similarity >= threshold);
        if (found === undefined) {
          // A miss stores its answer (a replay under a stricter threshold than the recording's).
          index.add('p', vector, ANSWER, 1000, 1, `r${j}`);
          continue;
        }
        expect(found.source).toBe(source);
        // At or above the recorded figure (a vector with itself sums to 1 within float32 rounding).
        expect(found.similarity).toBeGreaterThanOrEqual(Math.min(hit.similarity, 1 - 1e-8));
        expect(found.similarity - hit.similarity).toBeLessThanOrEqual(2e-6);
      }
    },
  );

  test.prop([fc.constantFrom(64, 256, 1536), fc.string({ maxLength: 40 })], { numRuns: NUM_RUNS })(
    'a request without a recorded hit embeds by its text: identical texts identically',
    (dimensions, text) => {
      const seeds = new LRUCache<string, number>({ max: 10 });
      const a = semanticReplayVector(createReplayCall('a', [], null, 1), text, dimensions, seeds);
      const b = semanticReplayVector(createReplayCall('b', [], null, 1), text, dimensions, seeds);
      expect(a).toEqual(b);
      expect(a).toHaveLength(dimensions);
      expect(Math.abs(a.reduce((sum, v) => sum + v * v, 0) - 1)).toBeLessThan(1e-9);
    },
  );
});

describe('replay of a recording on a real embedding model', () => {
  let run = 0;
  test.prop([fc.array(arbShare, { minLength: 1, maxLength: 4 }), arbOffGrid, arbOffGrid], {
    numRuns: Math.max(1, Math.ceil(NUM_RUNS / 5)),
  })(
    'the same policy changes nothing; under t a pair hits iff its similarity is at least t0 and t',
    async (similarities, t0, t) => {
      // Topic i: its question, then a paraphrase at similarity similarities[i].
      const texts: StubText[] = [];
      for (const [i, cos] of similarities.entries()) {
        texts.push({ text: `question number ${i}`, topic: i, cos: 1 });
        texts.push({ text: `paraphrase of question ${i}`, topic: i, cos });
      }
      const compile = (threshold: number) => {
        const r = parsePolicy([{ file: 'p.yaml', text: semanticRealPolicyYaml(threshold) }]);
        if (!r.ok) throw new Error(JSON.stringify(r.diagnostics));
        return r.policy;
      };
      const recording = join(dir, `run-${run++}.jsonl`);
      await recordTraffic(
        compile(t0),
        recording,
        texts.map(({ text }) => ({ model: 'm', content: text, gapMs: 1000 })),
        { content: 'keep', createProvider: stubEmbeddingProviders(texts) },
      );
      const recordedHits = similarities.filter((s) => s >= t0).length;
      const same = await replayRecording(compile(t0), recording);
      expect(same).toMatchObject({ total: texts.length, unchanged: texts.length, changed: 0 });
      expect(same.candidate.cacheHits).toBe(recordedHits);

      const other = await replayRecording(compile(t), recording);
      expect(other.candidate.cacheHits).toBe(similarities.filter((s) => s >= t0 && s >= t).length);
      // The paraphrase of topic i is request 2i+1: it changed iff it was a hit and t is above it.
      const changed = other.changes.map((c) => c.requestId).sort();
      const expected = similarities.flatMap((s, i) => (s >= t0 && s < t ? [`req-${2 * i + 1}`] : [])).sort();
      expect(changed).toEqual(expected);
    },
  );
});
