/**
 * The life of a request in the server: its state (started, cancellation, the engine's answer),
 * in-flight tracking for the drain, the one log line and the metrics of a finished request, and
 * the shutdown that drains them.
 *
 * The functions here are made once per server, the response's listeners included (they find the
 * request through the response): a request allocates its state and nothing else here.
 */

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { ErrorCode, Recorder, ResponseMeta } from '../engine/index.js';
import { Cancellation } from '../engine/serving.js';
import { apiErrorEvent, sendApiError } from './errors.js';
import type { HttpRequest } from './http.js';
import { lingerOnClose } from './linger.js';
import { LEVEL_VALUES, type Logger } from './logging.js';
import type { ServerMetrics } from './metrics.js';
import type { PolicyManager } from './policy-manager.js';
import type { RequestLog } from './request-line.js';
import type { PolicyWatcher } from './watch.js';

export interface RequestState {
  readonly started: number;
  /**
   * The client's disconnect or the shutdown's cut. A Cancellation, not an AbortController: the
   * engine listens to it (`RequestInput.cancel`) and makes its AbortSignal only where it needs one,
   * so most requests make none.
   */
  readonly cancel: Cancellation;
  readonly res: ServerResponse;
  /** Set once the engine answered; drives the log line and the metrics. */
  meta: ResponseMeta | null;
  /** The answer is an SSE stream; the stream's end reports it. */
  streamed: boolean;
  /** The log line and metrics were written (exactly once per request). */
  reported: boolean;
  /** While an SSE stream is relayed: the engine's event iterator (a shutdown cut returns it). */
  events: AsyncIterator<string> | null;
  /** The shutdown's grace period ended while the request ran: it was cut. */
  cut: boolean;
  /** The guardrail verdicts that did something (`x-switchyard-guardrails`), for the log line. */
  guardrails: string | null;
  /**
   * The in-band SSE error event of the request's API (`/v1/messages` speaks Anthropic's); absent:
   * the OpenAI shape.
   */
  errorEvent?: (code: ErrorCode) => string;
  /** Links of the in-flight list (see `InFlight`); null when not in it. */
  prev: RequestState | null;
  next: RequestState | null;
  inFlight: boolean;
}

/**
 * The requests in flight, as a list threaded through their states. Not a Set: a Set with an entry
 * added and deleted per request rehashes now and then, and each table it leaves behind sits in
 * the old generation still pointing at the states of that moment; the scavenger counts such
 * pointers as live, so those requests (response, headers, signal) were promoted to the old
 * generation with everything they held: slow minor GCs and frequent mark-compacts.
 */
class InFlight {
  #head: RequestState | null = null;
  #tail: RequestState | null = null;
  size = 0;

  add(state: RequestState): void {
    if (state.inFlight) return;
    state.inFlight = true;
    state.prev = this.#tail;
    state.next = null;
    if (this.#tail === null) this.#head = state;
    else this.#tail.next = state;
    this.#tail = state;
    this.size++;
  }

  /** False when `state` was not in the list. */
  delete(state: RequestState): boolean {
    if (!state.inFlight) return false;
    state.inFlight = false;
    if (state.prev === null) this.#head = state.next;
    else state.prev.next = state.next;
    if (state.next === null) this.#tail = state.prev;
    else state.next.prev = state.prev;
    state.prev = null;
    state.next = null;
    this.size--;
    return true;
  }

  /** A snapshot, so the caller may change the list while it goes through it. */
  all(): RequestState[] {
    const out: RequestState[] = [];
    for (let s = this.#head; s !== null; s = s.next) out.push(s);
    return out;
  }
}

/** After the grace period, how long cut requests get to end (their upstream calls cancelled). */
const CUT_GRACE_MS = 1_000;

/** What a cut request is told: the catalogue's shutdown error, as for a request refused in the drain. */
export const SHUTDOWN_CUT_CODE = 'shutting_down';

/** The in-band SSE error event that ends a stream cut by the shutdown (no `[DONE]` follows). */
const SHUTDOWN_EVENT = apiErrorEvent({ code: SHUTDOWN_CUT_CODE });

const SHUTDOWN_REASON = new Error('server shutting down');

/**
 * Ends a stream in band: the shutdown's error event, the end of the response, and the engine's
 * iterator returned so that it releases (and cancels) its upstream call.
 */
function cutStream(state: RequestState, events: AsyncIterator<string>): void {
  const res = state.res;
  if (!res.destroyed && !res.writableEnded) {
    res.write(state.errorEvent?.(SHUTDOWN_CUT_CODE) ?? SHUTDOWN_EVENT);
    res.end();
  }
  try {
    // Not awaited: a generator busy reading upstream finishes its `return` once the abort lands.
    void Promise.resolve(events.return?.()).catch(() => undefined);
  } catch {
    // A throwing `return` changes nothing here: the abort below cancels upstream anyway.
  }
}

/** A caller's request id is echoed only when it is a plain token. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** Paths polled by probes and scrapers: logged at debug, not info. */
const QUIET_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/** The request's id: the caller's `x-request-id` when sane, a UUID otherwise. */
export function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && SANE_REQUEST_ID.test(given) ? given : randomUUID();
}

function pathOnly(url: string): string {
  const q = url.indexOf('?');
  return (q < 0 ? url : url.slice(0, q)).slice(0, 256);
}

export { round3 } from './request-line.js';

export interface Lifecycle {
  /** The server is shutting down: new requests get 503, responses close their connection. */
  readonly closing: boolean;
  /** Requests (streams included) that have not ended yet. */
  readonly inFlight: number;
  /** The one log line and the metrics of a finished request (only the first call counts). */
  report(request: HttpRequest, status: number, state: RequestState): void;
  /**
   * Starts tracking a request (its state, in flight until its response finishes or closes).
   * Returns false when the request was answered here: an HTTP/1.1 request without Host, or any
   * request while the server shuts down.
   */
  begin(request: HttpRequest): boolean;
  /** From now on new requests are refused. */
  startClosing(): void;
  /**
   * Resolves true when nothing is in flight any more, false when `ms` passed first or
   * {@link endGracePeriod} was called.
   */
  waitForDrain(ms: number): Promise<boolean>;
  /** The grace period was ended early ({@link endGracePeriod}). */
  readonly graceOver: boolean;
  /** Ends the shutdown's grace period now: every pending {@link waitForDrain} resolves false. */
  endGracePeriod(): void;
  /**
   * Cuts every request in flight: a running stream gets the in-band shutdown error event and
   * ends; every request is aborted, which cancels its upstream calls. Returns the counts.
   */
  cutAll(): { streams: number; requests: number };
}

/** The request a response answers, for the listeners shared by every response. */
const REQUEST = Symbol('switchyard.request');

type TrackedResponse = ServerResponse & { [REQUEST]?: HttpRequest };

export function createLifecycle(metrics: ServerMetrics, requestLog: RequestLog): Lifecycle {
  const inFlight = new InFlight();
  let drainWaiters: ((drained: boolean) => void)[] = [];
  let closing = false;
  let graceOver = false;

  const untrack = (state: RequestState): void => {
    if (!inFlight.delete(state) || inFlight.size > 0) return;
    const waiters = drainWaiters;
    drainWaiters = [];
    for (const w of waiters) w(true);
  };

  const report = (request: HttpRequest, status: number, state: RequestState): void => {
    if (state.reported) return;
    state.reported = true;
    const latencyMs = performance.now() - state.started;
    const meta = state.meta;
    // The route pattern, or the raw path without its query string (which may carry a key,
    // e.g. Azure-style `?api-key=`), bounded in length.
    const path = request.route ?? pathOnly(request.url);
    if (path.startsWith('/v1/')) metrics.observeRequest(status, meta, latencyMs / 1000);
    const quiet = QUIET_PATHS.has(path);
    // Not built at all when its level is off (`--log-level warn`).
    if ((LEVEL_VALUES[requestLog.level] ?? 0) > (quiet ? 20 : 30)) return;
    requestLog.write(quiet, request.id, request.method, path, status, latencyMs, meta, state.guardrails);
  };

  // Shared by every response (`this` is the response): no closure per request.
  function onFinish(this: TrackedResponse): void {
    const request = this[REQUEST];
    const state = request?.state;
    if (request === undefined || state == null) return;
    untrack(state);
    if (!state.streamed) report(request, this.statusCode, state);
  }
  function onClose(this: TrackedResponse): void {
    const state = this[REQUEST]?.state;
    if (state == null) return;
    // A response that closes before it finished means the client went away: cancel upstream.
    if (!this.writableFinished) state.cancel.abort(new Error('client disconnected'));
    untrack(state);
  }

  const begin = (request: HttpRequest): boolean => {
    const res: TrackedResponse = request.res;
    const state: RequestState = {
      started: performance.now(),
      cancel: new Cancellation(),
      res,
      meta: null,
      streamed: false,
      reported: false,
      events: null,
      cut: false,
      guardrails: null,
      prev: null,
      next: null,
      inFlight: false,
    };
    request.state = state;
    res[REQUEST] = request;
    inFlight.add(state);
    res.on('finish', onFinish);
    res.on('close', onClose);
    const req = request.raw;
    if (req.headers.host === undefined && req.httpVersionMajor === 1 && req.httpVersionMinor === 1) {
      // RFC 9112 §3.2: a server must answer 400 to an HTTP/1.1 request without Host.
      res.setHeader('connection', 'close');
      if (!req.complete) lingerOnClose(req.socket);
      sendApiError(request, 'missing_host_header');
      return false;
    }
    if (closing) {
      res.setHeader('connection', 'close');
      if (!req.complete) lingerOnClose(req.socket);
      sendApiError(request, 'shutting_down');
      return false;
    }
    return true;
  };

  return {
    get closing() {
      return closing;
    },
    get inFlight() {
      return inFlight.size;
    },
    report,
    begin,
    startClosing() {
      closing = true;
    },
    waitForDrain(ms) {
      if (inFlight.size === 0) return Promise.resolve(true);
      return new Promise((resolve) => {
        const waiter = (drained: boolean): void => {
          clearTimeout(timer);
          resolve(drained);
        };
        const timer = setTimeout(() => {
          drainWaiters = drainWaiters.filter((w) => w !== waiter);
          resolve(false);
        }, ms);
        drainWaiters.push(waiter);
      });
    },
    get graceOver() {
      return graceOver;
    },
    endGracePeriod() {
      graceOver = true;
      const waiters = drainWaiters;
      drainWaiters = [];
      for (const w of waiters) w(false);
    },
    cutAll() {
      let streams = 0;
      let requests = 0;
      for (const state of inFlight.all()) {
        if (state.cut) continue;
        state.cut = true;
        const events = state.events;
        if (events !== null) {
          state.events = null;
          streams++;
          cutStream(state, events);
        } else {
          requests++;
        }
        state.cancel.abort(SHUTDOWN_REASON);
      }
      return { streams, requests };
    },
  };
}

/** At most this long waiting for queued budget alerts at shutdown (their retries are cut). */
const ALERTS_GRACE_MS = 5000;

export interface ShutdownParts {
  /** The HTTP server, still listening. */
  server: Server;
  log: Logger;
  /** Called once new requests are refused (jobs stop starting work). */
  onClosing?: () => void;
  /** Awaited once the server stopped, before the engine closes (jobs finish their journal). */
  onClosed?: () => Promise<void>;
  lifecycle: Lifecycle;
  manager: PolicyManager;
  watcher: PolicyWatcher | null;
  recorder: Recorder | null;
  metrics: ServerMetrics;
  gracePeriodMs: number;
  /** Budget alerts still queued for their webhook get a few seconds after the engine closed. */
  alerts?: { close(graceMs?: number): Promise<void> } | null;
}

/**
 * Stops accepting, drains in-flight requests and streams (up to the grace period, or until
 * `lifecycle.endGracePeriod()`), cuts what is left, then closes the engine and flushes the
 * recording. A cut is never silent: a stream ends with the in-band `shutting_down` error
 * event (no `[DONE]`), a request still waiting for its answer gets a 503 with that code, and
 * both are logged and counted.
 */
export async function shutdown(parts: ShutdownParts): Promise<void> {
  const { server, log, lifecycle, manager, watcher, recorder, metrics, gracePeriodMs } = parts;
  lifecycle.startClosing();
  log.info({ inFlight: lifecycle.inFlight, gracePeriodMs }, 'shutting down: draining in-flight requests');
  await watcher?.close();
  parts.onClosing?.();
  // Stops accepting connections and closes idle keep-alive ones; requests already running,
  // streams included, go on.
  const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const drained = lifecycle.graceOver
    ? lifecycle.inFlight === 0
    : await lifecycle.waitForDrain(gracePeriodMs);
  if (!drained) {
    const { streams, requests } = lifecycle.cutAll();
    metrics.observeStreamsCutOnShutdown(streams);
    log.warn(
      {
        streamsCut: streams,
        requestsCut: requests,
        gracePeriodMs,
        ended: lifecycle.graceOver ? 'early' : 'timeout',
      },
      `grace period over: ${streams} stream(s) ended with an in-band ${SHUTDOWN_CUT_CODE} error, ${requests} request(s) cancelled`,
    );
    // Give the cut requests a moment to end (their upstream calls are being cancelled).
    await lifecycle.waitForDrain(CUT_GRACE_MS);
  }
  // Keep-alive sockets whose last response finished during the drain are idle now.
  server.closeAllConnections();
  await serverClosed;
  await parts.onClosed?.();
  await manager.close();
  await parts.alerts?.close(Math.min(gracePeriodMs, ALERTS_GRACE_MS));
  // Last: every request has ended, so every line is queued; close() writes them all.
  await recorder?.close();
}
