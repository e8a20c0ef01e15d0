/**
 * The engine facade: holds the current compiled policy (an immutable snapshot), swaps it in one
 * assignment on reload, and runs requests through context → decide → execute. A request keeps
 * the snapshot it started with, so a reload never mixes two versions inside one request (P13).
 */
import { randomUUID } from 'node:crypto';
import type { CompiledPolicy } from '../compile/compile.js';
import { createContext } from '../context.js';
import { decide } from '../decide.js';
import { createProvider } from '../providers/index.js';
import { createUndiciTransport, type Transport } from '../providers/transport.js';
import type { Provider, ProviderSpec } from '../providers/types.js';
import type { RecordInput } from '../replay/record.js';
import type {
  AttemptRecord,
  Decision,
  EngineResponse,
  RequestContext,
  RequestInput,
  ResponseMeta,
} from '../types.js';
import { type BreakerState, targetOfBreakerKey } from './breaker.js';
import { type Clock, systemClock } from './clock.js';
import { EngineError, engineErrorBody } from './errors.js';
import { createExecutor, policyLabel } from './execute.js';
import { type StoreEvent, TrafficStores } from './stores.js';
import {
  type BudgetAlertEvent,
  type CacheEvent,
  type LimitEvent,
  type SpendReport,
  Traffic,
  type TrafficSnapshot,
} from './traffic.js';

export interface EngineOptions {
  /** Time source for every wait and timestamp (a VirtualClock in tests and replay). */
  readonly clock?: Clock;
  /** Random source in [0, 1) for seeds and jitter. */
  readonly random?: () => number;
  /** HTTP transport to upstreams; defaults to pooled undici. Closed by `close()` only when owned. */
  readonly transport?: Transport;
  /** Called once per upstream attempt (metrics, logs). */
  readonly onAttempt?: (attempt: AttemptRecord) => void;
  /** A request refused (429) or rerouted by a limit or budget, or a target skipped by one. */
  readonly onLimit?: (event: LimitEvent) => void;
  /** A budget crossed an `alertAt` threshold or reached its limit: once per crossing and period. */
  readonly onBudgetAlert?: (event: BudgetAlertEvent) => void;
  /** A shared store (Redis) failed an operation (and what `onStoreError` did), or recovered. */
  readonly onStoreError?: (event: StoreEvent) => void;
  /** The cache outcome of a request of a route with a cache (`hit`, `miss`, `bypass`), and writes. */
  readonly onCache?: (event: CacheEvent) => void;
  /**
   * Receives every completed request (JSON answers once produced, streams once ended), off the
   * response path: what `serve --record` writes and `replay` reads. A request refused before its
   * context could be built (a body that is not an object) is not recorded.
   */
  readonly recorder?: { record(entry: RecordInput): void };
}

/** A request refused before routing: a malformed request context (400) or an unknown key (401). */
export interface Rejection {
  readonly kind: 'rejected';
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

export interface Engine {
  /** The snapshot new requests use. */
  readonly policy: CompiledPolicy;
  /** The routing decision for a request, without sending anything upstream. */
  decide(input: RequestInput, options?: { explain?: boolean }): Decision | Rejection;
  /** Runs a request end to end. Never rejects: failures are error responses. */
  handle(input: RequestInput): Promise<EngineResponse>;
  /** Makes `next` the serving snapshot; identical content (same hash) is a no-op. */
  swap(next: CompiledPolicy): { changed: boolean };
  /**
   * The current period's spend of every budget of the serving policy, per key this engine has
   * recorded (for `GET /admin/spend`).
   */
  spend(): Promise<SpendReport>;
  /** Whether the shared stores in use (Redis) are connected; true when none is used. */
  storesReady(): boolean;
  /** The circuit breakers' states by target name (for metrics and `/admin`). */
  breakers(): ReadonlyArray<{
    readonly target: string;
    readonly state: BreakerState;
    readonly recentFailures: number;
  }>;
  /**
   * Releases upstream connections and the stores of limits, budgets and caches (Redis
   * connections, memory). In-flight requests should be drained first.
   */
  close(): Promise<void>;
}

function specKey(spec: ProviderSpec): string {
  return JSON.stringify(spec);
}

function emptyMeta(policy: CompiledPolicy, route: string | null, tenant: string | null): ResponseMeta {
  return {
    policy: policy.identity,
    route,
    tenant,
    target: null,
    attempts: [],
    cache: null,
    usage: null,
    costUsd: null,
    overheadMs: 0,
  };
}

function errorResponse(
  policy: CompiledPolicy,
  status: number,
  code: string,
  message: string,
  route: string | null,
  tenant: string | null = null,
): EngineResponse {
  const type =
    status === 401 ? 'authentication_error' : status >= 500 ? 'api_error' : 'invalid_request_error';
  const headers: Record<string, string> = { 'x-switchyard-policy': policyLabel(policy.identity) };
  if (route !== null) headers['x-switchyard-route'] = route;
  return {
    kind: 'json',
    status,
    headers,
    body: { error: { message, type, code } },
    meta: emptyMeta(policy, route, tenant),
  };
}

/**
 * Creates an engine serving `policy`.
 * @example
 * const loaded = await loadPolicy('policies/quickstart.yaml');
 * if (loaded.ok) {
 *   const engine = createEngine(loaded.policy);
 *   const res = await engine.handle({ body: { model: 'gpt-5', messages: [{ role: 'user', content: 'hi' }] } });
 * }
 */
export function createEngine(policy: CompiledPolicy, options: EngineOptions = {}): Engine {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const ownsTransport = options.transport === undefined;
  const transport = options.transport ?? createUndiciTransport();

  // Provider instances are reused across reloads while their spec is unchanged, so pooled
  // connections and mock sequences carry over. The map is replaced, never mutated in place.
  const providerCache = new Map<string, { key: string; provider: Provider }>();
  const buildProviders = (p: CompiledPolicy): ReadonlyMap<string, Provider> => {
    const out = new Map<string, Provider>();
    for (const [name, spec] of p.providers) {
      const key = specKey(spec);
      const cached = providerCache.get(name);
      const provider =
        cached !== undefined && cached.key === key
          ? cached.provider
          : createProvider(spec, { transport, clock });
      providerCache.set(name, { key, provider });
      out.set(name, provider);
    }
    for (const name of [...providerCache.keys()]) if (!p.providers.has(name)) providerCache.delete(name);
    return out;
  };

  // Limits, budgets and caches: their stores live as long as the engine, across reloads.
  const stores = new TrafficStores({ clock, onStoreEvent: options.onStoreError });
  const traffic = new Traffic({
    clock,
    stores,
    hooks: { onLimit: options.onLimit, onBudgetAlert: options.onBudgetAlert, onCache: options.onCache },
  });

  // The snapshot pairs a compiled policy with its providers and traffic state; a request
  // captures it once, so a reload in the middle of a request never mixes two versions (P13).
  let current: {
    policy: CompiledPolicy;
    providers: ReadonlyMap<string, Provider>;
    traffic: TrafficSnapshot | null;
  } = { policy, providers: buildProviders(policy), traffic: traffic.prepare(policy) };
  const executor = createExecutor({
    providers: new Map<string, Provider>(),
    clock,
    random,
    onAttempt: options.onAttempt,
  });

  const prepare = (
    p: CompiledPolicy,
    input: RequestInput,
    explain: boolean,
  ):
    | { rejection: Rejection; context?: RequestContext; decision?: undefined }
    | { rejection?: undefined; context: RequestContext; decision: Decision } => {
    const ctx = createContext(p, input, random);
    if (!ctx.ok)
      return { rejection: { kind: 'rejected', status: 400, code: ctx.code, message: ctx.message } };
    if (p.requiresAuth && ctx.context.tenant === null) {
      const rejection: Rejection = {
        kind: 'rejected',
        status: 401,
        code: 'invalid_api_key',
        message:
          'Missing or unknown API key. Send `Authorization: Bearer <key>` with a key this gateway knows.',
      };
      return { rejection, context: ctx.context };
    }
    return { context: ctx.context, decision: decide(p, ctx.context, { explain }) };
  };

  interface Outcome {
    readonly response: EngineResponse;
    readonly context: RequestContext | null;
    readonly decision: Decision | null;
  }

  const run = async (input: RequestInput): Promise<Outcome> => {
    const { policy: snapshot, providers, traffic: rules } = current;
    let context: RequestContext | null = null;
    let decision: Decision | null = null;
    const done = (response: EngineResponse): Outcome => ({ response, context, decision });
    try {
      const prepared = prepare(snapshot, input, false);
      context = prepared.context ?? null;
      if (prepared.rejection !== undefined) {
        const r = prepared.rejection;
        return done(errorResponse(snapshot, r.status, r.code, r.message, null, context?.tenant ?? null));
      }
      decision = prepared.decision;
      if (decision.kind === 'no_route') {
        return done(
          errorResponse(
            snapshot,
            decision.status,
            decision.code,
            decision.message,
            null,
            context?.tenant ?? null,
          ),
        );
      }
      const routed = decision;
      const ctx = prepared.context;
      const route = snapshot.routes[routed.routeIndex];
      // A route without limits, budgets or a cache goes straight to the attempt loop.
      if (rules === null || route === undefined || route.traffic === null) {
        return done(await executor.execute(routed, ctx, input.signal, providers));
      }
      return done(
        await traffic.run(rules, route, route.traffic, routed, ctx, input.signal, (d, gate) =>
          executor.execute(d, ctx, input.signal, providers, { gate }),
        ),
      );
    } catch (err) {
      if (err instanceof EngineError && err.code === 'SY_ABORTED') {
        return done(
          errorResponse(
            snapshot,
            err.status,
            'request_aborted',
            'The request was cancelled.',
            null,
            context?.tenant ?? null,
          ),
        );
      }
      // An internal bug must still produce an honest, generic 500 and never leak details.
      const body = engineErrorBody('SY_INTERNAL');
      return done(
        errorResponse(
          snapshot,
          500,
          body.error.code ?? 'internal_error',
          body.error.message,
          null,
          context?.tenant ?? null,
        ),
      );
    }
  };

  const recorder = options.recorder;
  const record = (input: RequestInput, outcome: Outcome, startedAt: number): void => {
    const { response, context, decision } = outcome;
    if (recorder === undefined || context === null) return;
    const requestId = input.requestId ?? context.headers['x-request-id'] ?? randomUUID();
    const write = (meta: ResponseMeta, status: number): void => {
      const body = response.kind === 'json' ? (response.body as { error?: { code?: unknown } } | null) : null;
      const errorCode = typeof body?.error?.code === 'string' ? body.error.code : undefined;
      recorder.record({
        requestId,
        context,
        decision,
        meta,
        status,
        kind: response.kind,
        ...(errorCode === undefined ? {} : { errorCode }),
        startedAt,
        durationMs: clock.now() - startedAt,
      });
    };
    if (response.kind === 'json') {
      // Serialising the line is the recorder's work; keep it after the answer has gone out.
      setImmediate(() => write(response.meta, response.status));
    } else {
      response.done.then(
        (meta) => write(meta, response.status),
        () => write(response.meta, response.status),
      );
    }
  };

  return {
    get policy() {
      return current.policy;
    },

    decide(input, opts) {
      const prepared = prepare(current.policy, input, opts?.explain === true);
      return prepared.rejection ?? prepared.decision;
    },

    async handle(input) {
      if (recorder === undefined) return (await run(input)).response;
      const startedAt = clock.now();
      const outcome = await run(input);
      if (outcome.context !== null) record(input, outcome, startedAt);
      return outcome.response;
    },

    swap(next) {
      if (next.identity.hash === current.policy.identity.hash) return { changed: false };
      current = { policy: next, providers: buildProviders(next), traffic: traffic.prepare(next) };
      executor.retain(
        next.models.keys(),
        next.routes.map((r) => r.name),
      );
      return { changed: true };
    },

    spend() {
      return traffic.spend(current.traffic);
    },

    storesReady() {
      return stores.redisReady();
    },

    breakers() {
      const out: { target: string; state: BreakerState; recentFailures: number }[] = [];
      for (const [key, snap] of executor.breakers.snapshot()) {
        out.push({ target: targetOfBreakerKey(key), state: snap.state, recentFailures: snap.recentFailures });
      }
      return out;
    },

    async close() {
      await stores.close();
      if (ownsTransport) await transport.close();
    },
  };
}
