/**
 * Jobs in the server: the store and the runner (engine/jobs) started with the server when
 * `--jobs-dir` (a directory) or `--jobs-redis` (a Redis server the replicas share) is given, the
 * Files and Batch API routes, deferred requests (`x-switchyard-defer: true` on the model
 * endpoints), and the runner's part of the shutdown.
 *
 * Shutdown: when the server starts closing (`closing`), the runner stops starting job requests;
 * those in flight get the grace period to finish and be journaled, then are cut and run again on
 * the next start (`closed` waits for that, then releases the jobs' leases and closes the store).
 *
 * Without a store the routes exist and answer 404 `jobs_disabled`, and a deferred request is
 * refused the same way rather than silently run in the foreground. With Redis unreachable they
 * answer 503 `job_store_unavailable`.
 */

import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { hostname } from 'node:os';
import type { jobs } from '../engine/index.js';
import {
  CREDENTIAL_HEADERS,
  deferredObject,
  JOB_ENDPOINTS,
  JobStoreUnavailableError,
  loadJobs,
} from '../engine/serving.js';
import { sendApiError } from './errors.js';
import { FastCounter, FastGauge } from './fast-metrics.js';
import { type HttpRequest, type Routes, sendJson } from './http.js';
import type { Logger } from './logging.js';
import type { ServerMetrics } from './metrics.js';
import type { PolicyManager } from './policy-manager.js';
import { batchRoutes } from './routes/batches.js';
import { fileRoutes } from './routes/files.js';

/** The header that makes a model request a deferred job: `true` (202 and a job), `false`, or absent. */
export const DEFER_HEADER = 'x-switchyard-defer';

/** The endpoints a deferred request may target (the engine's). */
const DEFERRABLE = new Set(JOB_ENDPOINTS);

/**
 * The jobs module (engine/jobs), imported when a store is configured: a server without jobs never
 * loads it (about 2 MB of resident memory, docs/footprint.md).
 */
export type JobsApi = Awaited<ReturnType<typeof loadJobs>>;

export interface JobsContext {
  readonly manager: PolicyManager;
  /** null: jobs are disabled (no `--jobs-dir` or `--jobs-redis`). */
  readonly runner: jobs.JobRunner | null;
  readonly store: jobs.JobStorage | null;
  /** The jobs module, loaded with the store; null when jobs are disabled. */
  readonly api: JobsApi | null;
}

export interface InstallJobsOptions {
  readonly manager: PolicyManager;
  readonly log: Logger;
  /** The server's metrics: jobs add their gauges and counter to its registry. */
  readonly metrics?: ServerMetrics;
  /** `--jobs-dir`; undefined (and no `redis`) disables jobs. */
  readonly dir: string | undefined;
  /** `--jobs-redis`: jobs in Redis, shared by the replicas with the same URL and prefix. */
  readonly redis?: { readonly url: string; readonly prefix?: string; readonly leaseMs?: number } | undefined;
  /** How long the shutdown lets job requests in flight finish. */
  readonly gracePeriodMs: number;
}

/**
 * The caller of a files or jobs request: its tenant, or a refusal already sent. Every route
 * goes through it, so the same keys that may call a model may queue work, and nobody else.
 */
export function callerOf(
  ctx: JobsContext,
  request: HttpRequest,
): { tenant: string | null; runner: jobs.JobRunner; store: jobs.JobStorage; api: JobsApi } | null {
  if (ctx.runner === null || ctx.store === null || ctx.api === null) {
    sendApiError(request, 'jobs_disabled');
    return null;
  }
  if (!ctx.store.available) {
    sendApiError(request, 'job_store_unavailable');
    return null;
  }
  const engine = ctx.manager.engine;
  if (engine === null) {
    sendApiError(request, 'policy_not_loaded');
    return null;
  }
  const caller = ctx.api.jobCaller(engine.policy, request.headers.authorization);
  if (!caller.ok) {
    sendApiError(request, 'invalid_api_key');
    return null;
  }
  return { tenant: caller.tenant, runner: ctx.runner, store: ctx.store, api: ctx.api };
}

/** Sends the catalogue error of a refusal. */
export function sendRefusal(request: HttpRequest, refusal: jobs.JobRefusal, kind: string, id: string): void {
  switch (refusal.kind) {
    case 'not_found':
      sendApiError(request, 'job_not_found', { kind, id: id.slice(0, 100) });
      return;
    case 'invalid':
      sendApiError(request, 'invalid_request', { detail: refusal.message }, refusal.param);
      return;
    case 'too_many_jobs':
      sendApiError(request, 'too_many_jobs', { limit: String(refusal.limit) });
      return;
    case 'not_cancellable':
      sendApiError(request, 'job_not_cancellable', { status: refusal.status });
      return;
  }
}

/** Headers a deferred request keeps for its run: `x-…` ones, never credentials or our own. */
function keptHeaders(headers: IncomingHttpHeaders, jobHeader: string): Record<string, string> {
  const out: Record<string, string> = {};
  const drop = new Set([...CREDENTIAL_HEADERS, DEFER_HEADER, jobHeader, 'x-request-id']);
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith('x-') || drop.has(name) || typeof value !== 'string') continue;
    out[name] = value;
  }
  return out;
}

async function deferRequest(ctx: JobsContext, request: HttpRequest, endpoint: string): Promise<void> {
  const value = request.headers[DEFER_HEADER];
  if (value !== 'true') {
    sendApiError(
      request,
      'invalid_request',
      { detail: `The ${DEFER_HEADER} header must be "true" or "false".` },
      DEFER_HEADER,
    );
    return;
  }
  const caller = callerOf(ctx, request);
  if (caller === null) return;
  const body = request.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    sendApiError(request, 'invalid_request', { detail: 'The request body must be a JSON object.' });
    return;
  }
  if ((body as { stream?: unknown }).stream === true) {
    sendApiError(
      request,
      'invalid_request',
      { detail: 'A deferred request cannot stream; its answer is fetched with GET /v1/jobs/{id}.' },
      'stream',
    );
    return;
  }
  let created: jobs.JobResult<jobs.JobRecord>;
  try {
    created = await caller.runner.createDeferred({
      owner: caller.tenant,
      endpoint,
      body: body as Record<string, unknown>,
      headers: keptHeaders(request.headers, caller.api.JOB_HEADER),
    });
  } catch (err) {
    if (err instanceof JobStoreUnavailableError) {
      sendApiError(request, 'job_store_unavailable');
      return;
    }
    request.log.error({ err }, 'could not save a deferred request');
    sendApiError(request, 'internal_error');
    return;
  }
  if (!created.ok) {
    sendRefusal(request, created.refusal, 'job', '');
    return;
  }
  sendJson(request, 202, deferredObject(created.value, null), {
    location: `/v1/jobs/${created.value.id}`,
  });
}

/** What the server does with jobs: the routes' context, the deferral check, the shutdown's parts. */
export interface InstalledJobs {
  readonly ctx: JobsContext;
  /**
   * The model routes' deferral check: answers the request and returns true when it asks to be
   * deferred (`x-switchyard-defer: true`, or a value that is not `false`: refused).
   */
  defer(request: HttpRequest, endpoint: string): boolean;
  /** The server refuses new requests: the runner stops starting job requests. */
  closing(): void;
  /** Waits for the runner's requests in flight (up to the grace period), then journals them. */
  closed(): Promise<void>;
}

/** Opens the job store the options name (null: none); a store that cannot be used refuses the start. */
async function openJobStore(options: InstallJobsOptions, api: JobsApi): Promise<jobs.JobStorage> {
  const refuse = (what: string, err: unknown, code: string): never => {
    // Refuse to start rather than accept jobs that cannot be kept.
    const reason = err instanceof Error ? err.message : String(err);
    throw Object.assign(new Error(`cannot use ${what}: ${reason}`), { code });
  };
  if (options.dir !== undefined && options.redis !== undefined) {
    refuse('both a jobs directory and a jobs Redis', 'choose one', 'SY_JOBS_CONFIG');
  }
  if (options.redis !== undefined) {
    const { url, prefix } = options.redis;
    const problem = api.redisJobStoreProblem({ url, ...(prefix === undefined ? {} : { prefix }) });
    if (problem !== null) refuse('the jobs Redis', problem, 'SY_JOBS_CONFIG');
    const log = options.log.child({ component: 'jobs' });
    let warned = false;
    try {
      const store = await api.RedisJobStore.open({
        url,
        ...(prefix === undefined ? {} : { prefix }),
        onConnectionError: (err) => {
          // Once per outage: ioredis retries in the background.
          if (warned) return;
          warned = true;
          log.warn({ err: err instanceof Error ? err.message : String(err) }, 'jobs Redis unreachable');
        },
      });
      store.onReady(() => {
        if (warned) log.info({}, 'jobs Redis reachable again');
        warned = false;
      });
      return store;
    } catch (err) {
      return refuse(`the jobs Redis at ${api.maskUrl(url)}`, err, 'SY_JOBS_REDIS');
    }
  }
  if (options.dir === undefined) throw new Error('no job store configured');
  try {
    return await api.JobStore.open(options.dir);
  } catch (err) {
    return refuse(`the jobs directory ${options.dir}`, err, 'SY_JOBS_DIR');
  }
}

/** Opens the store, makes the runner and adds the Files and Batch routes. */
export async function installJobs(routes: Routes, options: InstallJobsOptions): Promise<InstalledJobs> {
  const { manager } = options;
  let runner: jobs.JobRunner | null = null;
  const api = options.dir !== undefined || options.redis !== undefined ? await loadJobs() : null;
  const store = api === null ? null : await openJobStore(options, api);
  let stopped: Promise<void> | null = null;
  let stop: (() => Promise<void>) | null = null;
  if (api !== null && store !== null) {
    const log = options.log.child({ component: 'jobs' });
    const target = options.metrics?.target;
    const requests =
      target === undefined
        ? null
        : new FastCounter(
            'switchyard_job_requests_total',
            'Requests of batches and deferred jobs by outcome: ok (2xx), failed (another answer), put_back (rate-limited or upstreams unavailable; runs again).',
            ['outcome'],
            target,
          );
    runner = new api.JobRunner({
      store,
      engine: () => manager.engine,
      // Named in leases and logs: which replica works on a job.
      replica: `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`,
      ...(options.redis?.leaseMs === undefined ? {} : { leaseMs: options.redis.leaseMs }),
      ...(requests === null ? {} : { onRequest: (outcome) => (requests.cell(outcome).value += 1) }),
      log: {
        info: (obj, msg) => log.info(obj, msg),
        warn: (obj, msg) => log.warn(obj, msg),
        error: (obj, msg) => log.error(obj, msg),
      },
    });
    const active = runner;
    if (target !== undefined) {
      new FastGauge(
        'switchyard_jobs',
        'Batches and deferred requests kept, by status.',
        ['status'],
        target,
        (gauge) => {
          gauge.reset();
          for (const [status, n] of Object.entries(active.statusCounts())) gauge.cell(status).value = n;
        },
      );
      new FastGauge(
        'switchyard_job_requests_in_flight',
        'Requests of jobs being worked on now (at most jobs.concurrency).',
        [],
        target,
        (gauge) => {
          gauge.cell().value = active.busy;
        },
      );
    }
    stop = () => {
      stopped ??= active.stop(options.gracePeriodMs);
      return stopped;
    };
  }
  const ctx: JobsContext = { manager, runner, store, api };

  fileRoutes(routes, { ctx });
  batchRoutes(routes, { ctx });
  return {
    ctx,
    defer(request, endpoint) {
      const value = request.headers[DEFER_HEADER];
      if (value === undefined || value === 'false' || !DEFERRABLE.has(endpoint)) return false;
      deferRequest(ctx, request, endpoint).catch((err: unknown) => {
        request.log.error({ err }, 'deferred request failed');
        sendApiError(request, 'internal_error');
      });
      return true;
    },
    closing() {
      void stop?.();
    },
    async closed() {
      await stop?.();
      // After the runner stopped (its leases released) and the HTTP requests drained.
      await store?.close();
    },
  };
}

/** Starts the runner (after the policy loaded: resumed jobs need the engine). */
export async function startJobs(ctx: JobsContext): Promise<void> {
  await ctx.runner?.start();
}
