#!/usr/bin/env node
// Runs `switchyard replay` of two built checkouts on the same cases and compares what they print:
// the `--json` report and the terminal summary (or `--format json` on stdout), byte for byte, and
// the exit code. The replay's own run time is the one thing that may differ, so `elapsedMs` and
// the summary's "; 2.5 s" are masked. For a change that must not change any report (a speed-up).
//
// Run: `node scripts/compare-replay-reports.mjs <before checkout> <after checkout> <recording.jsonl>`
// (both built: `npm run build`). The recording is the one `npm run bench:replay` makes
// (`BENCH_TRAFFIC=<file>` keeps it); the other inputs are made from it in a temporary folder:
//
// - the recording under the bench policy (quickstart with a limit, a cache and a breaker);
// - under a changed policy (tighter limit, shorter TTL, touchier breaker) with `--baseline`;
// - the same with a `--scenario` (outages, latency, 429s), and with `--seed 7` besides;
// - examples/traffic/*.jsonl under the policies that recorded them, and `--format json`;
// - a copy of the recording's first 20,000 lines with malformed lines (torn, not JSON, schema
//   errors, a bad time, blank), lines far out of order (late arrivals), locally shuffled lines,
//   and lines written with other spacing (read the slow way);
// - plain and batch traffic (one with a bad line, one with an unsupported endpoint).
//
// Exits 1 when any case differs (and prints where), 0 when all are identical.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { replayBenchPolicy } from './replay-bench-policy.mjs';

const [beforeArg, afterArg, recordingArg] = process.argv.slice(2);
if (recordingArg === undefined) {
  console.error(
    'usage: node scripts/compare-replay-reports.mjs <before checkout> <after checkout> <recording.jsonl>',
  );
  process.exit(2);
}
const before = resolve(beforeArg);
const after = resolve(afterArg);
const recording = resolve(recordingArg);
const dir = mkdtempSync(join(tmpdir(), 'sy-replay-compare-'));

// ---- the inputs

const bench = replayBenchPolicy(after);
writeFileSync(join(dir, 'bench.yaml'), bench);
writeFileSync(
  join(dir, 'changed.yaml'),
  bench
    .replace('requests: 600/min', 'requests: 300/min')
    .replace('ttl: 1m', 'ttl: 20s')
    .replace('failures: 5, window: 10s, cooldown: 2s', 'failures: 2, window: 10s, cooldown: 5s')
    .replace('version: "2026.11.23-1"', 'version: "2026.11.23-2"'),
);
writeFileSync(
  join(dir, 'scenario.yaml'),
  `description: flaky down for ten minutes, the backup slow, 429s on steady
events:
  - provider: flaky
    from: "+5m"
    for: 10m
    outage: 503
  - model: backup
    from: "08:30"
    to: "08:50"
    latency: 300ms
  - provider: steady
    from: "+40m"
    for: 20m
    rateLimited: 25%
    retryAfter: 2s
  - provider: flaky
    from: "+70m"
    for: 5m
    outage: timeout
`,
);

/** A deterministic PRNG (mulberry32): the same inputs on every run. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

{
  const random = prng(5);
  const lines = readFileSync(recording, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .slice(0, 20_000);
  const out = [];
  lines.forEach((line, i) => {
    out.push(line);
    const edit = (change) => {
      const value = JSON.parse(line);
      change(value);
      return JSON.stringify(value);
    };
    if (i % 997 === 3) out.push('{"v":1,"time":"2026-12-07T08:00:00.000Z"'); // torn
    if (i % 1501 === 7) out.push('not json at all');
    if (i % 2003 === 11) out.push('');
    if (i % 1777 === 5) out.push(edit((v) => (v.extra = 1))); // an unknown key
    if (i % 2500 === 9) out.push(edit((v) => delete v.outcome)); // a required key missing
    if (i % 3001 === 13) out.push(edit((v) => (v.time = '2026-12-07 08:00'))); // no ISO time
    if (i % 2222 === 17)
      out.push(
        edit((v) => {
          v.time = '2026-12-07T07:59:59.123456Z'; // far earlier than its neighbours: late
          v.requestId = `late-${i}`;
        }),
      );
    if (i % 1333 === 1) out.push(JSON.stringify(JSON.parse(line), null, 1).replaceAll('\n', ' ')); // other spacing
  });
  for (let k = 0; k + 8 < out.length; k += 50) {
    const seg = out.slice(k, k + 8);
    for (let i = seg.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [seg[i], seg[j]] = [seg[j], seg[i]];
    }
    out.splice(k, 8, ...seg);
  }
  writeFileSync(join(dir, 'malformed.jsonl'), `${out.join('\n')}\n{"v":1,"time":"2026`);

  const plain = [];
  const batch = [];
  for (let i = 0; i < 3000; i++) {
    const body = {
      model: i % 3 === 0 ? 'other' : 'gpt-5',
      messages: [{ role: 'user', content: `q ${i % 40}` }],
      stream: i % 5 === 0,
    };
    plain.push(JSON.stringify(body));
    const line = { custom_id: `c-${i}`, method: 'POST', url: '/v1/chat/completions', body };
    if (i % 700 === 3) line.url = '/v1/completions';
    if (i % 11 === 0) line.timestamp = 1765094400 + i * 0.05;
    batch.push(JSON.stringify(line));
  }
  plain.splice(100, 0, '{"broken":');
  writeFileSync(join(dir, 'plain.jsonl'), `${plain.join('\n')}\n`);
  writeFileSync(join(dir, 'batch.jsonl'), `${batch.join('\n')}\n`);
}

// ---- the cases

const d = (name) => join(dir, name);
const ex = (name) => join(after, name);
const CASES = [
  ['bench recording, bench policy', ['--policy', d('bench.yaml'), '--traffic', recording]],
  [
    'bench recording, changed policy, --baseline',
    ['--policy', d('changed.yaml'), '--baseline', d('bench.yaml'), '--traffic', recording],
  ],
  [
    'bench recording, --scenario',
    ['--policy', d('bench.yaml'), '--traffic', recording, '--scenario', d('scenario.yaml')],
  ],
  [
    'bench recording, changed policy, --baseline, --scenario, --seed 7',
    [
      '--policy',
      d('changed.yaml'),
      '--baseline',
      d('bench.yaml'),
      '--traffic',
      recording,
      '--scenario',
      d('scenario.yaml'),
      '--seed',
      '7',
    ],
  ],
  [
    'bench recording, changed policy, --seed 7',
    ['--policy', d('changed.yaml'), '--traffic', recording, '--seed', '7'],
  ],
  [
    'examples quickstart',
    ['--policy', ex('policies/quickstart.yaml'), '--traffic', ex('examples/traffic/quickstart.jsonl')],
  ],
  [
    'examples quickstart, --format json',
    [
      '--policy',
      ex('policies/quickstart.yaml'),
      '--traffic',
      ex('examples/traffic/quickstart.jsonl'),
      '--format',
      'json',
    ],
  ],
  [
    'examples shared-gateway',
    [
      '--policy',
      ex('policies/shared-gateway.yaml'),
      '--traffic',
      ex('examples/traffic/shared-gateway.jsonl'),
    ],
  ],
  [
    'examples shared-gateway under quickstart, --baseline',
    [
      '--policy',
      ex('policies/quickstart.yaml'),
      '--baseline',
      ex('policies/shared-gateway.yaml'),
      '--traffic',
      ex('examples/traffic/shared-gateway.jsonl'),
    ],
  ],
  ['malformed, late and shuffled lines', ['--policy', d('bench.yaml'), '--traffic', d('malformed.jsonl')]],
  [
    'malformed lines, changed policy, --baseline',
    ['--policy', d('changed.yaml'), '--baseline', d('bench.yaml'), '--traffic', d('malformed.jsonl')],
  ],
  ['plain traffic', ['--policy', d('bench.yaml'), '--traffic', d('plain.jsonl')]],
  [
    'batch traffic, --rate 50/s',
    ['--policy', d('bench.yaml'), '--traffic', d('batch.jsonl'), '--rate', '50/s'],
  ],
];

const mask = (text) =>
  text.replace(/"elapsedMs": ?\d+/g, '"elapsedMs":0').replace(/; \d+(\.\d+)? (ms|s|min)\b/g, '; <elapsed>');

function run(root, args, tag) {
  const json = join(dir, `${tag}.json`);
  let stdout;
  let code = 0;
  try {
    stdout = execFileSync(
      process.execPath,
      [join(root, 'dist/cli/bin.js'), 'replay', ...args, '--json', json, '-q'],
      {
        encoding: 'utf8',
        maxBuffer: 256 * 1024 * 1024,
        env: { ...process.env, NO_COLOR: '1' },
      },
    );
  } catch (error) {
    stdout = `${error.stdout ?? ''}\n[stderr] ${error.stderr ?? ''}`;
    code = error.status ?? -1;
  }
  let report = '';
  try {
    report = readFileSync(json, 'utf8');
  } catch {
    report = '(no --json file)';
  }
  return { stdout: mask(stdout), report: mask(report), code };
}

function firstDifference(a, b) {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return `at character ${i}: before …${JSON.stringify(a.slice(Math.max(0, i - 80), i + 80))}… after …${JSON.stringify(b.slice(Math.max(0, i - 80), i + 80))}…`;
}

let failed = 0;
try {
  for (const [label, args] of CASES) {
    const t0 = performance.now();
    const a = run(before, args, 'before');
    const t1 = performance.now();
    const b = run(after, args, 'after');
    const t2 = performance.now();
    const same = a.stdout === b.stdout && a.report === b.report && a.code === b.code;
    const summary = JSON.parse(b.report.startsWith('{') ? b.report : '{}');
    console.log(
      `${same ? 'same' : 'DIFF'}  ${label}  (exit ${b.code}; ${summary.total ?? '?'} requests, ${summary.changed ?? '?'} changed, ${summary.malformed?.count ?? '?'} malformed; ${b.report.length} + ${b.stdout.length} bytes; ${((t1 - t0) / 1000).toFixed(1)} s / ${((t2 - t1) / 1000).toFixed(1)} s)`,
    );
    if (!same) {
      failed++;
      if (a.code !== b.code) console.log(`  exit code: before ${a.code}, after ${b.code}`);
      if (a.report !== b.report) console.log(`  --json ${firstDifference(a.report, b.report)}`);
      if (a.stdout !== b.stdout) console.log(`  stdout ${firstDifference(a.stdout, b.stdout)}`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(
  failed === 0 ? `all ${CASES.length} cases identical` : `${failed} of ${CASES.length} cases differ`,
);
process.exit(failed === 0 ? 0 : 1);
