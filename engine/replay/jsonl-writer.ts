/**
 * A bounded, append-only JSON Lines writer that keeps file I/O off the request path.
 *
 * `enqueue` is synchronous and O(1): it only pushes a serialised line. A single write loop,
 * started with `setImmediate`, appends the queue in batches through one `FileHandle`, so at most
 * one write is ever in flight and lines land in enqueue order. The queue is bounded in lines and
 * in characters: when full, `enqueue` refuses and the line is counted as dropped, so a slow or
 * stuck disk costs a bounded amount of memory, never latency.
 *
 * A failed open or write drops the lines it held and everything queued (counted), reports the
 * error, and closes the file; after `retryAfterMs` the next line reopens it. Appending to a file
 * whose last line was torn (a crash mid-write) first ends that line, so the fragment stays a line
 * of its own that readers can skip.
 *
 * Rotation (optional): before a batch would take the file past `maxBytes`, the file is renamed
 * `<path>.1` (`.1` becomes `.2`, ... up to `keep`) and a new one is opened. It happens inside the
 * write loop, between two batches, so no line is split across files or lost. Written here rather
 * than with a rotating-stream library because it has to share the loop's bounded queue, its
 * drop accounting and its one-write-in-flight rule.
 */
import { type FileHandle, open, rename } from 'node:fs/promises';
import type { Clock } from '../shared/clock.js';

export interface JsonlWriterOptions {
  readonly path: string;
  /** Most lines held (queued or being written). */
  readonly maxQueue: number;
  /** Most characters held (queued or being written). */
  readonly maxQueueChars: number;
  /** After a failed open or write, lines are dropped for this long before the file is reopened. */
  readonly retryAfterMs: number;
  readonly clock: Clock;
  readonly onError: (err: unknown) => void;
  /** Called with the number of lines just dropped. */
  readonly onDrop: (count: number) => void;
  /** Rotate the file by size; none by default. */
  readonly rotate?: Rotation | null;
}

export interface Rotation {
  /** A batch that would take the file past this size goes to a new file (unless the file is empty). */
  readonly maxBytes: number;
  /** Rotated files kept: `<path>.1` (newest) to `<path>.<keep>`. */
  readonly keep: number;
}

export interface JsonlWriterStats {
  /** Lines appended to the file. */
  readonly written: number;
  /** Lines refused (queue full, closed, writer failing) or lost to a failed write. */
  readonly dropped: number;
  /** Lines held in memory, queued or being written. */
  readonly queued: number;
}

/** Characters appended per write at most (one line may exceed it alone). */
const BATCH_CHARS = 1 << 20;

interface FlushWaiter {
  readonly upTo: number;
  readonly resolve: () => void;
}

export class JsonlWriter {
  readonly #o: JsonlWriterOptions;
  #queue: string[] = [];
  #queueChars = 0;
  #inflightLines = 0;
  #inflightChars = 0;
  /** Lines accepted so far; line n is settled once `#settled` ≥ n (written or dropped). */
  #accepted = 0;
  #settled = 0;
  #written = 0;
  #dropped = 0;
  #waiters: FlushWaiter[] = [];
  #handle: FileHandle | null = null;
  #opening: Promise<FileHandle | null> | null = null;
  /** The file did not end with a newline when opened: the next write starts with one. */
  #needsNewline = false;
  #failedAt: number | null = null;
  #scheduled = false;
  #running: Promise<void> | null = null;
  #closed = false;
  #closing: Promise<void> | null = null;
  #rotate: Rotation | null;
  /** Bytes in the open file (as of its opening, plus what this writer appended since). */
  #size = 0;
  /** A rotation failed (a rename refused): the next try waits `retryAfterMs`. */
  #rotateFailedAt: number | null = null;

  constructor(options: JsonlWriterOptions) {
    this.#o = options;
    this.#rotate = options.rotate ?? null;
    // Open eagerly so a bad path is reported at startup rather than on the first request.
    void this.#open();
  }

  /** Queues one line (without its newline). False when it was dropped; never throws. */
  enqueue(line: string): boolean {
    if (!this.accepting()) {
      this.drop(1);
      return false;
    }
    if (this.#queueChars + this.#inflightChars + line.length > this.#o.maxQueueChars) {
      this.drop(1);
      return false;
    }
    this.#queue.push(line);
    this.#queueChars += line.length;
    this.#accepted++;
    this.#schedule();
    return true;
  }

  /**
   * Whether a line would be accepted now (not closed, not failing, room in the queue). Lets a
   * caller skip serialising a line that would be dropped anyway.
   */
  accepting(): boolean {
    if (this.#closed) return false;
    if (this.#queue.length + this.#inflightLines >= this.#o.maxQueue) return false;
    if (this.#failedAt !== null && this.#o.clock.now() - this.#failedAt < this.#o.retryAfterMs) return false;
    return true;
  }

  /** Counts lines refused before they reached the queue. */
  drop(count: number): void {
    this.#dropped += count;
    this.#report(() => this.#o.onDrop(count));
  }

  /** Resolves once every line accepted before the call is written or dropped. Never rejects. */
  flush(): Promise<void> {
    const upTo = this.#accepted;
    if (this.#settled >= upTo) return Promise.resolve();
    return new Promise((resolve) => {
      this.#waiters.push({ upTo, resolve });
      this.#schedule();
    });
  }

  /** Refuses new lines, writes the queued ones, then closes the file. Idempotent; never rejects. */
  close(): Promise<void> {
    if (this.#closing === null) {
      this.#closed = true;
      this.#closing = (async () => {
        await this.flush();
        await this.#running;
        const handle = this.#handle ?? (await this.#opening);
        this.#handle = null;
        if (handle !== null)
          await handle.close().catch((err: unknown) => this.#report(() => this.#o.onError(err)));
      })();
    }
    return this.#closing;
  }

  /** Changes the rotation rule from the next batch on (null: no rotation). */
  setRotation(rotate: Rotation | null): void {
    this.#rotate = rotate;
  }

  stats(): JsonlWriterStats {
    return {
      written: this.#written,
      dropped: this.#dropped,
      queued: this.#queue.length + this.#inflightLines,
    };
  }

  #schedule(): void {
    if (this.#scheduled || this.#running !== null) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      if (this.#running === null && this.#queue.length > 0) {
        this.#running = this.#run().finally(() => {
          this.#running = null;
          // A line enqueued by a microtask between the loop's last check and here.
          if (this.#queue.length > 0) this.#schedule();
        });
      }
    });
  }

  /** The only writer: one batch in flight at a time, until the queue is empty. */
  async #run(): Promise<void> {
    while (this.#queue.length > 0) {
      let handle = this.#handle ?? (await this.#open());
      if (handle === null) {
        this.#dropQueued();
        continue;
      }
      let n = 0;
      let chars = 0;
      while (n < this.#queue.length && (n === 0 || chars < BATCH_CHARS)) chars += this.#queue[n++].length;
      const batch = this.#queue.splice(0, n);
      this.#queueChars -= chars;
      this.#inflightLines = n;
      this.#inflightChars = chars;
      try {
        const body = `${batch.join('\n')}\n`;
        const bytes = Buffer.byteLength(body, 'utf8');
        if (this.#dueForRotation(bytes)) handle = await this.#rotateFile(handle);
        if (handle === null) {
          // Reopening after the rotation failed; #open reported it and started the cool-down.
          this.#dropped += n;
          this.#report(() => this.#o.onDrop(n));
          continue;
        }
        const prefix = this.#needsNewline ? 1 : 0;
        await handle.appendFile(prefix === 1 ? `\n${body}` : body, 'utf8');
        this.#needsNewline = false;
        this.#size += bytes + prefix;
        this.#written += n;
      } catch (err) {
        this.#dropped += n;
        this.#report(() => this.#o.onDrop(n));
        this.#fail(handle, err);
      } finally {
        this.#inflightLines = 0;
        this.#inflightChars = 0;
        this.#settle(n);
      }
    }
  }

  #dueForRotation(bytes: number): boolean {
    const rotate = this.#rotate;
    if (rotate === null || this.#size === 0 || this.#size + bytes <= rotate.maxBytes) return false;
    return (
      this.#rotateFailedAt === null || this.#o.clock.now() - this.#rotateFailedAt >= this.#o.retryAfterMs
    );
  }

  /**
   * Closes the file, shifts `<path>.i` to `<path>.i+1` (the oldest kept is overwritten) and the
   * file to `<path>.1`, then opens a new file. A refused rename is reported and the writer goes
   * on appending to the file it had (nothing is dropped); it tries again after `retryAfterMs`.
   */
  async #rotateFile(handle: FileHandle): Promise<FileHandle | null> {
    const { path } = this.#o;
    const keep = Math.max(1, this.#rotate?.keep ?? 1);
    if (this.#handle === handle) this.#handle = null;
    await handle.close().catch((err: unknown) => this.#report(() => this.#o.onError(err)));
    try {
      for (let i = keep - 1; i >= 1; i--) {
        await rename(`${path}.${i}`, `${path}.${i + 1}`).catch((err: unknown) => {
          if (!isMissing(err)) throw err;
        });
      }
      await rename(path, `${path}.1`);
      this.#rotateFailedAt = null;
    } catch (err) {
      this.#rotateFailedAt = this.#o.clock.now();
      this.#report(() => this.#o.onError(err));
    }
    return this.#open();
  }

  #open(): Promise<FileHandle | null> {
    if (this.#opening === null) {
      this.#opening = (async () => {
        try {
          const handle = await open(this.#o.path, 'a+');
          try {
            const { size } = await handle.stat();
            this.#size = size;
            this.#needsNewline = false;
            if (size > 0) {
              const last = Buffer.alloc(1);
              await handle.read(last, 0, 1, size - 1);
              this.#needsNewline = last[0] !== 0x0a;
            }
          } catch (err) {
            await handle.close().catch(() => undefined);
            throw err;
          }
          this.#handle = handle;
          this.#failedAt = null;
          return handle;
        } catch (err) {
          this.#fail(null, err);
          return null;
        } finally {
          this.#opening = null;
        }
      })();
    }
    return this.#opening;
  }

  #fail(handle: FileHandle | null, err: unknown): void {
    this.#failedAt = this.#o.clock.now();
    if (handle !== null && this.#handle === handle) {
      this.#handle = null;
      handle.close().catch(() => undefined);
    }
    this.#report(() => this.#o.onError(err));
    this.#dropQueued();
  }

  #dropQueued(): void {
    const n = this.#queue.length;
    if (n === 0) return;
    this.#queue = [];
    this.#queueChars = 0;
    this.#dropped += n;
    this.#report(() => this.#o.onDrop(n));
    this.#settle(n);
  }

  #settle(n: number): void {
    this.#settled += n;
    if (this.#waiters.length === 0) return;
    const still: FlushWaiter[] = [];
    for (const w of this.#waiters) {
      if (w.upTo <= this.#settled) w.resolve();
      else still.push(w);
    }
    this.#waiters = still;
  }

  /** Callbacks are the embedder's code: their exceptions must not break the writer. */
  #report(fn: () => void): void {
    try {
      fn();
    } catch {
      // Nothing sensible to do: the callback was the place to report to.
    }
  }
}

function isMissing(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ENOENT';
}
