/**
 * Replay speed: recorded requests per second through `replayRecording` (the full engine on a
 * virtual clock: routing, retries, fallback, breakers, limits and a cache), and peak RSS. The
 * recording (`BENCH_LINES` requests, default 50,000, a quarter of them streamed) is made by the
 * real engine and recorder on the quickstart policy plus a limit and a cache.
 *
 * Run: `npx tsx bench/replay.ts`. Prints numbers; asserts nothing.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine, createRecorder, parsePolicy, replayRecording, VirtualClock } from '../engine/index.js';

const LINES = Number(process.env.BENCH_LINES ?? 50_000);
const dir = mkdtempSync(join(tmpdir(), 'sy-bench-replay-'));

const text = `${readFileSync(new URL('../policies/quickstart.yaml', import.meta.url), 'utf8')}
limits:
  per-route: { key: [route], requests: 600/min }
caches:
  answers: { mode: exact, ttl: 1m }
`.replace(
  '    retry: { attempts: 0 }\n',
  '    retry: { attempts: 0 }\n    limits: [per-route]\n    cache: answers\n',
);
const loaded = parsePolicy([{ file: 'bench.yaml', text }]);
if (!loaded.ok) throw new Error(loaded.diagnostics.map((d) => d.message).join('\n'));

// The recording, made by the engine itself (a synthetic copy-and-shift of a short recording would
// not be a history the breakers, limits and caches could have produced).
const path = join(dir, 'traffic.jsonl');
const recorder = createRecorder({ path, content: 'hash' });
const clock = new VirtualClock({ auto: true, start: Date.UTC(2026, 11, 7, 8) });
const engine = createEngine(loaded.policy, { clock, recorder });
const r0 = performance.now();
for (let i = 0; i < LINES; i++) {
  const stream = i % 4 === 0;
  const res = await engine.handle({
    body: {
      model: i % 7 === 0 ? 'other' : 'gpt-5',
      messages: [{ role: 'user', content: `question ${i % 50}` }],
      stream,
    },
    headers: { 'x-request-id': `r-${i}` },
  });
  if (res.kind === 'stream') {
    for await (const _ of res.events) {
      // drain
    }
    await res.done;
  }
  if (i % 100 === 0) await new Promise((r) => setImmediate(r));
  await clock.advance(100);
}
await recorder.close();
await engine.close();
console.log(`recorded ${LINES} requests in ${((performance.now() - r0) / 1000).toFixed(1)} s`);

let peak = 0;
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
}, 50);
const t0 = performance.now();
const report = await replayRecording(loaded.policy, path);
const seconds = (performance.now() - t0) / 1000;
clearInterval(sampler);
peak = Math.max(peak, process.memoryUsage().rss);
console.log(
  `replay: ${report.total} recorded requests in ${seconds.toFixed(2)} s = ${Math.round(report.total / seconds)} requests/s`,
);
console.log(
  `  ${report.unchanged} unchanged, ${report.changed} changed, ${report.unreplayable} unreplayable`,
);
console.log(`  peak RSS ${(peak / 1024 / 1024).toFixed(0)} MB`);
rmSync(dir, { recursive: true, force: true });
