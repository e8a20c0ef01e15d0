/**
 * The policy lifecycle of a running server: the first load, reloads, rollback and a bounded
 * history, around one `Engine`. Loading, validating and compiling happen here, off the request
 * path; the new snapshot reaches requests through `engine.swap` in one assignment, so a request
 * decides on exactly one version (P13). A failed reload never touches the serving version (P14),
 * and reloading identical content is a no-op that keeps all state (P15).
 *
 * Operations are serialized: no two reloads (or a reload and a rollback) ever run at once. Reload
 * requests that arrive while one runs coalesce into a single reload that runs right after it, so
 * a burst of file events costs at most two loads and the last write always wins.
 */

import type {
  CompiledPolicy,
  Diagnostic,
  Engine,
  FailedPolicy,
  LoadedPolicy,
  PolicyIdentity,
  PolicyLoader,
} from '../engine/index.js';

type EngineModule = typeof import('../engine/serving.js');

/** What `createEngine` accepts besides the policy (clock, random, transport). */
export type EngineOptions = NonNullable<Parameters<EngineModule['createEngine']>[1]>;

/** The two engine entry points the manager uses; injectable so HTTP tests can run on a fake. */
export interface PolicyEngineApi {
  loadPolicy(
    path: string,
    options?: { env?: Record<string, string | undefined> },
  ): Promise<LoadedPolicy | FailedPolicy>;
  createEngine(policy: CompiledPolicy, options?: EngineOptions): Engine;
  /**
   * Reloads (every load after the first) go through this loader when given: parse and validation
   * in a worker thread, the compile in slices, so a reload never stalls the requests in flight.
   * The first load runs on this thread (nothing is serving yet, and no second isolate lingers)
   * unless `firstLoadOffThread` is set.
   */
  createPolicyLoader?: EngineModule['createPolicyLoader'];
}

/** Why a load ran; shown in `/admin/status` and the logs. */
export type ReloadTrigger = 'initial' | 'watch' | 'signal' | 'admin' | 'api';

/** One version that served (or serves) traffic. */
export interface PolicyVersion {
  readonly identity: PolicyIdentity;
  /** ISO 8601. */
  readonly loadedAt: string;
  readonly files: readonly string[];
  /** Warnings reported when it was loaded. */
  readonly warnings: readonly Diagnostic[];
  readonly policy: CompiledPolicy;
}

export interface ReloadResult {
  readonly ok: boolean;
  /** A different version serves after this operation. */
  readonly changed: boolean;
  readonly trigger: ReloadTrigger | 'rollback';
  /** ISO 8601, when the operation finished. */
  readonly at: string;
  readonly durationMs: number;
  /** The version serving after the operation (unchanged on failure); null when none. */
  readonly active: PolicyIdentity | null;
  /** Errors and warnings of the load; empty for a rollback. */
  readonly diagnostics: readonly Diagnostic[];
  /** File → text of the load, for code frames (not part of the admin JSON). */
  readonly sources: ReadonlyMap<string, string>;
  /** A one-line reason when the operation failed for something other than diagnostics. */
  readonly error?: string;
}

/** The subset of a pino logger the manager writes to. */
export interface ManagerLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface PolicyManagerOptions {
  /** A policy file or a directory of fragments. */
  policyPath: string;
  /** Variables for `${NAME}` interpolation; the process environment by default. */
  env?: Record<string, string | undefined>;
  engineOptions?: EngineOptions;
  /** Defaults to the real engine (`engine/index.ts`), imported on first use. */
  api?: PolicyEngineApi;
  /** Versions kept for `/admin/history` and rollback; 10 by default. */
  historySize?: number;
  logger?: ManagerLogger;
  /** Called after every reload or rollback, successful or not (metrics, tests). */
  onResult?: (result: ReloadResult) => void;
  /**
   * Runs after a version compiled and before it serves (first load, reload, rollback): a string
   * is why it cannot serve (the recording file cannot be written), and the load fails with it.
   */
  prepare?: (policy: CompiledPolicy) => Promise<string | null>;
  /**
   * The first load goes through the loader's worker too: this thread then never loads the YAML
   * parser and the validators (see `ServerOptions.firstLoadOffThread`).
   */
  firstLoadOffThread?: boolean;
}

const silentLogger: ManagerLogger = { info() {}, warn() {}, error() {} };

/** `file:line:col code message`, the one-line form used in logs. */
export function diagnosticLine(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.column} ${d.code} ${d.message}`;
}

function describe(identity: PolicyIdentity): string {
  return `${identity.name}@${identity.version} (${identity.hash.slice(0, 12)})`;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function importEngineApi(): Promise<PolicyEngineApi> {
  const mod: Partial<EngineModule> = await import('../engine/serving.js');
  if (typeof mod.loadPolicy !== 'function' || typeof mod.createEngine !== 'function') {
    throw new Error('the engine does not export loadPolicy and createEngine');
  }
  return {
    loadPolicy: mod.loadPolicy,
    createEngine: mod.createEngine,
    ...(typeof mod.createPolicyLoader === 'function' ? { createPolicyLoader: mod.createPolicyLoader } : {}),
  };
}

export class PolicyManager {
  readonly policyPath: string;
  private readonly options: PolicyManagerOptions;
  private readonly logger: ManagerLogger;
  private readonly historySize: number;
  private api: PolicyEngineApi | undefined;
  private loader: PolicyLoader | null = null;
  private engineRef: Engine | null = null;
  /** Oldest first; the last entry is the active version. */
  private versions: PolicyVersion[] = [];
  private last: ReloadResult | null = null;
  private lastFailure: ReloadResult | null = null;
  /** The end of the operation chain; every operation waits for the one before it. */
  private tail: Promise<unknown> = Promise.resolve();
  /** A reload that is queued but has not started yet: later requests join it. */
  private queuedReload: Promise<ReloadResult> | null = null;
  private closed = false;

  constructor(options: PolicyManagerOptions) {
    this.options = options;
    this.policyPath = options.policyPath;
    this.logger = options.logger ?? silentLogger;
    this.historySize = Math.max(1, options.historySize ?? 10);
    this.api = options.api;
  }

  /** The engine serving requests; null until a policy loaded successfully. */
  get engine(): Engine | null {
    return this.engineRef;
  }

  /** A valid policy is loaded and serving. */
  get ready(): boolean {
    return this.engineRef !== null && !this.closed;
  }

  get current(): PolicyVersion | null {
    return this.versions.at(-1) ?? null;
  }

  /** The result of the most recent reload or rollback. */
  get lastResult(): ReloadResult | null {
    return this.last;
  }

  /** The most recent failed operation, kept until a later one succeeds with a change. */
  get lastError(): ReloadResult | null {
    return this.lastFailure;
  }

  /** Versions, newest (active) first. */
  history(): readonly PolicyVersion[] {
    return [...this.versions].reverse();
  }

  /** The first load. A failure leaves the manager not ready; later reloads may still succeed. */
  start(): Promise<ReloadResult> {
    return this.reload('initial');
  }

  /**
   * Loads, validates and compiles the policy path, then swaps it in. Never rejects: failures
   * are results with diagnostics, and the serving version stays as it was.
   */
  reload(trigger: ReloadTrigger = 'api'): Promise<ReloadResult> {
    if (this.queuedReload !== null) return this.queuedReload;
    const queued: Promise<ReloadResult> = this.enqueue(() => {
      if (this.queuedReload === queued) this.queuedReload = null;
      return this.runReload(trigger);
    });
    this.queuedReload = queued;
    return queued;
  }

  /** Goes back to the version before the active one; the active one leaves the history. */
  rollback(): Promise<ReloadResult> {
    return this.enqueue(() => this.runRollback());
  }

  /** Waits for queued operations, then closes the engine. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.tail;
    this.closed = true;
    await this.loader?.close();
    const engine = this.engineRef;
    if (engine !== null) await engine.close();
  }

  private enqueue<T>(op: () => Promise<T>): Promise<T> {
    const run = this.tail.then(op, op);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private finish(result: ReloadResult): ReloadResult {
    this.last = result;
    if (!result.ok) this.lastFailure = result;
    else if (result.changed) this.lastFailure = null;
    try {
      this.options.onResult?.(result);
    } catch (err) {
      this.logger.error({ err: errorMessage(err) }, 'policy result listener failed');
    }
    return result;
  }

  private failure(
    trigger: ReloadResult['trigger'],
    started: number,
    diagnostics: readonly Diagnostic[],
    error?: string,
    sources: ReadonlyMap<string, string> = new Map(),
  ): ReloadResult {
    const active = this.current?.identity ?? null;
    const result: ReloadResult = {
      ok: false,
      changed: false,
      trigger,
      at: new Date().toISOString(),
      durationMs: performance.now() - started,
      active,
      diagnostics,
      sources,
      ...(error === undefined ? {} : { error }),
    };
    const errors = diagnostics.filter((d) => d.severity === 'error').map(diagnosticLine);
    this.logger.warn(
      {
        trigger,
        policyPath: this.policyPath,
        diagnostics: errors,
        ...(error === undefined ? {} : { error }),
        serving: active === null ? null : describe(active),
      },
      active === null
        ? `policy ${trigger === 'rollback' ? 'rollback' : 'load'} failed; no policy is serving`
        : `policy ${trigger === 'rollback' ? 'rollback' : 'reload'} failed; still serving ${describe(active)}`,
    );
    return this.finish(result);
  }

  private async runReload(trigger: ReloadTrigger): Promise<ReloadResult> {
    const started = performance.now();
    if (this.closed) return this.failure(trigger, started, [], 'the server is shutting down');
    let loaded: LoadedPolicy | FailedPolicy;
    try {
      this.api ??= await importEngineApi();
      const api = this.api;
      const loadOptions = this.options.env ? { env: this.options.env } : {};
      const offThread = trigger !== 'initial' || this.options.firstLoadOffThread === true;
      if (offThread && api.createPolicyLoader !== undefined) {
        this.loader ??= api.createPolicyLoader({
          onWorkerError: (err) =>
            this.logger.warn(
              { err: errorMessage(err) },
              'policy load worker failed; loading on the main thread',
            ),
        });
        loaded = await this.loader.load(this.policyPath, loadOptions);
      } else {
        loaded = await api.loadPolicy(this.policyPath, loadOptions);
      }
    } catch (err) {
      this.logger.error({ err: errorMessage(err) }, 'policy loader failed unexpectedly');
      return this.failure(trigger, started, [], `internal error while loading: ${errorMessage(err)}`);
    }
    if (!loaded.ok) return this.failure(trigger, started, loaded.diagnostics, undefined, loaded.sources);

    const unprepared = await this.runPrepare(loaded.policy);
    if (unprepared !== null)
      return this.failure(trigger, started, loaded.diagnostics, unprepared, loaded.sources);

    const identity = loaded.policy.identity;
    let changed: boolean;
    try {
      if (this.engineRef === null) {
        this.engineRef = this.api.createEngine(loaded.policy, this.options.engineOptions);
        changed = true;
      } else {
        changed = this.engineRef.swap(loaded.policy).changed;
      }
    } catch (err) {
      this.logger.error({ err: errorMessage(err) }, 'engine refused the compiled policy');
      return this.failure(
        trigger,
        started,
        loaded.diagnostics,
        `internal error while swapping: ${errorMessage(err)}`,
        loaded.sources,
      );
    }

    if (changed) {
      this.versions.push({
        identity,
        loadedAt: new Date().toISOString(),
        files: loaded.files,
        warnings: loaded.diagnostics,
        policy: loaded.policy,
      });
      if (this.versions.length > this.historySize)
        this.versions.splice(0, this.versions.length - this.historySize);
      this.logger.info(
        { trigger, policy: identity, warnings: loaded.diagnostics.map(diagnosticLine) },
        `policy ${describe(identity)} is serving`,
      );
    }
    return this.finish({
      ok: true,
      changed,
      trigger,
      at: new Date().toISOString(),
      durationMs: performance.now() - started,
      active: identity,
      diagnostics: loaded.diagnostics,
      sources: loaded.sources,
    });
  }

  /** The `prepare` hook's verdict; a hook that throws is a failure too. */
  private async runPrepare(policy: CompiledPolicy): Promise<string | null> {
    if (this.options.prepare === undefined) return null;
    try {
      return await this.options.prepare(policy);
    } catch (err) {
      return `internal error while preparing the version: ${errorMessage(err)}`;
    }
  }

  private async runRollback(): Promise<ReloadResult> {
    const started = performance.now();
    const engine = this.engineRef;
    const previous = this.versions.at(-2);
    if (engine === null || previous === undefined || this.closed) {
      return this.failure('rollback', started, [], 'there is no previous version to roll back to');
    }
    const unprepared = await this.runPrepare(previous.policy);
    if (unprepared !== null) return this.failure('rollback', started, [], unprepared);
    try {
      engine.swap(previous.policy);
    } catch (err) {
      return this.failure('rollback', started, [], `internal error while swapping: ${errorMessage(err)}`);
    }
    this.versions.pop();
    this.logger.info(
      { policy: previous.identity },
      `rolled back; policy ${describe(previous.identity)} is serving`,
    );
    return this.finish({
      ok: true,
      changed: true,
      trigger: 'rollback',
      at: new Date().toISOString(),
      durationMs: performance.now() - started,
      active: previous.identity,
      diagnostics: [],
      sources: new Map(),
    });
  }
}
