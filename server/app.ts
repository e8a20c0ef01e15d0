/**
 * The HTTP server: a thin layer over `node:http` that turns requests into `RequestInput`, hands
 * them to the engine and writes `EngineResponse`s back (docs/design.md §3). No routing logic
 * lives here.
 *
 * Order of a request: the lifecycle's `begin` (request id, drain check, in-flight tracking) →
 * the router (a Map lookup, then the few parametrised routes) → the route's guard (admin token)
 * → the body (content type, size limit, JSON with its shape bounded) → the handler
 * (`engine.handle` → JSON or SSE) → one log line and the metrics. Every refusal on the way is an
 * OpenAI-shaped error (Anthropic-shaped on `/v1/messages`).
 *
 * This file wires the parts: `http.ts` (request, body, answers), `router.ts`, `logging.ts`
 * (pino), `lifecycle.ts` (per-request state, drain, shutdown), `routes/` (the API, health and
 * metrics, admin, files and batches), `sse.ts` (streams), `engine-hooks.ts` (engine events →
 * metrics).
 */

import { open } from 'node:fs/promises';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  type CompiledPolicy,
  createPolicyRecorder,
  type ErrorCode,
  JobStoreUnavailableError,
  type PolicyRecorder,
} from '../engine/serving.js';
import { type AlertWebhookOptions, AlertWebhookSender } from './alert-webhook.js';
import { withServerHooks } from './engine-hooks.js';
import { apiError, sendApiError, statusOf } from './errors.js';
import { type BodyError, HttpRequest, type RouteDef, readBody, sendJson } from './http.js';
import { type InstalledJobs, installJobs, startJobs } from './jobs.js';
import { createLifecycle, requestId, shutdown } from './lifecycle.js';
import { lingerOnClose } from './linger.js';
import { createLogger, type Logger, requestLog, type ServerLoggerOptions } from './logging.js';
import { createServerMetrics, type ServerMetrics } from './metrics.js';
import {
  type EngineOptions,
  type PolicyEngineApi,
  PolicyManager,
  type ReloadResult,
} from './policy-manager.js';
import { BadUrlError, type Match, Router } from './router.js';
import { adminRoutes } from './routes/admin.js';
import { apiRoutes } from './routes/api.js';
import { healthRoutes } from './routes/health.js';
import { messagesRoutes } from './routes/messages.js';
import { modelRoutes } from './routes/models.js';
import { responsesRoutes } from './routes/responses.js';
import type { PolicyWatcher } from './watch.js';

export type { ServerLoggerOptions } from './logging.js';

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
  /** How long `close()` waits for in-flight requests and streams, in ms; 30 s by default. */
  gracePeriodMs?: number;
  engineOptions?: EngineOptions;
  /** Budget alert webhook delivery: queue bound, attempts, backoff, per-attempt timeout (for tests and embedding). */
  alertDelivery?: Partial<Omit<AlertWebhookOptions, 'log' | 'onOutcome'>>;
  /**
   * Recording (one JSON line per request, `schemas/recorded-traffic.schema.json`, written off the
   * request path and flushed on shutdown). By default the policy's `recording` block decides,
   * version by version. `{ path, content }` replaces the block's path and/or content mode for every
   * version (`serve --record`, `--record-content`); with a path, versions without a block are
   * recorded too. `false` records nothing, whatever the policy says (`serve --no-record`).
   */
  record?: { path?: string; content?: 'keep' | 'hash' | 'drop' } | false;
  /**
   * Keep files, batches and deferred requests in this directory (created if missing); they
   * survive a restart. Without it the Files and Batch APIs answer 404 `jobs_disabled`.
   */
  jobsDir?: string;
  /**
   * Keep them in Redis instead, shared by the replicas using the same URL and prefix (`serve
   * --jobs-redis`); `leaseMs` is how long a replica's hold on a job lasts (`--jobs-lease`, 30 s).
   */
  jobsRedis?: { url: string; prefix?: string; leaseMs?: number };
  /** Variables for `${NAME}` in the policy; the process environment by default. */
  env?: Record<string, string | undefined>;
  /** Replaces the real engine (tests). */
  engineApi?: PolicyEngineApi;
  /**
   * Loads the first policy in the loader's worker thread too (reloads always are), so this thread
   * never loads the YAML parser, ajv and the compiled policy schema, which would stay resident
   * (~9 MB idle, docs/footprint.md). `switchyard serve` sets it. Off by default: an embedder's
   * process has usually parsed a policy already, and each start then pays a worker's start-up.
   */
  firstLoadOffThread?: boolean;
  /**
   * When the first policy fails to load, do not listen: `createServer` closes what it opened and
   * rejects with a {@link NoPolicyError} carrying the failure (`switchyard serve` sets it, and
   * exits 1 with the diagnostics). Off by default: the server listens, answers 503
   * `policy_not_loaded`
   * and serves the first version a reload (a fixed file, SIGHUP) loads.
   */
  requirePolicy?: boolean;
}

/** The first policy did not load and {@link CreateServerOptions.requirePolicy} was set. */
export class NoPolicyError extends Error {
  readonly code = 'SY_NO_POLICY';
  /** What the load reported (its diagnostics, or the error that stopped it); null if nothing did. */
  readonly failure: ReloadResult | null;
  constructor(failure: ReloadResult | null) {
    super('the first policy did not load; not listening');
    this.name = 'NoPolicyError';
    this.failure = failure;
  }
}

export interface SwitchyardServer {
  /** The `node:http` server, listening. */
  readonly http: import('node:http').Server;
  /** The server's logger (pino). */
  readonly log: Logger;
  /** `http://host:port` */
  readonly url: string;
  readonly manager: PolicyManager;
  /** This instance's Prometheus metrics. */
  readonly metrics: ServerMetrics;
  /**
   * Stops accepting, drains in-flight requests and streams (up to the grace period), closes the
   * engine. What still runs when the grace period ends is cut, never silently: a stream gets an
   * in-band `shutting_down` error event and no `[DONE]`, a request still waiting for the
   * engine a 503 with that code; both are logged, streams counted in
   * `switchyard_streams_cut_on_shutdown_total`.
   */
  close(): Promise<void>;
  /** Ends the grace period of `close()` now (a second SIGTERM): what runs is cut as above. */
  endGracePeriod(): void;
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024;
export const DEFAULT_GRACE_PERIOD_MS = 30_000;

/** How long receiving one request (headers and body) may take. */
const REQUEST_RECEIVE_TIMEOUT_MS = 60_000;
/** How long receiving a request's headers may take (slowloris); Node's default, made explicit. */
const HEADERS_TIMEOUT_MS = 60_000;
/** How long an idle kept-alive connection stays open (Fastify's default, kept). */
const KEEP_ALIVE_TIMEOUT_MS = 72_000;

/** Malformed HTTP (bad Content-Length, oversized headers, a receive timeout), in the OpenAI shape. */
/**
 * The origin form (`/path?query`) of a request target. RFC 9112 §3.2.2: a server must accept the
 * absolute form (`http://host/path`) too, which clients send to proxies; any other target (`*`,
 * a bare name) is left as it is and finds no route.
 */
export function originForm(target: string): string {
  if (target.charCodeAt(0) === 0x2f) return target;
  const scheme = target.indexOf('://');
  if (scheme !== 4 && scheme !== 5) return target;
  const name = target.slice(0, scheme).toLowerCase();
  if (name !== 'http' && name !== 'https') return target;
  const from = scheme + 3;
  const slash = target.indexOf('/', from);
  const query = target.indexOf('?', from);
  if (slash >= 0 && (query < 0 || slash < query)) return target.slice(slash);
  return query >= 0 ? `/${target.slice(query)}` : '/';
}

/** A CONNECT request (a tunnel, which a gateway never opens): answered, then closed. */
function connectRefused(method: string, target: string): string {
  const body = JSON.stringify(
    apiError({ code: 'not_found', params: { method, path: target.split('?', 1)[0].slice(0, 200) } }),
  );
  return `HTTP/1.1 404 Not Found\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}

function clientErrorResponse(err: Error): string {
  const nodeCode = (err as { code?: string }).code;
  const code: ErrorCode =
    nodeCode === 'HPE_HEADER_OVERFLOW'
      ? 'headers_too_large'
      : nodeCode === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? 'request_timeout'
        : 'bad_http_request';
  const status = statusOf(code);
  const body = JSON.stringify(apiError({ code }));
  const reason = STATUS_CODES[status] ?? 'Bad Request';
  return `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
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

  const log = createLogger(options.logger);
  const routes = new Router<RouteDef>();
  const recordOverride = options.record === false ? undefined : options.record;
  if (recordOverride?.path !== undefined) {
    // Refuse to start rather than serve with every recording line dropped.
    try {
      await (await open(recordOverride.path, 'a')).close();
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw Object.assign(new Error(`cannot write the recording file ${recordOverride.path}: ${reason}`), {
        code: 'SY_RECORDING_PATH',
      });
    }
  }
  const recorder: PolicyRecorder | null =
    options.record === false
      ? null
      : createPolicyRecorder({
          ...(recordOverride === undefined ? {} : { override: recordOverride }),
          onError: (err, path) =>
            log.error({ err, path }, 'recording write failed; lines are dropped until it recovers'),
          onDrop: (count) => metrics.observeRecordingDropped(count),
          onFile: ({ kind, path }) =>
            log.info({ path }, kind === 'open' ? 'recording to a file' : 'recording file closed'),
        });
  const alerts = new AlertWebhookSender({
    log,
    onOutcome: (outcome, event) => metrics.observeAlertDelivery(event.budget, outcome),
    ...options.alertDelivery,
  });
  const engineOptions = withServerHooks(options.engineOptions, metrics, log, recorder, alerts);

  const manager = new PolicyManager({
    policyPath: options.policyPath,
    ...(options.env === undefined ? {} : { env: options.env }),
    engineOptions,
    ...(options.engineApi === undefined ? {} : { api: options.engineApi }),
    ...(options.firstLoadOffThread === true ? { firstLoadOffThread: true } : {}),
    // A version whose recording file cannot be written does not serve (the previous one goes on).
    ...(recorder === null
      ? {}
      : { prepare: (policy: CompiledPolicy) => recorder.prepare(policy.recording ?? null) }),
    logger: {
      info: (obj, msg) => log.info(obj, msg),
      warn: (obj, msg) => log.warn(obj, msg),
      error: (obj, msg) => log.error(obj, msg),
    },
    onResult: (result: ReloadResult) => {
      if (result.trigger !== 'rollback') {
        metrics.observeReload(!result.ok ? 'failure' : result.changed ? 'success' : 'unchanged');
      }
      metrics.setPolicy(result.active);
    },
  });

  const lifecycle = createLifecycle(metrics, requestLog(log, options.logger));

  let jobs: InstalledJobs;
  try {
    jobs = await installJobs(routes, {
      manager,
      metrics,
      log,
      dir: options.jobsDir,
      redis: options.jobsRedis,
      gracePeriodMs,
    });
  } catch (err) {
    await recorder?.close();
    throw err;
  }
  const ingress = { manager, lifecycle, defer: jobs.defer };
  apiRoutes(routes, ingress);
  responsesRoutes(routes, ingress);
  messagesRoutes(routes, ingress);
  modelRoutes(routes, { manager });
  healthRoutes(routes, { manager, lifecycle, metrics });
  adminRoutes(routes, {
    manager,
    token: adminToken,
    spendByAttribution: () => metrics.spendByAttribution(),
  });

  /** A handler's answer: a value it returned is sent as 200 JSON; a failure is a logged 500. */
  const finish = (request: HttpRequest, value: unknown): void => {
    if (value === undefined || request.res.headersSent) return;
    try {
      sendJson(request, 200, value);
    } catch (err) {
      // A value JSON cannot write (a BigInt, a cycle): a bug, answered as one.
      fail(request, err);
    }
  };
  const fail = (request: HttpRequest, err: unknown): void => {
    if (err instanceof JobStoreUnavailableError && !request.res.headersSent) {
      // The job store (Redis) dropped during a files or jobs call (engine/jobs/storage.ts).
      sendApiError(request, 'job_store_unavailable');
      return;
    }
    request.log.error({ err }, 'request failed');
    if (!request.res.headersSent) sendApiError(request, 'internal_error');
    else if (!request.res.writableEnded) request.res.destroy();
  };
  const run = (request: HttpRequest, route: RouteDef): void => {
    let value: unknown;
    try {
      value = route.handler(request);
    } catch (err) {
      fail(request, err);
      return;
    }
    if (value instanceof Promise) {
      value.then(
        (v) => finish(request, v),
        (err) => fail(request, err),
      );
    } else {
      finish(request, value);
    }
  };
  const bodyError = (request: HttpRequest, route: RouteDef, error: BodyError): void => {
    // Answered before the body was read whole (413, 415): the client may still be sending, so
    // the connection closes after the answer, lingering.
    request.res.setHeader('connection', 'close');
    if (!request.raw.complete) lingerOnClose(request.raw.socket);
    if (route.onBodyError === undefined) {
      sendApiError(request, error.code, error.params);
      return;
    }
    run(request, { handler: (r) => route.onBodyError?.(r, error) });
  };

  const afterBody = (request: HttpRequest, route: RouteDef, error: BodyError | null): void => {
    if (error === null) run(request, route);
    else bodyError(request, route, error);
  };

  const onRequest = (raw: IncomingMessage, res: ServerResponse): void => {
    const url = originForm(raw.url ?? '/');
    const q = url.indexOf('?');
    const request = new HttpRequest(raw, res, requestId(raw), q < 0 ? url : url.slice(0, q), log);
    // Nothing a request does may throw out of here: an exception in a 'request' listener would
    // end the process.
    try {
      if (!lifecycle.begin(request)) return;
      let match: Match<RouteDef> | null;
      try {
        match = routes.find(raw.method ?? 'GET', request.path);
      } catch (err) {
        if (!(err instanceof BadUrlError)) throw err;
        sendApiError(request, 'invalid_request', { detail: err.message });
        return;
      }
      if (match === null) {
        sendApiError(request, 'not_found', { method: request.method, path: request.path.slice(0, 200) });
        return;
      }
      request.route = match.pattern;
      request.params = match.params;
      const route = match.value;
      if (route.guard?.(request)) return;
      readBody(request, bodyLimit, route, afterBody);
    } catch (err) {
      fail(request, err);
    }
  };

  const server = createHttpServer(
    {
      // Node answers an HTTP/1.1 request without Host with a bare 400 and no body; the
      // lifecycle refuses it instead, in the OpenAI error shape.
      requireHostHeader: false,
      // Receiving a request (headers and body) is bounded, so a client that sends part of a
      // body and stalls cannot hold a connection and an in-flight slot forever. Responses,
      // streams included, are not limited by it.
      requestTimeout: REQUEST_RECEIVE_TIMEOUT_MS,
      headersTimeout: HEADERS_TIMEOUT_MS,
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    },
    onRequest,
  );
  // No socket inactivity timeout: a stream may be quiet for long.
  server.setTimeout(0);
  // Without a listener Node drops a CONNECT's connection without a word.
  server.on('connect', (req: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => socket.destroy());
    if (socket.writable) socket.end(connectRefused(req.method ?? 'CONNECT', req.url ?? ''));
    else socket.destroy();
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    // A reset connection has nothing to answer.
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    if (socket.writable) socket.end(clientErrorResponse(err));
    else socket.destroy();
  });

  await manager.start();
  if (options.requirePolicy === true && !manager.ready) {
    // Nothing has listened or started yet: close what was opened, and say why.
    const failure = manager.lastError;
    await jobs.closed();
    await manager.close();
    await recorder?.close();
    throw new NoPolicyError(failure);
  }
  await startJobs(jobs.ctx);

  let watcher: PolicyWatcher | null = null;
  if (options.watch ?? true) {
    // chokidar is loaded only by a server that watches (`--no-watch` never loads it).
    const { watchPolicy } = await import('./watch.js');
    watcher = await watchPolicy({
      policyPath: options.policyPath,
      ...(options.watchDebounceMs === undefined ? {} : { debounceMs: options.watchDebounceMs }),
      onChange: () => void manager.reload('watch'),
      onError: (err) => log.warn({ err }, 'policy watcher error'),
    });
    await watcher.ready;
  }

  let url: string;
  try {
    const host = options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port: options.port ?? 8080 }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address() as AddressInfo;
    url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  } catch (err) {
    await watcher?.close();
    await jobs.closed();
    await manager.close();
    await recorder?.close();
    throw err;
  }
  log.info({ url }, `Server listening at ${url}`);

  let closed: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closed ??= shutdown({
      server,
      log,
      onClosing: () => jobs.closing(),
      onClosed: () => jobs.closed(),
      lifecycle,
      manager,
      watcher,
      recorder,
      metrics,
      gracePeriodMs,
      alerts,
    });
    return closed;
  };

  return {
    http: server,
    log,
    url,
    manager,
    metrics,
    close,
    endGracePeriod: () => lifecycle.endGracePeriod(),
  };
}
