/**
 * Gateway overhead: Switchyard against a direct call and a bare `node:http` forwarding proxy, on
 * a local OpenAI-compatible mock upstream (0 ms and 20 ms model latency).
 *
 * Every process under test runs as its own child on 127.0.0.1 (a free port each): the upstream,
 * the bare proxy (bench/gateway-child.ts) and Switchyard (`bin/switchyard.js serve`, default
 * `info` logging, stdout drained here). Each cell (scenario × connections) is one bounded `wrk`
 * run after a warm-up; cells run interleaved (for each connection count, every scenario in turn).
 * Per cell it reports req/s, p50/p99 (wrk), the p50 added over the direct call, the CPU of the
 * process under test in ms per request (utime + stime from /proc/<pid>/stat) and its peak RSS
 * during the cell (VmHWM from /proc/<pid>/status, reset through clear_refs before the cell).
 *
 * Scenarios: `direct` (upstream), `proxy` (bare proxy), `switchyard` (one route, one target),
 * `switchyard-warn` (the same at `--log-level warn`: what the per-request log line costs),
 * `fallback` (first target answers 503 at once, the second answers), plus streaming variants
 * (`*-stream`, an answer of 51 SSE frames) at 0 ms. The goals are printed as ratios with PASS/FAIL; nothing is asserted.
 *
 * Run: `npm run bench:gateway`. Knobs: BENCH_SECONDS (5), BENCH_WARMUP (1), BENCH_ROUNDS (1; the
 * median run by req/s is shown), BENCH_LATENCIES ("0,20"), BENCH_CONNS ("1,50"), BENCH_ONLY (a
 * regex over scenario names), BENCH_STREAM (1; 0 skips streaming), BENCH_OUT (write the raw
 * results as JSON), BENCH_SY_NODE_ARGS (extra node flags for the Switchyard child, e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof`), BENCH_COMPARE (another checkout's root: adds
 * `switchyard-before`, `fallback-before` and `switchyard-stream-before`, served by that tree's
 * `bin/switchyard.js` and interleaved with the others: before/after numbers under one load).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Child, children, cpuMs, peakRssMb, resetPeakRss, spawnNode, stopChild } from './processes.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SECONDS = Math.max(1, Math.round(Number(process.env.BENCH_SECONDS ?? 5)));
const WARMUP_SECONDS = Math.max(1, Math.round(Number(process.env.BENCH_WARMUP ?? 1)));
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 1));
const LATENCIES = (process.env.BENCH_LATENCIES ?? '0,20').split(',').map(Number);
const CONNS = (process.env.BENCH_CONNS ?? '1,50').split(',').map(Number);
const ONLY = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : null;
const STREAM = process.env.BENCH_STREAM !== '0';
const COMPARE_ROOT = process.env.BENCH_COMPARE ? resolve(process.env.BENCH_COMPARE) : null;
const SY_NODE_ARGS = (process.env.BENCH_SY_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');

/** Goals from the issue, as ratios of one run. */
const GOALS = {
  throughputVsProxy: 0.7,
  addedP50OverProxyMs: 0.1,
  cpuMsPerRequest: 0.08,
  peakRssMb: 100,
  fallbackCostFactor: 2,
} as const;

const PROMPT = 'Summarise the plot of Hamlet in two sentences, for a reader who has never seen it.';
const JSON_BODY = JSON.stringify({
  model: 'gpt-bench',
  messages: [
    { role: 'system', content: 'You are a concise assistant.' },
    { role: 'user', content: PROMPT },
  ],
  temperature: 0.2,
});
const STREAM_BODY = JSON.stringify({ ...JSON.parse(JSON_BODY), stream: true });

// ---- load generator ----------------------------------------------------------------------------

interface WrkResult {
  requests: number;
  durationUs: number;
  p50Us: number;
  p99Us: number;
  non2xx: number;
  socketErrors: number;
}

function wrkScript(body: string): string {
  const lua = body.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
  return `wrk.method = "POST"
wrk.body = '${lua}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench-client"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRKJSON {\\"requests\\":%d,\\"durationUs\\":%d,\\"p50Us\\":%d,\\"p99Us\\":%d,\\"non2xx\\":%d,\\"socketErrors\\":%d}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
`;
}

function runWrk(url: string, conns: number, seconds: number, script: string): Promise<WrkResult> {
  return new Promise((resolveRun, reject) => {
    const proc = spawn('wrk', ['-t1', `-c${conns}`, `-d${seconds}s`, '--timeout', '10s', '-s', script, url], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    proc.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const timer = setTimeout(() => proc.kill('SIGKILL'), (seconds + 20) * 1000);
    proc.on('exit', () => {
      clearTimeout(timer);
      const m = /WRKJSON (\{.*\})/.exec(out);
      if (m === null) reject(new Error(`wrk failed:\n${out}`));
      else resolveRun(JSON.parse(m[1]) as WrkResult);
    });
  });
}

// ---- scenarios -------------------------------------------------------------------------------

type ScenarioName =
  | 'direct'
  | 'proxy'
  | 'switchyard'
  | 'switchyard-warn'
  | 'fallback'
  | 'switchyard-before'
  | 'fallback-before'
  | 'direct-stream'
  | 'proxy-stream'
  | 'switchyard-stream'
  | 'switchyard-stream-before';

interface Scenario {
  readonly name: ScenarioName;
  readonly latencyMs: number;
  /** The process whose CPU and memory the cell reports. */
  readonly process: Child;
  readonly url: string;
  readonly stream: boolean;
  /** The scenario whose p50 is the "direct" baseline of this one. */
  readonly baseline: ScenarioName;
}

interface Cell {
  scenario: ScenarioName;
  latencyMs: number;
  conns: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  cpuMsPerReq: number;
  peakRssMb: number;
  errors: number;
  requests: number;
}

function policyYaml(upstream: string, fallback: boolean): string {
  return `switchyard: v1
policy: { name: bench-${fallback ? 'fallback' : 'single'}, version: "1" }
providers:
  up: { kind: openai, baseUrl: "${upstream}/v1", apiKey: sk-bench-upstream }
models:
  main: { provider: up, model: bench-model }
  down: { provider: up, model: unavailable }
defaults:
  breaker: { enabled: false }
routes:
  - name: chat
    targets: [${fallback ? 'down, main' : 'main'}]
    retry: { attempts: 0 }
`;
}

async function startSwitchyard(
  name: string,
  policyFile: string,
  level: string,
  root: string = ROOT,
): Promise<Child> {
  return spawnNode(
    name,
    [
      ...SY_NODE_ARGS,
      join(root, 'bin/switchyard.js'),
      'serve',
      '--policy',
      policyFile,
      '--port',
      '0',
      '--no-watch',
      '--log-level',
      level,
    ],
    /switchyard listening on (http:\/\/\S+)/,
  );
}

async function checkOnce(s: Scenario, body: string): Promise<void> {
  const res = await fetch(s.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench-client' },
    body,
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${s.name}: ${res.status} ${text.slice(0, 300)}`);
  if (s.name.startsWith('fallback') && res.headers.get('x-switchyard-attempts') !== '2') {
    throw new Error(`fallback: expected 2 attempts, got ${res.headers.get('x-switchyard-attempts')}`);
  }
}

async function runCell(s: Scenario, conns: number, scripts: { json: string; stream: string }): Promise<Cell> {
  const script = s.stream ? scripts.stream : scripts.json;
  await runWrk(s.url, conns, WARMUP_SECONDS, script);
  const pid = s.process.pid;
  resetPeakRss(pid);
  const cpuBefore = cpuMs(pid);
  const r = await runWrk(s.url, conns, SECONDS, script);
  const cpu = cpuMs(pid) - cpuBefore;
  return {
    scenario: s.name,
    latencyMs: s.latencyMs,
    conns,
    reqPerSec: r.requests / (r.durationUs / 1e6),
    p50Ms: r.p50Us / 1000,
    p99Ms: r.p99Us / 1000,
    cpuMsPerReq: r.requests > 0 ? cpu / r.requests : Number.NaN,
    peakRssMb: peakRssMb(pid),
    errors: r.non2xx + r.socketErrors,
    requests: r.requests,
  };
}

/** One latency group: its processes, then every cell, interleaved. */
async function runGroup(
  latencyMs: number,
  dir: string,
  scripts: { json: string; stream: string },
): Promise<Cell[]> {
  const upstream = await spawnNode(
    `upstream-${latencyMs}`,
    ['--import', 'tsx', 'bench/gateway-child.ts', 'upstream', String(latencyMs)],
    /listening (http:\/\/\S+)/,
  );
  const proxy = await spawnNode(
    `proxy-${latencyMs}`,
    ['--import', 'tsx', 'bench/gateway-child.ts', 'proxy', upstream.origin],
    /listening (http:\/\/\S+)/,
  );
  const singleFile = join(dir, `single-${latencyMs}.yaml`);
  const fallbackFile = join(dir, `fallback-${latencyMs}.yaml`);
  writeFileSync(singleFile, policyYaml(upstream.origin, false));
  writeFileSync(fallbackFile, policyYaml(upstream.origin, true));
  const single = await startSwitchyard(`switchyard-${latencyMs}`, singleFile, 'info');
  const warn = await startSwitchyard(`switchyard-warn-${latencyMs}`, singleFile, 'warn');
  const fallback = await startSwitchyard(`fallback-${latencyMs}`, fallbackFile, 'info');
  const before =
    COMPARE_ROOT === null
      ? null
      : {
          single: await startSwitchyard(`before-${latencyMs}`, singleFile, 'info', COMPARE_ROOT),
          fallback: await startSwitchyard(`before-fallback-${latencyMs}`, fallbackFile, 'info', COMPARE_ROOT),
        };

  const path = '/v1/chat/completions';
  /** A scenario against `process`; the direct upstream of the same kind (JSON or stream) is its baseline. */
  const scenario = (name: ScenarioName, process: Child, stream = false): Scenario => ({
    name,
    process,
    url: process.origin + path,
    stream,
    baseline: stream ? 'direct-stream' : 'direct',
    latencyMs,
  });
  const all: Scenario[] = [
    scenario('direct', upstream),
    scenario('proxy', proxy),
    scenario('switchyard', single),
    scenario('switchyard-warn', warn),
    scenario('fallback', fallback),
  ];
  if (before !== null) {
    all.push(scenario('switchyard-before', before.single), scenario('fallback-before', before.fallback));
  }
  if (STREAM && latencyMs === 0) {
    all.push(
      scenario('direct-stream', upstream, true),
      scenario('proxy-stream', proxy, true),
      scenario('switchyard-stream', single, true),
    );
    if (before !== null) all.push(scenario('switchyard-stream-before', before.single, true));
  }
  const scenarios = all.filter((s) => ONLY === null || ONLY.test(s.name) || s.name === s.baseline);
  for (const s of scenarios) await checkOnce(s, s.stream ? STREAM_BODY : JSON_BODY);

  const runs = new Map<string, Cell[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const conns of CONNS) {
      // Alternate the order each round so no scenario always follows the same one.
      const order = round % 2 === 0 ? scenarios : [...scenarios].reverse();
      for (const s of order) {
        const cell = await runCell(s, conns, scripts);
        const key = `${s.name} ${conns}`;
        runs.set(key, [...(runs.get(key) ?? []), cell]);
        process.stderr.write(
          `  ${latencyMs} ms  ${s.name.padEnd(18)} c=${String(conns).padEnd(3)} ${cell.reqPerSec.toFixed(0).padStart(6)} req/s  p50 ${cell.p50Ms.toFixed(3)} ms  cpu ${cell.cpuMsPerReq.toFixed(3)} ms/req\n`,
        );
      }
    }
  }
  for (const c of [single, warn, fallback, before?.single, before?.fallback, proxy, upstream]) {
    if (c !== undefined) await stopChild(c);
  }

  const cells: Cell[] = [];
  for (const list of runs.values()) {
    const sorted = [...list].sort((a, b) => a.reqPerSec - b.reqPerSec);
    const median = sorted[Math.floor((sorted.length - 1) / 2)];
    // CPU per request over every round; peak RSS the highest seen.
    const requests = list.reduce((n, c) => n + c.requests, 0);
    const cpu = list.reduce((n, c) => n + c.cpuMsPerReq * c.requests, 0);
    cells.push({
      ...median,
      cpuMsPerReq: cpu / requests,
      peakRssMb: Math.max(...list.map((c) => c.peakRssMb)),
      errors: list.reduce((n, c) => n + c.errors, 0),
    });
  }
  return cells;
}

// ---- report ------------------------------------------------------------------------------------

function find(cells: Cell[], scenario: ScenarioName, latencyMs: number, conns: number): Cell | undefined {
  return cells.find((c) => c.scenario === scenario && c.latencyMs === latencyMs && c.conns === conns);
}

function baselineOf(name: ScenarioName): ScenarioName {
  return name.includes('-stream') ? 'direct-stream' : 'direct';
}

function printTable(cells: Cell[]): void {
  const head = [
    'scenario',
    'upstream',
    'conns',
    'req/s',
    'p50 ms',
    'p99 ms',
    'added p50',
    'CPU ms/req',
    'peak RSS MB',
    'errors',
  ];
  const rows = cells.map((c) => {
    const base = find(cells, baselineOf(c.scenario), c.latencyMs, c.conns);
    const added = base === undefined || base === c ? '' : (c.p50Ms - base.p50Ms).toFixed(3);
    return [
      c.scenario,
      `${c.latencyMs} ms`,
      String(c.conns),
      c.reqPerSec.toFixed(0),
      c.p50Ms.toFixed(3),
      c.p99Ms.toFixed(3),
      added,
      c.cpuMsPerReq.toFixed(3),
      c.peakRssMb.toFixed(1),
      String(c.errors),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]): string =>
    r.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

interface Check {
  label: string;
  value: string;
  /** null: reported, no goal. */
  pass: boolean | null;
}

function goalChecks(cells: Cell[]): Check[] {
  const checks: Check[] = [];
  const fmt = (n: number, d = 3): string => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
  const hi = Math.max(...CONNS);
  const lo = Math.min(...CONNS);
  for (const lat of LATENCIES) {
    // JSON and SSE alike: throughput and added p50 against the bare proxy of the same kind.
    for (const kind of ['json', 'stream'] as const) {
      const [syName, pxName, dName] =
        kind === 'json'
          ? (['switchyard', 'proxy', 'direct'] as const)
          : (['switchyard-stream', 'proxy-stream', 'direct-stream'] as const);
      const what = kind === 'json' ? 'JSON' : 'SSE (51 frames)';
      const sy = find(cells, syName, lat, hi);
      const px = find(cells, pxName, lat, hi);
      if (sy && px) {
        const ratio = sy.reqPerSec / px.reqPerSec;
        checks.push({
          label: `${what} throughput vs bare proxy, ${hi} conns, ${lat} ms upstream (>= ${GOALS.throughputVsProxy}x)`,
          value: `${fmt(ratio, 2)}x (${sy.reqPerSec.toFixed(0)} / ${px.reqPerSec.toFixed(0)} req/s)`,
          pass: ratio >= GOALS.throughputVsProxy,
        });
      }
      const sy1 = find(cells, syName, lat, lo);
      const px1 = find(cells, pxName, lat, lo);
      const d1 = find(cells, dName, lat, lo);
      if (sy1 && px1 && d1) {
        const diff = sy1.p50Ms - px1.p50Ms;
        checks.push({
          label: `${what} added p50 over the bare proxy's, ${lo} conn, ${lat} ms upstream (<= ${GOALS.addedP50OverProxyMs} ms)`,
          value: `${fmt(diff)} ms (switchyard +${fmt(sy1.p50Ms - d1.p50Ms)}, proxy +${fmt(px1.p50Ms - d1.p50Ms)} over direct)`,
          pass: diff <= GOALS.addedP50OverProxyMs,
        });
      }
      if (sy && px) {
        checks.push({
          label: `${what} gateway CPU per request, ${hi} conns, ${lat} ms upstream${kind === 'json' ? ` (<= ${GOALS.cpuMsPerRequest} ms)` : ''}`,
          value: `${fmt(sy.cpuMsPerReq)} ms (bare proxy ${fmt(px.cpuMsPerReq)} ms)${sy1 ? `; at ${lo} conn ${fmt(sy1.cpuMsPerReq)} ms` : ''}`,
          // The goal is set for JSON; the stream's CPU is reported beside the bare proxy's.
          pass: kind === 'stream' ? null : sy.cpuMsPerReq <= GOALS.cpuMsPerRequest,
        });
      }
    }
    const sy = find(cells, 'switchyard', lat, hi);
    const sy1 = find(cells, 'switchyard', lat, lo);
    const d1 = find(cells, 'direct', lat, lo);
    const fb = find(cells, 'fallback', lat, hi);
    const fb1 = find(cells, 'fallback', lat, lo);
    if (fb && sy) {
      const ratio = fb.cpuMsPerReq / sy.cpuMsPerReq;
      checks.push({
        label: `fallback CPU per request vs single target, ${hi} conns, ${lat} ms (<= ${GOALS.fallbackCostFactor}x)`,
        value: `${fmt(ratio, 2)}x (${fmt(fb.cpuMsPerReq)} / ${fmt(sy.cpuMsPerReq)} ms)`,
        pass: ratio <= GOALS.fallbackCostFactor,
      });
    }
    if (fb1 && sy1 && d1) {
      const fbAdded = fb1.p50Ms - d1.p50Ms;
      const syAdded = sy1.p50Ms - d1.p50Ms;
      checks.push({
        label: `fallback added p50 vs single target, ${lo} conn, ${lat} ms (<= ${GOALS.fallbackCostFactor}x)`,
        value: `${fmt(fbAdded / syAdded, 2)}x (+${fmt(fbAdded)} / +${fmt(syAdded)} ms)`,
        pass: fbAdded <= GOALS.fallbackCostFactor * syAdded,
      });
    }
  }
  const gatewayCells = cells.filter((c) => c.scenario === 'switchyard' || c.scenario === 'fallback');
  if (gatewayCells.length > 0) {
    const peak = Math.max(...gatewayCells.map((c) => c.peakRssMb));
    checks.push({
      label: `Switchyard peak RSS under load, single and fallback (<= ${GOALS.peakRssMb} MB)`,
      value: `${fmt(peak, 1)} MB`,
      pass: peak <= GOALS.peakRssMb,
    });
  }
  return checks;
}

// ---- main --------------------------------------------------------------------------------------

function haveWrk(): boolean {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (err) {
    // wrk prints its version and exits 1; only a missing binary is ENOENT.
    return !(typeof err === 'object' && err !== null && 'code' in err && err.code === 'ENOENT');
  }
}

async function main(): Promise<number> {
  if (!haveWrk()) {
    console.error(
      'bench:gateway needs wrk (Debian: `apt-get install -y wrk`). It drives HTTP/1.1 keep-alive load\n' +
        'from one small C process, so the load generator does not compete with the gateway for CPU.',
    );
    return 1;
  }
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-bench-'));
  const scripts = { json: join(dir, 'json.lua'), stream: join(dir, 'stream.lua') };
  writeFileSync(scripts.json, wrkScript(JSON_BODY));
  writeFileSync(scripts.stream, wrkScript(STREAM_BODY));
  const loadBefore = readFileSync('/proc/loadavg', 'utf8').trim();
  console.error(
    `bench:gateway: ${SECONDS} s per cell after ${WARMUP_SECONDS} s warm-up, ${ROUNDS} round(s); load ${loadBefore}`,
  );
  const cells: Cell[] = [];
  try {
    for (const lat of LATENCIES) cells.push(...(await runGroup(lat, dir, scripts)));
  } finally {
    for (const c of [...children]) await stopChild(c);
    rmSync(dir, { recursive: true, force: true });
  }
  const loadAfter = readFileSync('/proc/loadavg', 'utf8').trim();

  console.log(`\nSwitchyard gateway benchmark (node ${process.version}, wrk -t1, ${SECONDS} s per cell)`);
  console.log(`load average before: ${loadBefore}   after: ${loadAfter}\n`);
  printTable(cells);
  console.log('\nGoals (ratios from this run; a benchmark reports, it does not assert):');
  for (const c of goalChecks(cells)) {
    console.log(`  ${c.pass === null ? 'INFO' : c.pass ? 'PASS' : 'FAIL'}  ${c.label}: ${c.value}`);
  }
  if (process.env.BENCH_OUT) {
    writeFileSync(process.env.BENCH_OUT, `${JSON.stringify({ loadBefore, loadAfter, cells }, null, 2)}\n`);
  }
  return 0;
}

process.exitCode = await main();
