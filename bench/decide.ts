/**
 * Decision throughput: indexed `decide` against `decideLinear` on policies of 10, 100 and 1,000
 * routes whose matches are indexable (distinct `model` and `metadata.task` values), with requests
 * spread evenly over the table (plus a few that fall through to the catch-all). Half of the routes
 * are `weighted` (plan built per request), half `fallback` (precomputed decision).
 *
 * Latency percentiles are per decision, measured over batches of {@link BATCH} decisions (a
 * single `decide` is shorter than the timer's own resolution and overhead).
 *
 * Then the reload path on the 1,000-route policy: `compilePolicy` plus `engine.swap` (the goal),
 * and the whole reload a file change triggers (YAML parse, validation, compile, swap), each the
 * median of {@link RELOAD_RUNS} runs on a fresh copy of the policy (so no cache makes a run free).
 * The goals are printed as PASS/FAIL; nothing is asserted.
 *
 * Run: `npm run bench:decide` (optionally `BENCH_MS=2000`).
 */
import { loadavg } from 'node:os';
import { stringify } from 'yaml';
import { type CompiledPolicy, compilePolicy } from '../engine/compile/compile.js';
import { parsePolicy } from '../engine/compile/load-policy.js';
import { createContext } from '../engine/context.js';
import { decide, decideLinear } from '../engine/decide.js';
import type { Policy, Route } from '../engine/policy/types.generated.js';
import { createEngine } from '../engine/runtime/engine.js';
import type { Decision, RequestContext } from '../engine/types.js';

const DURATION_MS = Number(process.env.BENCH_MS ?? 1000);
const WARMUP_MS = Math.min(500, DURATION_MS / 2);
const BATCH = 32;
const SIZES = [10, 100, 1000];
const RELOAD_RUNS = 15;

/** Goals from the issue (1,000 routes). */
const GOALS = { decisionsPerSec: 1_000_000, speedUp: 10, compileSwapMs: 50 } as const;

function makePolicy(routes: number): Policy {
  const table: Route[] = [];
  for (let i = 0; i < routes - 1; i++) {
    const when = i % 2 === 0 ? { model: `model-${i}` } : { 'metadata.task': `task-${i}`, stream: false };
    table.push(
      i % 4 < 2
        ? { name: `r${i}`, when, targets: ['fast', 'strong'] }
        : {
            name: `r${i}`,
            when,
            strategy: 'weighted',
            targets: [
              { model: 'fast', weight: 80 },
              { model: 'strong', weight: 20 },
            ],
          },
    );
  }
  table.push({ name: 'default', targets: ['fast'] });
  return {
    switchyard: 'v1',
    policy: { name: `bench-${routes}`, version: '1' },
    providers: { demo: { kind: 'mock' } },
    models: {
      fast: { provider: 'demo', model: 'fast-1' },
      strong: { provider: 'demo', model: 'strong-1', timeout: { firstToken: '20s' } },
    },
    routes: table as Policy['routes'],
  };
}

function makeContexts(policy: CompiledPolicy, routes: number, count: number): RequestContext[] {
  const out: RequestContext[] = [];
  let seed = 1;
  for (let k = 0; k < count; k++) {
    // Spread over the table; every 16th request misses every keyed route.
    const i = Math.floor(((k * 7919) % count) * ((routes - 1) / count));
    const body: Record<string, unknown> =
      k % 16 === 15
        ? { model: 'unknown-model', messages: [{ role: 'user', content: 'hello' }] }
        : i % 2 === 0
          ? { model: `model-${i}`, messages: [{ role: 'user', content: 'hello there' }] }
          : { model: 'gpt-x', metadata: { task: `task-${i}` }, messages: [{ role: 'user', content: 'hi' }] };
    const r = createContext(policy, { body, headers: {} }, () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    });
    if (!r.ok) throw new Error(r.message);
    out.push(r.context);
  }
  return out;
}

interface Result {
  perSec: number;
  p50: number;
  p99: number;
}

function measure(
  fn: (p: CompiledPolicy, c: RequestContext) => Decision,
  p: CompiledPolicy,
  ctxs: RequestContext[],
) {
  let sink = 0;
  const run = (ms: number, samples: number[] | null): number => {
    const end = performance.now() + ms;
    let n = 0;
    let k = 0;
    while (performance.now() < end) {
      const t0 = process.hrtime.bigint();
      for (let b = 0; b < BATCH; b++) {
        const d = fn(p, ctxs[k]);
        sink += d.kind === 'route' ? d.routeIndex : 1;
        k = k + 1 === ctxs.length ? 0 : k + 1;
      }
      const t1 = process.hrtime.bigint();
      if (samples !== null) samples.push(Number(t1 - t0) / BATCH);
      n += BATCH;
    }
    return n;
  };
  run(WARMUP_MS, null);
  const samples: number[] = [];
  const start = performance.now();
  const n = run(DURATION_MS, samples);
  const elapsed = (performance.now() - start) / 1000;
  samples.sort((a, b) => a - b);
  const q = (f: number) => samples[Math.min(samples.length - 1, Math.floor(f * samples.length))];
  if (sink === -1) console.log(sink);
  return { perSec: n / elapsed, p50: q(0.5), p99: q(0.99) } satisfies Result;
}

function fmtRate(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : `${(n / 1e3).toFixed(0)}k`;
}

function fmtNs(ns: number): string {
  return ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(0)} ns`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/**
 * The reload path on a 1,000-route policy, ms: compile + swap, and parse + validate + compile +
 * swap from YAML text. Each run changes the policy's version, so the swap is a real one.
 */
function reloadTimes(routes: number): { compileSwapMs: number; fullReloadMs: number } {
  const engine = createEngine(compilePolicy(makePolicy(routes)));
  const compileSwap: number[] = [];
  const full: number[] = [];
  for (let run = 0; run < RELOAD_RUNS + 2; run++) {
    const policy = makePolicy(routes);
    policy.policy.version = `c${run}`;
    let t0 = performance.now();
    if (!engine.swap(compilePolicy(policy)).changed) throw new Error('the swap changed nothing');
    const compiled = performance.now() - t0;
    policy.policy.version = `f${run}`;
    const text = stringify(policy);
    t0 = performance.now();
    const loaded = parsePolicy([{ file: 'bench.yaml', text }]);
    if (!loaded.ok) throw new Error(`the bench policy does not load: ${loaded.diagnostics[0]?.message}`);
    if (!engine.swap(loaded.policy).changed) throw new Error('the swap changed nothing');
    const reloaded = performance.now() - t0;
    // The first two runs warm the compiler and the validator up.
    if (run >= 2) {
      compileSwap.push(compiled);
      full.push(reloaded);
    }
  }
  void engine.close();
  return { compileSwapMs: median(compileSwap), fullReloadMs: median(full) };
}

function main(): void {
  const rows: string[][] = [['routes', 'mode', 'decisions/s', 'p50', 'p99', 'speed-up']];
  const checks: string[] = [];
  for (const size of SIZES) {
    const policy = compilePolicy(makePolicy(size));
    const ctxs = makeContexts(policy, size, 4096);
    // Both evaluators must agree before their speeds mean anything.
    for (const c of ctxs) {
      const a = decide(policy, c);
      const b = decideLinear(policy, c);
      if (JSON.stringify(a) !== JSON.stringify(b))
        throw new Error(`indexed and linear disagree at ${size} routes`);
    }
    const indexed = measure(decide, policy, ctxs);
    const linear = measure(decideLinear, policy, ctxs);
    rows.push([String(size), 'indexed', fmtRate(indexed.perSec), fmtNs(indexed.p50), fmtNs(indexed.p99), '']);
    rows.push([
      String(size),
      'linear',
      fmtRate(linear.perSec),
      fmtNs(linear.p50),
      fmtNs(linear.p99),
      `${(indexed.perSec / linear.perSec).toFixed(1)}x`,
    ]);
    if (size === 1000) {
      const speedUp = indexed.perSec / linear.perSec;
      checks.push(
        `  ${indexed.perSec >= GOALS.decisionsPerSec ? 'PASS' : 'FAIL'}  decide on 1,000 routes (>= ${fmtRate(GOALS.decisionsPerSec)}/s): ${fmtRate(indexed.perSec)}/s`,
        `  ${speedUp >= GOALS.speedUp ? 'PASS' : 'FAIL'}  indexed vs linear scan, 1,000 routes (>= ${GOALS.speedUp}x): ${speedUp.toFixed(1)}x`,
      );
    }
  }
  const reload = reloadTimes(1000);
  checks.push(
    `  ${reload.compileSwapMs <= GOALS.compileSwapMs ? 'PASS' : 'FAIL'}  compile + swap of a 1,000-route policy (<= ${GOALS.compileSwapMs} ms): ${reload.compileSwapMs.toFixed(1)} ms (median of ${RELOAD_RUNS})`,
    `  INFO  the whole reload from YAML (parse, validate, compile, swap), 1,000 routes: ${reload.fullReloadMs.toFixed(1)} ms (median of ${RELOAD_RUNS})`,
  );
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows) console.log(r.map((cell, c) => cell.padStart(widths[c])).join('  '));
  console.log(
    `(node ${process.version}; ${DURATION_MS} ms per row after ${WARMUP_MS} ms warm-up; latency per decision over batches of ${BATCH}; load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')})`,
  );
  console.log('\nGoals (a benchmark reports, it does not assert):');
  for (const line of checks) console.log(line);
}

main();
