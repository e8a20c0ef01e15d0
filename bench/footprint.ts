/**
 * Memory footprint: what importing each dependency costs, the gateway's RSS idle after start and
 * under load, how the young generation's size trades RSS against GC CPU, and where the idle heap
 * goes. Nothing is asserted: the goals are printed with PASS/FAIL.
 *
 * 1. Imports. Each module is imported alone in a fresh `node --expose-gc` (default heap flags) and
 *    the process's RSS, its private part (RssAnon: what the import allocated, not shared pages of
 *    the node binary) and the V8 heap in use are read after two full GCs, before and after. The
 *    first real JavaScript a process compiles maps ~4 MB of V8's parser and compiler out of the
 *    node binary (RssFile): every row pays it, so compare the private column.
 * 2. Idle. Floors (bare node, a `node:http` server, a Fastify hello world when Fastify is installed) and `switchyard serve`
 *    (the quickstart policy, and one OpenAI-kind route to a local upstream) are started; RSS is
 *    read `FOOTPRINT_SETTLE` ms after they listen. Rows: as shipped (with the heap sizing of
 *    cli/heap-tuning.ts), `untuned` (SWITCHYARD_HEAP_TUNING=off: V8's defaults) and, with
 *    FOOTPRINT_COMPARE=<another checkout, built>, `before` (that tree's bin).
 * 3. Load. The one-route server under `wrk` (FOOTPRINT_CONNS connections, FOOTPRINT_SECONDS after
 *    a 2 s warm-up), once per variant: as shipped, `untuned`, each young-generation size given as
 *    a node flag (`--max-semi-space-size`, which replaces the shipped cap; the old-generation
 *    setting stays), each `--heap-growing-percent`, and `before`. Reported: req/s, CPU ms per
 *    request (utime + stime of the process, all its threads: GC included), peak RSS during the
 *    load (VmHWM, reset before it) and RSS once idle again. Variants run interleaved,
 *    FOOTPRINT_LOAD_ROUNDS times (median req/s and CPU, highest peak).
 * 4. Heap. A heap snapshot of the idle one-route server: heap by kind, per package the
 *    JavaScript source and compiled code (bytecode and function metadata) its scripts hold, and
 *    the scripts whose source V8 keeps as two-byte text (twice the memory); with
 *    FOOTPRINT_COMPARE, the same for `before`.
 *
 * Switchyard runs from dist/ (`bin/switchyard.js`): run `npm run build` first. Needs Debian's
 * `wrk` for the load part. Run: `npm run bench:footprint`. Knobs: FOOTPRINT_ONLY (a regex over
 * `imports`, `idle`, `load`, `heap`), FOOTPRINT_SECONDS (10), FOOTPRINT_CONNS (50),
 * FOOTPRINT_VARIANTS (`|`-separated: `shipped`, `untuned`, `before`, or node flags and
 * NAME=value words for the environment),
 * FOOTPRINT_SETTLE (3000), FOOTPRINT_ROUNDS (3: imports and idle report the median),
 * FOOTPRINT_LOAD_ROUNDS (1), FOOTPRINT_STREAM (0; 1: the load asks for streamed answers, 51 SSE
 * frames each, instead of JSON), FOOTPRINT_COMPARE, FOOTPRINT_NODE_ARGS (extra node flags for every
 * Switchyard process).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const COMPARE_ROOT = process.env.FOOTPRINT_COMPARE ? resolve(process.env.FOOTPRINT_COMPARE) : null;
const ONLY = process.env.FOOTPRINT_ONLY ? new RegExp(process.env.FOOTPRINT_ONLY) : null;
const SECONDS = Math.max(1, Math.round(Number(process.env.FOOTPRINT_SECONDS ?? 10)));
const CONNS = Math.max(1, Math.round(Number(process.env.FOOTPRINT_CONNS ?? 50)));
const LOAD_ROUNDS = Math.max(1, Math.round(Number(process.env.FOOTPRINT_LOAD_ROUNDS ?? 1)));
/** FOOTPRINT_STREAM=1: the load asks for streamed answers (51 SSE frames each) instead of JSON. */
const STREAM = process.env.FOOTPRINT_STREAM === '1';

/** One way of running the gateway: this tree or another, with node flags and environment. */
interface Variant {
  readonly label: string;
  readonly root: string;
  readonly flags: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

const SHIPPED: Variant = { label: 'shipped', root: ROOT, flags: [], env: {} };
const UNTUNED: Variant = { label: 'untuned', root: ROOT, flags: [], env: { SWITCHYARD_HEAP_TUNING: 'off' } };

function variant(spec: string): Variant | null {
  if (spec === 'shipped') return SHIPPED;
  if (spec === 'untuned') return UNTUNED;
  if (spec === 'before')
    return COMPARE_ROOT === null ? null : { label: 'before', root: COMPARE_ROOT, flags: [], env: {} };
  // Words of the form NAME=value go into the environment, the rest are node flags.
  const words = spec.split(' ').filter((f) => f !== '');
  const isEnv = (w: string): boolean => /^[A-Z][A-Z0-9_]*=/.test(w);
  return {
    label: spec,
    root: ROOT,
    flags: words.filter((w) => !isEnv(w)),
    env: Object.fromEntries(
      words.filter(isEnv).map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]),
    ),
  };
}

const VARIANTS: readonly Variant[] = (
  process.env.FOOTPRINT_VARIANTS ??
  [
    'shipped',
    'untuned',
    '--max-semi-space-size=1',
    '--max-semi-space-size=2',
    '--max-semi-space-size=8',
    '--max-semi-space-size=16',
    '--heap-growing-percent=25',
    '--heap-growing-percent=100',
    'before',
  ].join('|')
)
  .split('|')
  .map((v) => variant(v.trim()))
  .filter((v): v is Variant => v !== null);
const SETTLE_MS = Number(process.env.FOOTPRINT_SETTLE ?? 3000);
const ROUNDS = Math.max(1, Math.round(Number(process.env.FOOTPRINT_ROUNDS ?? 3)));
const NODE_ARGS = (process.env.FOOTPRINT_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
const START_TIMEOUT_MS = 30_000;

const GOALS = { idleRssMb: 60, loadRssMb: 100 } as const;

/**
 * Fastify is no dependency any more (the server is on node:http); it is measured, as a floor, only
 * when a checkout still has it installed.
 */
const HAS_FASTIFY = existsSync(join(ROOT, 'node_modules/fastify/package.json'));

/** Modules measured one by one: what the engine and the server import, and the entries. */
const IMPORTS: readonly { label: string; spec: string }[] = [
  ...(HAS_FASTIFY ? [{ label: 'fastify', spec: 'fastify' }] : []),
  { label: 'pino', spec: 'pino' },
  { label: 'prom-client', spec: 'prom-client' },
  { label: 'chokidar', spec: 'chokidar' },
  { label: '@fastify/busboy', spec: '@fastify/busboy' },
  { label: 'ioredis', spec: 'ioredis' },
  { label: 'undici', spec: 'undici' },
  { label: 'ajv (2020)', spec: 'ajv/dist/2020.js' },
  { label: 'yaml', spec: 'yaml' },
  { label: 'zod', spec: 'zod' },
  { label: 'lru-cache', spec: 'lru-cache' },
  { label: 'safe-regex2', spec: 'safe-regex2' },
  { label: 'switchyard (library)', spec: join(ROOT, 'dist/engine/index.js') },
  { label: 'switchyard/server', spec: join(ROOT, 'dist/server/index.js') },
  ...(COMPARE_ROOT === null
    ? []
    : [
        { label: 'switchyard (library), before', spec: join(COMPARE_ROOT, 'dist/engine/index.js') },
        // The tree before had no server entry: its createServer module.
        { label: 'switchyard server, before', spec: join(COMPARE_ROOT, 'dist/server/app.js') },
      ]),
];

// ---- processes ---------------------------------------------------------------------------------

const children = new Set<ChildProcess>();

function killAll(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    killAll();
    process.exit(130);
  });
}

interface Started {
  readonly proc: ChildProcess;
  readonly pid: number;
  readonly origin: string;
  /** The `GCSTAT {...}` lines printed so far (the GC probe of the load part). */
  readonly gcLines: string[];
}

/** Starts `node args` and waits for `ready` on stdout (its first group is the origin). */
function start(args: string[], ready: RegExp, env: Readonly<Record<string, string>> = {}): Promise<Started> {
  const proc = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  return new Promise((resolveStart, reject) => {
    let out = '';
    let err = '';
    let done = false;
    const gcLines: string[] = [];
    const timer = setTimeout(() => fail(`not ready after ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
    const fail = (why: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      proc.kill('SIGKILL');
      reject(new Error(`${args.join(' ')}: ${why}\n${out.slice(-2000)}${err.slice(-2000)}`));
    };
    let partial = '';
    proc.stderr?.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-4000);
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.startsWith('GCSTAT ')) gcLines.push(line.slice(7));
    });
    proc.stdout?.on('data', (d: Buffer) => {
      if (done) return; // once ready, stdout (log lines) is only drained
      out += d.toString();
      const m = ready.exec(out);
      if (m === null) return;
      done = true;
      clearTimeout(timer);
      resolveStart({ proc, pid: proc.pid as number, origin: m[1] ?? '', gcLines });
    });
    proc.once('exit', (code, signal) => fail(`exited early (${code ?? signal})`));
  });
}

async function stop(p: Started): Promise<void> {
  if (p.proc.exitCode !== null || p.proc.signalCode !== null) return;
  const exited = new Promise<void>((r) => p.proc.once('exit', () => r()));
  p.proc.stdin?.end();
  p.proc.kill('SIGTERM');
  const timer = setTimeout(() => p.proc.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

function status(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? Number.NaN : Number(m[1]) / 1024;
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of a process, in ms. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

function table(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]): string =>
    r.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

const mb = (n: number, d = 1): string => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');

// ---- 1. imports --------------------------------------------------------------------------------

/** Runs in the child: prints `IMPORT {json}` with the before/after readings of one import. */
const IMPORT_PROBE = `
import { readFileSync } from 'node:fs';
const read = () => {
  globalThis.gc(); globalThis.gc();
  const s = readFileSync('/proc/self/status', 'utf8');
  const kb = (f) => Number(new RegExp('^' + f + ':\\\\s+(\\\\d+) kB', 'm').exec(s)[1]);
  return { rss: kb('VmRSS') / 1024, anon: kb('RssAnon') / 1024, heap: process.memoryUsage().heapUsed / 1048576 };
};
const before = read();
const t0 = performance.now();
await import(process.argv[1]);
const ms = performance.now() - t0;
const after = read();
console.log('IMPORT ' + JSON.stringify({ rss: after.rss - before.rss, anon: after.anon - before.anon, heap: after.heap - before.heap, ms }));
`;

interface ImportCost {
  rss: number;
  anon: number;
  heap: number;
  ms: number;
}

function importCost(spec: string): ImportCost {
  const out = execFileSync(
    process.execPath,
    ['--expose-gc', '--input-type=module', '-e', IMPORT_PROBE, spec],
    { cwd: ROOT, encoding: 'utf8' },
  );
  const m = /IMPORT (\{.*\})/.exec(out);
  if (m === null) throw new Error(`import probe of ${spec} printed nothing:\n${out}`);
  return JSON.parse(m[1]) as ImportCost;
}

function measureImports(): void {
  console.log(
    '\n## Import cost (each alone in a fresh node, after two full GCs; median of',
    ROUNDS,
    'runs)\n',
  );
  const rows: string[][] = [];
  for (const { label, spec } of IMPORTS) {
    if (spec.startsWith('/') && !existsSync(spec)) {
      rows.push([label, 'not built', '', '', '']);
      continue;
    }
    const runs = Array.from({ length: ROUNDS }, () => importCost(spec));
    rows.push([
      label,
      `+${mb(median(runs.map((r) => r.rss)))}`,
      `+${mb(median(runs.map((r) => r.anon)))}`,
      `+${mb(median(runs.map((r) => r.heap)))}`,
      median(runs.map((r) => r.ms)).toFixed(0),
    ]);
  }
  table(['module', 'RSS MB', 'private MB', 'heap MB', 'ms'], rows);
}

// ---- 2. idle -----------------------------------------------------------------------------------

function oneRoutePolicy(upstream: string): string {
  return `switchyard: v1
policy: { name: footprint, version: "1" }
providers:
  up: { kind: openai, baseUrl: "${upstream}/v1", apiKey: sk-footprint-upstream }
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

const LISTENING = /switchyard listening on (http:\/\/\S+)/;

function serveArgs(policy: string, v: Variant = SHIPPED): string[] {
  return [
    ...NODE_ARGS,
    ...v.flags,
    join(v.root, 'bin/switchyard.js'),
    'serve',
    '--policy',
    policy,
    '--port',
    '0',
    '--no-watch',
    '--log-level',
    'info',
  ];
}

const FASTIFY_HELLO = `
const { default: Fastify } = await import('fastify');
const app = Fastify();
app.get('/', async () => ({ ok: true }));
console.log('listening ' + (await app.listen({ port: 0, host: '127.0.0.1' })));
`;
const HTTP_HELLO = `
const { createServer } = await import('node:http');
const s = createServer((q, r) => r.end('ok')).listen(0, '127.0.0.1', () => console.log('listening http://127.0.0.1:' + s.address().port));
`;

async function idleRss(
  args: string[],
  ready: RegExp,
  env: Readonly<Record<string, string>> = {},
): Promise<number> {
  const p = await start(args, ready, env);
  await sleep(SETTLE_MS);
  const rss = status(p.pid, 'VmRSS');
  await stop(p);
  return rss;
}

async function measureIdle(policyFile: string): Promise<number> {
  console.log(`\n## Idle RSS, ${SETTLE_MS} ms after listening (median of ${ROUNDS} starts)\n`);
  const cases: { label: string; args: string[]; ready: RegExp; env?: Readonly<Record<string, string>> }[] = [
    {
      label: 'floor: bare node',
      args: ['-e', 'console.log("listening x"); setInterval(() => {}, 1000)'],
      ready: /listening (x)/,
    },
    {
      label: 'floor: node:http server',
      args: ['--input-type=module', '-e', HTTP_HELLO],
      ready: /listening (\S+)/,
    },
  ];
  if (HAS_FASTIFY) {
    cases.push({
      label: 'floor: Fastify hello world',
      args: ['--input-type=module', '-e', FASTIFY_HELLO],
      ready: /listening (\S+)/,
    });
  }
  const trees = [SHIPPED, UNTUNED, variant('before')].filter((v): v is Variant => v !== null);
  for (const v of trees) {
    cases.push(
      {
        label: `switchyard ${v.label}: quickstart (mock providers)`,
        args: serveArgs('policies/quickstart.yaml', v),
        ready: LISTENING,
        env: v.env,
      },
      {
        label: `switchyard ${v.label}: one OpenAI route`,
        args: serveArgs(policyFile, v),
        ready: LISTENING,
        env: v.env,
      },
    );
  }
  const runs = new Map<string, number[]>(cases.map((c) => [c.label, []]));
  // Rounds interleave the cases, so a burst of load elsewhere on the machine spreads over all.
  for (let i = 0; i < ROUNDS; i++) {
    for (const c of cases) runs.get(c.label)?.push(await idleRss(c.args, c.ready, c.env));
  }
  const rows = cases.map((c) => {
    const r = runs.get(c.label) ?? [];
    return [c.label, mb(median(r)), `${mb(Math.min(...r))}–${mb(Math.max(...r))}`];
  });
  table(['process', 'RSS MB', 'range'], rows);
  return Math.max(
    ...cases
      .filter((c) => c.label.startsWith('switchyard shipped'))
      .map((c) => median(runs.get(c.label) ?? [])),
  );
}

// ---- 3. load -----------------------------------------------------------------------------------

const BODY = JSON.stringify({
  model: 'gpt-bench',
  messages: [
    { role: 'system', content: 'You are a concise assistant.' },
    { role: 'user', content: 'Summarise the plot of Hamlet in two sentences.' },
  ],
  ...(STREAM ? { stream: true } : {}),
});

function wrkScript(dir: string): string {
  const file = join(dir, 'footprint.lua');
  writeFileSync(
    file,
    `wrk.method = "POST"
wrk.body = '${BODY.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'
wrk.headers["Content-Type"] = "application/json"
done = function(summary, latency, requests)
  io.write(string.format("WRKJSON {\\"requests\\":%d,\\"durationUs\\":%d,\\"errors\\":%d}\\n",
    summary.requests, summary.duration, summary.errors.status + summary.errors.connect +
    summary.errors.read + summary.errors.write + summary.errors.timeout))
end
`,
  );
  return file;
}

function wrk(
  url: string,
  seconds: number,
  script: string,
): Promise<{ requests: number; durationUs: number; errors: number }> {
  return new Promise((resolveRun, reject) => {
    const proc = spawn('wrk', ['-t1', `-c${CONNS}`, `-d${seconds}s`, '--timeout', '10s', '-s', script, url], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    proc.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    proc.on('error', reject);
    proc.on('exit', () => {
      const m = /WRKJSON (\{.*\})/.exec(out);
      if (m === null) reject(new Error(`wrk failed:\n${out}`));
      else resolveRun(JSON.parse(m[1]));
    });
  });
}

function haveWrk(): boolean {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (err) {
    return !(typeof err === 'object' && err !== null && 'code' in err && err.code === 'ENOENT');
  }
}

/**
 * Loaded into each gateway of the load part (`--import`): counts garbage collections and sums
 * their pauses (main thread) by kind, and prints the totals on stderr at SIGUSR2.
 */
const GC_PROBE = `
import { constants, PerformanceObserver } from 'node:perf_hooks';
const stat = { minor: 0, minorMs: 0, major: 0, majorMs: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = e.detail?.kind;
    if (kind === constants.NODE_PERFORMANCE_GC_MINOR) { stat.minor++; stat.minorMs += e.duration; }
    else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) { stat.major++; stat.majorMs += e.duration; }
  }
}).observe({ entryTypes: ['gc'] });
process.on('SIGUSR2', () => process.stderr.write('GCSTAT ' + JSON.stringify(stat) + '\\n'));
`;

interface GcStat {
  minor: number;
  minorMs: number;
  major: number;
  majorMs: number;
}

async function gcStat(p: Started): Promise<GcStat> {
  const seen = p.gcLines.length;
  process.kill(p.pid, 'SIGUSR2');
  for (let i = 0; i < 250 && p.gcLines.length === seen; i++) await sleep(20);
  const line = p.gcLines[seen];
  if (line === undefined) throw new Error(`no GC statistics from ${p.pid}`);
  return JSON.parse(line) as GcStat;
}

interface LoadRun {
  reqPerSec: number;
  cpuMsPerReq: number;
  idle: number;
  peak: number;
  end: number;
  after: number;
  errors: number;
  /** Main-thread GC pause per 1,000 requests, ms; scavenges and full collections per 1,000. */
  gcMsPerK: number;
  minorPerK: number;
  majorPerK: number;
}

async function loadOnce(v: Variant, policyFile: string, script: string, probe: string): Promise<LoadRun> {
  const args = serveArgs(policyFile, v);
  const p = await start(
    [...args.slice(0, NODE_ARGS.length), '--import', probe, ...args.slice(NODE_ARGS.length)],
    LISTENING,
    v.env,
  );
  try {
    const url = `${p.origin}/v1/chat/completions`;
    await sleep(SETTLE_MS);
    const idle = status(p.pid, 'VmRSS');
    await wrk(url, 2, script);
    try {
      writeFileSync(`/proc/${p.pid}/clear_refs`, '5'); // VmHWM := current RSS
    } catch {
      // An older kernel: the peak then includes the start-up and the warm-up.
    }
    const gc0 = await gcStat(p);
    const cpu0 = cpuMs(p.pid);
    const r = await wrk(url, SECONDS, script);
    const cpu = cpuMs(p.pid) - cpu0;
    const gc1 = await gcStat(p);
    const peak = status(p.pid, 'VmHWM');
    const end = status(p.pid, 'VmRSS');
    await sleep(SETTLE_MS);
    return {
      reqPerSec: r.requests / (r.durationUs / 1e6),
      cpuMsPerReq: cpu / r.requests,
      idle,
      peak,
      end,
      after: status(p.pid, 'VmRSS'),
      errors: r.errors,
      gcMsPerK: ((gc1.minorMs + gc1.majorMs - gc0.minorMs - gc0.majorMs) * 1000) / r.requests,
      minorPerK: ((gc1.minor - gc0.minor) * 1000) / r.requests,
      majorPerK: ((gc1.major - gc0.major) * 1000) / r.requests,
    };
  } finally {
    await stop(p);
  }
}

async function measureLoad(policyFile: string, dir: string): Promise<number> {
  console.log(
    `\n## Under load: one OpenAI route, ${STREAM ? 'SSE answers (51 frames)' : 'JSON answers'}, wrk ${CONNS} connections, ${SECONDS} s after a 2 s warm-up (${LOAD_ROUNDS} round(s), interleaved)\n`,
  );
  if (!haveWrk()) {
    console.log('skipped: needs wrk (Debian: apt-get install -y wrk)');
    return Number.NaN;
  }
  const script = wrkScript(dir);
  const probe = join(dir, 'gc-probe.mjs');
  writeFileSync(probe, GC_PROBE);
  const runs = new Map<string, LoadRun[]>(VARIANTS.map((v) => [v.label, []]));
  for (let round = 0; round < LOAD_ROUNDS; round++) {
    const order = round % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
    for (const v of order) {
      runs.get(v.label)?.push(await loadOnce(v, policyFile, script, probe));
      process.stderr.write(`  round ${round + 1}: ${v.label} done\n`);
    }
  }
  const rows = VARIANTS.map((v) => {
    const r = runs.get(v.label) ?? [];
    return [
      v.label,
      median(r.map((x) => x.reqPerSec)).toFixed(0),
      median(r.map((x) => x.cpuMsPerReq)).toFixed(3),
      median(r.map((x) => x.gcMsPerK)).toFixed(1),
      `${median(r.map((x) => x.minorPerK)).toFixed(1)} / ${median(r.map((x) => x.majorPerK)).toFixed(2)}`,
      mb(median(r.map((x) => x.idle))),
      mb(Math.max(...r.map((x) => x.peak))),
      mb(median(r.map((x) => x.end))),
      mb(median(r.map((x) => x.after))),
      String(r.reduce((n, x) => n + x.errors, 0)),
    ];
  });
  table(
    [
      'variant',
      'req/s',
      'CPU ms/req',
      'GC pause ms/1k req',
      'GCs/1k req (minor / major)',
      'idle MB',
      'peak MB',
      'end MB',
      `+${SETTLE_MS} ms MB`,
      'errors',
    ],
    rows,
  );
  return Math.max(...(runs.get(SHIPPED.label) ?? []).map((x) => x.peak));
}

// ---- 4. heap -----------------------------------------------------------------------------------

interface Snapshot {
  snapshot: {
    meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** The package a script path belongs to: `fastify`, `@scope/name`, `switchyard`, `node:…`. */
function packageOf(path: string): string {
  const i = path.lastIndexOf('node_modules/');
  if (i >= 0) {
    const parts = path.slice(i + 'node_modules/'.length).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  if (path.startsWith('node:') || !path.includes('/')) return 'node (core)';
  for (const root of COMPARE_ROOT === null ? [ROOT] : [ROOT, COMPARE_ROOT]) {
    if (path.startsWith(root) || path.startsWith(`file://${root}`)) return 'switchyard';
  }
  return 'other';
}

/**
 * Self sizes by node kind, and per package the source strings and code (function metadata,
 * bytecode) reachable from its scripts through code-kind nodes only.
 */
function summariseSnapshot(file: string, label: string): void {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const { node_fields: nf, node_types: nt, edge_fields: ef, edge_types: et } = snap.snapshot.meta;
  const N = nf.length;
  const E = ef.length;
  const types = nt[0];
  const edgeTypes = et[0];
  const iType = nf.indexOf('type');
  const iName = nf.indexOf('name');
  const iSize = nf.indexOf('self_size');
  const iEdges = nf.indexOf('edge_count');
  const eType = ef.indexOf('type');
  const eName = ef.indexOf('name_or_index');
  const eTo = ef.indexOf('to_node');
  const { nodes, edges, strings } = snap;
  const count = nodes.length / N;
  const firstEdge = new Uint32Array(count + 1);
  for (let n = 0, e = 0; n < count; n++) {
    firstEdge[n] = e;
    e += nodes[n * N + iEdges] * E;
    firstEdge[n + 1] = e;
  }
  const byKind = new Map<string, number>();
  let total = 0;
  const owner = new Int32Array(count).fill(-1);
  const scripts: { node: number; pkg: string }[] = [];
  for (let n = 0; n < count; n++) {
    const type = types[nodes[n * N + iType]];
    const size = nodes[n * N + iSize];
    total += size;
    byKind.set(type, (byKind.get(type) ?? 0) + size);
    if (type !== 'code') continue;
    const name = strings[nodes[n * N + iName]];
    // A Script: a code node whose edges include `source`.
    for (let e = firstEdge[n]; e < firstEdge[n + 1]; e += E) {
      if (edgeTypes[edges[e + eType]] === 'internal' && strings[edges[e + eName]] === 'source') {
        scripts.push({ node: n, pkg: packageOf(name) });
        break;
      }
    }
  }
  const perPkg = new Map<string, { source: number; code: number }>();
  const twoByte = new Map<string, { scripts: number; bytes: number }>();
  scripts.forEach(({ node, pkg }, index) => {
    const entry = perPkg.get(pkg) ?? { source: 0, code: 0 };
    perPkg.set(pkg, entry);
    const stack = [node];
    owner[node] = index;
    while (stack.length > 0) {
      const n = stack.pop() as number;
      for (let e = firstEdge[n]; e < firstEdge[n + 1]; e += E) {
        const to = edges[e + eTo] / N;
        if (owner[to] !== -1) continue;
        const type = types[nodes[to * N + iType]];
        const edgeName = edgeTypes[edges[e + eType]] === 'internal' ? strings[edges[e + eName]] : '';
        if (n === node && edgeName === 'source' && type === 'string') {
          owner[to] = index;
          entry.source += nodes[to * N + iSize];
          if (isTwoByte(strings[nodes[node * N + iName]], nodes[to * N + iSize])) {
            const t = twoByte.get(pkg) ?? { scripts: 0, bytes: 0 };
            twoByte.set(pkg, { scripts: t.scripts + 1, bytes: t.bytes + nodes[to * N + iSize] });
          }
        } else if (type === 'code' || (type === 'array' && n !== node)) {
          owner[to] = index;
          entry.code += nodes[to * N + iSize];
          stack.push(to);
        }
      }
    }
  });
  const f = (bytes: number): string => (bytes / 1048576).toFixed(2);
  console.log(
    `\n## Idle heap of the one-route server, ${label} (heap snapshot, ${f(total)} MB of live objects)\n`,
  );
  table(
    ['kind', 'MB'],
    [...byKind].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, f(v)]),
  );
  console.log('');
  table(
    ['package (scripts loaded)', 'source MB', 'code MB', 'total MB'],
    [...perPkg]
      .sort((a, b) => b[1].source + b[1].code - (a[1].source + a[1].code))
      .slice(0, 20)
      .map(([pkg, v]) => [pkg, f(v.source), f(v.code), f(v.source + v.code)]),
  );
  console.log('');
  table(
    ['package', 'scripts with a two-byte source', 'their source MB'],
    [...twoByte]
      .sort((a, b) => b[1].bytes - a[1].bytes)
      .map(([pkg, v]) => [pkg, String(v.scripts), f(v.bytes)]),
  );
}

/**
 * Whether V8 holds a script's source as two-byte text: its string takes about twice the file's
 * characters (one non-Latin-1 character anywhere, a comment included, is enough). Scripts whose
 * file cannot be read (node's own, eval) count as one-byte.
 */
function isTwoByte(scriptName: string, sourceBytes: number): boolean {
  let chars: number;
  try {
    const path = scriptName.startsWith('file://') ? fileURLToPath(scriptName) : scriptName;
    if (!path.startsWith('/')) return false;
    chars = readFileSync(path, 'utf8').length;
  } catch {
    return false;
  }
  return sourceBytes > 1.5 * chars + 64;
}

async function measureHeap(policyFile: string): Promise<void> {
  for (const v of [SHIPPED, variant('before')]) if (v !== null) await snapshotHeap(policyFile, v);
}

async function snapshotHeap(policyFile: string, v: Variant): Promise<void> {
  const p = await start(['--heapsnapshot-signal=SIGUSR2', ...serveArgs(policyFile, v)], LISTENING, v.env);
  await sleep(SETTLE_MS);
  process.kill(p.pid, 'SIGUSR2');
  // Node writes Heap.<date>.<pid>.<n>.heapsnapshot into its working directory (ROOT). The process
  // is blocked while it writes, so its answering a request again means the file is complete.
  let snapshot: string | undefined;
  for (let i = 0; i < 600 && snapshot === undefined; i++) {
    await sleep(100);
    snapshot = readdirSync(ROOT).find((n) => n.endsWith('.heapsnapshot') && n.includes(`.${p.pid}.`));
  }
  if (snapshot === undefined) throw new Error('no heap snapshot written');
  await fetch(`${p.origin}/healthz`);
  await stop(p);
  const file = join(ROOT, snapshot);
  try {
    summariseSnapshot(file, v.label);
  } finally {
    rmSync(file, { force: true });
  }
}

// ---- main --------------------------------------------------------------------------------------

async function main(): Promise<number> {
  if (!existsSync(join(ROOT, 'dist/cli/main.js'))) {
    console.error('bench:footprint runs the build: run `npm run build` first.');
    return 1;
  }
  const wanted = (part: string): boolean => ONLY === null || ONLY.test(part);
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-footprint-'));
  const load = readFileSync('/proc/loadavg', 'utf8').trim();
  console.log(`Switchyard footprint (node ${process.version}; load average ${load})`);
  let idleWorst = Number.NaN;
  let loadPeak = Number.NaN;
  try {
    if (wanted('imports')) measureImports();
    if (wanted('idle') || wanted('load') || wanted('heap')) {
      const upstream = await start(
        ['--import', 'tsx', 'bench/gateway-child.ts', 'upstream', '0'],
        /listening (http:\/\/\S+)/,
      );
      const policyFile = join(dir, 'one-route.yaml');
      writeFileSync(policyFile, oneRoutePolicy(upstream.origin));
      try {
        if (wanted('idle')) idleWorst = await measureIdle(policyFile);
        if (wanted('load')) loadPeak = await measureLoad(policyFile, dir);
        if (wanted('heap')) await measureHeap(policyFile);
      } finally {
        await stop(upstream);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log('\nGoals (a benchmark reports, it does not assert):');
  if (Number.isFinite(idleWorst)) {
    console.log(
      `  ${idleWorst <= GOALS.idleRssMb ? 'PASS' : 'FAIL'}  idle RSS after start, as shipped (<= ${GOALS.idleRssMb} MB): ${mb(idleWorst)} MB`,
    );
  }
  if (Number.isFinite(loadPeak)) {
    console.log(
      `  ${loadPeak <= GOALS.loadRssMb ? 'PASS' : 'FAIL'}  peak RSS under load, as shipped (<= ${GOALS.loadRssMb} MB): ${mb(loadPeak)} MB`,
    );
  }
  return 0;
}

process.exitCode = await main();
