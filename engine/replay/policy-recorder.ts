/**
 * The recorder that follows the policy: each request is written as the `recording` block of the
 * policy version it started with says (file, content mode, extra headers, rotation), so a hot
 * reload that changes the block switches files cleanly (P13: one request, one version).
 *
 * How a switch loses nothing: the engine calls `activate` with the block of the version it serves
 * (at creation and on every swap), the record stage calls `begin` when a request enters the
 * pipeline and `record` when its answer is complete. The serving version's file is the *active*
 * one; a file that is no longer active stays open until every request that began on it has been
 * recorded, then it is flushed and closed. Requests of the old version that finish after the
 * reload (a long stream) therefore land in the old file, new requests in the new one, and no
 * line is dropped for the switch.
 *
 * One writer per file, shared by every version that names it (a reload that only changes the
 * content mode keeps appending to the same file through the same queue, in order). Each writer's
 * queue is bounded (lines and characters); beyond it, lines are dropped and counted.
 */

import { open } from 'node:fs/promises';
import type { CompiledRecording } from '../compile/compile.js';
import { type Clock, systemClock } from '../shared/clock.js';
import type { ContentMode } from './content.js';
import { JsonlWriter, type Rotation } from './jsonl-writer.js';
import {
  DEFAULT_MAX_QUEUE,
  DEFAULT_MAX_QUEUE_CHARS,
  DEFAULT_RETRY_AFTER_MS,
  enqueueLine,
  type Recorder,
  type RecorderStats,
  type RecordLineOptions,
  recordedHeaderNames,
} from './record.js';

export interface PolicyRecorderOptions {
  /**
   * Settings that replace the policy's (`serve --record <file>`, `--record-content`). With
   * `path`, every version is recorded to that file, with a `recording` block or not; the block's
   * other settings (`headers`, `rotate`, and `content` unless overridden) still apply.
   */
  readonly override?: { readonly path?: string; readonly content?: ContentMode };
  /** Most lines each file holds in memory waiting for the disk; beyond, lines are dropped. Default 10,000. */
  readonly maxQueue?: number;
  /** Most characters each file holds in memory waiting for the disk. Default 64 Mi. */
  readonly maxQueueChars?: number;
  /** After a failed open or write, a file's lines are dropped for this long, then it is reopened. Default 5 s. */
  readonly retryAfterMs?: number;
  readonly clock?: Clock;
  /** A failed open, write, rotation or serialisation, with the file concerned. */
  readonly onError?: (err: unknown, path: string) => void;
  /** Lines just dropped (queue full, closed, I/O failure): feed a counter. */
  readonly onDrop?: (count: number) => void;
  /** A file started (`open`: the first line of a version that names it) or finished (`close`). */
  readonly onFile?: (event: { readonly kind: 'open' | 'close'; readonly path: string }) => void;
}

export interface PolicyRecorder extends Recorder {
  /**
   * The engine serves a version with `recording` from now on (called by `createEngine` and on
   * every swap): the file of the version before is closed as soon as no request begun on it is
   * left, even if no request comes.
   */
  activate(recording: CompiledRecording | null): void;
  /**
   * A request enters the pipeline under `recording` (its policy's block, null when none). False:
   * it is not recorded, and `record` need not be called for it. True: exactly one `record` call
   * with the same `recording` must follow.
   */
  begin(recording: CompiledRecording | null): boolean;
  /**
   * Checks that the file a version with `recording` would write to can be written (opening it
   * for append creates it). Null when it can, or the reason it cannot. Call it before a version
   * serves, so that a path that cannot work fails the load instead of dropping every line.
   */
  prepare(recording: CompiledRecording | null): Promise<string | null>;
  /** The files open now (the active one, and retired ones still waiting for their last lines). */
  files(): readonly string[];
}

/** What a `recording` block (with the override) comes to: the file and how lines are written. */
interface Effective {
  readonly path: string;
  readonly line: RecordLineOptions;
  readonly rotate: Rotation | null;
}

interface OpenFile {
  readonly writer: JsonlWriter;
  /** Requests begun on this file and not recorded yet. */
  pending: number;
  /** The settings its rotation was last set from. */
  from: Effective;
}

function reason(err: unknown): string {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : err instanceof Error ? err.message : String(err);
}

/**
 * Creates the recorder the server uses: pass it as `recorder` to `createEngine` (it follows each
 * snapshot's `recording` block), call `prepare` before a version serves, and `close` on shutdown.
 *
 * @example
 * const recorder = createPolicyRecorder({ onError: (err, path) => log.warn({ err, path }) });
 * const problem = await recorder.prepare(loaded.policy.recording);
 * if (problem !== null) throw new Error(problem);
 * const engine = createEngine(loaded.policy, { recorder });
 * // ... on shutdown, after the requests have drained:
 * await recorder.close();
 */
export function createPolicyRecorder(options: PolicyRecorderOptions = {}): PolicyRecorder {
  const clock = options.clock ?? systemClock;
  const override = options.override ?? {};
  const onDrop = options.onDrop ?? (() => undefined);
  const report = (err: unknown, path: string): void => {
    try {
      options.onError?.(err, path);
    } catch {
      // The embedder's callback must not break the recorder.
    }
  };
  const announce = (kind: 'open' | 'close', path: string): void => {
    try {
      options.onFile?.({ kind, path });
    } catch {
      // As above.
    }
  };

  // Compiled once per policy version (the block is frozen with the policy), never per request.
  const effectiveCache = new WeakMap<CompiledRecording, Effective>();
  const overrideOnly: Effective | null =
    override.path === undefined ? null : effectiveOf(null, override.path, override.content);
  function effectiveOf(
    rec: CompiledRecording | null,
    path: string,
    content: ContentMode | undefined,
  ): Effective {
    return {
      path,
      line: { content: content ?? rec?.content ?? 'hash', headers: recordedHeaderNames(rec?.headers), clock },
      rotate: rec?.rotate ?? null,
    };
  }
  const effective = (rec: CompiledRecording | null | undefined): Effective | null => {
    if (rec === null || rec === undefined) return overrideOnly;
    let eff = effectiveCache.get(rec);
    if (eff === undefined) {
      eff = effectiveOf(rec, override.path ?? rec.path, override.content);
      effectiveCache.set(rec, eff);
    }
    return eff;
  };

  const open_ = new Map<string, OpenFile>();
  /** Files retired and being flushed and closed. */
  const closing = new Map<OpenFile, Promise<void>>();
  /** Lines of files already closed, and lines refused after `close`. */
  let retired = { written: 0, dropped: 0 };
  let active: string | null = null;
  let closed = false;

  const fileFor = (eff: Effective): OpenFile => {
    const existing = open_.get(eff.path);
    if (existing !== undefined) {
      if (existing.from !== eff) {
        existing.writer.setRotation(eff.rotate);
        existing.from = eff;
      }
      return existing;
    }
    const path = eff.path;
    // A file being closed (a rollback to a version that named it) gets a new writer at once; the
    // closing one only appends what it still holds. Both append whole batches (O_APPEND), so
    // lines never interleave, though the two writers' last and first lines may trade places.
    const writer = new JsonlWriter({
      path,
      maxQueue: options.maxQueue ?? DEFAULT_MAX_QUEUE,
      maxQueueChars: options.maxQueueChars ?? DEFAULT_MAX_QUEUE_CHARS,
      retryAfterMs: options.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS,
      clock,
      onError: (err) => report(err, path),
      onDrop,
      rotate: eff.rotate,
    });
    const file: OpenFile = { writer, pending: 0, from: eff };
    open_.set(path, file);
    announce('open', path);
    return file;
  };

  const closeFile = (path: string): void => {
    const file = open_.get(path);
    if (file === undefined) return;
    open_.delete(path);
    const done = file.writer.close().then(() => {
      const s = file.writer.stats();
      retired = { written: retired.written + s.written, dropped: retired.dropped + s.dropped };
      closing.delete(file);
      announce('close', path);
    });
    closing.set(file, done);
  };

  /** Closes `path` if no version serves with it and no request begun on it is left. */
  const closeIfIdle = (path: string): void => {
    const file = open_.get(path);
    if (file !== undefined && file.pending === 0 && path !== active) closeFile(path);
  };

  const makeActive = (path: string | null): void => {
    if (path === active) return;
    const previous = active;
    active = path;
    if (previous !== null) closeIfIdle(previous);
  };

  return {
    activate(rec) {
      if (!closed) makeActive(effective(rec)?.path ?? null);
    },

    begin(rec) {
      if (closed) return false;
      const eff = effective(rec);
      // Normally `activate` said so already; a caller without an engine may only call `begin`.
      makeActive(eff?.path ?? null);
      if (eff === null) return false;
      fileFor(eff).pending++;
      return true;
    },

    record(entry) {
      const eff = effective(entry.recording);
      if (eff === null) return;
      if (closed) {
        retired = { ...retired, dropped: retired.dropped + 1 };
        onDrop(1);
        return;
      }
      const file = open_.get(eff.path) ?? fileFor(eff);
      enqueueLine(file.writer, entry, eff.line, (err) => report(err, eff.path));
      if (file.pending > 0) file.pending--;
      closeIfIdle(eff.path);
    },

    async prepare(rec) {
      const eff = effective(rec);
      if (eff === null) return null;
      try {
        await (await open(eff.path, 'a')).close();
        return null;
      } catch (err) {
        return `cannot write the recording file ${eff.path} (${reason(err)})`;
      }
    },

    files() {
      return [...open_.keys()];
    },

    async flush() {
      await Promise.all([...[...open_.values()].map((f) => f.writer.flush()), ...closing.values()]);
    },

    async close() {
      closed = true;
      for (const path of [...open_.keys()]) closeFile(path);
      await Promise.all([...closing.values()]);
    },

    stats(): RecorderStats {
      let written = retired.written;
      let dropped = retired.dropped;
      let queued = 0;
      for (const f of [...open_.values(), ...closing.keys()]) {
        const s = f.writer.stats();
        written += s.written;
        dropped += s.dropped;
        queued += s.queued;
      }
      return { written, dropped, queued };
    },
  };
}
