/**
 * Working through one job (a run): the input check, the journal read back, the requests
 * (execute.ts) and native sub-batches (native.ts), then the ending (finalize.ts). The runner
 * (runner.ts) starts a run once it holds the job's lease.
 *
 * A run leaves without finishing the job when the runner stops (a shutdown) or when it loses the
 * job (its lease was taken over, or the store could not be reached): nothing is failed or
 * finalized then, and whoever holds the lease next resumes from the journal. A result whose
 * append was refused (the lease lost) is not counted; it runs again under the next owner.
 */

import type { Engine } from '../runtime/engine.js';
import type { Clock } from '../shared/clock.js';
import { type ExecuteResult, executeJob, type Wakeup } from './execute.js';
import { type Ending, finalize } from './finalize.js';
import { checkInputFile, type JobLine, jobLines, type LineProblem } from './input.js';
import type { JobRecord } from './job.js';
import { countRecord, type JournalSummary, recoverJournal } from './journal.js';
import type { LineSource } from './lines.js';
import { driveSub, linesInFlight, planNative, unansweredNative } from './native.js';
import { type LineOutcome, runJobLine } from './output.js';
import type { Slots } from './slots.js';
import {
  type JobStorage,
  JobStoreUnavailableError,
  type JournalAppender,
  type Lease,
  LeaseLostError,
} from './storage.js';

export interface JobLog {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

/** What a run needs of its runner. */
export interface WorkContext {
  readonly store: JobStorage;
  readonly engine: () => Engine | null;
  readonly clock: Clock;
  readonly log: JobLog;
  readonly slots: Slots;
  readonly nativePollMs: number;
  readonly onRequest: ((outcome: 'ok' | 'failed' | 'put_back') => void) | undefined;
  /** Aborted when the runner stops (ends an input check early). */
  readonly stopped: AbortSignal;
  /** The runner is shutting down. */
  stopping(): boolean;
  /** Unix seconds. */
  now(): number;
  /** Saves the job's state (serialised per job), only while `lease` is held. */
  save(job: JobRecord, lease: Lease): Promise<void>;
}

export interface Run {
  readonly job: JobRecord;
  readonly lease: Lease;
  readonly halt: AbortController;
  readonly wakeup: Wakeup;
  /** Aborts the requests in flight (a shutdown past its grace period). */
  readonly cut: AbortController;
  done: Promise<void>;
  /** The job was lost (lease taken over, store unreachable): leave without ending it. */
  lost: boolean;
}

/**
 * Stops runs for a shutdown: nothing new starts; requests in flight get `graceMs` to finish and
 * be journaled, then are aborted (they run again on the next start). Resolves once all ended.
 */
export async function stopRuns(runs: readonly Run[], graceMs: number, log: JobLog): Promise<void> {
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
    log.warn(
      { jobs: runs.length },
      'job requests still in flight at the end of the grace period were cut; they run again on the next start',
    );
    await all;
  }
}

/** The store refused a write because this run does not own the job any more, or is cut off. */
export function isLoss(err: unknown): boolean {
  return err instanceof LeaseLostError || err instanceof JobStoreUnavailableError;
}

/** Marks the run lost: nothing new starts, and it leaves without ending the job. */
export function loseRun(run: Run): void {
  run.lost = true;
  run.halt.abort(new Error('lost'));
  run.wakeup.notify();
}

/** The job's input: its batch input file, or a deferred request's body. */
export function inputSource(store: JobStorage, job: JobRecord): LineSource {
  const fileId = job.input_file_id;
  return fileId === null
    ? (start) => store.readJobData(job.id, 'input.jsonl', start)
    : (start) => store.readFile(fileId, start);
}

function fail(ctx: WorkContext, job: JobRecord, errors: LineProblem[]): void {
  job.status = 'failed';
  job.failed_at = ctx.now();
  job.errors = errors;
}

export const INTERNAL_ERROR: LineProblem = {
  code: 'internal_error',
  message: 'The job failed on an internal error.',
  param: null,
  line: null,
};

/** Runs the job until it ends, is halted, or is lost; failures on internal errors fail the job. */
export async function runJob(ctx: WorkContext, run: Run): Promise<void> {
  const leaving = () => ctx.stopping() || run.lost;
  try {
    await drive(ctx, run, leaving);
  } catch (err) {
    if (isLoss(err)) {
      loseRun(run);
      ctx.log.warn({ job: run.job.id, err }, 'job paused: its lease or the store was lost');
      return;
    }
    ctx.log.error({ job: run.job.id, err }, 'job failed on an internal error');
    if (leaving()) return;
    fail(ctx, run.job, [INTERNAL_ERROR]);
    await ctx.save(run.job, run.lease).catch(() => undefined);
  }
}

async function drive(ctx: WorkContext, run: Run, leaving: () => boolean): Promise<void> {
  const { job } = run;
  if (job.status === 'validating') {
    const checked = await checkInputFile(inputSource(ctx.store, job), {
      endpoint: job.endpoint,
      maxRequests: ctx.engine()?.policy.jobs.maxRequests ?? 50_000,
      signal: ctx.stopped,
    });
    if (leaving()) return;
    if (checked.problems.length > 0) {
      fail(ctx, job, [...checked.problems]);
      await ctx.save(job, run.lease);
      ctx.log.info({ job: job.id, problems: checked.problems.length }, 'job input refused');
      return;
    }
    job.total = checked.total;
    if (job.status === 'validating') {
      job.status = 'in_progress';
      job.in_progress_at = ctx.now();
    }
    await ctx.save(job, run.lease);
  }
  const summary = await recoverJournal(ctx.store, job.id, job.total);
  job.completed = summary.completed;
  job.failed = summary.failed;
  job.input_tokens = summary.inputTokens;
  job.output_tokens = summary.outputTokens;
  let ending: Ending = 'completed';
  const cancelling = job.status === 'cancelling';
  // Cancelled before a restart with native batches in flight: cancel them at the provider and
  // keep what they answered (the loop of ordinary requests ends at once).
  const nativeOut = [...summary.subs.keys()].some((id) => !summary.subsEnded.has(id));
  if (job.status === 'in_progress' || (cancelling && nativeOut)) {
    const result = await execute(ctx, run, summary, leaving);
    if (leaving()) {
      if (!run.lost) await ctx.save(job, run.lease);
      return;
    }
    if (result === 'broken') return;
    ending = cancelling ? 'cancelled' : result;
  } else if (cancelling) {
    ending = 'cancelled';
  } else if (job.status === 'finalizing') {
    ending = job.expired_at !== null ? 'expired' : job.cancelling_at !== null ? 'cancelled' : 'completed';
  }
  await finalize(ctx, run, ending);
}

async function execute(
  ctx: WorkContext,
  run: Run,
  summary: JournalSummary,
  leaving: () => boolean,
): Promise<Ending | 'broken'> {
  const { job } = run;
  const journal = ctx.store.journal(job.id, run.lease);
  let expired = false;
  let saveDue = 0;
  const halted = (): string | null => {
    if (run.halt.signal.aborted) return leaving() ? 'stopping' : 'cancelled';
    if (ctx.now() >= job.expires_at) {
      expired = true;
      return 'expired';
    }
    return null;
  };
  const record = async (line: JobLine, outcome: Extract<LineOutcome, { kind: 'done' }>): Promise<void> => {
    ctx.onRequest?.(outcome.ok ? 'ok' : 'failed');
    const entry = { i: line.index, ok: outcome.ok, u: outcome.usage, out: outcome.out };
    if (summary.done.has(line.index)) return;
    try {
      await journal.append(entry);
    } catch (err) {
      // Not ours any more (or the store is cut off): not counted; the next owner runs it again.
      if (!isLoss(err)) throw err;
      if (!run.lost) ctx.log.warn({ job: job.id, err }, 'job paused: a result could not be journaled');
      loseRun(run);
      return;
    }
    countRecord(summary, entry);
    job.completed = summary.completed;
    job.failed = summary.failed;
    job.input_tokens = summary.inputTokens;
    job.output_tokens = summary.outputTokens;
    // The counts in the store are a cache (the journal is the truth): saved now and then.
    const now = ctx.clock.now();
    if (now >= saveDue) {
      saveDue = now + 1000;
      void ctx.save(job, run.lease).catch((err: unknown) => {
        if (!isLoss(err)) ctx.log.warn({ job: job.id, err }, 'could not save job progress');
      });
    }
  };
  /** One pass over the input file: every request not done and not `skipped` runs. */
  const pass = async (skipped: (index: number) => boolean): Promise<ExecuteResult> => {
    const lines = jobLines(inputSource(ctx.store, job), job.endpoint);
    try {
      return await executeJob({
        lines,
        isDone: (line) => summary.done.has(line.index) || skipped(line.index),
        slots: ctx.slots,
        priority: job.kind === 'deferred' ? 'high' : 'low',
        haltSignal: run.halt.signal,
        wakeup: run.wakeup,
        clock: ctx.clock,
        halted,
        run: async (line, deferrals) => {
          const engine = await engineOf(ctx, run, run.cut.signal);
          if (engine === null) return { kind: 'aborted' };
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
          ctx.onRequest?.('put_back');
          ctx.log.info(
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
    if (job.kind === 'batch' && halted() === null) await submitNative(ctx, run, summary, journal);
    const inFlight = linesInFlight(summary, job.total);
    const subs = [...summary.subs.values()].filter((sub) => !summary.subsEnded.has(sub.id));
    const native = Promise.allSettled(
      subs.map((sub) =>
        driveSub({
          engine: ctx.engine,
          job,
          sub,
          input: inputSource(ctx.store, job),
          summary,
          journal,
          clock: ctx.clock,
          log: ctx.log,
          pollMs: ctx.nativePollMs,
          halt: run.halt.signal,
          shouldCancel: () => halted() !== null,
          stopping: leaving,
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
    await journal.close().catch((err: unknown) => {
      if (!isLoss(err)) throw err;
    });
  }
  if (result.kind === 'broken') {
    if (isLoss(result.error)) throw result.error;
    ctx.log.error({ job: job.id, err: result.error, problem: result.problem }, 'job stopped');
    fail(ctx, job, [
      result.problem ?? {
        code: 'internal_error',
        message: 'The job could not record its progress.',
        param: null,
        line: null,
      },
    ]);
    await ctx.save(job, run.lease);
    return 'broken';
  }
  if (expired) return 'expired';
  return result.kind === 'halted' && result.reason === 'cancelled' ? 'cancelled' : 'completed';
}

/** The serving engine, waiting while no policy is loaded; null when `signal` aborts first. */
async function engineOf(ctx: WorkContext, run: Run, signal: AbortSignal): Promise<Engine | null> {
  let engine = ctx.engine();
  while (engine === null) {
    // No policy loaded yet (the server is not ready): wait, then look again.
    await run.wakeup.wait(ctx.clock, 1000);
    if (signal.aborted) return null;
    engine = ctx.engine();
  }
  return engine;
}

/** Submits the job's lines that routes send natively (native.ts), once a policy is loaded. */
async function submitNative(
  ctx: WorkContext,
  run: Run,
  summary: JournalSummary,
  journal: JournalAppender,
): Promise<void> {
  const { job } = run;
  const engine = await engineOf(ctx, run, run.halt.signal);
  if (engine === null) return;
  await planNative({
    engine,
    job,
    input: inputSource(ctx.store, job),
    scratch: await ctx.store.scratchDir(job.id),
    summary,
    journal,
    clock: ctx.clock,
    log: ctx.log,
    signal: run.cut.signal,
  });
}
