/**
 * Replay speed and memory: recorded requests per second through `replayRecording` — the full
 * engine on the virtual clock, with routing, retries, fallback, a circuit breaker, a rate limit and
 * a cache, every upstream answer from the recording — and the peak RSS of a replay of a large
 * file (the goal: 1,000,000 lines under 300 MB, the file streamed, never loaded whole).
 *
 * The recording (`BENCH_LINES` requests, default 50,000, a quarter streamed, ten a second) is
 * made by the real engine and recorder on the quickstart policy plus a limit, a cache and a
 * breaker: a history those could have produced. The large file (`BENCH_BIG_LINES`, default
 * 1,000,000; 0 skips it) repeats it, each copy shifted in time and its request ids renamed.
 *
 * Each replay runs in a child process of its own, plain `node` on the built engine (`dist/`: run
 * `npm run build` first; without it, the sources through tsx, whose loader costs memory), so its
 * peak RSS (`process.resourceUsage().maxRSS`) is the replay's alone. Per run it prints wall-clock
 * requests/s, CPU-seconds (user + system of every thread: what the run cost, whatever else the
 * machine is doing) and requests per CPU-second, the same per CPU-second of the main thread alone
 * (Linux: the JavaScript's own cost, without the garbage collector's helper threads), how the
 * main thread's wall clock divides (Linux: on a core; waiting for one, which is the machine's other
 * work; asleep, waiting for a read or for the collector's helpers), and peak RSS. `BENCH_ROUNDS` (default 3) runs of the small file are interleaved; with `BENCH_COMPARE=<another checkout>` that tree's replay runs the same file
 * in between (before/after numbers under one load). `BENCH_TRAFFIC=<file>` reuses a recording.
 *
 * The goals (issue 11): at least 50,000 recorded requests replayed per second (the median of the
 * rounds, wall clock) and, for the 1,000,000-line file, peak RSS under 300 MB; each is printed
 * PASS or FAIL.
 *
 * Run: `npm run build && npm run bench:replay`. Prints numbers; asserts nothing.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { replayBenchPolicy } from '../scripts/replay-bench-policy.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

interface ChildResult {
  readonly total: number;
  readonly changed: number;
  readonly recorded: number;
  readonly simulated: number;
  readonly seconds: number;
  readonly cpuSeconds: number;
  /** The main thread's CPU time (Linux; null elsewhere). */
  readonly mainCpuSeconds: number | null;
  /**
   * The main thread's time ready to run but waiting for a core (Linux `schedstat`; null
   * elsewhere): what the machine's other work took from the wall clock. The rest of the wall clock
   * beyond its CPU time it slept: waiting for a read, or for the collector's helper threads.
   */
  readonly mainWaitSeconds: number | null;
  readonly maxRssMb: number;
}

// ---------------------------------------------------------------------------------------------
// The child: one replay, measured. Plain JavaScript run by `node -e`, so that no TypeScript loader
// sits in the measured process; it loads the built engine (`dist/`) when there is one.

const CHILD = `
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
const [root, file] = process.argv.slice(1);
const built = join(root, 'dist/engine/index.js');
const engine = await import(pathToFileURL(existsSync(built) ? built : join(root, 'engine/index.ts')).href);
const loaded = engine.parsePolicy([{ file: 'bench.yaml', text: process.env.BENCH_POLICY }]);
if (!loaded.ok) throw new Error('the bench policy does not load');
// The main thread's own CPU time and its time waiting for a core (Linux): what the replay costs
// without the GC's helper threads, and what other work on the machine took from it.
const mainThread = () => {
  try {
    const [cpu, wait] = readFileSync('/proc/self/task/' + process.pid + '/schedstat', 'utf8').split(' ');
    return { cpu: Number(cpu) / 1e9, wait: Number(wait) / 1e9 };
  } catch {
    return null;
  }
};
const main0 = mainThread();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const report = await engine.replayRecording(loaded.policy, file);
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const main1 = mainThread();
process.stdout.write(JSON.stringify({
  total: report.total,
  changed: report.changed,
  recorded: report.recordedAnswers ?? 0,
  simulated: report.simulatedAnswers,
  seconds,
  cpuSeconds: (cpu.user + cpu.system) / 1e6,
  mainCpuSeconds: main0 === null || main1 === null ? null : main1.cpu - main0.cpu,
  mainWaitSeconds: main0 === null || main1 === null ? null : main1.wait - main0.wait,
  maxRssMb: process.resourceUsage().maxRSS / 1024,
}) + '\\n');
`;

// ---------------------------------------------------------------------------------------------
// The parent: recordings, then the runs

const LINES = Number(process.env.BENCH_LINES ?? 50_000);
const BIG_LINES = Number(process.env.BENCH_BIG_LINES ?? 1_000_000);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const COMPARE = process.env.BENCH_COMPARE ? resolve(process.env.BENCH_COMPARE) : null;
const dir = mkdtempSync(join(tmpdir(), 'sy-bench-replay-'));

async function record(path: string): Promise<void> {
  const { createEngine, createRecorder, parsePolicy, VirtualClock } = await import('../engine/index.js');
  const loaded = parsePolicy([{ file: 'bench.yaml', text: replayBenchPolicy(ROOT) }]);
  if (!loaded.ok) throw new Error(loaded.diagnostics.map((d) => d.message).join('\n'));
  const recorder = createRecorder({ path, content: 'hash' });
  const clock = new VirtualClock({ auto: true, start: Date.UTC(2026, 11, 7, 8) });
  const engine = createEngine(loaded.policy, { clock, recorder });
  for (let i = 0; i < LINES; i++) {
    const res = await engine.handle({
      body: {
        model: i % 7 === 0 ? 'other' : 'gpt-5',
        messages: [{ role: 'user', content: `question ${i % 50}` }],
        stream: i % 4 === 0,
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
}

/** `lines` lines: copies of `source`, each shifted past the previous one in time, ids renamed. */
async function tile(source: string, path: string, lines: number): Promise<void> {
  const out = createWriteStream(path);
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for await (const line of createInterface({ input: createReadStream(source) })) {
    const t = Date.parse((JSON.parse(line) as { time: string }).time);
    first = Math.min(first, t);
    last = Math.max(last, t);
  }
  const span = last - first + 60_000;
  let written = 0;
  for (let copy = 0; written < lines; copy++) {
    for await (const text of createInterface({ input: createReadStream(source) })) {
      if (written >= lines) break;
      const line = JSON.parse(text) as { time: string; requestId: string };
      line.time = new Date(Date.parse(line.time) + copy * span).toISOString();
      line.requestId = `${copy}-${line.requestId}`;
      if (!out.write(`${JSON.stringify(line)}\n`))
        await new Promise<void>((r) => out.once('drain', () => r()));
      written++;
    }
  }
  await new Promise<void>((r, j) => out.end((err?: Error | null) => (err ? j(err) : r())));
}

function replayIn(root: string, file: string): ChildResult {
  const built = existsSync(join(root, 'dist/engine/index.js'));
  const out = execFileSync(
    process.execPath,
    [...(built ? [] : ['--import', 'tsx']), '--input-type=module', '-e', CHILD, root, file],
    {
      cwd: root,
      env: { ...process.env, BENCH_POLICY: replayBenchPolicy(root) },
      encoding: 'utf8',
      maxBuffer: 1024 * 1024,
    },
  );
  return JSON.parse(out.trim().split('\n').at(-1) as string) as ChildResult;
}

function show(label: string, r: ChildResult): void {
  console.log(
    `${label.padEnd(10)} ${String(r.total).padStart(9)} requests in ${r.seconds.toFixed(2).padStart(6)} s = ${String(Math.round(r.total / r.seconds)).padStart(6)} req/s` +
      ` | ${r.cpuSeconds.toFixed(2).padStart(6)} CPU-s = ${String(Math.round(r.total / r.cpuSeconds)).padStart(6)} req/CPU-s` +
      (r.mainCpuSeconds === null
        ? ''
        : ` (main thread ${String(Math.round(r.total / r.mainCpuSeconds)).padStart(6)} req/CPU-s)`) +
      (r.mainCpuSeconds === null || r.mainWaitSeconds === null
        ? ''
        : ` | main thread ${r.mainCpuSeconds.toFixed(2)} s on a core, ${r.mainWaitSeconds.toFixed(2)} s waiting for one, ${Math.max(0, r.seconds - r.mainCpuSeconds - r.mainWaitSeconds).toFixed(2)} s asleep`) +
      ` | peak RSS ${r.maxRssMb.toFixed(0).padStart(4)} MB | ${r.changed} changed, ${r.recorded} recorded / ${r.simulated} simulated answers`,
  );
}

try {
  const small = process.env.BENCH_TRAFFIC ?? join(dir, 'traffic.jsonl');
  if (!existsSync(small)) {
    const t0 = performance.now();
    await record(small);
    console.log(`recorded ${LINES} requests in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const rates: number[] = [];
  const cpuRates: number[] = [];
  const mainRates: number[] = [];
  const before: number[] = [];
  const beforeCpu: number[] = [];
  const beforeMain: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const r = replayIn(ROOT, small);
    show('replay', r);
    rates.push(r.total / r.seconds);
    cpuRates.push(r.total / r.cpuSeconds);
    if (r.mainCpuSeconds !== null) mainRates.push(r.total / r.mainCpuSeconds);
    if (COMPARE !== null) {
      const b = replayIn(COMPARE, small);
      show('before', b);
      before.push(b.total / b.seconds);
      beforeCpu.push(b.total / b.cpuSeconds);
      if (b.mainCpuSeconds !== null) beforeMain.push(b.total / b.mainCpuSeconds);
    }
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const main = (xs: number[]): string =>
    xs.length === 0 ? '' : `, ${Math.round(median(xs))} req per main-thread CPU-s`;
  console.log(
    `median of ${ROUNDS}: ${Math.round(median(rates))} req/s, ${Math.round(median(cpuRates))} req/CPU-s${main(mainRates)}` +
      (COMPARE === null
        ? ''
        : ` (before: ${Math.round(median(before))} req/s, ${Math.round(median(beforeCpu))} req/CPU-s${main(beforeMain)})`),
  );
  console.log(`  goal: >= 50,000 req/s: ${median(rates) >= 50_000 ? 'PASS' : 'FAIL'}`);
  if (BIG_LINES > 0) {
    const big = join(dir, 'big.jsonl');
    const t0 = performance.now();
    await tile(small, big, BIG_LINES);
    console.log(`wrote ${BIG_LINES} lines in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const r = replayIn(ROOT, big);
    show(BIG_LINES >= 1e6 ? `${BIG_LINES / 1e6}M lines` : `${BIG_LINES} lines`, r);
    console.log(`  goal: peak RSS < 300 MB: ${r.maxRssMb < 300 ? 'PASS' : 'FAIL'}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
