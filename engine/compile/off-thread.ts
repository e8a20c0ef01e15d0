/**
 * Loading a policy next to live traffic without stalling it. Reading, parsing (YAML) and
 * validating (the JSON Schema and the semantic checks) run in a worker thread; what comes back is
 * plain data (`CheckedPolicy`: the validated document, diagnostics, sources, the content hash).
 * The compile, whose result holds closures and so cannot cross threads, runs here in slices
 * (`compilePolicyInSlices`) that give the event loop a turn every couple of milliseconds.
 *
 * The worker starts on the first load and stops after `idleMs` without one (a burst of reloads
 * shares it; an idle gateway does not keep a second isolate). If the worker cannot start or dies,
 * the load runs on this thread instead, with the same result; `onWorkerError` says why.
 *
 * The first load can run in a child process instead (`firstLoadIn: 'process'`, which
 * `switchyard serve` sets for its process): a thread that has stopped leaves memory behind.
 * glibc gives each thread a malloc arena of its own and does not return an arena's pages while
 * any allocation in it lives; node keeps, for the whole process, the code cache of every built-in
 * module a thread compiled (about 130 entries, 0.7 MB, made by the worker during its start-up), so
 * the worker's arena stayed at ~2.6 MB for good. A child process returns everything when it
 * exits. docs/footprint.md has the numbers.
 */
import { type ChildProcess, type ForkOptions, fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { LoadOptions } from '../policy/load.js';
import {
  type CheckedPolicy,
  compileCheckedInSlices,
  type FailedPolicy,
  loadPolicy,
  type PolicyResult,
} from './load-policy.js';
import type { LoadAnswer, LoadRequest } from './load-worker.js';

export interface PolicyLoaderOptions {
  /** How long the worker stays after a load for the next one; 5 s by default. */
  readonly idleMs?: number;
  /** Longest the compile holds the thread before it yields; 2 ms by default. */
  readonly sliceMs?: number;
  /** The worker failed (could not start, crashed); that load ran on the calling thread. */
  readonly onWorkerError?: (err: Error) => void;
  /**
   * Where the first load runs: `worker` (the loader's worker thread, as every later load), or
   * `process`: a child node process (`process.execPath`) that exits once it has answered. For a
   * program that owns its process; a child that fails is reported to `onWorkerError` and the
   * load runs on the calling thread. By default, what {@link setFirstLoadIn} set (`worker`).
   */
  readonly firstLoadIn?: FirstLoadIn;
}

export type FirstLoadIn = 'worker' | 'process';

let processFirstLoadIn: FirstLoadIn = 'worker';

/**
 * `firstLoadIn` for every loader made afterwards without one. `switchyard serve` sets `process`
 * before its server starts (the server makes its loader itself); a library leaves it alone.
 */
export function setFirstLoadIn(where: FirstLoadIn): void {
  processFirstLoadIn = where;
}

export interface PolicyLoader {
  /** `loadPolicy`, with the parse and validation off this thread and the compile in slices. */
  load(path: string, options?: LoadOptions): Promise<PolicyResult>;
  /** Stops the worker; later loads start a new one. */
  close(): Promise<void>;
}

type Pending = {
  resolve: (result: CheckedPolicy | FailedPolicy) => void;
  reject: (err: Error) => void;
};

/**
 * Starts the worker on its module, beside this one. From the TypeScript sources (tests, `tsx`),
 * a worker does not inherit the TypeScript loader, so a two-line bootstrap registers tsx's loader
 * in the worker first, then imports the `.ts` module.
 */
function startWorker(): Worker {
  if (!import.meta.url.endsWith('.ts')) {
    return new Worker(new URL('./load-worker.js', import.meta.url));
  }
  // tsx's ESM API (`tsx/esm/api`, its `import` export), found from its package.json.
  const pkg = createRequire(import.meta.url).resolve('tsx/package.json');
  const tsx = pathToFileURL(join(dirname(pkg), 'dist/esm/api/index.mjs')).href;
  const entry = new URL('./load-worker.ts', import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { eval: true });
}

/**
 * Starts the first-load child on load-child.ts, beside this module, with no node flags of ours:
 * a profiler, an inspector or a heap-snapshot signal meant for the gateway stays with the gateway.
 * From the TypeScript sources, tsx's loader is its one flag.
 */
function startChild(): ChildProcess {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const options: ForkOptions = {
    serialization: 'advanced',
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    env,
  };
  if (!import.meta.url.endsWith('.ts')) {
    return fork(fileURLToPath(new URL('./load-child.js', import.meta.url)), [], { ...options, execArgv: [] });
  }
  const pkg = createRequire(import.meta.url).resolve('tsx/package.json');
  const tsx = pathToFileURL(join(dirname(pkg), 'dist/loader.mjs')).href;
  const entry = fileURLToPath(new URL('./load-child.ts', import.meta.url));
  return fork(entry, [], { ...options, execArgv: ['--import', tsx] });
}

/** How long the first-load child may take to exit after its answer before it is killed. */
const CHILD_EXIT_WAIT_MS = 5_000;

/** One load in a child process: its answer, or a rejection if it could not give one. */
function checkInChild(
  request: LoadRequest,
  started: (child: ChildProcess) => void,
): Promise<CheckedPolicy | FailedPolicy> {
  return new Promise((resolve, reject) => {
    const child = startChild();
    started(child);
    let answer: LoadAnswer | null = null;
    child.once('message', (message: LoadAnswer) => {
      answer = message;
      // It exits once the channel closes; one that lingers is ended, so the load never hangs.
      setTimeout(() => child.kill('SIGKILL'), CHILD_EXIT_WAIT_MS).unref();
    });
    child.once('error', (err) => {
      if (answer === null) reject(err);
    });
    // Settled when the child has exited and been reaped, not at its answer: a gateway that went
    // on to listen while the child was still exiting could die of a Ctrl-C sent right after its
    // listening line (the default action, no drain: seen in 2 of 12 starts under load).
    child.once('exit', (code, signal) => {
      if (answer === null)
        reject(new Error(`the policy load process exited (${signal ?? `code ${code}`}) without an answer`));
      else if ('error' in answer) reject(new Error(answer.error));
      else resolve(answer.result);
    });
    child.send(request, (err) => {
      if (err !== null && answer === null) reject(err);
    });
  });
}

/**
 * @example
 * const loader = createPolicyLoader();
 * const loaded = await loader.load('policies/production');
 * if (loaded.ok) engine.swap(loaded.policy);
 */
export function createPolicyLoader(options: PolicyLoaderOptions = {}): PolicyLoader {
  const idleMs = options.idleMs ?? 5_000;
  const firstLoadIn = options.firstLoadIn ?? processFirstLoadIn;
  let child: ChildProcess | null = null;
  let worker: Worker | null = null;
  let nextId = 1;
  const pending = new Map<number, Pending>();
  let idleTimer: NodeJS.Timeout | null = null;

  const fail = (w: Worker, err: Error): void => {
    if (worker !== w) return;
    worker = null;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
    void w.terminate();
  };

  const start = (): Worker => {
    const w = startWorker();
    // A lingering worker never keeps the process alive.
    w.unref();
    w.on('message', (answer: LoadAnswer) => {
      const p = pending.get(answer.id);
      if (p === undefined) return;
      pending.delete(answer.id);
      if ('error' in answer) p.reject(new Error(answer.error));
      else p.resolve(answer.result);
      if (pending.size === 0) armIdle();
    });
    w.on('error', (err) => fail(w, err));
    w.on('exit', (code) => fail(w, new Error(`the policy load worker exited (code ${code})`)));
    return w;
  };

  const armIdle = (): void => {
    if (idleTimer !== null) clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      idleTimer = null;
      if (pending.size > 0 || worker === null) return;
      const w = worker;
      worker = null;
      void w.terminate();
    }, idleMs);
    idleTimer.unref();
  };

  const check = (path: string, env: LoadRequest['env']): Promise<CheckedPolicy | FailedPolicy> => {
    if (idleTimer !== null) {
      clearTimeout(idleTimer);
      idleTimer = null;
    }
    const id = nextId++;
    const request: LoadRequest = { id, path, env };
    if (id === 1 && firstLoadIn === 'process') {
      return checkInChild(request, (c) => {
        child = c;
      }).finally(() => {
        child = null;
      });
    }
    worker ??= start();
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker?.postMessage(request);
    });
  };

  return {
    async load(path, loadOptions = {}) {
      // The environment as it is now, copied: the worker's own copy dates from its start.
      const env = { ...(loadOptions.env ?? process.env) };
      let checked: CheckedPolicy | FailedPolicy;
      try {
        checked = await check(path, env);
      } catch (err) {
        options.onWorkerError?.(err instanceof Error ? err : new Error(String(err)));
        return loadPolicy(path, { env });
      }
      // The document came through structured clone: a private copy, no need to clone it again.
      return compileCheckedInSlices(checked, true, options.sliceMs);
    },
    async close() {
      if (idleTimer !== null) clearTimeout(idleTimer);
      idleTimer = null;
      child?.kill();
      child = null;
      const w = worker;
      worker = null;
      if (w !== null) {
        for (const p of pending.values()) p.reject(new Error('the policy loader was closed'));
        pending.clear();
        await w.terminate();
      }
    },
  };
}
