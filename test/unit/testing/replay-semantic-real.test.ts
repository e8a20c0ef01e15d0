/**
 * Replay and a semantic cache on a real (not mock) embedding model. Embeddings are not recorded,
 * but a semantic hit's line names its source (`outcome.cacheSource`) next to its similarity, and
 * replay answers the cache's embedding calls with vectors that give the recorded pairs their
 * recorded similarities back. So: the same policy replays every hit unchanged (P16), even with
 * hashed content; a stricter threshold turns the hits below it into misses; a looser one finds
 * nothing new (only recorded pairs are known).
 *
 * The "real" model is a stub OpenAI provider (test/support/stub-embeddings.ts) whose embeddings
 * make paraphrases close (0.96, 0.93) where the mock's character features put them far apart.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type CompiledPolicy, parsePolicy, replayRecording } from '../../../engine/index.js';
import { recordTraffic } from '../../support/replay-traffic.js';
import {
  type StubText,
  semanticRealPolicyYaml,
  stubEmbeddingProviders,
} from '../../support/stub-embeddings.js';

const dir = mkdtempSync(join(tmpdir(), 'sy-replay-semantic-real-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function policy(threshold: number): CompiledPolicy {
  const r = parsePolicy([{ file: 'p.yaml', text: semanticRealPolicyYaml(threshold) }]);
  if (!r.ok) throw new Error(JSON.stringify(r.diagnostics));
  return r.policy;
}

/** Paraphrases at 0.96 and 0.93 of their topic's first question; the last repeats the first. */
const TEXTS: readonly StubText[] = [
  { text: 'What is the capital of France?', topic: 0, cos: 1 },
  { text: 'Tell me the French capital city', topic: 0, cos: 0.96 },
  { text: 'How do I bake sourdough bread?', topic: 1, cos: 1 },
  { text: 'Sourdough baking steps, please', topic: 1, cos: 0.93 },
  { text: 'Which planets have rings?', topic: 2, cos: 1 },
  { text: 'What is the capital of France?', topic: 0, cos: 1 },
];
const stubProviders = stubEmbeddingProviders(TEXTS);

interface Line {
  readonly requestId: string;
  readonly outcome: { cache: string | null; cacheSimilarity?: number; cacheSource?: string };
}

describe('replay of semantic cache hits on a real embedding model', () => {
  it('records each hit with its source, and replays them exactly', async () => {
    const recording = join(dir, 'semantic-real.jsonl');
    const live = policy(0.9);
    await recordTraffic(
      live,
      recording,
      TEXTS.map(({ text }) => ({ model: 'm', content: text, gapMs: 1000 })),
      { content: 'keep', createProvider: stubProviders },
    );
    const lines = readFileSync(recording, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Line)
      .sort((a, b) => a.requestId.localeCompare(b.requestId));
    expect(lines.map((l) => l.outcome.cache)).toEqual(['miss', 'hit', 'miss', 'hit', 'miss', 'hit']);
    expect(lines[1].outcome).toMatchObject({ cacheSource: 'req-0' });
    expect(lines[1].outcome.cacheSimilarity).toBeCloseTo(0.96, 5);
    expect(lines[3].outcome).toMatchObject({ cacheSource: 'req-2' });
    expect(lines[3].outcome.cacheSimilarity).toBeCloseTo(0.93, 5);
    expect(lines[5].outcome).toMatchObject({ cacheSource: 'req-0' });
    expect(lines[5].outcome.cacheSimilarity).toBeCloseTo(1, 5);
    for (const l of lines) if (l.outcome.cache !== 'hit') expect(l.outcome.cacheSource).toBeUndefined();

    // The same policy: nothing changes, every hit hits again (P16).
    const same = await replayRecording(live, recording);
    expect(same).toMatchObject({ total: 6, unchanged: 6, changed: 0 });
    expect(same.candidate.cacheHits).toBe(3);

    // Stricter: the 0.93 hit is a miss; stricter still, the 0.96 one too.
    const strict = await replayRecording(policy(0.95), recording);
    expect(strict.candidate.cacheHits).toBe(2);
    expect(strict.changed).toBe(1);
    expect(strict.changes[0]).toMatchObject({
      requestId: 'req-3',
      before: { cache: 'hit' },
      after: { cache: 'miss' },
    });
    const stricter = await replayRecording(policy(0.99), recording);
    expect(stricter.candidate.cacheHits).toBe(1);
    expect(stricter.changes.map((c) => c.requestId).sort()).toEqual(['req-1', 'req-3']);

    // Looser: no new hit (only recorded pairs are known).
    const loose = await replayRecording(policy(0.5), recording);
    expect(loose).toMatchObject({ total: 6, unchanged: 6, changed: 0 });
    expect(loose.candidate.cacheHits).toBe(3);
  });

  it('replays the hits of a recording with hashed content, the embedding cost included', async () => {
    const recording = join(dir, 'semantic-real-hashed.jsonl');
    const live = policy(0.9);
    await recordTraffic(
      live,
      recording,
      TEXTS.map(({ text }) => ({ model: 'm', content: text, gapMs: 1000 })),
      { content: 'hash', createProvider: stubProviders },
    );
    const same = await replayRecording(live, recording);
    expect(same.total).toBe(6);
    expect(same.candidate.cacheHits).toBe(3);
    // The embedding calls are priced with the recorded tokens, not the stand-ins' length.
    expect(same.changes).toEqual([]);
    expect(same.unchanged).toBe(6);
    const strict = await replayRecording(policy(0.95), recording);
    expect(strict.candidate.cacheHits).toBe(2);
    const missed = strict.changes.filter((c) => c.before.cache !== c.after.cache);
    expect(missed.map((c) => c.requestId)).toEqual(['req-3']);
  });
});
