/**
 * The transport port: the only way the engine reaches the network. `createUndiciTransport` keeps
 * one keep-alive pool per (origin, pool settings, connect timeout): undici's connect timeout is a
 * property of the dispatcher, so targets with different connect timeouts get different pools.
 * The `connections` cap is enforced in front of undici, by a {@link Slots} queue per (origin, pool
 * settings) shared by those pools (see `createUndiciTransport`).
 */
import { Socket } from 'node:net';
import { buildConnector, type Dispatcher, errors, Pool } from 'undici';
import { DEFAULT_CONNECTIONS, DEFAULT_KEEP_ALIVE_MS, type PoolSettings, Slots } from './pool.js';

export interface HttpRequest {
  url: string;
  method: 'POST' | 'GET';
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
  connectTimeoutMs: number;
  /** The body iterator (and `text()`) throws `TransportError('too_large')` past this many bytes. */
  maxResponseBytes: number;
  /** The provider's pool settings; absent: the transport's own defaults. */
  pool?: PoolSettings;
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
 * - `connect`: refused, reset before the headers, connect timeout, DNS failure, no free
 *   connection in the pool within the connect timeout.
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
  /**
   * Connections per origin for requests that carry no `pool` settings (providers compiled from a
   * policy always do). Default {@link DEFAULT_CONNECTIONS}.
   */
  connections?: number;
  /** How long an idle keep-alive socket is kept (same fallback role); 0 disables keep-alive. */
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
 * Forwards every handler event and reports the moment undici puts the request on a connected
 * socket (`onRequestStart`: a reused keep-alive socket, or a fresh one after its handshake).
 */
class ConnectWatch implements Dispatcher.DispatchHandler {
  constructor(
    private readonly inner: Dispatcher.DispatchHandler,
    private readonly onConnected: () => void,
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    this.onConnected();
    this.inner.onRequestStart?.(controller, context);
  }

  onRequestUpgrade(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Parameters<NonNullable<Dispatcher.DispatchHandler['onRequestUpgrade']>>[2],
    socket: Parameters<NonNullable<Dispatcher.DispatchHandler['onRequestUpgrade']>>[3],
  ): void {
    this.inner.onRequestUpgrade?.(controller, statusCode, headers, socket);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Parameters<NonNullable<Dispatcher.DispatchHandler['onResponseStart']>>[2],
    statusMessage?: string,
  ): void {
    this.inner.onResponseStart?.(controller, statusCode, headers, statusMessage);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.inner.onResponseData?.(controller, chunk);
  }

  onResponseEnd(
    controller: Dispatcher.DispatchController,
    trailers: Parameters<NonNullable<Dispatcher.DispatchHandler['onResponseEnd']>>[1],
  ): void {
    this.inner.onResponseEnd?.(controller, trailers);
  }

  onResponseError(controller: Dispatcher.DispatchController, error: Error): void {
    this.inner.onResponseError?.(controller, error);
  }
}

type UndiciRequestOptions = Parameters<Pool['request']>[0];
type UndiciResult = Awaited<ReturnType<Pool['request']>>;

/**
 * Dispatches a request that already spent part of its connect budget waiting for a slot: it must
 * be on a connected socket within `budgetMs`, or the call fails as `connect`. undici does not
 * honour an abort before the request reaches a socket (it only notes it), so the call is failed
 * here at the deadline and the request left to undici, aborted: it settles when the precise
 * connector gives up or the socket connects, and only then is the slot released.
 */
function requestWithin(
  pool: Pool,
  options: UndiciRequestOptions,
  budgetMs: number,
  slots: Slots,
  connectTimeoutMs: number,
  origin: string,
): Promise<UndiciResult> {
  return new Promise<UndiciResult>((resolve, reject) => {
    const own = new AbortController();
    let given = false;
    const timer = setTimeout(() => {
      given = true;
      const err = new TransportError(
        'connect',
        `no connection to ${origin} within the connect timeout of ${connectTimeoutMs} ms ` +
          `(waited for one of ${slots.limit} pooled connections, then for the socket)`,
      );
      own.abort(err);
      reject(err);
    }, budgetMs);
    const watched = pool.compose(
      (dispatch) => (opts, handler) => dispatch(opts, new ConnectWatch(handler, () => clearTimeout(timer))),
    );
    const signal =
      options.signal instanceof AbortSignal ? AbortSignal.any([options.signal, own.signal]) : own.signal;
    (watched as unknown as Pool).request({ ...options, signal }).then(
      (res) => {
        clearTimeout(timer);
        if (!given) resolve(res);
        else {
          res.body.once('close', slots.release);
          discard(res.body);
        }
      },
      (err: unknown) => {
        clearTimeout(timer);
        if (!given) reject(err);
        else slots.release();
      },
    );
  });
}

/** At most this many pools (origin × settings × connect timeout) are kept; the least recently used is closed. */
export const MAX_POOLS = 64;

/**
 * A Transport on undici pools.
 *
 * Connection cap. undici's Pool queues a request internally when all its `connections` are busy,
 * and there neither a timeout nor an abort reaches it: the abort is only acted on once the request
 * gets a socket, so a request queued behind long streams waited for one of them to end and was
 * reported as a first-token timeout. So each (origin, pool settings) has a {@link Slots} queue in
 * front of undici. A request takes a slot before it is handed to undici (so undici has, or opens,
 * a connection for it) and gives it back when its response body closes (undici has then freed
 * the connection, or is about to reuse it) or the request fails. A request that finds
 * every slot taken waits for one under its connect timeout, which is what the wait counts against:
 * no slot within `connectTimeoutMs` fails it as `connect` (`TransportError('connect')`), and the
 * time the wait took is deducted from what is left for the socket (see {@link requestWithin}).
 * Without a wait nothing extra runs: the precise connector bounds the handshake.
 *
 * @example
 * const transport = createUndiciTransport();
 * const res = await transport.request({ url, method: 'POST', headers, body, signal, connectTimeoutMs: 2000, maxResponseBytes: 8 << 20, pool: { connections: 64, keepAliveMs: 30_000 } });
 * for await (const bytes of res.body) { ... }
 */
export function createUndiciTransport(options: UndiciTransportOptions = {}): Transport {
  const defaults: PoolSettings = {
    connections: options.connections ?? DEFAULT_CONNECTIONS,
    keepAliveMs: options.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_MS,
  };
  const headersTimeout = options.headersTimeoutMs ?? 0;
  const bodyTimeout = options.bodyTimeoutMs ?? 0;
  const pools = new Map<string, Pool>();
  /** Admission per (origin, settings); shared by that origin's pools of different connect timeouts. */
  const slotsByKey = new Map<string, Slots>();
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

  function slotsFor(key: string, settings: PoolSettings): Slots {
    let slots = slotsByKey.get(key);
    if (slots === undefined) {
      slots = new Slots(settings.connections);
      // Bounded like the pools; only idle queues are dropped (a new one for the key starts empty,
      // which is what an idle one is), so the cap of a busy origin is never split in two.
      if (slotsByKey.size >= MAX_POOLS * 2) {
        for (const [k, s] of slotsByKey) if (s.active === 0 && s.waiting === 0) slotsByKey.delete(k);
      }
      slotsByKey.set(key, slots);
    }
    return slots;
  }

  function poolFor(key: string, origin: string, connectTimeoutMs: number, settings: PoolSettings): Pool {
    let pool = pools.get(key);
    if (pool !== undefined) {
      // Least recently used order: a hit moves the pool to the end.
      pools.delete(key);
      pools.set(key, pool);
    } else {
      const keepAlive = settings.keepAliveMs > 0;
      pool = new Pool(origin, {
        // Also undici's cap, as a hard bound on sockets. Behind the Slots its queue stays empty
        // but for a moment: a finished response's socket is reusable one event loop turn later.
        connections: settings.connections,
        // pipelining 0 is undici's switch for `connection: close` on every request.
        pipelining: keepAlive ? 1 : 0,
        ...(keepAlive
          ? // A server's shorter `Keep-Alive: timeout` hint wins; a longer one is capped at ours.
            { keepAliveTimeout: settings.keepAliveMs, keepAliveMaxTimeout: settings.keepAliveMs }
          : {}),
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
      const settings = req.pool ?? defaults;
      const slotsKey = `${target.origin} ${settings.connections} ${settings.keepAliveMs}`;
      const slots = slotsFor(slotsKey, settings);
      const pool = poolFor(
        `${slotsKey} ${req.connectTimeoutMs}`,
        target.origin,
        req.connectTimeoutMs,
        settings,
      );
      const requestOptions: UndiciRequestOptions = {
        path: target.path,
        method: req.method,
        headers: req.headers,
        body: req.body,
        signal: req.signal,
      };
      let pending: Promise<UndiciResult>;
      if (slots.tryTake()) {
        pending = pool.request(requestOptions);
      } else {
        const waitStart = performance.now();
        const outcome = await slots.take(req.connectTimeoutMs, req.signal);
        if (outcome === 'aborted')
          throw new TransportError('aborted', 'request aborted', { cause: req.signal.reason });
        if (outcome === 'timeout') {
          throw new TransportError(
            'connect',
            `no free connection to ${target.origin} within the connect timeout of ${req.connectTimeoutMs} ms ` +
              `(all ${slots.limit} pooled connections in use; see the provider's \`connections\`)`,
          );
        }
        if (closed) {
          slots.release();
          throw new TransportError('connect', 'transport is closed');
        }
        pending =
          req.connectTimeoutMs > 0
            ? requestWithin(
                pool,
                requestOptions,
                Math.max(1, req.connectTimeoutMs - (performance.now() - waitStart)),
                slots,
                req.connectTimeoutMs,
                target.origin,
              )
            : pool.request(requestOptions);
      }
      let res: UndiciResult;
      try {
        res = await pending;
      } catch (err) {
        // requestWithin's own deadline: classified already, and the slot goes back when undici
        // settles the abandoned request.
        if (err instanceof TransportError) throw err;
        slots.release();
        if (req.signal.aborted)
          throw new TransportError('aborted', 'request aborted', { cause: req.signal.reason });
        throw new TransportError('connect', `${errorCode(err) || 'connect failed'}: ${describe(err)}`, {
          cause: err,
        });
      }
      // The body closes once read to the end, drained or destroyed: undici has freed the
      // connection by then. `release` is a bound arrow, so this allocates nothing per request.
      res.body.once('close', slots.release);
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
