/**
 * Reads V8 `.cpuprofile` files (from `node --cpu-prof`) and prints where the time went: self time
 * by function (name and source position), by file, and by package (`node_modules/<pkg>`, `node:`
 * internals, this project's own folders), and total time (self and callees) by function, each as a
 * share of the sampled busy time. Several files are
 * merged (e.g. one per process or per run).
 *
 * Why hand-written: the profile is a flat list of nodes with sample counts; aggregating it is a few
 * lines, and the tools that do it (speedscope, 0x, clinic) are interactive or bring a tree of
 * dependencies a benchmark does not need.
 *
 * Run: `npx tsx bench/cpuprofile.ts <file.cpuprofile>... [--top 40] [--skip-ms 3000]` (`--skip-ms`
 * leaves out the first milliseconds of each profile: the process start-up; `--callers NAME` adds
 * the self time of the functions named NAME by their chain of callers, `--depth` of them). With the gateway benchmark:
 * `BENCH_SY_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" BENCH_ONLY='^switchyard$' npm run
 * bench:gateway`, then this script on `/tmp/prof/*.cpuprofile`.
 */
import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

const ROOT = resolve(import.meta.dirname, '..');

/** `node_modules/<pkg>` (scoped too), `node:<internal>`, this project's top folder, or `(vm)`. */
function packageOf(url: string): string {
  if (url === '') return '(native/vm)';
  if (url.startsWith('node:')) return 'node:';
  const path = url.startsWith('file://') ? new URL(url).pathname : url;
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + '/node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const rel = relative(ROOT, path);
  if (rel.startsWith('..')) return path;
  const parts = rel.split('/');
  // dist/engine/runtime/x.js → engine/runtime
  const from = parts[0] === 'dist' ? 1 : 0;
  return parts.slice(from, Math.min(parts.length - 1, from + 2)).join('/') || rel;
}

function shortUrl(url: string): string {
  if (url === '' || url.startsWith('node:')) return url;
  const path = url.startsWith('file://') ? new URL(url).pathname : url;
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) return path.slice(nm + '/node_modules/'.length);
  const rel = relative(ROOT, path);
  return rel.startsWith('..') ? path : rel;
}

/**
 * Self time per node id in µs: from samples and time deltas when present (skipping the first
 * `skipUs` of the profile: the start-up), else hit counts.
 */
function selfTimes(profile: CpuProfile, skipUs: number): Map<number, number> {
  const out = new Map<number, number>();
  const { samples, timeDeltas } = profile;
  if (samples !== undefined && timeDeltas !== undefined && samples.length === timeDeltas.length) {
    // timeDeltas[i] is the time before sample i; the sample's own duration is the next delta.
    let at = 0;
    for (let i = 0; i < samples.length; i++) {
      at += timeDeltas[i];
      if (at < skipUs) continue;
      const dt = i + 1 < timeDeltas.length ? timeDeltas[i + 1] : 0;
      out.set(samples[i], (out.get(samples[i]) ?? 0) + Math.max(0, dt));
    }
    return out;
  }
  const total = profile.endTime - profile.startTime;
  const hits = profile.nodes.reduce((n, node) => n + (node.hitCount ?? 0), 0);
  for (const node of profile.nodes) out.set(node.id, ((node.hitCount ?? 0) * total) / Math.max(1, hits));
  return out;
}

function add(map: Map<string, number>, key: string, us: number): void {
  map.set(key, (map.get(key) ?? 0) + us);
}

function printTop(title: string, map: Map<string, number>, total: number, top: number): void {
  console.log(`\n${title}`);
  const rows = [...map].sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [key, us] of rows) {
    console.log(
      `  ${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${key}`,
    );
  }
}

function main(argv: string[]): number {
  let top = 40;
  let skipMs = 0;
  let callersOf: string | null = null;
  let depth = 4;
  const files: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--top') top = Number(argv[++i]);
    else if (argv[i] === '--skip-ms') skipMs = Number(argv[++i]);
    else if (argv[i] === '--callers') callersOf = argv[++i];
    else if (argv[i] === '--depth') depth = Number(argv[++i]);
    else files.push(argv[i]);
  }
  if (files.length === 0) {
    console.error('usage: cpuprofile.ts <file.cpuprofile>... [--top N] [--skip-ms MS]');
    return 2;
  }
  const byFunction = new Map<string, number>();
  const inclusive = new Map<string, number>();
  /** With --callers NAME: the time of NAME by its chain of callers (--depth, 4 by default). */
  const callers = new Map<string, number>();
  const byFile = new Map<string, number>();
  const byPackage = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const file of files) {
    const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    const self = selfTimes(profile, skipMs * 1000);
    const parent = new Map<number, ProfileNode>();
    for (const node of profile.nodes) for (const c of node.children ?? []) parent.set(c, node);
    const keyOf = (node: ProfileNode): string => {
      const { functionName, url, lineNumber } = node.callFrame;
      const name = functionName === '' ? '(anonymous)' : functionName;
      return url === '' ? name : `${name} ${shortUrl(url)}:${lineNumber + 1}`;
    };
    for (const node of profile.nodes) {
      const us = self.get(node.id) ?? 0;
      if (us === 0 || node.callFrame.functionName === '(idle)') continue;
      if (callersOf !== null && node.callFrame.functionName === callersOf) {
        const chain: string[] = [];
        for (let n = parent.get(node.id); n !== undefined && chain.length < depth; n = parent.get(n.id))
          chain.push(keyOf(n));
        add(callers, chain.join(' < '), us);
      }
      // Each function once per stack (recursion counts once).
      const seen = new Set<string>();
      for (let n: ProfileNode | undefined = node; n !== undefined; n = parent.get(n.id)) {
        const key = keyOf(n);
        if (seen.has(key)) continue;
        seen.add(key);
        add(inclusive, key, us);
      }
    }
    for (const node of profile.nodes) {
      const us = self.get(node.id) ?? 0;
      if (us === 0) continue;
      const { functionName, url, lineNumber } = node.callFrame;
      if (functionName === '(idle)') {
        idle += us;
        continue;
      }
      total += us;
      const name = functionName === '' ? '(anonymous)' : functionName;
      const where = url === '' ? '' : ` ${shortUrl(url)}:${lineNumber + 1}`;
      add(byFunction, `${name}${where}`, us);
      add(byFile, url === '' ? name : shortUrl(url), us);
      add(byPackage, packageOf(url), us);
    }
  }
  console.log(
    `${files.length} profile(s): ${(total / 1000).toFixed(0)} ms busy, ${(idle / 1000).toFixed(0)} ms idle`,
  );
  printTop('self time by package / folder', byPackage, total, top);
  printTop('self time by file', byFile, total, top);
  printTop('self time by function', byFunction, total, top);
  printTop('total time (self and callees) by function', inclusive, total, top);
  if (callersOf !== null) printTop(`callers of ${callersOf}`, callers, total, top);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
