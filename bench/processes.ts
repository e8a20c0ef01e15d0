/**
 * The benchmarks' child processes: start a node child and wait for the line announcing its
 * origin, stop it, and read its CPU time and peak RSS from /proc. Only the processes a run started
 * are ever signalled, by their own handles; they are killed if the run dies.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const START_TIMEOUT_MS = 30_000;

export interface Child {
  readonly name: string;
  readonly pid: number;
  readonly origin: string;
  readonly proc: ChildProcess;
  stderrTail: string;
  /** Called with each piece of the child's standard output once it is ready (else drained). */
  onStdout?: (text: string) => void;
}

/** The children this run started and has not stopped. */
export const children: Child[] = [];

/** Starts a node child (cwd: the repository) and waits for the line announcing its origin. */
export function spawnNode(
  name: string,
  args: string[],
  ready: RegExp,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Child> {
  const proc = spawn(process.execPath, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], env });
  if (proc.pid === undefined) throw new Error(`${name}: spawn failed`);
  return new Promise((resolveChild, reject) => {
    let out = '';
    let child: Child | null = null;
    let stderrTail = '';
    const timer = setTimeout(
      () => fail(new Error(`${name}: not listening after ${START_TIMEOUT_MS} ms`)),
      START_TIMEOUT_MS,
    );
    const fail = (err: Error): void => {
      clearTimeout(timer);
      proc.kill('SIGKILL');
      reject(new Error(`${err.message}\n${stderrTail}`));
    };
    proc.stderr?.on('data', (d: Buffer) => {
      stderrTail = (stderrTail + d.toString()).slice(-4000);
      if (child !== null) child.stderrTail = stderrTail;
    });
    proc.stdout?.on('data', (d: Buffer) => {
      // Once ready the stdout (Switchyard's log lines) is drained, or handed to `onStdout`.
      if (child !== null) {
        child.onStdout?.(d.toString());
        return;
      }
      out += d.toString();
      const m = ready.exec(out);
      if (m === null) return;
      clearTimeout(timer);
      child = { name, pid: proc.pid as number, origin: m[1], proc, stderrTail };
      children.push(child);
      resolveChild(child);
    });
    proc.on('exit', (code, signal) => {
      if (child === null) fail(new Error(`${name}: exited early (${code ?? signal})`));
    });
  });
}

export async function stopChild(child: Child): Promise<void> {
  const i = children.indexOf(child);
  if (i >= 0) children.splice(i, 1);
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.proc.once('exit', () => r()));
  child.proc.stdin?.end();
  child.proc.kill('SIGTERM');
  const timer = setTimeout(() => child.proc.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/** Only the processes this run started, by their own handles. */
function killAll(): void {
  for (const c of children) if (c.proc.exitCode === null) c.proc.kill('SIGKILL');
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    killAll();
    process.exit(130);
  });
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of a process, in ms. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime field 15.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

/** Resets VmHWM to the current RSS; false when the kernel refuses. */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

export function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? Number.NaN : Number(m[1]) / 1024;
}

/** Current RSS of a process in MB. */
export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? Number.NaN : Number(m[1]) / 1024;
}
