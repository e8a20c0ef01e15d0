/**
 * The job runner: batches and deferred requests, kept in a job store (storage.ts: on disk, or in
 * Redis shared by replicas), worked through in the background under the serving policy, resumed
 * after a restart without redoing what finished.
 *
 * - Every request goes through `engine.handle` as the job's tenant (routes, limits, budgets,
 *   guardrails, recording), with at most `jobs.concurrency` in flight over all jobs of this
 *   runner (slots.ts); deferred requests take a free slot before batch lines. The work of one
 *   job is work.ts; its ending, finalize.ts.
 * - Ownership: a job runs only where its lease is held (`store.acquire`), renewed while it runs
 *   and released when it ends or the runner stops. With a shared store, the runner looks for jobs
 *   whose lease is free (their owner stopped or died) and takes them over; a run that loses its
 *   lease stops starting requests, and what it finishes then is not journaled (work.ts).
 * - Progress is a journal per job (journal.ts); counts are rebuilt from it on start.
 * - `stop(graceMs)` (server shutdown): no request starts any more; those in flight get the grace
 *   period to finish (and be journaled), then are aborted and run again on the next start.
 * - `cancel`: no request starts any more, those in flight finish, then the job is `cancelled`
 *   with its partial results. A job running elsewhere is asked through the store.
 */

import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { Engine } from '../runtime/engine.js';
import { type Clock, systemClock } from '../shared/clock.js';
import {
  type CreateBatchInput,
  type CreateDeferredInput,
  checkBatchInput,
  type JobResult,
  newRecord,
  ok,
  refuse,
} from './create.js';
import { Wakeup } from './execute.js';
import { isJobRecord, type JobRecord, type JobStatus, TERMINAL } from './job.js';
import { journalRecords } from './journal.js';
import type { OutputLine } from './output.js';
import { Slots } from './slots.js';
import { type JobStorage, type Lease, newId, type StoredFile } from './storage.js';
import { type JobPage, JobView } from './view.js';
import { isLoss, type JobLog, loseRun, type Run, runJob, stopRuns, type WorkContext } from './work.js';

export {
  COMPLETION_WINDOWS,
  type CreateBatchInput,
  type CreateDeferredInput,
  type JobRefusal,
  type JobResult,
} from './create.js';
export type { JobPage } from './view.js';
export type { JobLog } from './work.js';

/** Finished jobs and their files are deleted this long after they were created (30 days). */
export const DEFAULT_RETENTION_S = 30 * 24 * 3600;

/** How long a lease lasts unrenewed: a dead replica's jobs are taken over after about this long. */
export const DEFAULT_LEASE_MS = 30_000;

const SWEEP_EVERY_MS = 3600_000;

/** First wait between polls of a native batch. */
const DEFAULT_NATIVE_POLL_MS = 10_000;

const SILENT: JobLog = { info() {}, warn() {}, error() {} };

export interface JobRunnerOptions {
  readonly store: JobStorage;
  /** The serving engine (null while no policy is loaded: jobs wait). */
  readonly engine: () => Engine | null;
  readonly clock?: Clock;
  readonly log?: JobLog;
  /** Overrides the policy's `jobs.concurrency` (tests). */
  readonly concurrency?: number;
  /** Seconds a finished job and its files are kept; 30 days by default. */
  readonly retentionS?: number;
  /** First wait between polls of a provider's native batch (doubling up to a minute); 10 s by default. */
  readonly nativePollMs?: number;
  /** A job's lease, renewed every third of it (a shared store); 30 s by default. */
  readonly leaseMs?: number;
  /** This runner's name in leases (a shared store); random by default. */
  readonly replica?: string;
  /** A job request ended: answered 2xx (`ok`), otherwise (`failed`), or put back to run again. */
  readonly onRequest?: (outcome: 'ok' | 'failed' | 'put_back') => void;
}

interface Owned extends Run {
  renewer: ReturnType<typeof setInterval> | null;
}

export class JobRunner {
  readonly #o: JobRunnerOptions;
  readonly #store: JobStorage;
  readonly #clock: Clock;
  readonly #log: JobLog;
  readonly #leaseMs: number;
  readonly #replica: string;
  readonly #jobs = new JobView();
  readonly #runs = new Map<string, Owned>();
  readonly #ctx: WorkContext;
  #stopping = false;
  readonly #stopped = new AbortController();
  #timers: ReturnType<typeof setInterval>[] = [];
  #unwatch: () => void = () => {};
  /** Serialises saves of one job's state (a status change and a count update may race). */
  readonly #saving = new Map<string, Promise<void>>();

  constructor(options: JobRunnerOptions) {
    this.#o = options;
    this.#store = options.store;
    this.#clock = options.clock ?? systemClock;
    this.#log = options.log ?? SILENT;
    this.#leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.#replica = options.replica ?? `r-${randomBytes(6).toString('hex')}`;
    const slots = new Slots(() => options.concurrency ?? options.engine()?.policy.jobs.concurrency ?? 4);
    this.#ctx = {
      store: this.#store,
      engine: options.engine,
      clock: this.#clock,
      log: this.#log,
      slots,
      nativePollMs: options.nativePollMs ?? DEFAULT_NATIVE_POLL_MS,
      onRequest: options.onRequest,
      stopped: this.#stopped.signal,
      stopping: () => this.#stopping,
      now: () => this.#now(),
      save: (job, lease) => this.#save(job, lease),
    };
  }

  /** Requests of jobs in flight now. */
  get busy(): number {
    return this.#ctx.slots.busy;
  }

  #now(): number {
    return Math.floor(this.#clock.now() / 1000);
  }

  /** Loads the saved jobs and resumes every unfinished one whose lease it takes. */
  async start(): Promise<void> {
    await this.#reloadAll();
    await this.sweep();
    const resumed = await this.#adopt();
    if (resumed > 0) this.#log.info({ jobs: resumed }, 'resuming unfinished jobs');
    const sweep = setInterval(() => void this.sweep(), SWEEP_EVERY_MS);
    this.#timers.push(sweep);
    if (this.#store.shared) {
      // Jobs whose owner stopped or died: their lease expires, and one replica takes them.
      const adopt = setInterval(
        () =>
          void this.#reloadAll()
            .then(() => this.#adopt())
            .catch(() => undefined),
        Math.max(50, Math.floor(this.#leaseMs / 2)),
      );
      this.#timers.push(adopt);
      this.#unwatch = this.#store.watch({ job: (id, cancel) => void this.#onEvent(id, cancel) });
    }
    for (const t of this.#timers) t.unref();
  }

  async #reloadAll(): Promise<void> {
    const started = this.#now();
    const listed = new Set<string>();
    const saved = await this.#store.loadJobs((id, err) => {
      listed.add(id);
      this.#log.error({ job: id, err }, 'job state unreadable; the job is left as it is in the store');
    });
    for (const job of saved) {
      if (!isJobRecord(job)) continue;
      listed.add(job.id);
      if (!this.#runs.has(job.id)) this.#jobs.set(job);
    }
    if (!this.#store.shared) return;
    // A job the shared store no longer has leaves the view: Redis restarted without its data, or
    // its keys were removed. Otherwise this replica would go on answering for a job nobody can
    // download. Jobs running here, and jobs created in the last seconds (their save may have
    // landed after the list was read), stay.
    for (const job of [...this.#jobs.all()]) {
      if (!listed.has(job.id) && !this.#runs.has(job.id) && job.created_at < started - 1)
        this.#jobs.delete(job.id);
    }
  }

  /** Takes and starts the unfinished jobs not running here, oldest first; returns how many. */
  async #adopt(): Promise<number> {
    const waiting = [...this.#jobs.all()]
      .filter((j) => !TERMINAL.has(j.status) && !this.#runs.has(j.id))
      .sort((a, b) => a.created_at - b.created_at);
    let n = 0;
    for (const job of waiting) if (await this.#take(job.id).catch(() => false)) n++;
    return n;
  }

  /** A job changed elsewhere: a cancel reaches its run here; other jobs refresh the view. */
  async #onEvent(id: string, cancel: boolean): Promise<void> {
    const run = this.#runs.get(id);
    if (run !== undefined) {
      // Its own saves echo back: only a cancel asked elsewhere concerns the run.
      if (cancel) await this.#renew(run);
      return;
    }
    const job = await this.#store.loadJob(id).catch(() => undefined);
    if (job === undefined || this.#runs.has(id)) return;
    if (isJobRecord(job)) this.#jobs.set(job);
    else if (job === null) this.#jobs.delete(id);
  }

  /** Takes the job's lease and starts it from its saved state; false when another holds it. */
  async #take(id: string): Promise<boolean> {
    if (this.#stopping || this.#runs.has(id)) return false;
    const lease = await this.#store.acquire(id, this.#replica, this.#leaseMs);
    if (lease === null) return false;
    const saved = this.#store.shared ? await this.#store.loadJob(id) : this.#jobs.peek(id);
    if (this.#stopping || this.#runs.has(id) || !isJobRecord(saved) || TERMINAL.has(saved.status)) {
      if (isJobRecord(saved)) this.#jobs.set(saved);
      if (!this.#runs.has(id)) await this.#store.release(lease);
      return false;
    }
    this.#jobs.set(saved);
    this.#launch(saved, lease);
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // Creating, reading, cancelling

  #maxActive(): number {
    return this.#o.engine()?.policy.jobs.maxActive ?? 1000;
  }

  /** `POST /v1/batches`: checks the request, saves the job, starts it. */
  async createBatch(input: CreateBatchInput, endpoints: readonly string[]): Promise<JobResult<JobRecord>> {
    const checked = await checkBatchInput(
      input,
      endpoints,
      async (id) => this.#store.getFile(id) ?? (this.#store.shared ? this.#store.refreshFile(id) : null),
    );
    if (!checked.ok) return checked;
    const limit = this.#maxActive();
    if (this.#jobs.activeCount() >= limit) return refuse({ kind: 'too_many_jobs', limit });
    const { inputFileId, endpoint, window, metadata } = checked.value;
    const job = newRecord(
      {
        id: newId('batch_'),
        kind: 'batch',
        owner: input.owner,
        endpoint,
        inputFileId,
        window,
        metadata,
        headers: {},
      },
      this.#now(),
    );
    return this.#create(job);
  }

  /** A single deferred request: saved with its body, answered later (`GET /v1/jobs/{id}`). */
  async createDeferred(input: CreateDeferredInput): Promise<JobResult<JobRecord>> {
    const limit = this.#maxActive();
    if (this.#jobs.activeCount() >= limit) return refuse({ kind: 'too_many_jobs', limit });
    const job = newRecord(
      {
        id: newId('job_'),
        kind: 'deferred',
        owner: input.owner,
        endpoint: input.endpoint,
        inputFileId: null,
        window: '24h',
        metadata: null,
        headers: { ...input.headers },
      },
      this.#now(),
    );
    const line = { custom_id: job.id, method: 'POST', url: input.endpoint, body: input.body };
    await this.#store.putJobData(job.id, 'input.jsonl', `${JSON.stringify(line)}\n`);
    return this.#create(job);
  }

  async #create(job: JobRecord): Promise<JobResult<JobRecord>> {
    await this.#store.saveJob(job.id, job, null);
    this.#jobs.set(job);
    await this.#take(job.id).catch((err: unknown) =>
      this.#log.warn({ job: job.id, err }, 'job saved but not started here; another replica takes it'),
    );
    // The run's own record when it started here (a shared store reads it back first).
    return ok(this.#jobs.peek(job.id) ?? job);
  }

  /** The job, when `owner` may see it (another tenant's job does not exist for it). */
  get(id: string, owner: string | null, kind?: JobRecord['kind']): JobRecord | null {
    return this.#jobs.get(id, owner, kind);
  }

  /** Jobs of `owner` and `kind`, newest first, after the job `after` (a cursor). */
  list(owner: string | null, kind: JobRecord['kind'], after: string | null, limit: number): JobPage {
    return this.#jobs.list(owner, kind, after, limit);
  }

  /** The one result of a finished deferred request (its journal's record), or null. */
  async deferredResult(job: JobRecord): Promise<OutputLine | null> {
    for await (const record of journalRecords(this.#store, job.id)) return record.out;
    return null;
  }

  async cancel(id: string, owner: string | null, kind: JobRecord['kind']): Promise<JobResult<JobRecord>> {
    if (this.#store.shared && !this.#runs.has(id)) await this.#onEvent(id, false);
    const job = this.get(id, owner, kind);
    if (job === null) return refuse({ kind: 'not_found' });
    if (job.status === 'cancelling' || job.status === 'cancelled') return ok(job);
    if (job.status !== 'validating' && job.status !== 'in_progress') {
      return refuse({ kind: 'not_cancellable', status: job.status });
    }
    const run = this.#runs.get(job.id);
    if (run !== undefined) {
      await this.#cancelRun(run);
      return ok(job);
    }
    // Running elsewhere (or nowhere): its owner sees the request; a free job is taken and ended here.
    const at = this.#now();
    await this.#store.requestCancel(job.id, at);
    const marked: JobRecord = { ...job, status: 'cancelling', cancelling_at: at };
    this.#jobs.set(marked);
    await this.#take(job.id).catch(() => false);
    return ok(this.#jobs.peek(job.id) ?? marked);
  }

  async #cancelRun(run: Owned): Promise<void> {
    const { job } = run;
    if (job.status !== 'validating' && job.status !== 'in_progress') return;
    job.status = 'cancelling';
    job.cancelling_at = this.#now();
    run.halt.abort(new Error('cancelled'));
    run.wakeup.notify();
    await this.#save(job, run.lease);
  }

  /** A file of `owner`, or null. */
  file(id: string, owner: string | null): StoredFile | null {
    const f = this.#store.getFile(id);
    return f === null || f.owner !== owner ? null : f;
  }

  /** Jobs by status (metrics). */
  statusCounts(): Partial<Record<JobStatus, number>> {
    return this.#jobs.statusCounts();
  }

  /** The file is the input of a job that has not finished. */
  fileInUse(id: string): boolean {
    return this.#jobs.fileInUse(id);
  }

  /**
   * Stops working: nothing new starts; requests in flight get `graceMs` to finish and be
   * journaled, then are aborted (they run again on the next start). Resolves once every job's
   * loop has ended, its journal is flushed and its lease released.
   */
  async stop(graceMs: number): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    this.#unwatch();
    this.#stopping = true;
    this.#stopped.abort(new Error('stopping'));
    await stopRuns([...this.#runs.values()], graceMs, this.#log);
    await Promise.allSettled([...this.#saving.values()]);
  }

  /** Deletes finished jobs and files older than the retention period. */
  async sweep(): Promise<void> {
    const retention = this.#o.retentionS ?? DEFAULT_RETENTION_S;
    await this.#jobs.sweep(this.#store, this.#now(), this.#now() - retention, this.#log);
  }

  // -------------------------------------------------------------------------------------------
  // Working

  #save(job: JobRecord, lease: Lease | null): Promise<void> {
    const previous = this.#saving.get(job.id) ?? Promise.resolve();
    const next = previous.then(() => this.#store.saveJob(job.id, job, lease));
    const settled = next.catch(() => undefined);
    this.#saving.set(job.id, settled);
    void settled.then(() => {
      if (this.#saving.get(job.id) === settled) this.#saving.delete(job.id);
    });
    return next;
  }

  /** Renews a run's lease; a lost lease stops the run, a cancel asked elsewhere cancels it. */
  async #renew(run: Owned): Promise<void> {
    try {
      const { held, cancelAt } = await this.#store.renew(run.lease, this.#leaseMs);
      if (!held) {
        if (!run.lost) this.#log.warn({ job: run.job.id }, 'job lease lost; another replica resumes it');
        loseRun(run);
      } else if (cancelAt !== null) {
        await this.#cancelRun(run);
      }
    } catch (err) {
      // The store is unreachable: writes fail (and pause the run) until it is back.
      if (!isLoss(err)) this.#log.warn({ job: run.job.id, err }, 'job lease not renewed');
    }
  }

  #launch(job: JobRecord, lease: Lease): void {
    const run: Owned = {
      job,
      lease,
      halt: new AbortController(),
      wakeup: new Wakeup(),
      cut: new AbortController(),
      done: Promise.resolve(),
      lost: false,
      renewer: null,
    };
    // One listener per request in flight (up to `jobs.concurrency`), each removed when it ends.
    setMaxListeners(0, run.cut.signal);
    if (job.status === 'cancelling') run.halt.abort(new Error('cancelled'));
    this.#runs.set(job.id, run);
    if (this.#store.shared) {
      run.renewer = setInterval(() => void this.#renew(run), Math.max(20, Math.floor(this.#leaseMs / 3)));
      run.renewer.unref();
    }
    run.done = runJob(this.#ctx, run).finally(async () => {
      if (run.renewer !== null) clearInterval(run.renewer);
      await Promise.allSettled([this.#saving.get(job.id)]);
      if (!run.lost) await this.#store.release(lease).catch(() => undefined);
      this.#runs.delete(job.id);
    });
  }
}
