/**
 * Long streams: BENCH_STREAMS (default 1,000) streamed answers open at once through the gateway,
 * each a slow upstream stream (51 frames, BENCH_CHUNK_MS apart, default 200: about 10 s). It
 * checks that every one ends with `[DONE]`, and prints what the gateway holds per open stream:
 * (RSS and V8 heap in use while every stream is open) minus (the same, idle, after a warm-up),
 * divided by the number of streams. The heap is read every 250 ms; its lowest reading (just after
 * a collection) is the closest to what the open streams really hold, the highest includes garbage. The gateway is `bin/switchyard.js serve`, its own process;
 * its heap is read from its own /metrics (`nodejs_heap_size_used_bytes`).
 *
 * Run: `npm run build && npx tsx bench/streams.ts`. Knobs: BENCH_SY_NODE_ARGS (node flags for the
 * gateway), BENCH_SNAPSHOT=1 (a heap snapshot of the gateway while every stream is open; needs
 * `BENCH_SY_NODE_ARGS=--heapsnapshot-signal=SIGUSR2`).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { cpuMs, rssMb, spawnNode, stopChild } from './processes.js';

const STREAMS = Math.max(1, Number(process.env.BENCH_STREAMS ?? 1000));
const CHUNK_MS = Math.max(10, Number(process.env.BENCH_CHUNK_MS ?? 200));
const FRAMES = 51;

const BODY = JSON.stringify({
  model: 'gpt-bench',
  stream: true,
  messages: [{ role: 'user', content: 'Tell me a long story.' }],
});

function policyYaml(upstream: string): string {
  return `switchyard: v1
policy: { name: bench-streams, version: "1" }
providers:
  up: { kind: openai, baseUrl: "${upstream}/v1", apiKey: sk-bench-upstream, connections: ${Math.max(1024, STREAMS + 16)} }
models:
  main: { provider: up, model: bench-model }
defaults:
  breaker: { enabled: false }
routes:
  - name: chat
    targets: [main]
    retry: { attempts: 0 }
`;
}

/** The gateway's V8 heap in use, from its /metrics. */
async function heapUsedMb(pool: Pool): Promise<number> {
  const res = await pool.request({ path: '/metrics', method: 'GET' });
  const text = await res.body.text();
  const m = /^nodejs_heap_size_used_bytes (\d+(?:\.\d+)?)/m.exec(text);
  return m === null ? Number.NaN : Number(m[1]) / (1024 * 1024);
}

interface StreamResult {
  ok: boolean;
  bytes: number;
  firstByteMs: number;
}

async function openStream(pool: Pool): Promise<StreamResult> {
  const started = performance.now();
  try {
    const res = await pool.request({
      path: '/v1/chat/completions',
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: BODY,
    });
    let bytes = 0;
    let tail = '';
    let firstByteMs = Number.NaN;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      if (bytes === 0) firstByteMs = performance.now() - started;
      bytes += chunk.length;
      tail = (tail + chunk.toString()).slice(-64);
    }
    return { ok: res.statusCode === 200 && tail.endsWith('data: [DONE]\n\n'), bytes, firstByteMs };
  } catch {
    return { ok: false, bytes: 0, firstByteMs: Number.NaN };
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-streams-'));
  const policyFile = join(dir, 'policy.yaml');
  const upstream = await spawnNode(
    'upstream',
    ['--import', 'tsx', 'bench/gateway-child.ts', 'upstream', '0', String(CHUNK_MS)],
    /listening (http:\/\/\S+)/,
  );
  writeFileSync(policyFile, policyYaml(upstream.origin));
  const gateway = await spawnNode(
    'switchyard',
    [
      ...(process.env.BENCH_SY_NODE_ARGS ?? '').split(' ').filter((a) => a !== ''),
      'bin/switchyard.js',
      'serve',
      '--policy',
      policyFile,
      '--port',
      '0',
      '--no-watch',
    ],
    /switchyard listening on (http:\/\/\S+)/,
  );
  const pool = new Pool(gateway.origin, { connections: STREAMS + 1, pipelining: 1, bodyTimeout: 0 });
  const loadBefore = loadavg();
  try {
    // Warm-up: a few streams end to end, so the idle figures include what the first ones build.
    await Promise.all(Array.from({ length: 8 }, () => openStream(pool)));
    await new Promise((r) => setTimeout(r, 500));
    const idleRss = rssMb(gateway.pid);
    const idleHeap = await heapUsedMb(pool);
    const cpuBefore = cpuMs(gateway.pid);

    const t0 = performance.now();
    const all = Array.from({ length: STREAMS }, () => openStream(pool));
    // Sample while every stream is open: from a quarter to three quarters of a stream's life.
    const life = FRAMES * CHUNK_MS;
    let peakRss = 0;
    let peakHeap = 0;
    // The lowest heap reading is the closest to what is live (right after a collection).
    let lowHeap = Number.POSITIVE_INFINITY;
    await new Promise((r) => setTimeout(r, life * 0.25));
    const until = t0 + life * 0.75;
    // BENCH_SNAPSHOT=1 (with BENCH_SY_NODE_ARGS=--heapsnapshot-signal=SIGUSR2): one heap snapshot
    // of the gateway while every stream is open, written in its working directory.
    if (process.env.BENCH_SNAPSHOT === '1') gateway.proc.kill('SIGUSR2');
    while (performance.now() < until) {
      peakRss = Math.max(peakRss, rssMb(gateway.pid));
      const heap = await heapUsedMb(pool);
      peakHeap = Math.max(peakHeap, heap);
      lowHeap = Math.min(lowHeap, heap);
      await new Promise((r) => setTimeout(r, 250));
    }
    const results = await Promise.all(all);
    const wall = performance.now() - t0;
    const cpu = cpuMs(gateway.pid) - cpuBefore;
    const ok = results.filter((r) => r.ok).length;
    const firstBytes = results
      .map((r) => r.firstByteMs)
      .filter(Number.isFinite)
      .sort((a, b) => a - b);
    const perStream = (mb: number): string => `${((mb * 1024 * 1024) / STREAMS / 1024).toFixed(1)} KB`;
    console.log(
      `\nLong streams: ${STREAMS} at once, ${FRAMES} frames ${CHUNK_MS} ms apart (node ${process.version})`,
    );
    console.log(
      `load average before: ${loadBefore.map((l) => l.toFixed(2)).join(' ')}   after: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}\n`,
    );
    console.log(`completed with [DONE]: ${ok} of ${STREAMS} in ${(wall / 1000).toFixed(1)} s`);
    console.log(
      `first byte: p50 ${firstBytes[Math.floor(firstBytes.length / 2)]?.toFixed(1)} ms, max ${firstBytes.at(-1)?.toFixed(1)} ms`,
    );
    console.log(`gateway CPU: ${(cpu / STREAMS).toFixed(2)} ms per stream (${FRAMES} frames)`);
    console.log(
      `gateway RSS: idle ${idleRss.toFixed(1)} MB, all streams open ${peakRss.toFixed(1)} MB -> ${perStream(peakRss - idleRss)} per open stream`,
    );
    console.log(
      `gateway heap in use: idle ${idleHeap.toFixed(1)} MB, all streams open ${lowHeap.toFixed(1)}-${peakHeap.toFixed(1)} MB (lowest and highest reading) -> ${perStream(lowHeap - idleHeap)} per open stream (${perStream(peakHeap - idleHeap)} at the highest)`,
    );
  } finally {
    await pool.close();
    await stopChild(gateway);
    await stopChild(upstream);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
