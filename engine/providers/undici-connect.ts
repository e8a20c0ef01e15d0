/**
 * undici connection set-up behind the transport port: a connector that keeps the connect timeout
 * to the millisecond, and the dispatch of a request that waited for a pool slot and must be on a
 * socket within what is left of its connect budget.
 */
import { Socket } from 'node:net';
import type { buildConnector, Dispatcher, Pool } from 'undici';
import { TransportError } from './http.js';
import type { Slots } from './pool.js';
import { discard } from './undici-body.js';
import { undici } from './undici-lib.js';

/**
 * undici's own connect timeout runs on its coarse timer wheel (up to ~1 s late); this connector
 * enforces the timeout to the millisecond and destroys the half-open socket.
 */
export function preciseConnector(timeoutMs: number): buildConnector.connector {
  // The connector returns the socket at runtime although its declared type says void.
  const inner = undici().buildConnector({ timeout: 0, keepAlive: true }) as (
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
      callback(new (undici().errors.ConnectTimeoutError)(`connect timeout after ${timeoutMs} ms`), null);
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

export type UndiciRequestOptions = Parameters<Pool['request']>[0];
export type UndiciResult = Awaited<ReturnType<Pool['request']>>;

/**
 * Dispatches a request that already spent part of its connect budget waiting for a slot: it must
 * be on a connected socket within `budgetMs`, or the call fails as `connect`. undici does not
 * honour an abort before the request reaches a socket (it only notes it), so the call is failed
 * here at the deadline and the request left to undici, aborted: it settles when the precise
 * connector gives up or the socket connects, and only then is the slot released.
 */
export function requestWithin(
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
