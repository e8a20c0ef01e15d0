/**
 * The transport port (see `http.ts`) on undici: `createUndiciTransport` keeps one keep-alive pool
 * per (origin, pool settings, connect timeout): undici's connect timeout is a property of the
 * dispatcher, so targets with different connect timeouts get different pools. The `connections`
 * cap is enforced in front of undici, by a {@link Slots} queue per (origin, pool settings) shared
 * by those pools (see `createUndiciTransport`). Each call is a dispatch handler of ours that is also
 * the response (`undici-call.ts`); connecting within the connect timeout: `undici-connect.ts`.
 */
import { Readable } from 'node:stream';
import type { Dispatcher, Pool } from 'undici';
import { type HttpRequest, type HttpResponse, type Transport, TransportError } from './http.js';
import { DEFAULT_CONNECTIONS, DEFAULT_KEEP_ALIVE_MS, type PoolSettings, Slots } from './pool.js';
import { describe } from './undici-body.js';
import { UndiciCall } from './undici-call.js';
import { preciseConnector } from './undici-connect.js';
import { undici } from './undici-lib.js';

export {
  type HttpRequest,
  type HttpResponse,
  readText,
  type Transport,
  TransportError,
  type TransportErrorCode,
} from './http.js';

/**
 * Loads undici now (see `undici-lib.ts`): the engine calls it when it builds a network provider
 * on its own transport, so the first request does not pay for the import.
 */
export function preloadUndici(): void {
  undici();
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

/**
 * Hands the call to undici. undici reports a failure it finds at once (a closed pool, bad
 * options) to the handler's `onError`; anything thrown goes the same way.
 */
function dispatch(pool: Pool, options: Dispatcher.DispatchOptions, call: UndiciCall): void {
  try {
    pool.dispatch(options, call);
  } catch (err) {
    call.onError(err instanceof Error ? err : new Error(String(err)));
  }
}

function errorCode(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string')
    return err.code;
  return '';
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
 * a connection for it) and gives it back once undici is done with it: the response's last byte
 * arrived (undici has then freed the connection, or is about to reuse it, whether or not the
 * reader has taken the bytes yet) or the request failed (see `UndiciCall`). A request that finds
 * every slot taken waits for one under its connect timeout, which is what the wait counts against:
 * no slot within `connectTimeoutMs` fails it as `connect` (`TransportError('connect')`), and the
 * time the wait took is deducted from what is left for the socket (`UndiciCall.connectWithin`).
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
      pool = new (undici().Pool)(origin, {
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
      const cancel = req.cancel;
      if (cancel === undefined ? req.signal.aborted : cancel.aborted)
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
      const upload =
        req.body === undefined && req.upload !== undefined ? Readable.from(req.upload) : undefined;
      const options: Dispatcher.DispatchOptions = {
        path: target.path,
        method: req.method,
        headers: req.headers,
        body: req.body ?? upload,
      };
      // The call listens to the Cancellation when there is one: no AbortSignal is made for the
      // call unless something else reads it (cancellation.ts).
      const call = new UndiciCall(req, cancel ?? req.signal, slots, upload);
      if (slots.tryTake()) {
        dispatch(pool, options, call);
      } else {
        const waitStart = performance.now();
        const outcome = await slots.take(req.connectTimeoutMs, req.signal);
        if (outcome !== 'taken' || closed) {
          // The call never reaches undici: its listener goes, and a slot taken goes back.
          call.abandon(outcome === 'taken');
          if (outcome === 'aborted')
            throw new TransportError('aborted', 'request aborted', { cause: req.signal.reason });
          if (outcome === 'timeout') {
            throw new TransportError(
              'connect',
              `no free connection to ${target.origin} within the connect timeout of ${req.connectTimeoutMs} ms ` +
                `(all ${slots.limit} pooled connections in use; see the provider's \`connections\`)`,
            );
          }
          throw new TransportError('connect', 'transport is closed');
        }
        if (req.connectTimeoutMs > 0) {
          // What is left of the connect timeout after the wait: undici must have the request on a
          // connected socket by then (the precise connector bounds only the handshake).
          const budget = Math.max(1, req.connectTimeoutMs - (performance.now() - waitStart));
          call.connectWithin(
            budget,
            () =>
              new TransportError(
                'connect',
                `no connection to ${target.origin} within the connect timeout of ${req.connectTimeoutMs} ms ` +
                  `(waited for one of ${slots.limit} pooled connections, then for the socket)`,
              ),
          );
        }
        dispatch(pool, options, call);
      }
      try {
        return await call.response;
      } catch (err) {
        // The connect deadline's own error is classified already; the slot went back (or goes
        // back when undici settles the abandoned request) in the call.
        if (err instanceof TransportError) throw err;
        if (cancel === undefined ? req.signal.aborted : cancel.aborted)
          throw new TransportError('aborted', 'request aborted', { cause: req.signal.reason });
        throw new TransportError('connect', `${errorCode(err) || 'connect failed'}: ${describe(err)}`, {
          cause: err,
        });
      }
    },
    async close(): Promise<void> {
      closed = true;
      const all = [...pools.values()];
      pools.clear();
      await Promise.all(all.map((pool) => pool.destroy()));
    },
  };
}
