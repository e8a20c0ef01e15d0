/**
 * The engine facade: holds the current compiled policy (an immutable snapshot), swaps it in one
 * assignment on reload, and runs each request through the composed stages (pipeline.ts). A
 * request keeps the snapshot it started with, so a reload never mixes two versions inside one
 * request (P13).
 */
import type { CompiledPolicy } from '../compile/compile.js';
import { ERRORS, formatErrorMessage } from '../errors.js';
import type { GuardrailVerdict } from '../guardrails/index.js';
import { handleIngress, ingressApiOf, internalInput } from '../ingress/index.js';
import type { NativeBatchApi } from '../providers/batch.js';
import { createProvider } from '../providers/index.js';
import { createUndiciTransport, preloadUndici, type Transport } from '../providers/transport.js';
import type { Provider, ProviderDeps, ProviderSpec } from '../providers/types.js';
import { type Clock, systemClock } from '../shared/clock.js';
import type { AttemptRecord, ClassResult, Decision, EngineResponse, RequestInput } from '../types.js';
import { createExecutor } from './attempts/index.js';
import { Attribution } from './attribution.js';
import { type BreakerState, targetOfBreakerKey } from './breaker.js';
import { Classifiers } from './classify.js';
import { composeStages, type NamedStage } from './pipeline.js';
import { RequestScope, type Snapshot } from './scope.js';
import { accountingStage } from './stages/accounting.js';
import { admissionStage } from './stages/admission.js';
import { attemptsStage } from './stages/attempts.js';
import { cacheStage } from './stages/cache.js';
import { checkStage } from './stages/check.js';
import { errorsStage } from './stages/errors.js';
import { inputGuardrailsStage } from './stages/guardrails.js';
import { type RecorderPort, recordStage } from './stages/record.js';
import { resolveRequest, resolveStage } from './stages/resolve.js';
import { traceStage } from './stages/trace.js';
import { type StoreEvent, TrafficStores } from './stores.js';
import {
  type BudgetAlertEvent,
  type CacheEvent,
  type LimitEvent,
  type SpendReport,
  Traffic,
} from './traffic-state.js';

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
  /** Every guardrail verdict, input and output, shadow ones included (metrics, logs). */
  readonly onGuardrail?: (verdict: GuardrailVerdict) => void;
  /** The cache outcome of a request of a route with a cache (`hit`, `miss`, `bypass`), and writes. */
  readonly onCache?: (event: CacheEvent) => void;
  /** What a classifier said about a request, once per classifier that ran (metrics, logs). */
  readonly onClassify?: (result: ClassResult) => void;
  /**
   * Receives every completed request (JSON answers once produced, streams once ended), off the
   * response path: what `serve` records and `replay` reads. `createRecorder` writes every request
   * to one file; `createPolicyRecorder` follows each policy version's `recording` block (its
   * `begin` tells it which version a request started under). Without a recorder nothing is
   * recorded, whatever the policy's `recording` block says.
   */
  readonly recorder?: RecorderPort;
  /**
   * Builds the provider of each of the policy's provider specs instead of the built-in adapters
   * (`replay` answers every upstream call from a recording or a simulation this way).
   */
  readonly createProvider?: (spec: ProviderSpec, deps: ProviderDeps) => Provider;
  /**
   * The caller only reads what `handle` answers, and never changes it (`replay`: it reads the
   * status and metadata and drains streams). A cache hit then hands out the stored entry's own
   * deep-frozen body and usage rather than copies made for the caller to own. Default false.
   */
  readonly readOnlyAnswers?: boolean;
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
  /**
   * The native batch API of a provider of the serving snapshot (engine/providers/batch.ts), on
   * the engine's transport; null when the provider is unknown or has none.
   */
  nativeBatch(provider: string): NativeBatchApi | null;
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
  const makeProvider = options.createProvider ?? createProvider;

  // Provider instances are reused across reloads while their spec is unchanged, so pooled
  // connections and mock sequences carry over. The map is replaced, never mutated in place.
  const providerCache = new Map<string, { key: string; provider: Provider }>();
  const buildProviders = (p: CompiledPolicy): ReadonlyMap<string, Provider> => {
    const out = new Map<string, Provider>();
    for (const [name, spec] of p.providers) {
      const key = specKey(spec);
      const cached = providerCache.get(name);
      // undici loads with the first network provider on the engine's own transport (start or
      // reload), never per request; a policy of mocks never loads it.
      if (ownsTransport && spec.kind !== 'mock') preloadUndici();
      const provider =
        cached !== undefined && cached.key === key
          ? cached.provider
          : makeProvider(spec, { transport, clock });
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
  let current: Snapshot = { policy, providers: buildProviders(policy), traffic: traffic.prepare(policy) };
  options.recorder?.activate?.(policy.recording ?? null);
  // Classifiers' cached results and embedded examples, kept across reloads per definition.
  const classifiers = new Classifiers(clock);
  const executor = createExecutor({
    providers: new Map<string, Provider>(),
    clock,
    random,
    onAttempt: options.onAttempt,
  });

  // The stages, in the order pipeline.ts documents; composed once.
  const stages: NamedStage[] = [traceStage];
  if (options.recorder !== undefined) stages.push(recordStage(options.recorder, clock));
  stages.push(
    errorsStage(clock),
    checkStage(clock),
    resolveStage(clock, random, classifiers, options.onClassify),
    accountingStage(new Attribution()),
    inputGuardrailsStage(clock, options.onGuardrail),
    admissionStage(traffic),
    cacheStage(traffic, options.readOnlyAnswers === true),
  );
  const run = composeStages(stages, attemptsStage(executor, options.onGuardrail));

  return {
    get policy() {
      return current.policy;
    },

    decide(input, opts) {
      const api = ingressApiOf(input);
      if (api !== null) {
        // A Responses or Messages request is decided as the chat request it translates to.
        const { input: internal, translation } = internalInput(api, input);
        if (!translation.ok) {
          return {
            kind: 'rejected',
            status: ERRORS[translation.code].status,
            code: translation.code,
            message: translation.message,
          };
        }
        input = internal;
      }
      const resolved = resolveRequest(current.policy, input, random, opts?.explain === true);
      if (resolved.kind === 'resolved') return resolved.decision;
      const { status } = ERRORS[resolved.code];
      return {
        kind: 'rejected',
        status,
        code: resolved.code,
        message: resolved.detail === '' ? formatErrorMessage(resolved.code) : resolved.detail,
      };
    },

    handle(input) {
      const api = ingressApiOf(input);
      if (api === null) return run(new RequestScope(input, current, clock.now()));
      // Translation counts as the request's own time (overhead), on the snapshot it started with.
      const snapshot = current;
      const startedAt = clock.now();
      return handleIngress(api, input, (internal) => run(new RequestScope(internal, snapshot, startedAt)));
    },

    nativeBatch(provider) {
      return current.providers.get(provider)?.batch ?? null;
    },

    swap(next) {
      if (next.identity.hash === current.policy.identity.hash) return { changed: false };
      current = { policy: next, providers: buildProviders(next), traffic: traffic.prepare(next) };
      options.recorder?.activate?.(next.recording ?? null);
      classifiers.retain(next);
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
