/**
 * Hot reload under load. The gateway (`bin/switchyard.js serve`, its own process) serves a policy
 * of BENCH_ROUTES routes (default 1,000; requests spread over them) in front of a zero-latency
 * upstream, while a closed-loop client in this process keeps BENCH_CONC requests in flight
 * (default 16). First BENCH_SECONDS (default 6) without reloads, then as long with a reload every
 * BENCH_RELOAD_MS (default 1,000): the policy file is rewritten with a new version and
 * `POST /admin/reload` loads it, as a file change would (without the watcher's debounce). Both
 * phases run BENCH_ROUNDS times (default 2), interleaved.
 *
 * It prints, per phase, the latency percentiles of every request and the worst p99 over windows
 * of BENCH_WINDOW_MS (default 250: a reload's pause is short next to a whole phase, and the
 * window shows it), plus the reloads' own duration as the server reports it (parse, validate,
 * compile, swap). The goal: reloads add no p99 spike above 5 ms. Nothing is asserted.
 *
 * Run: `npm run build && npx tsx bench/reload.ts` (BENCH_ROUTES=20 for a policy of everyday size).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { spawnNode, stopChild } from './processes.js';

const ROUTES = Math.max(2, Number(process.env.BENCH_ROUTES ?? 1000));
const CONC = Math.max(1, Number(process.env.BENCH_CONC ?? 16));
const SECONDS = Math.max(1, Number(process.env.BENCH_SECONDS ?? 6));
const RELOAD_MS = Math.max(100, Number(process.env.BENCH_RELOAD_MS ?? 1000));
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 2));
const WINDOW_MS = Math.max(50, Number(process.env.BENCH_WINDOW_MS ?? 250));
const TOKEN = 'bench-reload-token';
const GOAL_SPIKE_MS = 5;

/** A policy of `routes` routes on `model` values (the last one a catch-all), as YAML. */
function policyYaml(upstream: string, routes: number, version: number): string {
  const lines = [
    'switchyard: v1',
    `policy: { name: bench-reload, version: "${version}" }`,
    'providers:',
    `  up: { kind: openai, baseUrl: "${upstream}/v1", apiKey: sk-bench-upstream }`,
    'models:',
    '  fast: { provider: up, model: bench-model }',
    '  strong: { provider: up, model: bench-model-strong }',
    'defaults:',
    '  breaker: { enabled: false }',
    'routes:',
  ];
  for (let i = 0; i < routes - 1; i++) {
    lines.push(`  - name: r${i}`, `    when: { model: model-${i} }`, '    targets: [fast, strong]');
  }
  lines.push('  - name: default', '    targets: [fast]');
  return `${lines.join('\n')}\n`;
}

interface Sample {
  readonly at: number;
  readonly ms: number;
}

function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

interface PhaseStats {
  requests: number;
  errors: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  /** The worst p99 over windows of WINDOW_MS. */
  worstWindowP99: number;
}

function stats(samples: readonly Sample[], errors: number): PhaseStats {
  const sorted = samples.map((s) => s.ms).sort((a, b) => a - b);
  const windows = new Map<number, number[]>();
  for (const s of samples) {
    const w = Math.floor(s.at / WINDOW_MS);
    const list = windows.get(w);
    if (list === undefined) windows.set(w, [s.ms]);
    else list.push(s.ms);
  }
  let worst = 0;
  for (const list of windows.values()) {
    // A window too small to have a p99 of its own says nothing.
    if (list.length < 100) continue;
    list.sort((a, b) => a - b);
    worst = Math.max(worst, percentile(list, 0.99));
  }
  return {
    requests: samples.length,
    errors,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    p999: percentile(sorted, 0.999),
    max: sorted.at(-1) ?? Number.NaN,
    worstWindowP99: worst,
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-reload-'));
  const policyFile = join(dir, 'policy.yaml');
  const upstream = await spawnNode(
    'upstream',
    ['--import', 'tsx', 'bench/gateway-child.ts', 'upstream', '0'],
    /listening (http:\/\/\S+)/,
  );
  let version = 1;
  writeFileSync(policyFile, policyYaml(upstream.origin, ROUTES, version));
  const gateway = await spawnNode(
    'switchyard',
    ['bin/switchyard.js', 'serve', '--policy', policyFile, '--port', '0', '--no-watch'],
    /switchyard listening on (http:\/\/\S+)/,
    { ...process.env, SWITCHYARD_ADMIN_TOKEN: TOKEN },
  );
  const pool = new Pool(gateway.origin, { connections: CONC, pipelining: 1 });
  const admin = new Pool(gateway.origin, { connections: 1 });
  const bodies = Array.from({ length: 64 }, (_, i) =>
    JSON.stringify({
      model: `model-${Math.floor((i * (ROUTES - 1)) / 64)}`,
      messages: [{ role: 'user', content: 'Summarise the plot of Hamlet in two sentences.' }],
    }),
  );
  const headers = { 'content-type': 'application/json' };

  /** One phase: load for SECONDS, reloading every RELOAD_MS when `reload`. */
  const phase = async (
    reload: boolean,
  ): Promise<{ samples: Sample[]; errors: number; reloadsMs: number[] }> => {
    const samples: Sample[] = [];
    const reloadsMs: number[] = [];
    let errors = 0;
    const t0 = performance.now();
    const end = t0 + SECONDS * 1000;
    const worker = async (k: number): Promise<void> => {
      let n = k;
      while (performance.now() < end) {
        const started = performance.now();
        try {
          const res = await pool.request({
            path: '/v1/chat/completions',
            method: 'POST',
            headers,
            body: bodies[n++ % bodies.length],
          });
          await res.body.text();
          if (res.statusCode !== 200) errors++;
        } catch {
          errors++;
        }
        samples.push({ at: started - t0, ms: performance.now() - started });
      }
    };
    const reloader = async (): Promise<void> => {
      while (reload && performance.now() + RELOAD_MS < end) {
        await new Promise((r) => setTimeout(r, RELOAD_MS));
        version++;
        writeFileSync(policyFile, policyYaml(upstream.origin, ROUTES, version));
        const res = await admin.request({
          path: '/admin/reload',
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}` },
        });
        const result = (await res.body.json()) as { ok: boolean; durationMs: number; changed: boolean };
        if (!result.ok || !result.changed) throw new Error(`reload failed: ${JSON.stringify(result)}`);
        reloadsMs.push(result.durationMs);
      }
    };
    await Promise.all([reloader(), ...Array.from({ length: CONC }, (_, k) => worker(k))]);
    return { samples, errors, reloadsMs };
  };

  const loadBefore = loadavg();
  try {
    await phase(false); // warm-up
    const quiet: Sample[][] = [];
    const reloading: Sample[][] = [];
    const reloads: number[] = [];
    let quietErrors = 0;
    let reloadErrors = 0;
    for (let round = 0; round < ROUNDS; round++) {
      for (const reload of round % 2 === 0 ? [false, true] : [true, false]) {
        const r = await phase(reload);
        (reload ? reloading : quiet).push(r.samples);
        if (reload) reloadErrors += r.errors;
        else quietErrors += r.errors;
        reloads.push(...r.reloadsMs);
      }
    }
    const q = stats(quiet.flat(), quietErrors);
    const r = stats(reloading.flat(), reloadErrors);
    const fmt = (n: number): string => n.toFixed(2).padStart(8);
    console.log(
      `\nHot reload under load: ${ROUTES} routes, ${CONC} requests in flight, ${SECONDS} s per phase x ${ROUNDS}, a reload every ${RELOAD_MS} ms (node ${process.version})`,
    );
    console.log(
      `load average before: ${loadBefore.map((l) => l.toFixed(2)).join(' ')}   after: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}\n`,
    );
    console.log(
      `phase          requests  errors    p50 ms    p99 ms  p99.9 ms    max ms  worst ${WINDOW_MS} ms-window p99`,
    );
    for (const [name, s] of [
      ['no reloads', q],
      ['reloading', r],
    ] as const) {
      console.log(
        `${name.padEnd(13)} ${String(s.requests).padStart(9)} ${String(s.errors).padStart(7)}${fmt(s.p50)}  ${fmt(s.p99)}  ${fmt(s.p999)}  ${fmt(s.max)}  ${fmt(s.worstWindowP99)}`,
      );
    }
    reloads.sort((a, b) => a - b);
    console.log(
      `\nreloads: ${reloads.length}, duration as the server reports it (load, validate, compile, swap): median ${percentile(reloads, 0.5).toFixed(1)} ms, max ${(reloads.at(-1) ?? Number.NaN).toFixed(1)} ms`,
    );
    const spike = r.worstWindowP99 - q.worstWindowP99;
    console.log('\nGoal (a benchmark reports, it does not assert):');
    console.log(
      `  ${spike <= GOAL_SPIKE_MS ? 'PASS' : 'FAIL'}  p99 spike of a reload (worst ${WINDOW_MS} ms-window p99, reloading minus quiet) <= ${GOAL_SPIKE_MS} ms: ${spike.toFixed(2)} ms (whole-phase p99 ${q.p99.toFixed(2)} -> ${r.p99.toFixed(2)} ms)`,
    );
  } finally {
    await pool.close();
    await admin.close();
    await stopChild(gateway);
    await stopChild(upstream);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
