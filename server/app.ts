/**
 * The HTTP server: a thin Fastify layer that turns requests into `RequestInput`, hands them to
 * the engine and writes `EngineResponse`s back (DESIGN.md §3). No routing logic lives here.
 *
 * Order of a request: onRequest (request id, drain check, in-flight tracking) → body parser
 * (size limit, JSON) → shape validation → `engine.handle` → JSON or SSE → one log line and the
 * metrics. Every refusal on the way is an OpenAI-shaped error.
 */

import { randomUUID } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import pino, { type LoggerOptions } from 'pino';
import type { EngineResponse, RequestInput, ResponseMeta } from '../engine/index.js';
import { createRecorder, type Recorder } from '../engine/replay/record.js';
import { registerAdminRoutes } from './admin.js';
import { apiError, mapFastifyError, sendApiError } from './errors.js';
import { lazyChildLoggerFactory } from './lazy-logger.js';
import { createServerMetrics, type ServerMetrics } from './metrics.js';
import {
  type EngineOptions,
  type PolicyEngineApi,
  PolicyManager,
  type ReloadResult,
} from './policy-manager.js';
import { type PolicyWatcher, watchPolicy } from './watch.js';

/** pino options, plus where to write (stdout by default). */
export type ServerLoggerOptions = LoggerOptions & { stream?: { write(line: string): void } };

export interface CreateServerOptions {
  /** A policy file or a directory of fragments. */
  policyPath: string;
  /** 127.0.0.1 by default. */
  host?: string;
  /** 8080 by default; 0 picks a free port. */
  port?: number;
  /** Largest accepted request body in bytes; 1 MiB by default. */
  bodyLimit?: number;
  /** Bearer token for `/admin`; falls back to `SWITCHYARD_ADMIN_TOKEN`. No token: admin is 404. */
  adminToken?: string;
  /** pino options, or false for no logs. */
  logger?: ServerLoggerOptions | false;
  /** Reload when the policy files change; true by default. */
  watch?: boolean;
  /** Quiet time before a file change reloads, in ms; 100 by default. */
  watchDebounceMs?: number;
  /** How long `close()` waits for in-flight requests and streams, in ms; 10 s by default. */
  gracePeriodMs?: number;
  engineOptions?: EngineOptions;
  /**
   * Append one JSON line per request to this file (`schemas/recorded-traffic.schema.json`), off
   * the request path, flushed on shutdown. `content`: message text kept, hashed (default) or dropped.
   */
  record?: { path: string; content?: 'keep' | 'hash' | 'drop' };
  /** Variables for `${NAME}` in the policy; the process environment by default. */
  env?: Record<string, string | undefined>;
  /** Replaces the real engine (tests). */
  engineApi?: PolicyEngineApi;
}

export interface SwitchyardServer {
  readonly app: FastifyInstance;
  /** `http://host:port` */
  readonly url: string;
  readonly manager: PolicyManager;
  /** Stops accepting, drains in-flight requests and streams (up to the grace period), closes the engine. */
  close(): Promise<void>;
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024;
export const DEFAULT_GRACE_PERIOD_MS = 10_000;

/** Never logged: keys, tokens and anything shaped like them. */
const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["api-key"]',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers["api-key"]',
  '*.authorization',
  '*.apiKey',
  '*.api_key',
  '*.keys',
];

/** How long receiving one request (headers and body) may take. */
const REQUEST_RECEIVE_TIMEOUT_MS = 60_000;
/** After the grace period, how long cancelled streams get to write their error event. */
const STREAM_CANCEL_GRACE_MS = 1_000;

function pathOnly(url: string): string {
  const q = url.indexOf('?');
  return (q < 0 ? url : url.slice(0, q)).slice(0, 256);
}

/** A caller's request id is echoed only when it is a plain token. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** Paths polled by probes and scrapers: logged at debug, not info. */
const QUIET_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

interface RequestState {
  readonly started: number;
  readonly controller: AbortController;
  /** Set once the engine answered; drives the log line and the metrics. */
  meta: ResponseMeta | null;
  /** The reply was hijacked for SSE; the stream's end reports it. */
  streamed: boolean;
  /** The log line and metrics were written (exactly once per request). */
  reported: boolean;
}

function round3(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

const CENSOR = '[redacted]';

/** pino's standard levels; a custom level counts as enabled. */
const LEVEL_VALUES: Readonly<Record<string, number>> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Number.POSITIVE_INFINITY,
};

/** The caller's own redaction paths, kept on top of {@link REDACT_PATHS}. */
function userRedactPaths(logger: ServerLoggerOptions | false | undefined): string[] {
  const userRedact = logger === false ? undefined : logger?.redact;
  return userRedact === undefined ? [] : Array.isArray(userRedact) ? userRedact : userRedact.paths;
}

/**
 * Standard output, written asynchronously: lines logged while a write is in flight are batched
 * into the next one, so under load the per-request line costs no syscall of its own (a
 * synchronous write per line cost more than building it). pino flushes it synchronously when
 * the process exits. One per process, however many servers it runs.
 */
let stdoutDestination: ReturnType<typeof pino.destination> | null = null;

function pinoOptions(logger: ServerLoggerOptions | false | undefined): ServerLoggerOptions | false {
  if (logger === false) return false;
  let stream = logger?.stream;
  if (stream === undefined) {
    stdoutDestination ??= pino.destination({ dest: 1, sync: false });
    stream = stdoutDestination;
  }
  return {
    level: 'info',
    ...logger,
    stream,
    redact: { paths: [...REDACT_PATHS, ...userRedactPaths(logger)], censor: CENSOR },
  };
}

function waitForWritable(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}

/**
 * Starts a Switchyard server: loads the policy, listens, and (by default) watches the policy
 * path. A policy that fails its first load leaves the server up but not ready (`/readyz` 503,
 * API 503) until a reload succeeds; check `manager.ready`.
 *
 * @example
 * const server = await createServer({ policyPath: 'policies/quickstart.yaml', port: 0 });
 * console.log(server.url, server.manager.current?.identity);
 * await server.close();
 */
export async function createServer(options: CreateServerOptions): Promise<SwitchyardServer> {
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const gracePeriodMs = options.gracePeriodMs ?? DEFAULT_GRACE_PERIOD_MS;
  const adminToken = options.adminToken || process.env.SWITCHYARD_ADMIN_TOKEN || null;
  const metrics: ServerMetrics = createServerMetrics();

  const app = Fastify({
    logger: pinoOptions(options.logger),
    bodyLimit,
    // Receiving a request (headers and body) is bounded, so a client that sends part of a body
    // and stalls cannot hold a connection and an in-flight slot forever. Responses, streams
    // included, are not limited by it.
    requestTimeout: REQUEST_RECEIVE_TIMEOUT_MS,
    // Malformed HTTP (bad Content-Length, oversized headers) answers in the OpenAI error shape.
    clientErrorHandler: (err, socket) => {
      if (!socket.writable) return;
      const code = (err as { code?: string }).code;
      const status = code === 'HPE_HEADER_OVERFLOW' ? 431 : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      const body = JSON.stringify({
        error: {
          message:
            status === 431
              ? 'Request headers too large.'
              : status === 408
                ? 'Request timed out.'
                : 'Malformed HTTP request.',
          type: 'invalid_request_error',
          code:
            status === 431 ? 'headers_too_large' : status === 408 ? 'request_timeout' : 'bad_http_request',
        },
      });
      socket.end(
        `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request'}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    },
    // One line per request is written by `report` below, with the routing outcome in it.
    logController: new LogController({ disableRequestLogging: true }),
    // `request.log` is built on first use: the request line goes through `requestLog` below.
    childLoggerFactory: lazyChildLoggerFactory,
    return503OnClosing: false,
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && SANE_REQUEST_ID.test(given) ? given : randomUUID();
    },
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    frameworkErrors: (err, _request, reply) => {
      // Before routing (a malformed URL): answer on the raw response, in the API's error shape.
      const { status, body } = mapFastifyError(err, bodyLimit);
      reply.hijack();
      reply.raw.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      reply.raw.end(JSON.stringify(body));
    },
  });

  // The API speaks JSON only: a text/plain body is refused (415) rather than parsed as a string.
  app.removeContentTypeParser('text/plain');

  if (options.record !== undefined) {
    // Refuse to start rather than serve with every recording line dropped.
    try {
      await (await open(options.record.path, 'a')).close();
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw Object.assign(new Error(`cannot write the recording file ${options.record.path}: ${reason}`), {
        code: 'SY_RECORDING_PATH',
      });
    }
  }
  const recorder: Recorder | null =
    options.record === undefined
      ? null
      : createRecorder({
          path: options.record.path,
          content: options.record.content ?? 'hash',
          onError: (err) =>
            app.log.error({ err }, 'recording write failed; lines are dropped until it recovers'),
          onDrop: (count) => metrics.observeRecordingDropped(count),
        });
  const engineOptions = withServerHooks(options.engineOptions, metrics, app.log, recorder);

  const manager = new PolicyManager({
    policyPath: options.policyPath,
    ...(options.env === undefined ? {} : { env: options.env }),
    engineOptions,
    ...(options.engineApi === undefined ? {} : { api: options.engineApi }),
    logger: {
      info: (obj, msg) => app.log.info(obj, msg),
      warn: (obj, msg) => app.log.warn(obj, msg),
      error: (obj, msg) => app.log.error(obj, msg),
    },
    onResult: (result: ReloadResult) => {
      if (result.trigger !== 'rollback') {
        metrics.observeReload(!result.ok ? 'failure' : result.changed ? 'success' : 'unchanged');
      }
      metrics.setPolicy(result.active);
    },
  });

  // ---- request lifecycle -------------------------------------------------------------------

  // The per-request line holds the routing outcome only, never headers or keys, so it skips the
  // default redaction: its wildcard paths walk every value of every line (about a third of the
  // line's cost). Redaction paths the caller added still apply.
  const extraRedact = userRedactPaths(options.logger);
  const requestLog = app.log.child({}, { redact: { paths: extraRedact, censor: CENSOR } });

  const states = new WeakMap<FastifyRequest, RequestState>();
  const inFlight = new Set<RequestState>();
  let drainWaiters: (() => void)[] = [];
  let closing = false;

  const untrack = (state: RequestState): void => {
    if (!inFlight.delete(state) || inFlight.size > 0) return;
    const waiters = drainWaiters;
    drainWaiters = [];
    for (const w of waiters) w();
  };

  /** The one log line and the metrics of a finished request. */
  const report = (request: FastifyRequest, status: number, state: RequestState): void => {
    if (state.reported) return;
    state.reported = true;
    const latencyMs = performance.now() - state.started;
    const meta = state.meta;
    // The route pattern, or the raw path without its query string (which may carry a key,
    // e.g. Azure-style `?api-key=`), bounded in length.
    const path = request.routeOptions.url ?? pathOnly(request.url);
    if (path.startsWith('/v1/')) metrics.observeRequest(status, meta, latencyMs / 1000);
    const quiet = QUIET_PATHS.has(path);
    // Not built at all when its level is off (`--log-level warn`).
    if ((LEVEL_VALUES[requestLog.level] ?? 0) > (quiet ? 20 : 30)) return;
    const line = {
      reqId: request.id,
      method: request.method,
      path,
      status,
      latencyMs: round3(latencyMs),
      route: meta?.route ?? null,
      target: meta?.target ?? null,
      attempts: meta?.attempts.length ?? 0,
      outcomes: meta?.attempts.map((a) => `${a.target}:${a.outcome}`) ?? [],
      tokens:
        meta?.usage == null
          ? null
          : { prompt: meta.usage.promptTokens, completion: meta.usage.completionTokens },
      // Nano-dollar precision: float sums print as 0.0000013000000000000003 otherwise.
      costUsd: meta?.costUsd == null ? null : Math.round(meta.costUsd * 1e9) / 1e9,
      cache: meta?.cache ?? null,
      policy: meta === null ? null : `${meta.policy.name}@${meta.policy.version}`,
    };
    if (quiet) requestLog.debug(line, 'request');
    else requestLog.info(line, 'request');
  };

  // Hooks are callback-style: an async hook costs a promise and a microtask turn per request.
  app.addHook('onRequest', (request, reply, done) => {
    const state: RequestState = {
      started: performance.now(),
      controller: new AbortController(),
      meta: null,
      streamed: false,
      reported: false,
    };
    states.set(request, state);
    inFlight.add(state);
    const res = reply.raw;
    const settle = (): void => {
      // A response that closes before it finished means the client went away: cancel upstream.
      if (!res.writableFinished) state.controller.abort(new Error('client disconnected'));
      untrack(state);
    };
    res.once('finish', () => untrack(state));
    res.once('close', settle);
    // Set here rather than in an onSend hook: headers set before the handler survive its errors,
    // and a request without onSend hooks skips that stage.
    reply.header('x-request-id', request.id);
    if (closing) {
      reply.header('connection', 'close');
      sendApiError(reply, 503, 'shutting_down', 'The server is shutting down; retry on another instance.');
      return;
    }
    done();
  });

  app.addHook('onResponse', (request, reply, done) => {
    const state = states.get(request);
    if (state !== undefined && !state.streamed) report(request, reply.statusCode, state);
    done();
  });

  app.setErrorHandler((err, request, reply) => {
    const { status, body } = mapFastifyError(err, bodyLimit);
    if (status >= 500) request.log.error({ err }, 'request failed');
    return reply.code(status).type('application/json').send(body);
  });

  app.setNotFoundHandler((request, reply) =>
    sendApiError(reply, 404, 'not_found', `No route for ${request.method} ${request.url.slice(0, 200)}.`),
  );

  // ---- the API ------------------------------------------------------------------------------

  const streamResponse = async (
    request: FastifyRequest,
    reply: FastifyReply,
    response: Extract<EngineResponse, { kind: 'stream' }>,
    state: RequestState,
    extraHeaders: Record<string, string>,
  ): Promise<void> => {
    state.streamed = true;
    reply.hijack();
    const res = reply.raw;
    res.writeHead(response.status, {
      ...response.headers,
      ...extraHeaders,
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: closing ? 'close' : 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.flushHeaders();
    try {
      for await (const frame of response.events) {
        if (res.destroyed) break;
        if (!res.write(frame)) await waitForWritable(res);
      }
    } catch (err) {
      // The engine's stream should never throw; if it does, end the stream honestly: an in-band
      // error and no [DONE], so no client mistakes a truncated answer for a complete one.
      request.log.error({ err }, 'stream failed');
      if (!res.destroyed) {
        res.write(`data: ${JSON.stringify(apiError(500, 'internal_error', 'Internal error.'))}\n\n`);
      }
    } finally {
      res.end();
    }
    try {
      state.meta = await response.done;
    } catch (err) {
      request.log.error({ err }, 'stream metadata failed');
    }
    report(request, response.status, state);
  };

  const handleApi = (path: string) => {
    return async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
      const state = states.get(request);
      if (state === undefined) return sendApiError(reply, 500, 'internal_error', 'Internal error.');
      const engine = manager.engine;
      if (engine === null) {
        return sendApiError(reply, 503, 'policy_not_loaded', 'No valid policy is loaded; see /admin/status.');
      }
      const input: RequestInput = {
        body: request.body,
        headers: request.headers,
        path,
        signal: state.controller.signal,
        requestId: request.id,
      };
      const beforeEngineMs = performance.now() - state.started;
      let response: EngineResponse;
      try {
        response = await engine.handle(input);
      } catch (err) {
        request.log.error({ err }, 'engine.handle rejected');
        return sendApiError(reply, 500, 'internal_error', 'Internal error.');
      }
      state.meta = response.meta;
      if (state.controller.signal.aborted && response.kind === 'json') {
        // The client went away before the answer: the reply below goes nowhere and Fastify's
        // onResponse never fires, so the request is logged and counted here (as the engine
        // recorded it, usually 499).
        report(request, response.status, state);
      }
      const extra = {
        'x-request-id': request.id,
        'x-switchyard-overhead-ms': String(round3(response.meta.overheadMs + beforeEngineMs)),
      };
      if (response.kind === 'stream') {
        await streamResponse(request, reply, response, state, extra);
        return reply;
      }
      return reply.code(response.status).headers(response.headers).headers(extra).send(response.body);
    };
  };

  app.post('/v1/chat/completions', handleApi('/v1/chat/completions'));
  app.post('/v1/embeddings', handleApi('/v1/embeddings'));

  app.get('/v1/models', async (_request, reply) => {
    const current = manager.current;
    const engine = manager.engine;
    if (engine === null || current === null) {
      return sendApiError(reply, 503, 'policy_not_loaded', 'No valid policy is loaded; see /admin/status.');
    }
    const created = Math.floor(Date.parse(current.loadedAt) / 1000);
    return {
      object: 'list',
      data: engine.policy.acceptedModels.map((id) => ({
        id,
        object: 'model',
        created,
        owned_by: 'switchyard',
      })),
    };
  });

  // ---- health, metrics, admin ---------------------------------------------------------------

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const engine = manager.engine;
    if (closing) return reply.code(503).send({ status: 'shutting_down' });
    if (!manager.ready || engine === null) {
      return reply.code(503).send({ status: 'not_ready', reason: 'no valid policy is loaded' });
    }
    const { name, version, hash } = engine.policy.identity;
    if (!engine.storesReady()) {
      return reply.code(503).send({ status: 'not_ready', reason: 'a shared store (Redis) is not connected' });
    }
    return { status: 'ready', policy: { name, version, hash } };
  });

  metrics.setBreakerSource(() => manager.engine?.breakers?.() ?? []);

  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });

  await registerAdminRoutes(app, { manager, token: adminToken });

  // ---- start ----------------------------------------------------------------------------------

  await manager.start();

  let watcher: PolicyWatcher | null = null;
  if (options.watch ?? true) {
    watcher = await watchPolicy({
      policyPath: options.policyPath,
      ...(options.watchDebounceMs === undefined ? {} : { debounceMs: options.watchDebounceMs }),
      onChange: () => void manager.reload('watch'),
      onError: (err) => app.log.warn({ err }, 'policy watcher error'),
    });
    await watcher.ready;
  }

  let url: string;
  try {
    url = await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 8080 });
  } catch (err) {
    await watcher?.close();
    await app.close();
    await manager.close();
    await recorder?.close();
    throw err;
  }

  const waitForDrain = (ms: number): Promise<boolean> => {
    if (inFlight.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      drainWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  };

  let closed: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      closing = true;
      app.log.info({ inFlight: inFlight.size, gracePeriodMs }, 'shutting down: draining in-flight requests');
      await watcher?.close();
      // Stops accepting connections and closes idle keep-alive ones; requests already running,
      // streams included, go on.
      const appClosed = app.close();
      const drained = await waitForDrain(gracePeriodMs);
      if (!drained) {
        app.log.warn({ inFlight: inFlight.size }, 'grace period over; cancelling in-flight requests');
        for (const state of inFlight) state.controller.abort(new Error('server shutting down'));
        // Give the cancelled streams a moment to write their in-band error event and end.
        await waitForDrain(STREAM_CANCEL_GRACE_MS);
      }
      // Keep-alive sockets whose last response finished during the drain are idle now.
      app.server.closeAllConnections();
      await appClosed;
      await manager.close();
      // Last: every request has ended, so every line is queued; close() writes them all.
      await recorder?.close();
    })();
    return closed;
  };

  return { app, url, manager, close };
}

type Log = FastifyInstance['log'];

/**
 * Engine hooks → metrics and log lines. A caller's own hooks (embedding, tests) still run.
 * Store failures are logged once per outage (at the first error, and at recovery), counted always.
 */
function withServerHooks(
  base: EngineOptions | undefined,
  metrics: ServerMetrics,
  log: Log,
  recorder: Recorder | null,
): EngineOptions {
  const failing = new Set<string>();
  return {
    ...base,
    ...(recorder === null ? {} : { recorder }),
    onAttempt(attempt) {
      metrics.observeAttempt(attempt);
      base?.onAttempt?.(attempt);
    },
    onLimit(event) {
      metrics.observeLimit(event);
      base?.onLimit?.(event);
    },
    onBudgetAlert(event) {
      metrics.observeBudgetAlert(event);
      log.warn(
        {
          budget: event.budget,
          key: event.key,
          kind: event.kind,
          threshold: event.threshold,
          spentUsd: event.spentUsd,
          limitUsd: event.limitUsd,
        },
        event.kind === 'exceeded'
          ? `budget ${event.budget} exceeded for ${event.key}`
          : `budget ${event.budget} crossed ${Math.round(event.threshold * 100)}% for ${event.key}`,
      );
      base?.onBudgetAlert?.(event);
    },
    onStoreError(event) {
      metrics.observeStore(event);
      const id = `${event.store} ${event.url}`;
      if (event.kind === 'error' && !failing.has(id)) {
        failing.add(id);
        log.error(
          { store: event.store, url: event.url, op: event.op, mode: event.mode, err: event.error },
          `shared store failing (${event.store}); rules behave as onStoreError says (${event.mode ?? 'open'})`,
        );
      } else if (event.kind === 'recovered' && failing.delete(id)) {
        log.info({ store: event.store, url: event.url }, `shared store recovered (${event.store})`);
      }
      base?.onStoreError?.(event);
    },
    onCache(event) {
      metrics.observeCache(event);
      base?.onCache?.(event);
    },
  };
}
