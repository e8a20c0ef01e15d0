/**
 * The gateway started the way the README starts it: through npm (`npm run dev` here, the same
 * command line as `npm start` on the sources instead of dist/; test/unit/packaging.test.ts keeps
 * the two scripts alike). npm runs a script through `sh -c`; the script `exec`s node, so the server
 * is npm's own child and gets the signals npm forwards. Checked: the start line names the URL and
 * the policy; SIGTERM to npm alone (a process manager, `kill <pid>`) and Ctrl-C (SIGINT to the
 * whole process group, as a terminal sends it) both leave no process of the group behind.
 * Linux: the process group is read from /proc.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT } from '../../support/cli-process.js';

interface Started {
  readonly npm: ChildProcess;
  readonly url: string;
  /** The server process (from its log lines). */
  readonly serverPid: number;
  output(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const groups: number[] = [];

/** The pids whose process group is `pgid`. */
function processesInGroup(pgid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // Fields after the parenthesised command: state, ppid, pgrp, ...
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid) out.push(Number(name));
    } catch {
      // The process ended while the list was read.
    }
  }
  return out;
}

async function emptied(pgid: number, ms: number): Promise<number[]> {
  const until = Date.now() + ms;
  let left = processesInGroup(pgid);
  while (left.length > 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
    left = processesInGroup(pgid);
  }
  return left;
}

async function npmRunDev(): Promise<Started> {
  // detached: npm leads a new process group, as a shell's job would; everything it starts joins it.
  const npm = spawn('npm', ['run', 'dev', '--', '--port', '0', '--no-watch'], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  const pid = npm.pid;
  if (pid === undefined) throw new Error('npm did not start');
  groups.push(pid);
  let output = '';
  npm.stdout?.on('data', (d: Buffer) => {
    output += d.toString('utf8');
  });
  npm.stderr?.on('data', (d: Buffer) => {
    output += d.toString('utf8');
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    npm.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const until = Date.now() + 45_000;
  const listening = /switchyard listening on (http:\/\/\S+)/;
  const logged = /"pid":(\d+)/;
  // The start line and the first JSON log line (which carries the pid) are separate writes: on a
  // loaded machine one can arrive well before the other.
  let url = listening.exec(output);
  let pidLine = logged.exec(output);
  while (url === null || pidLine === null) {
    if (npm.exitCode !== null || Date.now() > until)
      throw new Error(`npm run dev did not listen:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
    url = listening.exec(output);
    pidLine = logged.exec(output);
  }
  const serverPid = Number(pidLine[1]);
  return { npm, url: url[1], serverPid, output: () => output, exited };
}

afterEach(() => {
  // Only the groups this file started, and only if a test failed to empty them.
  for (const pgid of groups.splice(0)) {
    if (processesInGroup(pgid).length > 0) process.kill(-pgid, 'SIGKILL');
  }
});

describe.skipIf(process.platform !== 'linux')('npm run dev (the npm start command line)', () => {
  it('says where it listens, and SIGTERM to npm alone stops the server: nothing is orphaned', async () => {
    const s = await npmRunDev();
    expect(s.output()).toMatch(
      /switchyard listening on http:\/\/127\.0\.0\.1:\d+ \(policy quickstart [^,]+, hash [0-9a-f]{12}\)/,
    );
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
    // The server is npm's own child (the script's shell exec'd it), not a grandchild behind sh.
    const stat = readFileSync(`/proc/${s.serverPid}/stat`, 'utf8');
    expect(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])).toBe(s.npm.pid);

    process.kill(s.npm.pid as number, 'SIGTERM');
    await s.exited;
    expect(await emptied(s.npm.pid as number, 15_000)).toEqual([]);
    expect(s.output()).toContain('shutting down: draining in-flight requests');
    await expect(fetch(`${s.url}/healthz`)).rejects.toThrow();
  }, 90_000);

  it('Ctrl-C (SIGINT to the process group) drains once and leaves nothing behind', async () => {
    const s = await npmRunDev();
    process.kill(-(s.npm.pid as number), 'SIGINT');
    await s.exited;
    expect(await emptied(s.npm.pid as number, 15_000)).toEqual([]);
    expect(s.output()).toContain('shutting down: draining in-flight requests');
    // npm forwards its own copy of the SIGINT: the server counts it as the same signal.
    expect(s.output()).not.toContain('second signal');
  }, 90_000);
});
