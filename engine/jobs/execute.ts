/**
 * Working through one job's requests: the loop the server's runner and `switchyard batch run`
 * share. Requests start in file order, each once a slot is free (bounded concurrency); a request
 * put back (rate-limited, upstreams unavailable) pauses the job for the wait it was given, then
 * runs again before any new one; a finished request is handed to `onDone` (the journal) before
 * it counts as done.
 *
 * The loop stops starting requests when `halted()` says so (cancel, expiry, shutdown) and returns
 * once the requests in flight have ended. Those are never cut here: the caller aborts them with
 * the signal it gave `run` (a shutdown past its grace period), and an aborted request is not a
 * result, so it runs again on the next start.
 */

import type { Clock } from '../shared/clock.js';
import type { JobLine, LineProblem, ParsedLine } from './input.js';
import type { LineOutcome } from './output.js';
import type { SlotPriority, Slots } from './slots.js';

/** Wakes a waiting loop early (a request ended, a cancel, a shutdown). */
export class Wakeup {
  #controller = new AbortController();

  notify(): void {
    this.#controller.abort();
    this.#controller = new AbortController();
  }

  /** Waits `ms`, or less when notified. */
  async wait(clock: Clock, ms: number): Promise<void> {
    try {
      await clock.sleep(ms, this.#controller.signal);
    } catch {
      // notified
    }
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }
}

export interface ExecuteOptions {
  /** The job's requests in file order. */
  readonly lines: AsyncIterator<ParsedLine>;
  /** Finished before (the journal, an earlier run's output): skipped. */
  readonly isDone: (line: JobLine) => boolean;
  readonly slots: Slots;
  readonly priority: SlotPriority;
  /** Runs one request (`deferrals`: times it was put back already). */
  readonly run: (line: JobLine, deferrals: number) => Promise<LineOutcome>;
  /** Records a finished request; a rejection stops the job (`broken`). */
  readonly onDone: (line: JobLine, outcome: Extract<LineOutcome, { kind: 'done' }>) => Promise<void>;
  /** A request was put back (for logs and progress). */
  readonly onLater?: (line: JobLine, waitMs: number, reason: string) => void;
  /** Why no further request should start, or null to go on. */
  readonly halted: () => string | null;
  /** Aborts when `halted()` turns non-null, so that a wait for a slot ends. */
  readonly haltSignal: AbortSignal;
  readonly wakeup: Wakeup;
  readonly clock: Clock;
}

export type ExecuteResult =
  | { readonly kind: 'exhausted' }
  | { readonly kind: 'halted'; readonly reason: string }
  | { readonly kind: 'broken'; readonly problem: LineProblem | null; readonly error?: unknown };

interface Retry {
  readonly line: JobLine;
  readonly deferrals: number;
  readonly dueAt: number;
}

/** How long an idle loop sleeps before it looks again (it is woken earlier by any event). */
const IDLE_MS = 60_000;

export async function executeJob(o: ExecuteOptions): Promise<ExecuteResult> {
  const inflight = new Set<Promise<void>>();
  const retries: Retry[] = [];
  let pausedUntil = 0;
  let exhausted = false;
  let broken: ExecuteResult | null = null;

  const start = (line: JobLine, deferrals: number): void => {
    const work = async (): Promise<void> => {
      try {
        const outcome = await o.run(line, deferrals);
        if (outcome.kind === 'done') {
          await o.onDone(line, outcome);
        } else if (outcome.kind === 'later') {
          const dueAt = o.clock.now() + outcome.waitMs;
          // Sorted by due time; the job waits for it before starting anything new, so the
          // queue holds at most the requests that were in flight.
          const at = retries.findIndex((r) => r.dueAt > dueAt);
          retries.splice(at < 0 ? retries.length : at, 0, { line, deferrals: deferrals + 1, dueAt });
          pausedUntil = Math.max(pausedUntil, dueAt);
          o.onLater?.(line, outcome.waitMs, outcome.reason);
        }
        // 'aborted': not a result; it runs again on the next start.
      } catch (error) {
        broken ??= { kind: 'broken', problem: null, error };
      }
    };
    const task: Promise<void> = work().finally(() => {
      o.slots.release();
      inflight.delete(task);
      o.wakeup.notify();
    });
    inflight.add(task);
  };

  for (;;) {
    if (broken !== null) break;
    const reason = o.halted();
    if (reason !== null) {
      await Promise.allSettled([...inflight]);
      return broken ?? { kind: 'halted', reason };
    }
    const now = o.clock.now();
    if (pausedUntil > now) {
      await o.wakeup.wait(o.clock, pausedUntil - now);
      continue;
    }
    let next: { line: JobLine; deferrals: number } | null = null;
    if (retries.length > 0 && retries[0].dueAt <= now) {
      const r = retries.shift() as Retry;
      next = { line: r.line, deferrals: r.deferrals };
    } else if (!exhausted && retries.length === 0) {
      const item = await o.lines.next();
      if (item.done) {
        exhausted = true;
      } else if (!item.value.ok) {
        // The file changed since it was checked: stop rather than guess.
        broken = { kind: 'broken', problem: item.value.problem };
        break;
      } else if (!o.isDone(item.value.line)) {
        next = { line: item.value.line, deferrals: 0 };
      }
      if (next === null) continue;
    }
    if (next === null) {
      if (exhausted && retries.length === 0 && inflight.size === 0) return { kind: 'exhausted' };
      const due = retries.length > 0 ? retries[0].dueAt - now : IDLE_MS;
      await o.wakeup.wait(o.clock, Math.max(0, due));
      continue;
    }
    try {
      await o.slots.acquire(o.priority, o.haltSignal);
    } catch {
      // halted while waiting for a slot: the loop's next turn returns
      continue;
    }
    if (o.halted() !== null) {
      o.slots.release();
      continue;
    }
    start(next.line, next.deferrals);
  }
  await Promise.allSettled([...inflight]);
  return broken ?? { kind: 'exhausted' };
}
