/**
 * Native batches (engine/jobs/native.ts): whether a job's lines go to a provider batch or not,
 * and whatever the provider batch answers or fails, every custom_id gets exactly one result
 * line across the output and error files, and the counts add up to the input's lines. The mock
 * provider's batches run offline; its outcome sequence makes some lines fail inside the batch
 * (they then run through the ordinary plan).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { createEngine, jobs, parsePolicy } from '../../engine/index.js';

// Each run starts a runner on a real directory: fewer runs than the pure properties.
const NUM_RUNS = Math.min(10, Number(process.env.FC_NUM_RUNS ?? 10));

const OUTCOME = fc.constantFrom('ok', 'ok', 'server_error', 'bad_request');

function policy(native: boolean, minRequests: number, sequence: readonly string[]): string {
  return `switchyard: v1
policy: { name: native-prop, version: "1" }
providers:
  demo: { kind: mock, batchLatency: 0ms, sequence: [${sequence.join(', ')}] }
models:
  fast: { provider: demo, model: m, price: { input: 1, output: 1 }, batchPrice: { input: 0.5, output: 0.5 } }
routes:
  - name: chat
    targets: [fast]
    maxAttempts: 1
${native ? `    batch: { native: true, minRequests: ${minRequests} }\n` : ''}`;
}

describe('native batches: every line gets exactly one result', () => {
  test.prop(
    [
      fc.integer({ min: 1, max: 8 }),
      fc.boolean(),
      fc.integer({ min: 1, max: 9 }),
      fc.array(OUTCOME, { minLength: 1, maxLength: 4 }),
    ],
    { numRuns: NUM_RUNS },
  )('each custom_id once across output and error files', async (n, native, minRequests, sequence) => {
    const loaded = parsePolicy([{ file: 'p.yaml', text: policy(native, minRequests, sequence) }], {
      env: {},
    });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.diagnostics));
    const dir = await mkdtemp(join(tmpdir(), 'sy-native-prop-'));
    const engine = createEngine(loaded.policy);
    const store = await jobs.JobStore.open(dir);
    const runner = new jobs.JobRunner({ store, engine: () => engine, concurrency: 2, nativePollMs: 1 });
    try {
      await runner.start();
      const text = Array.from(
        { length: n },
        (_, i) =>
          `${JSON.stringify({ custom_id: `c${i}`, method: 'POST', url: '/v1/chat/completions', body: { model: 'fast', messages: [{ role: 'user', content: `m${i}` }] } })}\n`,
      ).join('');
      const file = await store.saveUpload(
        Readable.from([Buffer.from(text)]),
        { filename: 'in.jsonl', purpose: 'batch', owner: null, createdAt: 1, expiresAt: null },
        1 << 20,
      );
      const created = await runner.createBatch(
        {
          owner: null,
          inputFileId: file.file.id,
          endpoint: '/v1/chat/completions',
          completionWindow: '24h',
          metadata: null,
        },
        jobs.JOB_ENDPOINTS,
      );
      if (!created.ok) throw new Error(JSON.stringify(created.refusal));
      const until = Date.now() + 10_000;
      let job = runner.get(created.value.id, null);
      while (job?.status !== 'completed') {
        if (Date.now() > until) throw new Error(`not completed: ${job?.status}`);
        await new Promise((r) => setTimeout(r, 5));
        job = runner.get(created.value.id, null);
      }
      const ids: string[] = [];
      for (const f of [job.output_file_id, job.error_file_id]) {
        if (f === null) continue;
        for (const line of (await readFile(store.dataPath(f), 'utf8')).split('\n')) {
          if (line !== '') ids.push(String((JSON.parse(line) as { custom_id: string }).custom_id));
        }
      }
      expect(ids.sort()).toEqual(Array.from({ length: n }, (_, i) => `c${i}`).sort());
      expect(job.completed + job.failed).toBe(n);
    } finally {
      await runner.stop(100);
      await engine.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
