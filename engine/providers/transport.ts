/**
 * The transport port: the only way the engine reaches the network. `createUndiciTransport` keeps
 * one keep-alive pool per (origin, connect timeout): undici's connect timeout is a property of the
 * dispatcher, so targets with different connect timeouts get different pools.
 */
import { Socket } from 'node:net';
import { buildConnector, errors, Pool } from 'undici';

export interface HttpRequest {
  url: string;
  method: 'POST' | 'GET';
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
  connectTimeoutMs: number;
  /** The body iterator (and `text()`) throws `TransportError('too_large')` past this many bytes. */
  maxResponseBytes: number;
}

export interface HttpResponse {
  status: number;
  /** Lower-cased names; repeated headers joined with ', '. */
  headers: Record<string, string>;
  /** Streamed, never buffered whole. Iterate once. */
  body: AsyncIterable<Uint8Array>;
  /** Reads the rest of `body` as UTF-8. */
  text(): Promise<string>;
}

export interface Transport {
  request(req: HttpRequest): Promise<HttpResponse>;
  close(): Promise<void>;
}

/**
 * - `connect`: refused, reset before the headers, connect timeout, DNS failure.
 * - `aborted`: the request's signal fired (the signal's reason is the `cause`).
 * - `too_large`: the body exceeded `maxResponseBytes`.
 * - `body`: the connection broke while the body was being read.
 */
export type TransportErrorCode = 'connect' | 'aborted' | 'too_large' | 'body';

export class TransportError extends Error {
  constructor(
    readonly code: TransportErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TransportError';
  }
}

export interface UndiciTransportOptions {
  /** Maximum sockets per pool (per origin and connect timeout). */
  connections?: number;
  /** How long an idle keep-alive socket is kept. */
  keepAliveTimeoutMs?: number;
  /**
   * undici's own header and body-idle timeouts. Off (0) by default: the attempt loop owns the
   * first-token, idle and total deadlines and aborts the signal.
   */
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
}

function errorCode(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string')
    return err.code;
  return '';
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function flattenHeaders(raw: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/** undici's response body: a Readable with undici's own whole-body readers. */
type UndiciBody = Awaited<ReturnType<Pool['request']>>['body'];

/** The TransportError for a body that failed while it was read. */
function bodyError(err: unknown, req: HttpRequest): TransportError {
  if (err instanceof TransportError) return err;
  if (req.signal.aborted)
    return new TransportError('aborted', 'request aborted', { cause: req.signal.reason });
  return new TransportError('body', `response body failed: ${describe(err)}`, { cause: err });
}

/**
 * One upstream response. A class, not an object of closures: the request path builds one per
 * call. `body` is wrapped on first use; `text()` on an untouched body with a Content-Length
 * reads it in one piece through undici (the length is checked against the bound first, and
 * undici fails a body longer than its Content-Length), skipping the per-chunk async iteration.
 */
class UndiciResponse implements HttpResponse {
  #bounded: AsyncGenerator<Uint8Array> | null = null;

  constructor(
    readonly status: number,
    readonly headers: Record<string, string>,
    private readonly raw: UndiciBody,
    private readonly req: HttpRequest,
  ) {}

  get body(): AsyncIterable<Uint8Array> {
    this.#bounded ??= boundedBody(this.raw, this.req);
    return this.#bounded;
  }

  async text(): Promise<string> {
    const declared = this.headers['content-length'];
    if (this.#bounded !== null || declared === undefined || !/^\d+$/.test(declared)) {
      return readText(this.body);
    }
    if (Number(declared) > this.req.maxResponseBytes) {
      discard(this.raw);
      throw new TransportError('too_large', `response body exceeds ${this.req.maxResponseBytes} bytes`);
    }
    try {
      return await this.raw.text();
    } catch (err) {
      discard(this.raw);
      throw bodyError(err, this.req);
    }
  }
}

/** A body left unread when its consumer stops is drained this far to keep the connection... */
const DRAIN_LIMIT_BYTES = 64 * 1024;
/** ...for at most this long; past either bound it is destroyed (the connection closes). */
const DRAIN_TIMEOUT_MS = 1_000;

/**
 * Wraps a body stream: bounds its size and turns errors into TransportErrors.
 *
 * A consumer that stops early without failing (an SSE reader returns at `[DONE]` before the
 * body's end was emitted) must not destroy the body: destroying an unfinished body costs an
 * AbortError with its stack trace (dear under source maps) and, when the response has not fully
 * arrived, undici aborts it and closes the pooled connection. The rest is drained instead,
 * within {@link DRAIN_LIMIT_BYTES} and {@link DRAIN_TIMEOUT_MS}. A failure (too_large, a broken
 * body) destroys it at once.
 */
async function* boundedBody(source: UndiciBody, req: HttpRequest): AsyncGenerator<Uint8Array> {
  let received = 0;
  let failed = false;
  try {
    for await (const chunk of source.iterator({ destroyOnReturn: false }) as AsyncIterable<Uint8Array>) {
      received += chunk.byteLength;
      if (received > req.maxResponseBytes) {
        throw new TransportError('too_large', `response body exceeds ${req.maxResponseBytes} bytes`);
      }
      yield chunk;
    }
  } catch (err) {
    failed = true;
    discard(source);
    throw bodyError(err, req);
  } finally {
    if (!failed && !source.readableEnded) drain(source, req.signal);
  }
}

/** Destroys a body (closing its connection); the error undici then emits has no one to tell. */
function discard(source: UndiciBody): void {
  source.on('error', () => undefined);
  source.destroy();
}

/** Reads and drops the rest of a body so its connection returns to the pool. */
function drain(source: UndiciBody, signal: AbortSignal): void {
  if (signal.aborted) {
    discard(source);
    return;
  }
  const timer = setTimeout(() => discard(source), DRAIN_TIMEOUT_MS);
  timer.unref();
  source
    .dump({ signal, limit: DRAIN_LIMIT_BYTES })
    .catch(() => undefined)
    .finally(() => clearTimeout(timer));
}

/**
 * undici's own connect timeout runs on its coarse timer wheel (up to ~1 s late); this connector
 * enforces the timeout to the millisecond and destroys the half-open socket.
 */
function preciseConnector(timeoutMs: number): buildConnector.connector {
  // The connector returns the socket at runtime although its declared type says void.
  const inner = buildConnector({ timeout: 0, keepAlive: true }) as (
    options: buildConnector.Options,
    callback: buildConnector.Callback,
  ) => unknown;
  return (options, callback) => {
    let settled = false;
    const socket = inner(options, (...args) => {
      if (settled) {
        args[1]?.destroy();
        return;
      }
      settled = true;
      clearTimeout(timer);
      callback(...args);
    });
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      if (socket instanceof Socket) socket.destroy();
      callback(new errors.ConnectTimeoutError(`connect timeout after ${timeoutMs} ms`), null);
    }, timeoutMs);
  };
}

/**
 * A Transport on undici pools.
 *
 * @example
 * const transport = createUndiciTransport({ connections: 64 });
 * const res = await transport.request({ url, method: 'POST', headers, body, signal, connectTimeoutMs: 2000, maxResponseBytes: 8 << 20 });
 * for await (const bytes of res.body) { ... }
 */
/** At most this many pools (origin × connect timeout) are kept; the least recently used is closed. */
export const MAX_POOLS = 64;

export function createUndiciTransport(options: UndiciTransportOptions = {}): Transport {
  const connections = options.connections ?? 128;
  const keepAliveTimeout = options.keepAliveTimeoutMs ?? 30_000;
  const headersTimeout = options.headersTimeoutMs ?? 0;
  const bodyTimeout = options.bodyTimeoutMs ?? 0;
  const pools = new Map<string, Pool>();
  /** Parsed request URLs: a gateway calls the same few endpoints over and over. */
  const targets = new Map<string, { origin: string; path: string }>();
  let closed = false;

  function targetOf(raw: string): { origin: string; path: string } {
    let target = targets.get(raw);
    if (target === undefined) {
      const url = new URL(raw);
      target = { origin: url.origin, path: url.pathname + url.search };
      // Bounded: URLs come from the policy, but nothing forbids one built per request.
      if (targets.size >= 1024) targets.clear();
      targets.set(raw, target);
    }
    return target;
  }

  function poolFor(origin: string, connectTimeoutMs: number): Pool {
    const key = `${origin} ${connectTimeoutMs}`;
    let pool = pools.get(key);
    if (pool !== undefined) {
      // Least recently used order: a hit moves the pool to the end.
      pools.delete(key);
      pools.set(key, pool);
    } else {
      pool = new Pool(origin, {
        connections,
        keepAliveTimeout,
        headersTimeout,
        bodyTimeout,
        connect: connectTimeoutMs > 0 ? preciseConnector(connectTimeoutMs) : { timeout: 0 },
      });
      pools.set(key, pool);
      // Bounded: evict (and close, letting in-flight requests finish) the least recently used.
      while (pools.size > MAX_POOLS) {
        const oldest = pools.keys().next();
        if (oldest.done === true) break;
        const evicted = pools.get(oldest.value);
        pools.delete(oldest.value);
        evicted?.close().catch(() => undefined);
      }
    }
    return pool;
  }

  return {
    async request(req: HttpRequest): Promise<HttpResponse> {
      if (closed) throw new TransportError('connect', 'transport is closed');
      if (req.signal.aborted)
        throw new TransportError('aborted', 'request aborted', { cause: req.signal.reason });
      const target = targetOf(req.url);
      const pool = poolFor(target.origin, req.connectTimeoutMs);
      let res: Awaited<ReturnType<Pool['request']>>;
      try {
        res = await pool.request({
          path: target.path,
          method: req.method,
          headers: req.headers,
          body: req.body,
          signal: req.signal,
        });
      } catch (err) {
        if (req.signal.aborted)
          throw new TransportError('aborted', 'request aborted', { cause: req.signal.reason });
        throw new TransportError('connect', `${errorCode(err) || 'connect failed'}: ${describe(err)}`, {
          cause: err,
        });
      }
      return new UndiciResponse(res.statusCode, flattenHeaders(res.headers), res.body, req);
    },
    async close(): Promise<void> {
      closed = true;
      const all = [...pools.values()];
      pools.clear();
      await Promise.all(all.map((pool) => pool.destroy()));
    },
  };
}

/** Reads a byte stream to the end as UTF-8. */
export async function readText(body: AsyncIterable<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of body) text += decoder.decode(chunk, { stream: true });
  return text + decoder.decode();
}
