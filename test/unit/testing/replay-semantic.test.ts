/**
 * Replay and a semantic cache: an embedding call is never recorded with its vectors, so replay
 * answers it as the mock provider would. A recording of a policy whose semantic cache embeds on
 * the mock (message text kept) replays unchanged, its near-duplicate hits included; a stricter
 * threshold in a candidate turns those hits into misses, and the report says so.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type CompiledPolicy, parsePolicy, replayRecording } from '../../../engine/index.js';
import { recordTraffic } from '../../support/replay-traffic.js';

const dir = mkdtempSync(join(tmpdir(), 'sy-replay-semantic-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function policy(threshold: number): CompiledPolicy {
  const r = parsePolicy([
    {
      file: 'p.yaml',
      text: `switchyard: v1
policy: { name: sem, version: "${threshold}" }
providers:
  mock: { kind: mock, latency: 20ms }
models:
  fast: { provider: mock, model: m, price: { input: 1, output: 1 } }
  embed: { provider: mock, model: e, price: { input: 0.02, output: 0 } }
caches:
  similar: { mode: semantic, ttl: 1h, embedding: embed, threshold: ${threshold}, dimensions: 256 }
routes:
  - name: chat
    targets: [fast]
    cache: similar
`,
    },
  ]);
  if (!r.ok) throw new Error(JSON.stringify(r.diagnostics));
  return r.policy;
}

const QUESTIONS = [
  'What is the capital of France, please?',
  'what is the capital of france',
  'How do I bake sourdough bread at home?',
  'how do i bake sourdough bread at home',
  'Which planets have rings?',
];

describe('replay of semantic cache hits', () => {
  it('replays recorded near-duplicate hits unchanged; a stricter threshold misses them', async () => {
    const recording = join(dir, 'semantic.jsonl');
    const live = policy(0.9);
    await recordTraffic(
      live,
      recording,
      QUESTIONS.map((content) => ({ model: 'm', content, gapMs: 1000 })),
      { content: 'keep' },
    );
    const lines = readFileSync(recording, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { outcome: { cache: string | null; cacheSimilarity?: number } });
    const hits = lines.filter((l) => l.outcome.cache === 'hit');
    expect(hits.length).toBe(2);
    for (const h of hits) expect(h.outcome.cacheSimilarity).toBeGreaterThanOrEqual(0.9);

    const same = await replayRecording(live, recording);
    expect(same).toMatchObject({ total: 5, unchanged: 5, changed: 0, simulatedAnswers: 0 });
    expect(same.candidate.cacheHits).toBe(2);

    // The mock's features ignore case and punctuation, so the bread pair embeds identically
    // (similarity 1) and the France pair, one word apart, does not.
    const similarities = hits.map((h) => h.outcome.cacheSimilarity ?? 0).sort();
    expect(similarities[0]).toBeLessThan(0.999);
    expect(similarities[1]).toBeGreaterThan(0.99999);
    const strict = await replayRecording(policy(0.999), recording);
    expect(strict.candidate.cacheHits).toBe(1);
    expect(strict.changed).toBe(1);
    expect(strict.changes[0]).toMatchObject({ before: { cache: 'hit' }, after: { cache: 'miss' } });
  });
});
