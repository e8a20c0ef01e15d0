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
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
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
 * @example
 * const loader = createPolicyLoader();
 * const loaded = await loader.load('policies/production');
 * if (loaded.ok) engine.swap(loaded.policy);
 */
export function createPolicyLoader(options: PolicyLoaderOptions = {}): PolicyLoader {
  const idleMs = options.idleMs ?? 5_000;
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
    worker ??= start();
    const id = nextId++;
    const request: LoadRequest = { id, path, env };
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
