/**
 * Batch throughput and memory: a `BENCH_LINES`-request batch (default 50,000; each body about
 * 300 bytes) worked through by the server's job runner (store, journal, finalization) on the
 * mock provider with no latency, at `BENCH_CONCURRENCY` (default 16). Prints requests per second
 * for the run and for finalizing (output file from the journal), the peak RSS before and after,
 * and the sizes on disk. Shows that memory does not grow with the batch (input streamed, one bit
 * per request).
 *
 * `BENCH_STORE=redis` keeps the jobs in a throwaway redis-server (the Redis job store: chunked
 * upload, a stream per journal, Lua-fenced appends) instead of a directory.
 *
 * Run: `node --expose-gc --import tsx bench/batch.ts` (the live heap is sampled only with
 * --expose-gc). Prints numbers; asserts nothing.
 */
import { createReadStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine, jobs, parsePolicy } from '../engine/index.js';
import { type RedisServer, startRedis } from '../test/support/redis.js';

const LINES = Number(process.env.BENCH_LINES ?? 50_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const STORE = process.env.BENCH_STORE === 'redis' ? 'redis' : 'disk';
const dir = mkdtempSync(join(tmpdir(), 'sy-bench-batch-'));

const loaded = parsePolicy([
  {
    file: 'bench.yaml',
    text: `switchyard: v1
policy: { name: bench-batch, version: "1" }
providers:
  demo: { kind: mock }
models:
  fast: { provider: demo, model: fast-1, price: { input: 1, output: 2 } }
routes:
  - name: chat
    targets: [fast]
`,
  },
]);
if (!loaded.ok) throw new Error(loaded.diagnostics.map((d) => d.message).join('\n'));

const inputPath = join(dir, 'input.jsonl');
const filler = 'lorem ipsum dolor sit amet '.repeat(8);
const lines: string[] = [];
for (let i = 0; i < LINES; i++) {
  lines.push(
    JSON.stringify({
      custom_id: `request-${i}`,
      method: 'POST',
      url: '/v1/chat/completions',
      body: { model: 'gpt-x', messages: [{ role: 'user', content: `${i} ${filler}` }] },
    }),
  );
}
writeFileSync(inputPath, `${lines.join('\n')}\n`);
lines.length = 0;

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
global.gc?.();
const rssBefore = process.memoryUsage().rss;

let redis: RedisServer | null = null;
if (STORE === 'redis') {
  redis = await startRedis();
  if (redis === null) throw new Error('BENCH_STORE=redis needs redis-server installed');
}
const store =
  redis === null
    ? await jobs.JobStore.open(join(dir, 'jobs'))
    : await jobs.RedisJobStore.open({ url: redis.url });
const engine = createEngine(loaded.policy);
const runner = new jobs.JobRunner({ store, engine: () => engine, concurrency: CONCURRENCY });
await runner.start();
const uploadStarted = performance.now();
const file = await store.saveUpload(
  createReadStream(inputPath),
  { filename: 'input.jsonl', purpose: 'batch', owner: null, createdAt: 0, expiresAt: null },
  1024 ** 3,
);
const uploadMs = performance.now() - uploadStarted;
const started = performance.now();
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
const job = created.value;
let peakRss = 0;
let finalizingAt = 0;
/** Live heap after a full collection (with --expose-gc), at each tenth of the batch. */
const heapAt: string[] = [];
let nextSample = LINES / 10;
for (;;) {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  if (global.gc !== undefined && job.completed >= nextSample) {
    global.gc();
    heapAt.push(mb(process.memoryUsage().heapUsed));
    nextSample += LINES / 10;
  }
  if (job.status === 'finalizing' && finalizingAt === 0) finalizingAt = performance.now();
  if (job.status === 'completed' || job.status === 'failed') break;
  await new Promise((r) => setTimeout(r, 20));
}
const ended = performance.now();
await runner.stop(1000);
await engine.close();
const journalSize =
  store instanceof jobs.JobStore
    ? mb(statSync(join(dir, 'jobs', 'jobs', job.id, 'journal.jsonl')).size)
    : 'a stream';
await store.close();
await redis?.stop();

const runMs = (finalizingAt || ended) - started;
console.log(
  `batch of ${LINES} requests, concurrency ${CONCURRENCY}, mock upstream without latency, ${STORE} store`,
);
console.log(`  upload ${mb(file.file.bytes)}: ${(uploadMs / 1000).toFixed(2)} s`);
console.log(`  status ${job.status}: ${job.completed} completed, ${job.failed} failed`);
console.log(
  `  validate + run: ${(runMs / 1000).toFixed(2)} s, ${Math.round(LINES / (runMs / 1000))} requests/s`,
);
console.log(
  `  finalize (output file from the journal): ${((ended - (finalizingAt || ended)) / 1000).toFixed(2)} s`,
);
console.log(
  `  input ${mb(file.file.bytes)}, journal ${journalSize}, output ${mb(store.getFile(job.output_file_id ?? '')?.file.bytes ?? 0)}`,
);
console.log(`  RSS before ${mb(rssBefore)}, peak during the batch ${mb(peakRss)}`);
if (heapAt.length > 0) console.log(`  live heap after GC at each tenth of the batch: ${heapAt.join(', ')}`);
rmSync(dir, { recursive: true, force: true });
