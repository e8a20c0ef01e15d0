/**
 * A job's progress journal: one JSON line per finished request, appended once its answer is
 * complete, so a resumed job redoes only what had not finished. Each record is written by one
 * `write` of a whole line; a crash can tear only the last line, and recovery cuts it off (that
 * request then runs again). A request cut by a shutdown is never journaled: it runs again on the
 * next start, so no result is ever half-recorded or counted twice.
 *
 * Record: `{"i": <request index>, "ok": <2xx answer>, "u": [prompt, completion] | null, "out": <output line>}`.
 *
 * A job whose lines went to a provider's native batch API (native.ts) also journals each
 * sub-batch when it is submitted, `{"sub": {"id", "provider", "target", "lines", "offsets", ...}}`,
 * so a restart polls it again instead of submitting its lines twice, and `{"subEnd": <id>,
 * "status": <why>}` once its results are all journaled (or it cannot be used any more); the lines
 * it did not answer then run as ordinary requests.
 */

import { type FileHandle, open, truncate } from 'node:fs/promises';
import { isRecord } from '../shared/guards.js';
import { readLines } from './lines.js';
import type { OutputLine } from './output.js';
import type { JobStorage, JournalAppender } from './storage.js';

export interface JournalRecord {
  /** 0-based index of the request in the input file. */
  readonly i: number;
  /** The answer was a 2xx (output file) rather than an error (error file). */
  readonly ok: boolean;
  /** Prompt and completion tokens, when the answer reported usage. */
  readonly u: readonly [number, number] | null;
  readonly out: OutputLine;
}

/** One bit per request of a job: bounded memory whatever the size of the answers. */
export class Bitset {
  readonly #bits: Uint8Array;
  constructor(readonly size: number) {
    this.#bits = new Uint8Array(Math.ceil(size / 8));
  }
  has(i: number): boolean {
    return i >= 0 && i < this.size && (this.#bits[i >> 3] & (1 << (i & 7))) !== 0;
  }
  add(i: number): void {
    if (i >= 0 && i < this.size) this.#bits[i >> 3] |= 1 << (i & 7);
  }
}

/** A provider batch a job submitted (native.ts): what a restart needs to poll it again. */
export interface SubBatch {
  /** The provider's batch id. */
  readonly id: string;
  /** The policy's provider and model (target) names it was sent to, and the route. */
  readonly provider: string;
  readonly target: string;
  readonly route: string;
  /** The connect timeout of the target, for the polls. */
  readonly connectMs: number;
  /** The request indexes it holds, and each one's byte offset in the input file (same order). */
  readonly lines: readonly number[];
  readonly offsets: readonly number[];
  /** When it was submitted (Unix seconds). */
  readonly at: number;
}

export interface SubRecord {
  readonly sub: SubBatch;
}

export interface SubEndRecord {
  readonly subEnd: string;
  readonly status: string;
}

function isNumberArray(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((n) => typeof n === 'number' && Number.isInteger(n) && n >= 0);
}

export function isSubRecord(value: unknown): value is SubRecord {
  if (!isRecord(value) || !isRecord(value.sub)) return false;
  const s = value.sub;
  return (
    typeof s.id === 'string' &&
    typeof s.provider === 'string' &&
    typeof s.target === 'string' &&
    typeof s.route === 'string' &&
    typeof s.connectMs === 'number' &&
    typeof s.at === 'number' &&
    isNumberArray(s.lines) &&
    isNumberArray(s.offsets) &&
    s.lines.length === s.offsets.length
  );
}

export function isSubEndRecord(value: unknown): value is SubEndRecord {
  return isRecord(value) && typeof value.subEnd === 'string' && typeof value.status === 'string';
}

export interface JournalSummary {
  readonly done: Bitset;
  /** Sub-batches submitted, by provider batch id (native.ts). */
  readonly subs: Map<string, SubBatch>;
  /** Those whose results are all journaled, or that cannot be used any more. */
  readonly subsEnded: Set<string>;
  completed: number;
  failed: number;
  inputTokens: number;
  outputTokens: number;
}

/** Largest journal line read back: an answer plus its envelope (answers are bounded upstream). */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;

export function isJournalRecord(value: unknown): value is JournalRecord {
  return (
    isRecord(value) &&
    typeof value.i === 'number' &&
    Number.isInteger(value.i) &&
    typeof value.ok === 'boolean' &&
    isRecord(value.out) &&
    typeof value.out.custom_id === 'string' &&
    (value.u === null || (Array.isArray(value.u) && value.u.length === 2))
  );
}

export function emptySummary(total: number): JournalSummary {
  return {
    done: new Bitset(total),
    subs: new Map(),
    subsEnded: new Set(),
    completed: 0,
    failed: 0,
    inputTokens: 0,
    outputTokens: 0,
  };
}

/** Adds one finished request to the counts (a request already counted is ignored). */
export function countRecord(summary: JournalSummary, record: JournalRecord): boolean {
  if (summary.done.has(record.i)) return false;
  summary.done.add(record.i);
  if (record.ok) summary.completed++;
  else summary.failed++;
  if (record.u !== null) {
    summary.inputTokens += record.u[0];
    summary.outputTokens += record.u[1];
  }
  return true;
}

function isAnyRecord(value: unknown): boolean {
  return isSubRecord(value) || isSubEndRecord(value) || isJournalRecord(value);
}

/**
 * Reads a job's journal back from the store: which requests finished, and the counts. A torn or
 * unreadable tail (a crash mid-write) is removed, so appends continue after the last whole
 * record. A missing journal is an empty one.
 */
export async function recoverJournal(
  store: JobStorage,
  jobId: string,
  total: number,
): Promise<JournalSummary> {
  const summary = emptySummary(total);
  for await (const record of store.records(jobId, isAnyRecord, true)) {
    if (isSubRecord(record)) summary.subs.set(record.sub.id, record.sub);
    else if (isSubEndRecord(record)) summary.subsEnded.add(record.subEnd);
    else countRecord(summary, record as JournalRecord);
  }
  return summary;
}

/** Streams the results of a job's journal (sub-batch records are not results). */
export async function* journalRecords(store: JobStorage, jobId: string): AsyncGenerator<JournalRecord> {
  for await (const record of store.records(jobId, isAnyRecord, false)) {
    if (isJournalRecord(record)) yield record;
  }
}

/** Appends values as JSON lines, one whole line per write, in order, one write in flight. */
export class JournalWriter implements JournalAppender {
  #handle: Promise<FileHandle> | null = null;
  #tail: Promise<void> = Promise.resolve();

  constructor(readonly path: string) {}

  /** Resolves once the line is in the file (the kernel's page cache). */
  append(record: unknown): Promise<void> {
    const text = `${JSON.stringify(record)}\n`;
    const next = this.#tail.then(async () => {
      this.#handle ??= open(this.path, 'a');
      const handle = await this.#handle;
      await handle.write(text);
    });
    // A failed write fails its own append; later appends still run.
    this.#tail = next.catch(() => undefined);
    return next;
  }

  /** Waits for pending appends, flushes to disk and closes. */
  async close(): Promise<void> {
    await this.#tail;
    const handle = this.#handle;
    this.#handle = null;
    if (handle === null) return;
    const h = await handle.catch(() => null);
    if (h === null) return;
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  }
}

export interface OutputSummary {
  /** The `custom_id`s already answered. */
  readonly done: Set<string>;
  succeeded: number;
  failed: number;
}

/**
 * Reads back a results file written by an earlier `switchyard batch run` (output lines), for
 * `--resume`: the `custom_id`s it holds, and the counts. A torn last line is cut off.
 */
export async function recoverOutput(path: string): Promise<OutputSummary> {
  const summary: OutputSummary = { done: new Set(), succeeded: 0, failed: 0 };
  const isOutput = (v: unknown): boolean => isRecord(v) && typeof v.custom_id === 'string';
  for await (const value of jsonLines(path, isOutput, true)) {
    const line = value as { custom_id: string; response?: unknown };
    if (summary.done.has(line.custom_id)) continue;
    summary.done.add(line.custom_id);
    const status = isRecord(line.response) ? line.response.status_code : null;
    if (typeof status === 'number' && status >= 200 && status < 300) summary.succeeded++;
    else summary.failed++;
  }
  return summary;
}

/**
 * The values of a JSON Lines file, up to the first line that is torn (no newline), not JSON or
 * not `valid`; with `repair`, the file is cut there (a crash mid-write), so appends continue after
 * the last whole value. A missing file has none.
 */
export async function* jsonLines(
  path: string,
  valid: (value: unknown) => boolean,
  repair: boolean,
): AsyncGenerator<unknown> {
  let goodEnd = 0;
  let size = 0;
  try {
    for await (const line of readLines(path, { maxLineBytes: MAX_RECORD_BYTES })) {
      size = line.end;
      let value: unknown = null;
      if (line.terminated && line.text !== null) {
        try {
          value = JSON.parse(line.text);
        } catch {
          value = null;
        }
      }
      if (value === null || !valid(value)) break;
      goodEnd = line.end;
      yield value;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (repair && size > goodEnd) await truncate(path, goodEnd);
}
