/**
 * Interactive latency while a batch runs: the server (port 0, `--jobs-dir`), the mock provider
 * answering after 20 ms, `jobs.concurrency: 4`. Sends `BENCH_REQUESTS` (default 400) interactive
 * chat requests, 8 at a time, first with no job, then while a 20,000-request batch is worked
 * through, and prints p50/p99 latency for both and the batch's own rate meanwhile.
 *
 * Run: `npx tsx bench/batch-interactive.ts` (after `npm run build` for representative numbers).
 * Prints numbers; asserts nothing.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from '../server/app.js';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 400);
const BATCH = 20_000;
const dir = mkdtempSync(join(tmpdir(), 'sy-bench-batch-int-'));
const policyPath = join(dir, 'policy.yaml');
writeFileSync(
  policyPath,
  `switchyard: v1
policy: { name: bench-batch-interactive, version: "1" }
providers:
  demo: { kind: mock, latency: 20ms }
models:
  fast: { provider: demo, model: fast-1 }
jobs: { concurrency: 4 }
routes:
  - name: chat
    targets: [fast]
`,
);
const server = await createServer({
  policyPath,
  port: 0,
  logger: false,
  watch: false,
  jobsDir: join(dir, 'jobs'),
});
const base = server.url;

async function interactive(): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < REQUESTS) {
      next++;
      const t0 = performance.now();
      const res = await fetch(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'x', messages: [{ role: 'user', content: 'hello' }] }),
      });
      await res.arrayBuffer();
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return latencies.sort((a, b) => a - b);
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))].toFixed(1);

await interactive(); // warm-up
const idle = await interactive();

const lines = Array.from({ length: BATCH }, (_, i) =>
  JSON.stringify({
    custom_id: `b${i}`,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model: 'x', messages: [{ role: 'user', content: `batch ${i}` }] },
  }),
).join('\n');
const form = new FormData();
form.append('purpose', 'batch');
form.append('file', new Blob([lines]), 'batch.jsonl');
const file = (await (await fetch(`${base}/v1/files`, { method: 'POST', body: form })).json()) as {
  id: string;
};
const batch = (await (
  await fetch(`${base}/v1/batches`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    }),
  })
).json()) as { id: string };
const progress = async () =>
  (
    (await (await fetch(`${base}/v1/batches/${batch.id}`)).json()) as {
      request_counts: { completed: number };
    }
  ).request_counts.completed;
await new Promise((r) => setTimeout(r, 500));
const before = await progress();
const t0 = performance.now();
const busy = await interactive();
const batchRate = ((await progress()) - before) / ((performance.now() - t0) / 1000);

console.log(`interactive chat requests, 8 at a time, mock upstream 20 ms; jobs.concurrency 4`);
console.log(
  `  no job running:    p50 ${pct(idle, 0.5)} ms, p99 ${pct(idle, 0.99)} ms (${idle.length} requests)`,
);
console.log(
  `  during a batch:    p50 ${pct(busy, 0.5)} ms, p99 ${pct(busy, 0.99)} ms (${busy.length} requests)`,
);
console.log(
  `  the batch meanwhile: ${batchRate.toFixed(0)} requests/s (at most 4 in flight: 4 / 20 ms = 200/s)`,
);
await server.close();
rmSync(dir, { recursive: true, force: true });
