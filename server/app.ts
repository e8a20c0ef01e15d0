/**
 * The HTTP server: a thin Fastify layer that turns requests into `RequestInput`, hands them to
 * the engine and writes `EngineResponse`s back (docs/design.md §3). No routing logic lives here.
 *
 * Order of a request: onRequest (request id, drain check, in-flight tracking) → body parser
 * (size limit, JSON) → shape validation → `engine.handle` → JSON or SSE → one log line and the
 * metrics. Every refusal on the way is an OpenAI-shaped error.
 *
 * This file wires the parts: `logging.ts` (pino), `lifecycle.ts` (per-request state, drain,
 * shutdown), `routes/` (the API, health and metrics, admin), `sse.ts` (streams),
 * `engine-hooks.ts` (engine events → metrics).
 */

import { open } from 'node:fs/promises';
import { STATUS_CODES } from 'node:http';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import {
  type CompiledPolicy,
  createPolicyRecorder,
  type ErrorCode,
  type PolicyRecorder,
} from '../engine/index.js';
import { type AlertWebhookOptions, AlertWebhookSender } from './alert-webhook.js';
import { withServerHooks } from './engine-hooks.js';
import { apiError, mapFastifyError, sendApiError, statusOf } from './errors.js';
import { installJobs, startJobs } from './jobs.js';
import { installJsonParser } from './json-body.js';
import { lazyChildLoggerFactory } from './lazy-logger.js';
import { createLifecycle, requestId, shutdown } from './lifecycle.js';
import { lingerOnClose } from './linger.js';
import { pinoOptions, requestLogger, type ServerLoggerOptions } from './logging.js';
import { createServerMetrics, type ServerMetrics } from './metrics.js';
import {
  type EngineOptions,
  type PolicyEngineApi,
  PolicyManager,
  type ReloadResult,
} from './policy-manager.js';
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
  /** Keep them in Redis instead, shared by the replicas using the same URL and prefix (`serve --jobs-redis`). */
  jobsRedis?: { url: string; prefix?: string };
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

function isRefusedBody(code: ErrorCode): code is 'invalid_json' | 'body_too_deep' | 'body_too_complex' {
  return code === 'invalid_json' || code === 'body_too_deep' || code === 'body_too_complex';
}

/** Malformed HTTP (bad Content-Length, oversized headers, a receive timeout), in the OpenAI shape. */
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

  const app = Fastify({
    logger: pinoOptions(options.logger),
    bodyLimit,
    // Receiving a request (headers and body) is bounded, so a client that sends part of a body
    // and stalls cannot hold a connection and an in-flight slot forever. Responses, streams
    // included, are not limited by it.
    requestTimeout: REQUEST_RECEIVE_TIMEOUT_MS,
    // Node answers an HTTP/1.1 request without Host with a bare 400 and no body; the lifecycle's
    // onRequest hook refuses it instead, in the OpenAI error shape.
    http: { requireHostHeader: false },
    clientErrorHandler: (err, socket) => {
      if (socket.writable) socket.end(clientErrorResponse(err));
    },
    // One line per request is written by the lifecycle's `report`, with the routing outcome in it.
    logController: new LogController({ disableRequestLogging: true }),
    // `request.log` is built on first use: the request line goes through `requestLogger`.
    childLoggerFactory: lazyChildLoggerFactory,
    return503OnClosing: false,
    requestIdHeader: false,
    genReqId: requestId,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    frameworkErrors: (err, _request, reply) => {
      // Before routing (a malformed URL): answer on the raw response, in the API's error shape.
      const error = mapFastifyError(err, bodyLimit);
      reply.hijack();
      reply.raw.writeHead(statusOf(error.code), { 'content-type': 'application/json; charset=utf-8' });
      reply.raw.end(JSON.stringify(apiError(error)));
    },
  });

  // The API speaks JSON only: a text/plain body is refused (415) rather than parsed as a string.
  app.removeContentTypeParser('text/plain');
  // JSON bodies too deep or with too many objects are refused (400) before they are parsed.
  installJsonParser(app);

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
            app.log.error({ err, path }, 'recording write failed; lines are dropped until it recovers'),
          onDrop: (count) => metrics.observeRecordingDropped(count),
          onFile: ({ kind, path }) =>
            app.log.info({ path }, kind === 'open' ? 'recording to a file' : 'recording file closed'),
        });
  const alerts = new AlertWebhookSender({
    log: app.log,
    onOutcome: (outcome, event) => metrics.observeAlertDelivery(event.budget, outcome),
    ...options.alertDelivery,
  });
  const engineOptions = withServerHooks(options.engineOptions, metrics, app.log, recorder, alerts);

  const manager = new PolicyManager({
    policyPath: options.policyPath,
    ...(options.env === undefined ? {} : { env: options.env }),
    engineOptions,
    ...(options.engineApi === undefined ? {} : { api: options.engineApi }),
    // A version whose recording file cannot be written does not serve (the previous one goes on).
    ...(recorder === null
      ? {}
      : { prepare: (policy: CompiledPolicy) => recorder.prepare(policy.recording ?? null) }),
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

  const lifecycle = createLifecycle(metrics, requestLogger(app.log, options.logger));
  lifecycle.install(app);

  app.setErrorHandler(async (err, request, reply) => {
    const error = mapFastifyError(err, bodyLimit);
    const status = statusOf(error.code);
    if (status >= 500) request.log.error({ err }, 'request failed');
    // Answered before the body was read (413, a parse error mid-body): Fastify closes the
    // connection after this response; the client may still be sending, so close lingering.
    if (!request.raw.complete) lingerOnClose(request.raw.socket);
    const path = request.routeOptions.url;
    const engine = manager.engine;
    if (
      engine !== null &&
      isRefusedBody(error.code) &&
      (path === '/v1/chat/completions' || path === '/v1/embeddings')
    ) {
      // An API body the parser refused is the engine's to answer, so it is recorded like every
      // other refused request.
      const response = await engine.handle({
        body: null,
        headers: request.headers,
        path,
        requestId: request.id,
        refused: { code: error.code, detail: error.params?.detail ?? '' },
      });
      if (response.kind === 'json')
        return reply.code(response.status).headers(response.headers).send(response.body);
    }
    return reply.code(status).type('application/json').send(apiError(error));
  });

  app.setNotFoundHandler((request, reply) =>
    sendApiError(reply, 'not_found', {
      method: request.method,
      path: request.url.split('?')[0].slice(0, 200),
    }),
  );

  let jobs: Awaited<ReturnType<typeof installJobs>>;
  try {
    jobs = await installJobs(app, {
      manager,
      metrics,
      dir: options.jobsDir,
      redis: options.jobsRedis,
      gracePeriodMs,
    });
  } catch (err) {
    await app.close();
    await recorder?.close();
    throw err;
  }
  await app.register(apiRoutes, { manager, lifecycle });
  await app.register(responsesRoutes, { manager, lifecycle, bodyLimit });
  await app.register(messagesRoutes, { manager, lifecycle, bodyLimit });
  await app.register(modelRoutes, { manager });
  await app.register(healthRoutes, { manager, lifecycle, metrics });
  await app.register(adminRoutes, {
    manager,
    token: adminToken,
    prefix: '/admin',
    spendByAttribution: () => metrics.spendByAttribution(),
  });

  await manager.start();
  await startJobs(jobs);

  let watcher: PolicyWatcher | null = null;
  if (options.watch ?? true) {
    // chokidar is loaded only by a server that watches (`--no-watch` never loads it).
    const { watchPolicy } = await import('./watch.js');
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

  let closed: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closed ??= shutdown({ app, lifecycle, manager, watcher, recorder, metrics, gracePeriodMs, alerts });
    return closed;
  };

  return { app, url, manager, metrics, close, endGracePeriod: () => lifecycle.endGracePeriod() };
}
