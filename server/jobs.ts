/**
 * Jobs in the server: the store and the runner (engine/jobs) started with the server when
 * `--jobs-dir` (a directory) or `--jobs-redis` (a Redis server the replicas share) is given, the
 * Files and Batch API routes, deferred requests (`x-switchyard-defer: true` on the model
 * endpoints), and the runner's part of the shutdown.
 *
 * Shutdown: when the server starts closing (`preClose`), the runner stops starting job requests;
 * those in flight get the grace period to finish and be journaled, then are cut and run again on
 * the next start (`onClose` waits for that, then releases the jobs' leases and closes the store).
 *
 * Without a store the routes exist and answer 404 `jobs_disabled`, and a deferred request is
 * refused the same way rather than silently run in the foreground. With Redis unreachable they
 * answer 503 `job_store_unavailable`.
 */

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { Counter, Gauge } from 'prom-client';
import { CREDENTIAL_HEADERS, jobs } from '../engine/index.js';
import { sendApiError } from './errors.js';
import type { ServerMetrics } from './metrics.js';
import type { PolicyManager } from './policy-manager.js';
import { batchRoutes } from './routes/batches.js';
import { fileRoutes } from './routes/files.js';

/** The header that makes a model request a deferred job: `true` (202 and a job), `false`, or absent. */
export const DEFER_HEADER = 'x-switchyard-defer';

/** The endpoints a deferred request may target (the engine's). */
const DEFERRABLE = new Set(jobs.JOB_ENDPOINTS);

export interface JobsContext {
  readonly manager: PolicyManager;
  /** null: jobs are disabled (no `--jobs-dir` or `--jobs-redis`). */
  readonly runner: jobs.JobRunner | null;
  readonly store: jobs.JobStorage | null;
}

export interface InstallJobsOptions {
  readonly manager: PolicyManager;
  /** The server's metrics: jobs add their gauges and counter to its registry. */
  readonly metrics?: ServerMetrics;
  /** `--jobs-dir`; undefined (and no `redis`) disables jobs. */
  readonly dir: string | undefined;
  /** `--jobs-redis`: jobs in Redis, shared by the replicas with the same URL and prefix. */
  readonly redis?: { readonly url: string; readonly prefix?: string } | undefined;
  /** How long the shutdown lets job requests in flight finish. */
  readonly gracePeriodMs: number;
}

/**
 * The caller of a files or jobs request: its tenant, or a refusal already sent. Every route
 * goes through it, so the same keys that may call a model may queue work, and nobody else.
 */
export function callerOf(
  ctx: JobsContext,
  request: FastifyRequest,
  reply: FastifyReply,
): { tenant: string | null; runner: jobs.JobRunner; store: jobs.JobStorage } | null {
  if (ctx.runner === null || ctx.store === null) {
    sendApiError(reply, 'jobs_disabled');
    return null;
  }
  if (!ctx.store.available) {
    sendApiError(reply, 'job_store_unavailable');
    return null;
  }
  const engine = ctx.manager.engine;
  if (engine === null) {
    sendApiError(reply, 'policy_not_loaded');
    return null;
  }
  const caller = jobs.jobCaller(engine.policy, request.headers.authorization);
  if (!caller.ok) {
    sendApiError(reply, 'invalid_api_key');
    return null;
  }
  return { tenant: caller.tenant, runner: ctx.runner, store: ctx.store };
}

/** Sends the catalogue error of a refusal. */
export function sendRefusal(
  reply: FastifyReply,
  refusal: jobs.JobRefusal,
  kind: string,
  id: string,
): FastifyReply {
  switch (refusal.kind) {
    case 'not_found':
      return sendApiError(reply, 'job_not_found', { kind, id: id.slice(0, 100) });
    case 'invalid':
      return sendApiError(reply, 'invalid_request', { detail: refusal.message }, refusal.param);
    case 'too_many_jobs':
      return sendApiError(reply, 'too_many_jobs', { limit: String(refusal.limit) });
    case 'not_cancellable':
      return sendApiError(reply, 'job_not_cancellable', { status: refusal.status });
  }
}

/** Headers a deferred request keeps for its run: `x-…` ones, never credentials or our own. */
function keptHeaders(headers: FastifyRequest['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  const drop = new Set([...CREDENTIAL_HEADERS, DEFER_HEADER, jobs.JOB_HEADER, 'x-request-id']);
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith('x-') || drop.has(name) || typeof value !== 'string') continue;
    out[name] = value;
  }
  return out;
}

async function deferRequest(
  ctx: JobsContext,
  request: FastifyRequest,
  reply: FastifyReply,
  endpoint: string,
): Promise<void> {
  const value = request.headers[DEFER_HEADER];
  if (value !== 'true') {
    sendApiError(
      reply,
      'invalid_request',
      { detail: `The ${DEFER_HEADER} header must be "true" or "false".` },
      DEFER_HEADER,
    );
    return;
  }
  const caller = callerOf(ctx, request, reply);
  if (caller === null) return;
  const body = request.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    sendApiError(reply, 'invalid_request', { detail: 'The request body must be a JSON object.' });
    return;
  }
  if ((body as { stream?: unknown }).stream === true) {
    sendApiError(
      reply,
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
      headers: keptHeaders(request.headers),
    });
  } catch (err) {
    if (err instanceof jobs.JobStoreUnavailableError) {
      sendApiError(reply, 'job_store_unavailable');
      return;
    }
    request.log.error({ err }, 'could not save a deferred request');
    sendApiError(reply, 'internal_error');
    return;
  }
  if (!created.ok) {
    sendRefusal(reply, created.refusal, 'job', '');
    return;
  }
  reply
    .code(202)
    .header('location', `/v1/jobs/${created.value.id}`)
    .send(jobs.deferredObject(created.value, null));
}

/** Opens the job store the options name (null: none); a store that cannot be used refuses the start. */
async function openJobStore(
  options: InstallJobsOptions,
  app: FastifyInstance,
): Promise<jobs.JobStorage | null> {
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
    const problem = jobs.redisJobStoreProblem({ url, ...(prefix === undefined ? {} : { prefix }) });
    if (problem !== null) refuse('the jobs Redis', problem, 'SY_JOBS_CONFIG');
    const log = app.log.child({ component: 'jobs' });
    let warned = false;
    try {
      return await jobs.RedisJobStore.open({
        url,
        ...(prefix === undefined ? {} : { prefix }),
        onConnectionError: (err) => {
          // Once per outage: ioredis retries in the background.
          if (warned) return;
          warned = true;
          log.warn({ err: err instanceof Error ? err.message : String(err) }, 'jobs Redis unreachable');
        },
      }).then((store) => {
        store.onReady(() => {
          if (warned) log.info({}, 'jobs Redis reachable again');
          warned = false;
        });
        return store;
      });
    } catch (err) {
      return refuse(`the jobs Redis at ${jobs.maskUrl(url)}`, err, 'SY_JOBS_REDIS');
    }
  }
  if (options.dir === undefined) return null;
  try {
    return await jobs.JobStore.open(options.dir);
  } catch (err) {
    return refuse(`the jobs directory ${options.dir}`, err, 'SY_JOBS_DIR');
  }
}

/**
 * Sets up jobs on `app` (the root instance, before the API routes are registered, so that the
 * deferral check is attached to them).
 */
export async function installJobs(app: FastifyInstance, options: InstallJobsOptions): Promise<JobsContext> {
  const { manager } = options;
  let runner: jobs.JobRunner | null = null;
  const store = await openJobStore(options, app);
  if (store !== null) {
    const log = app.log.child({ component: 'jobs' });
    const registry = options.metrics?.registry;
    const requests =
      registry === undefined
        ? null
        : new Counter({
            name: 'switchyard_job_requests_total',
            help: 'Requests of batches and deferred jobs by outcome: ok (2xx), failed (another answer), put_back (rate-limited or upstreams unavailable; runs again).',
            labelNames: ['outcome'],
            registers: [registry],
          });
    runner = new jobs.JobRunner({
      store,
      engine: () => manager.engine,
      // Named in leases and logs: which replica works on a job.
      replica: `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`,
      ...(requests === null ? {} : { onRequest: (outcome) => requests.inc({ outcome }) }),
      log: {
        info: (obj, msg) => log.info(obj, msg),
        warn: (obj, msg) => log.warn(obj, msg),
        error: (obj, msg) => log.error(obj, msg),
      },
    });
    const active = runner;
    if (registry !== undefined) {
      new Gauge({
        name: 'switchyard_jobs',
        help: 'Batches and deferred requests kept, by status.',
        labelNames: ['status'],
        registers: [registry],
        collect() {
          this.reset();
          for (const [status, n] of Object.entries(active.statusCounts())) this.set({ status }, n);
        },
      });
      new Gauge({
        name: 'switchyard_job_requests_in_flight',
        help: 'Requests of jobs being worked on now (at most jobs.concurrency).',
        registers: [registry],
        collect() {
          this.set(active.busy);
        },
      });
    }
    let stopped: Promise<void> | null = null;
    app.addHook('preClose', (done: HookHandlerDoneFunction) => {
      stopped ??= active.stop(options.gracePeriodMs);
      done();
    });
    app.addHook('onClose', async () => {
      stopped ??= active.stop(options.gracePeriodMs);
      await stopped;
      await store.close();
    });
  }
  const ctx: JobsContext = { manager, runner, store };

  // Deferral: a check attached to the model endpoints only, so no other route pays for it.
  const deferHook =
    (endpoint: string) =>
    (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
      if (request.headers[DEFER_HEADER] === undefined || request.headers[DEFER_HEADER] === 'false') {
        done();
        return;
      }
      // Answered here; the route's handler does not run.
      deferRequest(ctx, request, reply, endpoint).catch((err: unknown) => {
        request.log.error({ err }, 'deferred request failed');
        if (!reply.sent) sendApiError(reply, 'internal_error');
      });
    };
  app.addHook('onRoute', (route) => {
    if (route.method !== 'POST' || !DEFERRABLE.has(route.url)) return;
    const existing = route.preHandler;
    const hook = deferHook(route.url);
    route.preHandler =
      existing === undefined ? [hook] : Array.isArray(existing) ? [...existing, hook] : [existing, hook];
  });

  await app.register(fileRoutes, { ctx });
  await app.register(batchRoutes, { ctx });
  return ctx;
}

/** Starts the runner (after the policy loaded: resumed jobs need the engine). */
export async function startJobs(ctx: JobsContext): Promise<void> {
  await ctx.runner?.start();
}
