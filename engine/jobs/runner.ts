/**
 * The job runner: batches and deferred requests, kept on disk (store.ts), worked through in the
 * background under the serving policy, resumed after a restart without redoing what finished.
 *
 * - Every request goes through `engine.handle` as the job's tenant (routes, limits, budgets,
 *   guardrails, recording), with at most `jobs.concurrency` in flight over all jobs (slots.ts);
 *   deferred requests take a free slot before batch lines.
 * - Progress is a journal per job (journal.ts); counts are rebuilt from it on start.
 * - `stop(graceMs)` (server shutdown): no request starts any more; those in flight get the grace
 *   period to finish (and be journaled), then are aborted and run again on the next start. Jobs
 *   keep their status on disk, so the next start resumes them.
 * - `cancel`: no request starts any more, those in flight finish, then the job is `cancelled`
 *   with its partial results.
 */

import { once, setMaxListeners } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import type { Engine } from '../runtime/engine.js';
import { type Clock, systemClock } from '../shared/clock.js';
import { isRecord } from '../shared/guards.js';
import { type ExecuteResult, executeJob, Wakeup } from './execute.js';
import { checkInputFile, type JobLine, jobLines, type LineProblem, MAX_CUSTOM_ID } from './input.js';
import { isJobRecord, type JobRecord, type JobStatus, TERMINAL } from './job.js';
import {
  Bitset,
  countRecord,
  type JournalSummary,
  JournalWriter,
  journalRecords,
  recoverJournal,
} from './journal.js';
import { driveSub, linesInFlight, planNative, unansweredNative } from './native.js';
import { type LineOutcome, notRunLine, type OutputLine, runJobLine } from './output.js';
import { Slots } from './slots.js';
import { type JobStore, newId, type StoredFile } from './store.js';

/** The one completion window accepted, as in the Batch API. */
export const COMPLETION_WINDOWS: Readonly<Record<string, number>> = Object.freeze({ '24h': 24 * 3600 });

/** Finished jobs and their files are deleted this long after they were created (30 days). */
export const DEFAULT_RETENTION_S = 30 * 24 * 3600;

const SWEEP_EVERY_MS = 3600_000;

/** First wait between polls of a native batch. */
const DEFAULT_NATIVE_POLL_MS = 10_000;

export interface JobLog {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

const SILENT: JobLog = { info() {}, warn() {}, error() {} };

export interface JobRunnerOptions {
  readonly store: JobStore;
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
  /** A job request ended: answered 2xx (`ok`), otherwise (`failed`), or put back to run again. */
  readonly onRequest?: (outcome: 'ok' | 'failed' | 'put_back') => void;
}

/** Why a request about a job was refused; the HTTP layer maps each to a catalogue error. */
export type JobRefusal =
  | { readonly kind: 'not_found' }
  | { readonly kind: 'invalid'; readonly message: string; readonly param: string | null }
  | { readonly kind: 'too_many_jobs'; readonly limit: number }
  | { readonly kind: 'not_cancellable'; readonly status: string };

export type JobResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly refusal: JobRefusal };

export interface CreateBatchInput {
  readonly owner: string | null;
  readonly inputFileId: unknown;
  readonly endpoint: unknown;
  readonly completionWindow: unknown;
  readonly metadata: unknown;
}

export interface CreateDeferredInput {
  readonly owner: string | null;
  readonly endpoint: string;
  readonly body: Readonly<Record<string, unknown>>;
  readonly headers: Readonly<Record<string, string>>;
}

export interface JobPage {
  readonly data: readonly JobRecord[];
  readonly hasMore: boolean;
}

interface Run {
  readonly job: JobRecord;
  readonly halt: AbortController;
  readonly wakeup: Wakeup;
  /** Aborts the requests in flight (a shutdown past its grace period). */
  readonly cut: AbortController;
  done: Promise<void>;
}

const ok = <T>(value: T): JobResult<T> => ({ ok: true, value });
const refuse = (refusal: JobRefusal): JobResult<never> => ({ ok: false, refusal });

function validMetadata(v: unknown): v is Record<string, string> | null {
  if (v === null || v === undefined) return true;
  if (!isRecord(v)) return false;
  const entries = Object.entries(v);
  return (
    entries.length <= 16 &&
    entries.every(([k, value]) => k.length <= 64 && typeof value === 'string' && value.length <= 512)
  );
}

export class JobRunner {
  readonly #o: JobRunnerOptions;
  readonly #clock: Clock;
  readonly #log: JobLog;
  readonly #slots: Slots;
  readonly #jobs = new Map<string, JobRecord>();
  readonly #runs = new Map<string, Run>();
  #stopping = false;
  /** Aborted when the runner stops (ends an input check early). */
  readonly #stopped = new AbortController();
  #sweepTimer: ReturnType<typeof setInterval> | null = null;
  /** Serialises saves of one job's state (a status change and a count update may race). */
  readonly #saving = new Map<string, Promise<void>>();

  constructor(options: JobRunnerOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#log = options.log ?? SILENT;
    this.#slots = new Slots(() => options.concurrency ?? options.engine()?.policy.jobs.concurrency ?? 4);
  }

  /** Requests of jobs in flight now. */
  get busy(): number {
    return this.#slots.busy;
  }

  #now(): number {
    return Math.floor(this.#clock.now() / 1000);
  }

  /** Loads the saved jobs and resumes every unfinished one. */
  async start(): Promise<void> {
    for (const saved of await this.#o.store.loadJobs((id, err) =>
      this.#log.error({ job: id, err }, 'job state unreadable; the job is left as it is on disk'),
    )) {
      if (!isJobRecord(saved)) continue;
      this.#jobs.set(saved.id, saved);
    }
    await this.sweep();
    const resumed = [...this.#jobs.values()].filter((j) => !TERMINAL.has(j.status));
    for (const job of resumed.sort((a, b) => a.created_at - b.created_at)) this.#launch(job);
    if (resumed.length > 0) this.#log.info({ jobs: resumed.length }, 'resuming unfinished jobs');
    this.#sweepTimer = setInterval(() => void this.sweep(), SWEEP_EVERY_MS);
    this.#sweepTimer.unref();
  }

  // -------------------------------------------------------------------------------------------
  // Creating, reading, cancelling

  #activeCount(): number {
    let n = 0;
    for (const j of this.#jobs.values()) if (!TERMINAL.has(j.status)) n++;
    return n;
  }

  #maxActive(): number {
    return this.#o.engine()?.policy.jobs.maxActive ?? 1000;
  }

  #newRecord(
    id: string,
    kind: JobRecord['kind'],
    owner: string | null,
    endpoint: string,
    inputFileId: string | null,
    window: string,
    metadata: Record<string, string> | null,
    headers: Record<string, string>,
  ): JobRecord {
    const now = this.#now();
    return {
      version: 1,
      id,
      kind,
      owner,
      endpoint,
      input_file_id: inputFileId,
      completion_window: window,
      metadata,
      headers,
      status: 'validating',
      created_at: now,
      in_progress_at: null,
      expires_at: now + (COMPLETION_WINDOWS[window] ?? 24 * 3600),
      finalizing_at: null,
      completed_at: null,
      failed_at: null,
      expired_at: null,
      cancelling_at: null,
      cancelled_at: null,
      total: 0,
      completed: 0,
      failed: 0,
      input_tokens: 0,
      output_tokens: 0,
      errors: null,
      output_file_id: null,
      error_file_id: null,
    };
  }

  /** `POST /v1/batches`: checks the request, saves the job, starts it. */
  async createBatch(input: CreateBatchInput, endpoints: readonly string[]): Promise<JobResult<JobRecord>> {
    const { inputFileId, endpoint, completionWindow, metadata } = input;
    if (typeof inputFileId !== 'string' || inputFileId === '') {
      return refuse({ kind: 'invalid', message: 'input_file_id is required.', param: 'input_file_id' });
    }
    if (typeof endpoint !== 'string' || !endpoints.includes(endpoint)) {
      return refuse({
        kind: 'invalid',
        message: `endpoint must be one of ${endpoints.join(', ')}.`,
        param: 'endpoint',
      });
    }
    if (typeof completionWindow !== 'string' || !Object.hasOwn(COMPLETION_WINDOWS, completionWindow)) {
      return refuse({
        kind: 'invalid',
        message: `completion_window must be ${Object.keys(COMPLETION_WINDOWS).join(' or ')}.`,
        param: 'completion_window',
      });
    }
    if (!validMetadata(metadata)) {
      return refuse({
        kind: 'invalid',
        message:
          'metadata must be an object of at most 16 string values (keys up to 64 characters, values up to 512).',
        param: 'metadata',
      });
    }
    const file = this.#o.store.getFile(inputFileId);
    if (file === null || file.owner !== input.owner || file.file.purpose !== 'batch') {
      return refuse({
        kind: 'invalid',
        message: `No input file ${JSON.stringify(inputFileId.slice(0, 100))} with purpose "batch" (upload one with POST /v1/files).`,
        param: 'input_file_id',
      });
    }
    const limit = this.#maxActive();
    if (this.#activeCount() >= limit) return refuse({ kind: 'too_many_jobs', limit });
    const job = this.#newRecord(
      newId('batch_'),
      'batch',
      input.owner,
      endpoint,
      inputFileId,
      completionWindow,
      metadata ?? null,
      {},
    );
    await this.#save(job);
    this.#jobs.set(job.id, job);
    this.#launch(job);
    return ok(job);
  }

  /** A single deferred request: saved with its body, answered later (`GET /v1/jobs/{id}`). */
  async createDeferred(input: CreateDeferredInput): Promise<JobResult<JobRecord>> {
    const limit = this.#maxActive();
    if (this.#activeCount() >= limit) return refuse({ kind: 'too_many_jobs', limit });
    const job = this.#newRecord(newId('job_'), 'deferred', input.owner, input.endpoint, null, '24h', null, {
      ...input.headers,
    });
    const dir = this.#o.store.jobDir(job.id);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const line = { custom_id: job.id, method: 'POST', url: input.endpoint, body: input.body };
    await writeFile(join(dir, 'input.jsonl'), `${JSON.stringify(line)}\n`, { mode: 0o600 });
    await this.#save(job);
    this.#jobs.set(job.id, job);
    this.#launch(job);
    return ok(job);
  }

  /** The job, when `owner` may see it (another tenant's job does not exist for it). */
  get(id: string, owner: string | null, kind?: JobRecord['kind']): JobRecord | null {
    const job = this.#jobs.get(id);
    if (job === undefined || job.owner !== owner) return null;
    return kind === undefined || job.kind === kind ? job : null;
  }

  /** Jobs of `owner` and `kind`, newest first, after the job `after` (a cursor). */
  list(owner: string | null, kind: JobRecord['kind'], after: string | null, limit: number): JobPage {
    const mine = [...this.#jobs.values()]
      .filter((j) => j.owner === owner && j.kind === kind)
      .sort((a, b) => b.created_at - a.created_at || (a.id < b.id ? 1 : -1));
    let from = 0;
    if (after !== null) {
      const at = mine.findIndex((j) => j.id === after);
      from = at < 0 ? mine.length : at + 1;
    }
    const data = mine.slice(from, from + limit);
    return { data, hasMore: from + limit < mine.length };
  }

  /** The one result of a finished deferred request (its journal's record), or null. */
  async deferredResult(job: JobRecord): Promise<OutputLine | null> {
    for await (const record of journalRecords(this.#journalPath(job))) return record.out;
    return null;
  }

  async cancel(id: string, owner: string | null, kind: JobRecord['kind']): Promise<JobResult<JobRecord>> {
    const job = this.get(id, owner, kind);
    if (job === null) return refuse({ kind: 'not_found' });
    if (job.status === 'cancelling' || job.status === 'cancelled') return ok(job);
    if (job.status !== 'validating' && job.status !== 'in_progress') {
      return refuse({ kind: 'not_cancellable', status: job.status });
    }
    job.status = 'cancelling';
    job.cancelling_at = this.#now();
    await this.#save(job);
    const run = this.#runs.get(job.id);
    if (run !== undefined) {
      run.halt.abort(new Error('cancelled'));
      run.wakeup.notify();
    } else {
      this.#launch(job);
    }
    return ok(job);
  }

  /** A file of `owner`, or null. */
  file(id: string, owner: string | null): StoredFile | null {
    const f = this.#o.store.getFile(id);
    return f === null || f.owner !== owner ? null : f;
  }

  /** Jobs by status (metrics). */
  statusCounts(): Partial<Record<JobStatus, number>> {
    const out: Partial<Record<JobStatus, number>> = {};
    for (const j of this.#jobs.values()) out[j.status] = (out[j.status] ?? 0) + 1;
    return out;
  }

  /** The file is the input of a job that has not finished. */
  fileInUse(id: string): boolean {
    for (const j of this.#jobs.values()) if (j.input_file_id === id && !TERMINAL.has(j.status)) return true;
    return false;
  }

  /**
   * Stops working: nothing new starts; requests in flight get `graceMs` to finish and be
   * journaled, then are aborted (they run again on the next start). Resolves once every job's
   * loop has ended and its journal is flushed.
   */
  async stop(graceMs: number): Promise<void> {
    if (this.#sweepTimer !== null) clearInterval(this.#sweepTimer);
    this.#sweepTimer = null;
    this.#stopping = true;
    this.#stopped.abort(new Error('stopping'));
    const runs = [...this.#runs.values()];
    for (const run of runs) {
      run.halt.abort(new Error('stopping'));
      run.wakeup.notify();
    }
    const all = Promise.allSettled(runs.map((r) => r.done));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const graceOver = new Promise<'grace'>((resolve) => {
      timer = setTimeout(() => resolve('grace'), graceMs);
    });
    const first = await Promise.race([all.then(() => 'done' as const), graceOver]);
    clearTimeout(timer);
    if (first === 'grace') {
      for (const run of runs) run.cut.abort(new Error('shutting down'));
      this.#log.warn(
        { jobs: runs.length },
        'job requests still in flight at the end of the grace period were cut; they run again on the next start',
      );
      await all;
    }
    await Promise.allSettled([...this.#saving.values()]);
  }

  /** Deletes finished jobs and files older than the retention period. */
  async sweep(): Promise<void> {
    const retention = this.#o.retentionS ?? DEFAULT_RETENTION_S;
    const cutoff = this.#now() - retention;
    const inUse = new Set<string>();
    for (const j of this.#jobs.values()) {
      if (TERMINAL.has(j.status) && j.created_at < cutoff) {
        this.#jobs.delete(j.id);
        await this.#o.store
          .deleteJob(j.id)
          .catch((err: unknown) => this.#log.warn({ job: j.id, err }, 'could not delete an expired job'));
        continue;
      }
      for (const f of [j.input_file_id, j.output_file_id, j.error_file_id]) if (f !== null) inUse.add(f);
    }
    for (const { file } of this.#o.store.files()) {
      if (inUse.has(file.id)) continue;
      if (file.expires_at !== null ? file.expires_at <= this.#now() : file.created_at < cutoff) {
        await this.#o.store
          .deleteFile(file.id)
          .catch((err: unknown) =>
            this.#log.warn({ file: file.id, err }, 'could not delete an expired file'),
          );
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Working

  #journalPath(job: JobRecord): string {
    return join(this.#o.store.jobDir(job.id), 'journal.jsonl');
  }

  #inputPath(job: JobRecord): string {
    return job.input_file_id === null
      ? join(this.#o.store.jobDir(job.id), 'input.jsonl')
      : this.#o.store.dataPath(job.input_file_id);
  }

  #save(job: JobRecord): Promise<void> {
    const previous = this.#saving.get(job.id) ?? Promise.resolve();
    const next = previous.then(() => this.#o.store.saveJob(job.id, job));
    const settled = next.catch(() => undefined);
    this.#saving.set(job.id, settled);
    void settled.then(() => {
      if (this.#saving.get(job.id) === settled) this.#saving.delete(job.id);
    });
    return next;
  }

  #launch(job: JobRecord): void {
    if (this.#stopping || this.#runs.has(job.id)) return;
    const run: Run = {
      job,
      halt: new AbortController(),
      wakeup: new Wakeup(),
      cut: new AbortController(),
      done: Promise.resolve(),
    };
    // One listener per request in flight (up to `jobs.concurrency`), each removed when it ends.
    setMaxListeners(0, run.cut.signal);
    if (job.status === 'cancelling') run.halt.abort(new Error('cancelled'));
    this.#runs.set(job.id, run);
    run.done = this.#drive(run)
      .catch(async (err: unknown) => {
        this.#log.error({ job: job.id, err }, 'job failed on an internal error');
        if (this.#stopping) return;
        this.#fail(job, [
          {
            code: 'internal_error',
            message: 'The job failed on an internal error.',
            param: null,
            line: null,
          },
        ]);
        await this.#save(job).catch(() => undefined);
      })
      .finally(() => {
        this.#runs.delete(job.id);
      });
  }

  #fail(job: JobRecord, errors: LineProblem[]): void {
    job.status = 'failed';
    job.failed_at = this.#now();
    job.errors = errors;
  }

  async #drive(run: Run): Promise<void> {
    const { job } = run;
    if (job.status === 'validating') {
      const checked = await checkInputFile(this.#inputPath(job), {
        endpoint: job.endpoint,
        maxRequests: this.#o.engine()?.policy.jobs.maxRequests ?? 50_000,
        signal: this.#stopped.signal,
      });
      if (this.#stopping) return;
      if (checked.problems.length > 0) {
        this.#fail(job, [...checked.problems]);
        await this.#save(job);
        this.#log.info({ job: job.id, problems: checked.problems.length }, 'job input refused');
        return;
      }
      job.total = checked.total;
      if (job.status === 'validating') {
        job.status = 'in_progress';
        job.in_progress_at = this.#now();
      }
      await this.#save(job);
    }
    const summary = await recoverJournal(this.#journalPath(job), job.total);
    job.completed = summary.completed;
    job.failed = summary.failed;
    job.input_tokens = summary.inputTokens;
    job.output_tokens = summary.outputTokens;
    let ending: 'completed' | 'cancelled' | 'expired' = 'completed';
    if (job.status === 'in_progress') {
      const result = await this.#execute(run, summary);
      if (this.#stopping) {
        await this.#save(job);
        return;
      }
      if (result === 'broken') return;
      ending = result;
    } else if (job.status === 'cancelling') {
      ending = 'cancelled';
      // Cancelled before a restart with native batches in flight: cancel them at the provider
      // and keep what they answered (the loop of ordinary requests ends at once).
      if ([...summary.subs.keys()].some((id) => !summary.subsEnded.has(id))) {
        const result = await this.#execute(run, summary);
        if (this.#stopping) {
          await this.#save(job);
          return;
        }
        if (result === 'broken') return;
      }
    } else if (job.status === 'finalizing') {
      ending = job.expired_at !== null ? 'expired' : job.cancelling_at !== null ? 'cancelled' : 'completed';
    }
    await this.#finalize(job, ending);
  }

  async #execute(
    run: Run,
    summary: JournalSummary,
  ): Promise<'completed' | 'cancelled' | 'expired' | 'broken'> {
    const { job } = run;
    const journal = new JournalWriter(this.#journalPath(job));
    let expired = false;
    let saveDue = 0;
    const halted = (): string | null => {
      if (run.halt.signal.aborted) return this.#stopping ? 'stopping' : 'cancelled';
      if (this.#now() >= job.expires_at) {
        expired = true;
        return 'expired';
      }
      return null;
    };
    const record = async (line: JobLine, outcome: Extract<LineOutcome, { kind: 'done' }>): Promise<void> => {
      this.#o.onRequest?.(outcome.ok ? 'ok' : 'failed');
      const entry = { i: line.index, ok: outcome.ok, u: outcome.usage, out: outcome.out };
      if (summary.done.has(line.index)) return;
      await journal.append(entry);
      countRecord(summary, entry);
      job.completed = summary.completed;
      job.failed = summary.failed;
      job.input_tokens = summary.inputTokens;
      job.output_tokens = summary.outputTokens;
      // The counts on disk are a cache (the journal is the truth): saved now and then.
      const now = this.#clock.now();
      if (now >= saveDue) {
        saveDue = now + 1000;
        void this.#save(job).catch((err: unknown) =>
          this.#log.warn({ job: job.id, err }, 'could not save job progress'),
        );
      }
    };
    /** One pass over the input file: every request not done and not `skipped` runs. */
    const pass = async (skipped: (index: number) => boolean): Promise<ExecuteResult> => {
      const lines = jobLines(this.#inputPath(job), job.endpoint);
      try {
        return await executeJob({
          lines,
          isDone: (line) => summary.done.has(line.index) || skipped(line.index),
          slots: this.#slots,
          priority: job.kind === 'deferred' ? 'high' : 'low',
          haltSignal: run.halt.signal,
          wakeup: run.wakeup,
          clock: this.#clock,
          halted,
          run: async (line, deferrals) => {
            let engine = this.#o.engine();
            while (engine === null) {
              // No policy loaded yet (the server is not ready): wait, then look again.
              await run.wakeup.wait(this.#clock, 1000);
              if (run.cut.signal.aborted) return { kind: 'aborted' };
              engine = this.#o.engine();
            }
            return runJobLine(engine, line, {
              jobId: job.id,
              jobKind: job.kind,
              tenant: job.owner,
              headers: job.headers,
              deferrals,
              signal: run.cut.signal,
            });
          },
          onDone: record,
          onLater: (line, waitMs, reason) => {
            this.#o.onRequest?.('put_back');
            this.#log.info(
              { job: job.id, request: line.index, waitMs, reason },
              'job request put back; it runs again after the wait',
            );
          },
        });
      } finally {
        await lines.return(undefined);
      }
    };
    let result: ExecuteResult;
    try {
      // Native batches first (native.ts): their lines are left to the sub-batches.
      if (job.kind === 'batch' && halted() === null) await this.#planNative(run, summary, journal);
      const inFlight = linesInFlight(summary, job.total);
      const subs = [...summary.subs.values()].filter((sub) => !summary.subsEnded.has(sub.id));
      const native = Promise.allSettled(
        subs.map((sub) =>
          driveSub({
            engine: this.#o.engine,
            job,
            sub,
            inputPath: this.#inputPath(job),
            summary,
            journal,
            clock: this.#clock,
            log: this.#log,
            pollMs: this.#o.nativePollMs ?? DEFAULT_NATIVE_POLL_MS,
            halt: run.halt.signal,
            shouldCancel: () => halted() !== null,
            stopping: () => this.#stopping,
            cut: run.cut.signal,
            record,
          }),
        ),
      );
      result = await pass((index) => inFlight.has(index));
      const ends = await native;
      const failed = ends.find((e) => e.status === 'rejected');
      if (failed !== undefined && result.kind !== 'broken') {
        result = { kind: 'broken', problem: null, error: (failed as PromiseRejectedResult).reason };
      }
      // The ordinary lines may all have ended before a cancel, expiry or shutdown that came
      // while native batches were still out.
      const stop = result.kind === 'exhausted' ? halted() : null;
      if (stop !== null) result = { kind: 'halted', reason: stop };
      // The lines native batches did not answer run through their route's ordinary plan.
      if (result.kind === 'exhausted' && unansweredNative(summary)) {
        result = await pass(() => false);
      }
    } finally {
      await journal.close();
    }
    if (result.kind === 'broken') {
      this.#log.error({ job: job.id, err: result.error, problem: result.problem }, 'job stopped');
      this.#fail(job, [
        result.problem ?? {
          code: 'internal_error',
          message: 'The job could not record its progress.',
          param: null,
          line: null,
        },
      ]);
      await this.#save(job);
      return 'broken';
    }
    if (expired) return 'expired';
    return result.kind === 'halted' && result.reason === 'cancelled' ? 'cancelled' : 'completed';
  }

  /** Submits the job's lines that routes send natively (native.ts), once a policy is loaded. */
  async #planNative(run: Run, summary: JournalSummary, journal: JournalWriter): Promise<void> {
    const { job } = run;
    let engine = this.#o.engine();
    while (engine === null) {
      await run.wakeup.wait(this.#clock, 1000);
      if (run.halt.signal.aborted) return;
      engine = this.#o.engine();
    }
    await planNative({
      engine,
      job,
      inputPath: this.#inputPath(job),
      dir: this.#o.store.jobDir(job.id),
      summary,
      journal,
      clock: this.#clock,
      log: this.#log,
      signal: run.cut.signal,
    });
  }

  /**
   * Writes the output file (2xx answers) and the error file (other answers, and every request
   * that never ran), each `custom_id` once, then gives the job its final status. Idempotent: a
   * crash during it redoes it on the next start (the file ids are derived from the job's).
   */
  async #finalize(job: JobRecord, ending: 'completed' | 'cancelled' | 'expired'): Promise<void> {
    const now = this.#now();
    if (ending === 'expired' && job.expired_at === null) job.expired_at = now;
    if (job.status !== 'cancelling') {
      job.status = 'finalizing';
      job.finalizing_at ??= now;
    }
    await this.#save(job);
    // A deferred request's one answer is read from its journal (GET /v1/jobs/{id}): no files.
    if (job.kind === 'batch') await this.#writeResultFiles(job, ending);
    const end = this.#now();
    if (ending === 'completed') {
      job.status = 'completed';
      job.completed_at = end;
    } else if (ending === 'cancelled') {
      job.status = 'cancelled';
      job.cancelled_at = end;
    } else {
      job.status = 'expired';
    }
    await this.#save(job);
    this.#log.info(
      { job: job.id, status: job.status, completed: job.completed, failed: job.failed, total: job.total },
      'job finished',
    );
  }

  /** The output file (2xx answers) and the error file (the rest, and what never ran). */
  async #writeResultFiles(job: JobRecord, ending: 'completed' | 'cancelled' | 'expired'): Promise<void> {
    const dir = this.#o.store.jobDir(job.id);
    const suffix = job.id.slice(job.id.indexOf('_') + 1);
    const outTmp = join(dir, 'output.jsonl.tmp');
    const errTmp = join(dir, 'errors.jsonl.tmp');
    const out = createWriteStream(outTmp, { mode: 0o600 });
    const err = createWriteStream(errTmp, { mode: 0o600 });
    let outLines = 0;
    let errLines = 0;
    const write = async (stream: WriteStream, line: OutputLine): Promise<void> => {
      // `once` rejects on 'error' (a full disk), so a failed write cannot wait forever.
      if (!stream.write(`${JSON.stringify(line)}\n`)) await once(stream, 'drain');
    };
    const written = new Bitset(job.total);
    for await (const record of journalRecords(this.#journalPath(job))) {
      if (written.has(record.i)) continue;
      written.add(record.i);
      if (record.ok) {
        outLines++;
        await write(out, record.out);
      } else {
        errLines++;
        await write(err, record.out);
      }
    }
    if (ending !== 'completed') {
      const code = ending === 'cancelled' ? 'batch_cancelled' : 'batch_expired';
      for await (const parsed of jobLines(this.#inputPath(job), job.endpoint)) {
        if (!parsed.ok || written.has(parsed.line.index)) continue;
        written.add(parsed.line.index);
        errLines++;
        await write(
          err,
          notRunLine(job.id, parsed.line.index, parsed.line.customId.slice(0, MAX_CUSTOM_ID), code),
        );
      }
    }
    out.end();
    err.end();
    await Promise.all([finished(out), finished(err)]);
    const meta = (name: string) => ({
      filename: name,
      purpose: 'batch_output' as const,
      owner: job.owner,
      createdAt: this.#now(),
      expiresAt: null,
    });
    if (outLines > 0) {
      const id = `file-${suffix}-output`;
      await this.#o.store.adoptFile(id, outTmp, meta(`${job.id}_output.jsonl`));
      job.output_file_id = id;
    }
    if (errLines > 0) {
      const id = `file-${suffix}-errors`;
      await this.#o.store.adoptFile(id, errTmp, meta(`${job.id}_errors.jsonl`));
      job.error_file_id = id;
    }
    await Promise.all([rm(outTmp, { force: true }), rm(errTmp, { force: true })]);
  }
}
