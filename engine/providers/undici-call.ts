/**
 * One upstream call on undici, as a dispatch handler of our own (`pool.dispatch(options, call)`)
 * that is also the response behind the transport port: its body is bounded by
 * `maxResponseBytes`, reports failures as `TransportError`s, and is drained (not destroyed) when
 * its reader stops early, so its keep-alive connection goes back to the pool.
 *
 * Why not `pool.request()`: it builds, per call, a RequestHandler (an AsyncResource) and a
 * stream.Readable for the body, and the transport wrapped that Readable in an async generator;
 * their listeners, buffers and promise hops were most of undici's share of a JSON request. Here
 * the chunks undici hands over are queued as they come (pausing the socket past
 * {@link HIGH_WATER_BYTES} until the reader catches up), a JSON body is decoded once at its end,
 * and a stream's reader takes everything queued since its last read in one piece, as a
 * Readable's `read()` gave it, without a stream in between.
 */
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { Cancellation } from '../shared/cancellation.js';
import { type HttpRequest, type HttpResponse, readText, TransportError } from './http.js';
import type { Slots } from './pool.js';
import { bodyError, decodeBody, headersOf } from './undici-body.js';

/** Queued and unread bytes past which the socket is paused (undici's Readable used the same). */
const HIGH_WATER_BYTES = 64 * 1024;
/** A body left unread when its consumer stops is drained this far to keep the connection... */
const DRAIN_LIMIT_BYTES = 64 * 1024;
/** ...for at most this long; past either bound it is aborted (the connection closes). */
const DRAIN_TIMEOUT_MS = 1_000;

/**
 * Where the body is, for its reader: `unread` until `text()` or the iterator takes it; `done`
 * once the reader has its end or its error, returned early, or the body was discarded.
 */
type ReadState = 'unread' | 'text' | 'iterating' | 'done';

/**
 * One call: undici's handler until the response is over (`onComplete` or `onError`, exactly one
 * of which ends undici's side; the pool slot is released there, once), and the response
 * (`status`, `headers`, `body`, `text()`) from `onHeaders` on.
 *
 * It speaks undici's legacy handler methods (`onConnect`, `onHeaders`, `onData`, `onComplete`,
 * `onError`), which undici's core calls directly: a handler with the documented ones
 * (`onRequestStart`, `onResponseStart`, …) is wrapped, per call, in an UnwrapHandler with a
 * controller of its own, which also parses the headers into an object (that the transport then
 * flattened into another) and the trailers into a third. Here the raw headers are read once into
 * the flat object (`headersOf`), and pausing, resuming and aborting are the functions undici
 * hands over, as the controller did with them.
 *
 * Cancellation: an abort before undici has the request on a socket is remembered and acted on in
 * `onConnect` (undici only notes an abort before that, as its own RequestHandler does); after
 * it, the request is aborted, which undici reports through `onError`.
 *
 * Not concurrent: one `next()` or `text()` at a time (the stream readers above await each read).
 * A `return()` while a read is pending settles that read as done.
 */
export class UndiciCall implements Dispatcher.DispatchHandler, HttpResponse, AsyncIterator<Uint8Array> {
  /** Settles at the response's headers (or the failure before them). */
  readonly response: Promise<UndiciCall>;
  status = 0;
  headers: Record<string, string> = {};

  #resolve!: (call: UndiciCall) => void;
  #reject!: (err: unknown) => void;
  /** The response promise was settled (or given up by the connect deadline). */
  #answered = false;
  /** undici's abort of the request, from `onConnect` on; called once at most. */
  #abortRequest: ((err?: Error) => void) | null = null;
  #requestAborted = false;
  /** The socket's reading is paused (`onData` said so); `#resume` (from `onHeaders`) restarts it. */
  #paused = false;
  #resume: (() => void) | null = null;
  /** An abort that came before `onConnect`; applied there. */
  #pendingAbort: Error | null = null;
  /** undici is done with the request: the slot is back and the abort listener gone. */
  #finished = false;
  #deadline: ReturnType<typeof setTimeout> | null = null;
  #drainTimer: ReturnType<typeof setTimeout> | null = null;
  /** Draining: past this many bytes received, the rest is not worth the connection. */
  #drainLimit = 0;

  #state: ReadState = 'unread';
  /** Received and not yet read. */
  #chunks: Buffer[] = [];
  #queued = 0;
  #received = 0;
  /** Every byte arrived (`onResponseEnd`). */
  #ended = false;
  /** Why the body failed; the reader gets it after the chunks queued before it. */
  #error: unknown = null;
  #abortSeen = false;
  /** A microtask will hand the waiting reader the chunks queued for it. */
  #flushing = false;
  /** The reader waiting for a chunk, the end or the failure. */
  #waiting: {
    resolve: (value: IteratorResult<Uint8Array> | string) => void;
    reject: (err: unknown) => void;
  } | null = null;
  readonly #onAbort = (): void => this.#abort(this.signal.reason);

  constructor(
    private readonly req: HttpRequest,
    /** What undici would have been handed as the `signal`: the call's Cancellation if it has one. */
    private readonly signal: Cancellation | AbortSignal,
    private readonly slots: Slots,
    private readonly upload: Readable | undefined,
  ) {
    this.response = new Promise<UndiciCall>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    if (signal.aborted) this.#pendingAbort = abortReason(signal);
    else if (signal instanceof AbortSignal) signal.addEventListener('abort', this.#onAbort);
    else signal.once('abort', this.#onAbort);
  }

  /**
   * Fails the call as `connect` (`err`) unless undici has it on a connected socket within
   * `budgetMs`: for a request that already spent part of its connect timeout waiting for a pool
   * slot. undici does not act on an abort before the socket, so the caller gets `err` at the
   * deadline and the request is aborted when undici gets to it; only then is the slot released.
   */
  connectWithin(budgetMs: number, err: () => TransportError): void {
    this.#deadline = setTimeout(() => {
      this.#deadline = null;
      if (this.#answered) return;
      const error = err();
      this.#answered = true;
      this.#pendingAbort ??= error;
      this.#reject(error);
    }, budgetMs);
  }

  /** The call is not handed to undici after all (its wait for a slot failed): it ends here. */
  abandon(slotTaken: boolean): void {
    this.#answered = true;
    if (!slotTaken) this.#finished = true;
    this.#finish();
  }

  // ---- undici's side ------------------------------------------------------------------------

  onConnect(abort: (err?: Error) => void): void {
    if (this.#deadline !== null) {
      clearTimeout(this.#deadline);
      this.#deadline = null;
    }
    this.#abortRequest = abort;
    if (this.#pendingAbort !== null) this.#abortWith(this.#pendingAbort);
  }

  /** Returns false to pause the socket (as the controller's `paused` did). */
  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    this.#resume = resume;
    // 1xx answers are informational; the response is the one after them.
    if (statusCode >= 200 && !this.#answered) {
      this.#answered = true;
      this.status = statusCode;
      this.headers = headersOf(rawHeaders);
      this.#resolve(this);
    }
    return !this.#paused;
  }

  /** Returns false to pause the socket. */
  onData(chunk: Buffer): boolean {
    this.#data(chunk);
    return !this.#paused;
  }

  #data(chunk: Buffer): void {
    if (this.#error !== null) return;
    this.#received += chunk.byteLength;
    if (this.#state === 'done') {
      // Draining for keep-alive after the reader stopped: dropped, within the drain bound.
      if (this.#received > this.#drainLimit) this.#discard();
      return;
    }
    if (this.#received > this.req.maxResponseBytes) {
      this.#fail(new TransportError('too_large', `response body exceeds ${this.req.maxResponseBytes} bytes`));
      this.#abortWith(new Error('response body over its bound'));
      return;
    }
    this.#chunks.push(chunk);
    this.#queued += chunk.byteLength;
    if (this.#waiting !== null && this.#state === 'iterating') {
      // The waiting reader gets what this socket read brings, in one piece: undici calls this once
      // per chunk of a chunked body, all before the microtask runs.
      if (!this.#flushing) {
        this.#flushing = true;
        queueMicrotask(this.#flush);
      }
      return;
    }
    if (this.#state !== 'text' && this.#queued >= HIGH_WATER_BYTES) this.#paused = true;
  }

  onComplete(): void {
    this.#ended = true;
    this.#finish();
    const waiting = this.#waiting;
    // A waiting reader of chunks still queued gets them first (the pending flush), the end next.
    if (waiting === null || this.#error !== null) return;
    if (this.#state === 'iterating' && this.#chunks.length > 0) return;
    this.#waiting = null;
    if (this.#state === 'text') waiting.resolve(this.#takeText());
    else {
      this.#state = 'done';
      waiting.resolve({ done: true, value: undefined });
    }
  }

  onError(error: Error): void {
    this.#finish();
    if (this.upload !== undefined && !this.upload.destroyed) {
      this.upload.on('error', () => undefined);
      this.upload.destroy(error);
    }
    if (!this.#answered) {
      this.#answered = true;
      this.#reject(error);
      return;
    }
    // The body's failure; one already recorded (too_large) stays, with the chunks before it.
    if (this.#error === null) {
      this.#chunks = [];
      this.#queued = 0;
      this.#fail(error);
    }
  }

  // ---- the response ---------------------------------------------------------------------------

  get body(): AsyncIterable<Uint8Array> {
    return this;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<Uint8Array>> {
    if (this.#state === 'unread') this.#state = 'iterating';
    else if (this.#state !== 'iterating') return Promise.resolve({ done: true, value: undefined });
    this.#seeAbort();
    if (this.#chunks.length > 0) return Promise.resolve({ done: false, value: this.#takeChunks() });
    if (this.#error !== null) {
      this.#state = 'done';
      return Promise.reject(bodyError(this.#error, this.signal));
    }
    if (this.#ended) {
      this.#state = 'done';
      return Promise.resolve({ done: true, value: undefined });
    }
    this.#resumeSocket();
    return new Promise<IteratorResult<Uint8Array>>((resolve, reject) => {
      this.#waiting = { resolve: resolve as (value: IteratorResult<Uint8Array> | string) => void, reject };
    });
  }

  /** The reader stops: what is left is drained so the connection can be reused. */
  return(): Promise<IteratorResult<Uint8Array>> {
    const wasDone = this.#state === 'done';
    this.#state = 'done';
    const waiting = this.#waiting;
    this.#waiting = null;
    waiting?.resolve({ done: true, value: undefined });
    if (!wasDone) this.#drain();
    return Promise.resolve({ done: true, value: undefined });
  }

  /**
   * The rest of the body as UTF-8. On an untouched body, decoded once at its end; a declared
   * Content-Length over the bound fails before anything is read (undici fails a body longer
   * than its Content-Length).
   */
  text(): Promise<string> {
    if (this.#state !== 'unread') return readText(this);
    const declared = this.headers['content-length'];
    if (declared !== undefined && /^\d+$/.test(declared) && Number(declared) > this.req.maxResponseBytes) {
      this.#state = 'done';
      this.#discard();
      return Promise.reject(
        new TransportError('too_large', `response body exceeds ${this.req.maxResponseBytes} bytes`),
      );
    }
    this.#seeAbort();
    if (this.#error !== null) {
      this.#state = 'done';
      return Promise.reject(bodyError(this.#error, this.signal));
    }
    if (this.#ended) return Promise.resolve(this.#takeText());
    this.#state = 'text';
    this.#resumeSocket();
    return new Promise<string>((resolve, reject) => {
      this.#waiting = { resolve: resolve as (value: IteratorResult<Uint8Array> | string) => void, reject };
    });
  }

  // ---- internals ------------------------------------------------------------------------------

  /**
   * Everything queued, in one piece, as a Readable's `read()` gave it: the stream reader above
   * parses and relays one batch per read (one write to the client), not one per body chunk.
   */
  #takeChunks(): Buffer {
    const chunks = this.#chunks;
    const chunk = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, this.#queued);
    this.#chunks = [];
    this.#queued = 0;
    this.#resumeSocket();
    return chunk;
  }

  /** Hands the waiting reader what arrived since it began to wait (queued by `onResponseData`). */
  readonly #flush = (): void => {
    this.#flushing = false;
    const waiting = this.#waiting;
    // Nothing to do when the reader returned, or an end or failure reached it already.
    if (waiting === null || this.#state !== 'iterating' || this.#chunks.length === 0) return;
    this.#waiting = null;
    waiting.resolve({ done: false, value: this.#takeChunks() });
  };

  #takeText(): string {
    this.#state = 'done';
    const text = decodeBody(this.#chunks, this.#queued);
    this.#chunks = [];
    this.#queued = 0;
    return text;
  }

  /** The body failed: a waiting reader gets the failure now, a later one on its next read. */
  #fail(error: unknown): void {
    this.#error = error;
    const waiting = this.#waiting;
    // A waiting reader gets the chunks queued before the failure first (the pending flush).
    if (waiting === null || (this.#state === 'iterating' && this.#chunks.length > 0)) return;
    this.#waiting = null;
    this.#state = 'done';
    waiting.reject(bodyError(error, this.signal));
  }

  /**
   * The caller's abort: before the socket, remembered; after it, the request is aborted, which
   * undici reports through `onResponseError`. (Once undici is done the listener is gone; a reader
   * still taking queued chunks then sees the abort through `#seeAbort`.)
   */
  #abort(reason: unknown): void {
    if (this.#finished) return;
    const error = reason instanceof Error ? reason : abortReason(this.signal);
    if (this.#abortRequest === null) this.#pendingAbort ??= error;
    else this.#abortWith(error);
  }

  /**
   * An abort the reader has not seen yet wins over what is queued, and over a failure recorded
   * before it (too_large): the reader fails as `aborted`, as it did when the aborted body stream
   * was destroyed with its unread buffer.
   */
  #seeAbort(): void {
    if (this.#abortSeen || !this.signal.aborted) return;
    this.#abortSeen = true;
    this.#chunks = [];
    this.#queued = 0;
    this.#error = this.signal.reason;
  }

  /** Reads and drops the rest of the body so its connection returns to the pool. */
  #drain(): void {
    this.#chunks = [];
    this.#queued = 0;
    if (this.#finished) return;
    if (this.signal.aborted || this.#error !== null) {
      this.#discard();
      return;
    }
    this.#drainLimit = this.#received + DRAIN_LIMIT_BYTES;
    this.#drainTimer = setTimeout(() => this.#discard(), DRAIN_TIMEOUT_MS);
    this.#drainTimer.unref();
    this.#resumeSocket();
  }

  /** Aborts what undici still has of the request (the connection closes); no one is told. */
  #discard(): void {
    if (this.#finished) return;
    if (this.#abortRequest === null) this.#pendingAbort ??= new Error('response discarded');
    else this.#abortWith(new Error('response discarded'));
  }

  /** undici's abort, once (as the controller's `abort` was). */
  #abortWith(error: Error): void {
    if (this.#requestAborted) return;
    this.#requestAborted = true;
    (this.#abortRequest as (err?: Error) => void)(error);
  }

  /** Restarts a paused socket (as the controller's `resume`: only when paused, once headers came). */
  #resumeSocket(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#resume?.();
  }

  /** undici's side is over: once, the slot goes back and the listeners go. */
  #finish(): void {
    if (this.#deadline !== null) clearTimeout(this.#deadline);
    if (this.#drainTimer !== null) clearTimeout(this.#drainTimer);
    const signal = this.signal;
    if (signal instanceof AbortSignal) signal.removeEventListener('abort', this.#onAbort);
    else signal.removeListener('abort', this.#onAbort);
    if (this.#finished) return;
    this.#finished = true;
    this.slots.release();
  }
}

function abortReason(signal: Cancellation | AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  return new DOMException('This operation was aborted', 'AbortError') as Error;
}
