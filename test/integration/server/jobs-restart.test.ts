/**
 * Jobs survive the process: `switchyard serve --jobs-dir` as a real child process, a batch
 * stopped mid-way by SIGTERM (requests in flight past the grace period are cut and not
 * journaled) or killed outright (SIGKILL), then a new process on the same directory resumes it;
 * the final output has each custom_id exactly once and nothing journaled ran twice.
 */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServeProcess, startServe } from './child.js';

const POLICY = `switchyard: v1
policy: { name: restart, version: "1" }
providers:
  demo: { kind: mock, latency: 300ms }
models:
  fast: { provider: demo, model: fast-1 }
jobs: { concurrency: 3 }
routes:
  - name: chat
    targets: [fast]
`;

const N = 24;

function input(): string {
  return Array.from({ length: N }, (_, i) =>
    JSON.stringify({
      custom_id: `job-${i}`,
      method: 'POST',
      url: '/v1/chat/completions',
      body: { model: 'x', messages: [{ role: 'user', content: `n${i}` }] },
    }),
  ).join('\n');
}

let dir: string;
const running: ServeProcess[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sy-jobs-restart-'));
  writeFileSync(join(dir, 'policy.yaml'), POLICY);
});

afterAll(async () => {
  for (const p of running) await p.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function serve(jobsDir: string): Promise<{ p: ServeProcess; client: OpenAI }> {
  const p = await startServe([
    '--policy',
    join(dir, 'policy.yaml'),
    '--no-watch',
    '--jobs-dir',
    jobsDir,
    '--shutdown-grace',
    '100ms',
    '--log-level',
    'warn',
  ]);
  running.push(p);
  return { p, client: new OpenAI({ baseURL: `${p.url}/v1`, apiKey: 'x', maxRetries: 0 }) };
}

async function until<T>(probe: () => Promise<T>, done: (v: T) => boolean, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (done(v)) return v;
    if (Date.now() > end) throw new Error(`timed out; last: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function journaled(jobsDir: string, batchId: string): number[] {
  let text: string;
  try {
    text = readFileSync(join(jobsDir, 'jobs', batchId, 'journal.jsonl'), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l.endsWith('}'))
    .map((l) => (JSON.parse(l) as { i: number }).i);
}

describe.each(['SIGTERM', 'SIGKILL'] as const)(
  'a batch interrupted by %s resumes in a new process',
  (signal) => {
    it('and ends with each custom_id exactly once', async () => {
      const jobsDir = join(dir, `jobs-${signal}`);
      const first = await serve(jobsDir);
      const file = await first.client.files.create({
        file: await toFile(Buffer.from(input()), 'in.jsonl'),
        purpose: 'batch',
      });
      const batch = await first.client.batches.create({
        input_file_id: file.id,
        endpoint: '/v1/chat/completions',
        completion_window: '24h',
      });
      await until(
        () => first.client.batches.retrieve(batch.id),
        (b) => (b.request_counts?.completed ?? 0) >= 4,
      );
      process.kill(first.p.pid, signal);
      const exit = await first.p.exited;
      if (signal === 'SIGTERM') {
        expect(exit.code).toBe(0);
        // Three requests were always in flight (300ms each) and the grace period is 100ms: cut.
        expect(first.p.output()).toContain('were cut; they run again on the next start');
      }
      const before = journaled(jobsDir, batch.id);
      expect(before.length).toBeGreaterThanOrEqual(4);
      expect(before.length).toBeLessThan(N);

      const second = await serve(jobsDir);
      const done = await until(
        () => second.client.batches.retrieve(batch.id),
        (b) => b.status === 'completed',
      );
      expect(done.request_counts).toEqual({ total: N, completed: N, failed: 0 });
      const lines = (await (await second.client.files.content(done.output_file_id as string)).text())
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { custom_id: string });
      const ids = lines.map((l) => l.custom_id);
      expect(ids.length).toBe(N);
      expect(new Set(ids).size).toBe(N);
      // The journal holds each request once: nothing finished before the stop ran again.
      const after = journaled(jobsDir, batch.id);
      expect(after.length).toBe(N);
      expect(new Set(after).size).toBe(N);
      expect(after.slice(0, before.length)).toEqual(before);
      await second.p.stop();
    });
  },
);
