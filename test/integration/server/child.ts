/** `switchyard serve` as a real child process (the CLI entry, from the sources), for signals and process-level limits. */

import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { CLI_NODE_ARGS, ROOT } from '../../support/cli-process.js';

export interface ServeProcess {
  readonly proc: ChildProcess;
  readonly pid: number;
  readonly url: string;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** pino's JSON lines on stdout, parsed. */
  logLines(): Record<string, unknown>[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resident and peak memory from /proc, in bytes. */
  memory(): { rss: number; peak: number };
  /** Ends the process if it still runs (SIGKILL after 10 s of SIGTERM). */
  stop(): Promise<void>;
}

export async function startServe(
  args: string[],
  timeoutMs = 30_000,
  /** Added to this process's environment. */
  env: Readonly<Record<string, string>> = {},
): Promise<ServeProcess> {
  const proc = spawn(process.execPath, [...CLI_NODE_ARGS, 'serve', '--port', '0', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', ...env },
  });
  const pid = proc.pid;
  if (pid === undefined) throw new Error('serve did not start');
  let output = '';
  proc.stdout?.on('data', (d: Buffer) => {
    output += d.toString('utf8');
  });
  proc.stderr?.on('data', (d: Buffer) => {
    output += d.toString('utf8');
  });
  let running = true;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => {
      running = false;
      resolve({ code, signal });
    });
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not listen in time:\n${output}`)), timeoutMs);
    const check = (): void => {
      const m = /listening on (http:\/\/\S+)/.exec(output);
      if (m !== null) {
        clearTimeout(timer);
        proc.stdout?.off('data', check);
        resolve(m[1]);
      }
    };
    proc.stdout?.on('data', check);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`serve exited before listening:\n${output}`));
    });
  });
  const status = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return Number(m?.[1] ?? Number.NaN) * 1024;
  };
  return {
    proc,
    pid,
    url,
    output: () => output,
    logLines: () =>
      output
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    exited,
    memory: () => ({ rss: status('VmRSS'), peak: status('VmHWM') }),
    async stop() {
      if (!running) return;
      process.kill(pid, 'SIGTERM');
      const timer = setTimeout(() => {
        if (running) process.kill(pid, 'SIGKILL');
      }, 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
