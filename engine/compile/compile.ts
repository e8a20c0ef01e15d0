/**
 * compile: a validated {@link Policy} becomes an immutable {@link CompiledPolicy}: durations parsed,
 * defaults resolved per route and target, `when` clauses compiled to predicates, provider specs
 * built, the route index laid out, and every plan that does not depend on the request precomputed
 * as a ready {@link Decision}. The result is deeply frozen; `decide` only reads it.
 *
 * Settings precedence (each key on its own, so a route setting only `retry.attempts` keeps the
 * other retry fields): built-in < `defaults` < route < model for the per-attempt settings
 * (`timeout.connect/firstToken/idle`, `retry`, `breaker`); built-in < `defaults` < route for the
 * route-level ones (`timeout.total`, `maxAttempts`, `stream`). A model's `timeout.total` is
 * ignored: the total deadline bounds the whole request, not one target.
 *
 * `breaker.enabled: false` resolves to `failures: 0`, the runtime breaker's "disabled" threshold.
 */

import type { CompiledCache } from '../cache/compile.js';
import type { CompiledGuardrail } from '../guardrails/index.js';
import type { CompiledLimit } from '../limits/limiter.js';
import { markInterpolated, type Predicate } from '../match/match.js';
import type { Attachments } from '../policy/attachments.js';
import { splitPointer } from '../policy/source-map.js';
import type { Policy, Route, Target, When } from '../policy/types.generated.js';
import type { ProviderSpec } from '../providers/types.js';
import { canonicalJson } from '../shared/canonical-json.js';
import type {
  Decision,
  ExhaustedResponse,
  PolicyIdentity,
  StreamSettings,
  TimeoutSettings,
} from '../types.js';
import { type CompiledAccounting, compileAccounting } from './accounting.js';
import { type ClassificationPlan, compileClassification } from './classifiers.js';
import { createRouteIndex, type RouteIndex } from './graph.js';
import { compileGuardrails, type RouteGuardrails } from './guardrails.js';
import { policyHash } from './hash.js';
import { compileJobs, type JobSettings } from './jobs.js';
import { type CompiledModel, compileModel, compileProvider, definedEntries } from './models.js';
import type { CompiledGroup } from './plan.js';
import { type CompiledRecording, compileRecording } from './recording.js';
import { compileRoute, isGroup } from './routes.js';
import { deepFreeze, ms } from './settings.js';
import { type CompiledBudget, compileTrafficRules, type RouteTraffic } from './traffic.js';

export type {
  ClassificationPlan,
  ClassRoute,
  CompiledClassifier,
  Tri,
  TriPredicate,
} from './classifiers.js';
export type { CompiledGroup, CompiledNode, CompiledTarget } from './plan.js';
export type { CompiledRecording, RecordingContent } from './recording.js';

// ---------------------------------------------------------------------------------------------
// The compiled shapes

export interface CompiledRoute {
  /** Position in the routing table (0-based, file order). */
  readonly index: number;
  readonly name: string;
  readonly when: When | undefined;
  readonly match: Predicate;
  /** The route's target tree; the root group carries the route's strategy. */
  readonly root: CompiledGroup;
  /** The plan depends on the request's seed, sticky key or model (else it is precomputed). */
  readonly dynamic: boolean;
  /** Some target declares `capabilities.vision: false`: decide must look for images. */
  readonly checksImages: boolean;
  /** Some target's provider does not serve the Responses API: decide must look for Responses-only requests. */
  readonly checksResponses: boolean;
  /**
   * Static routes: the finished decision per request shape, at
   * `(tools ? 1 : 0) | (images ? 2 : 0) | (responses-only ? 4 : 0)` (4 shapes, 8 with `checksResponses`).
   * Dynamic routes: null.
   */
  readonly decisions: readonly Decision[] | null;
  readonly timeout: TimeoutSettings;
  readonly maxAttempts: number;
  readonly stream: StreamSettings;
  readonly onExhausted: ExhaustedResponse | null;
  readonly limits: readonly string[];
  readonly budgets: readonly string[];
  /** The route's `cache` as declared: one cache name, or its layers (exact, then semantic). */
  readonly cache: string | readonly string[] | null;
  /** The names of the guardrails the route applies, in order (defaults first). */
  readonly guardrails: readonly string[];
  /** The same, compiled and split by stage. */
  readonly guards: RouteGuardrails;
  /** The traffic rules of the route, compiled (null when it has no limits, budgets or cache). */
  readonly traffic: RouteTraffic | null;
  /**
   * `batch: { native: true }`: batch lines this route serves go to the provider's native batch
   * API when at least `minRequests` of one job share a target (engine/jobs/native.ts); null: never.
   */
  readonly nativeBatch: { readonly minRequests: number } | null;
  readonly definition: Route;
}

export interface TenantInfo {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface CompiledPolicy {
  readonly identity: PolicyIdentity;
  /** A frozen copy of the policy compiled. */
  readonly document: Policy;
  readonly providers: ReadonlyMap<string, ProviderSpec>;
  readonly models: ReadonlyMap<string, CompiledModel>;
  readonly routes: readonly CompiledRoute[];
  readonly index: RouteIndex;
  readonly tenantsByKey: ReadonlyMap<string, TenantInfo>;
  /** The policy declares tenants: requests without a known key are refused (401). */
  readonly requiresAuth: boolean;
  /** For `GET /v1/models`: the model names routes accept, deduplicated and sorted. */
  readonly acceptedModels: readonly string[];
  readonly limits: ReadonlyMap<string, CompiledLimit>;
  readonly budgets: ReadonlyMap<string, CompiledBudget>;
  readonly caches: ReadonlyMap<string, CompiledCache>;
  readonly guardrails: ReadonlyMap<string, CompiledGuardrail>;
  /** `stores.redis.url`; null when the policy declares no Redis. */
  readonly redisUrl: string | null;
  /** `stores.redis.commandTimeout` in ms (100 by default): each Redis command's bound. */
  readonly redisCommandTimeoutMs: number;
  /** The `recording` block (null when there is none); only a recorder that is given one acts on it. */
  readonly recording: CompiledRecording | null;
  /** The `jobs` block with its defaults (batches, deferred requests). */
  readonly jobs: JobSettings;
  /** The `accounting` block (cost attribution by request fields); null when there is none. */
  readonly accounting: CompiledAccounting | null;
  /** The classifiers and the routes that read them (`routes` empty: nothing ever classifies). */
  readonly classification: ClassificationPlan;
}

// ---------------------------------------------------------------------------------------------
// Canonical JSON and hash

/** Moved to engine/shared/canonical-json.ts (validate uses it too); re-exported for existing importers. */
/** In hash.ts, which the load worker imports without the compiler; re-exported for existing importers. */
export { canonicalJson, policyHash };

// ---------------------------------------------------------------------------------------------
// Accepted models

function collectModelValues(when: When | undefined, out: Set<string>): void {
  if (when === undefined) return;
  const m = when.model;
  if (m !== undefined) {
    if (typeof m !== 'object') out.add(String(m));
    else if (m.in !== undefined) for (const v of m.in) out.add(String(v));
  }
  for (const sub of when.all ?? []) collectModelValues(sub, out);
  for (const sub of when.any ?? []) collectModelValues(sub, out);
  // `not` lists models a route refuses: not accepted names.
}

function collectTargetModels(targets: readonly Target[], out: Set<string>): void {
  for (const t of targets) {
    if (isGroup(t)) collectTargetModels(t.targets, out);
    else out.add(typeof t === 'string' ? t : t.model);
  }
}

// ---------------------------------------------------------------------------------------------

/**
 * Compiles a validated policy. Throws only on internal bugs (a policy that passed validation
 * always compiles).
 *
 * @example
 * const compiled = compilePolicy(policy);
 * const decision = decide(compiled, context);
 */
export interface CompileOptions {
  /**
   * JSON pointers of values that came from `${ENV}` interpolation (`LoadResult.interpolated`):
   * explain never prints them (a `when` comparing a header with a secret, say).
   */
  readonly interpolated?: Iterable<string>;
  /** Files the policy names beside itself (`LoadResult.attachments`); part of the content hash. */
  readonly attachments?: Attachments;
  /**
   * Resolves a path the policy names at `pointer` (`/recording/path`) to the file to use;
   * `loadPolicy` resolves it against the fragment that declares it. Default: as written.
   */
  readonly resolvePath?: (pointer: string, path: string) => string;
}

/** Marks each interpolated value of `document` (by its pointer) for the explain trace. */
function markInterpolatedValues(document: unknown, pointers: Iterable<string>): void {
  for (const pointer of pointers) {
    const tokens = splitPointer(pointer);
    const last = tokens.pop();
    if (last === undefined) continue;
    let cur: unknown = document;
    for (const t of tokens) {
      if (typeof cur !== 'object' || cur === null) break;
      cur = (cur as Record<string, unknown>)[t];
    }
    if (typeof cur === 'object' && cur !== null) markInterpolated(cur, last);
  }
}

export function compilePolicy(input: Policy, options: CompileOptions = {}): CompiledPolicy {
  const steps = compileSteps(input, options);
  for (;;) {
    const step = steps.next();
    if (step.done === true) return step.value;
  }
}

/**
 * The same as {@link compilePolicy}, in slices: it gives the event loop a turn whenever a slice
 * has run for `sliceMs`, so a large policy compiled next to live traffic (a hot reload) never
 * holds the thread for longer than about one route's compile past that. The result is the same.
 */
export async function compilePolicyInSlices(
  input: Policy,
  options: CompileOptions = {},
  sliceMs = 2,
): Promise<CompiledPolicy> {
  const steps = compileSteps(input, options);
  let sliceStart = performance.now();
  for (;;) {
    const step = steps.next();
    if (step.done === true) return step.value;
    if (performance.now() - sliceStart >= sliceMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
  }
}

/** Internal options of the load path: what an earlier stage (the load worker) already did. */
export interface PreparedCompileOptions extends CompileOptions {
  /** `input` is a private copy nobody else holds (fresh from a worker): no defensive clone. */
  readonly owned?: boolean;
  /** `policyHash(input, attachments)`, computed where the document was validated. */
  readonly hash?: string;
}

/**
 * compilePolicy's work as a sequence of steps; it yields between steps (after each route) so a
 * caller may pause there. Every yield is at a point where nothing half-built is visible.
 */
function* compileSteps(input: Policy, options: PreparedCompileOptions): Generator<void, CompiledPolicy> {
  const document = options.owned === true ? input : structuredClone(input);
  if (options.interpolated !== undefined) markInterpolatedValues(document, options.interpolated);
  yield;
  const attachments: Attachments = options.attachments ?? new Map();
  const identity: PolicyIdentity = Object.freeze({
    name: document.policy.name,
    version: document.policy.version,
    hash: options.hash ?? policyHash(document, attachments),
  });
  yield;

  const providers = new Map<string, ProviderSpec>();
  for (const [name, p] of definedEntries(document.providers)) providers.set(name, compileProvider(name, p));

  const models = new Map<string, CompiledModel>();
  for (const [name, m] of definedEntries(document.models)) models.set(name, compileModel(name, m));

  const tenantsByKey = new Map<string, TenantInfo>();
  const tenants = definedEntries(document.tenants);
  for (const [name, t] of tenants) {
    const labels: Record<string, string> = {};
    for (const [k, v] of definedEntries(t.labels)) labels[k] = v;
    const info: TenantInfo = { name, labels };
    // Validation rejects a key shared by two tenants; should one slip through, the first wins.
    for (const key of t.keys) if (!tenantsByKey.has(key)) tenantsByKey.set(key, info);
  }
  yield;

  const rules = compileTrafficRules(document);
  yield;
  const guardrails = compileGuardrails(document, attachments);
  yield;
  const routes: CompiledRoute[] = [];
  for (let i = 0; i < document.routes.length; i++) {
    const route = document.routes[i];
    // Each route and its part of the document are frozen as they are done, so the freeze of the
    // whole at the end finds them frozen and stops there: the work is spread over the steps.
    deepFreeze(route);
    routes.push(deepFreeze(compileRoute(document, identity, models, rules, guardrails, route, i)));
    yield;
  }
  const index = createRouteIndex(routes);
  yield;

  const accepted = new Set<string>();
  const referenced = new Set<string>();
  for (const route of document.routes) {
    collectModelValues(route.when, accepted);
    collectTargetModels(route.targets, referenced);
  }
  for (const name of referenced) {
    const m = models.get(name);
    if (m !== undefined && !m.wildcard) accepted.add(m.upstreamModel);
  }
  deepFreeze(document);
  yield;

  const compiled: CompiledPolicy = {
    identity,
    document,
    providers,
    models,
    routes,
    index,
    tenantsByKey,
    requiresAuth: tenants.length > 0,
    acceptedModels: [...accepted].sort(),
    limits: rules.limits,
    budgets: rules.budgets,
    caches: rules.caches,
    guardrails,
    redisUrl: document.stores?.redis?.url ?? null,
    redisCommandTimeoutMs: ms(document.stores?.redis?.commandTimeout ?? '100ms'),
    recording: compileRecording(document, (path) => options.resolvePath?.('/recording/path', path) ?? path),
    jobs: compileJobs(document.jobs),
    accounting: compileAccounting(document.accounting),
    classification: compileClassification(document, models),
  };
  return deepFreeze(compiled);
}

export { BUILTIN_JOBS, type JobSettings } from './jobs.js';
export type { CompiledModel } from './models.js';
export { NO_SKIPPED, routeDecision } from './routes.js';
export {
  BUILTIN_BREAKER,
  BUILTIN_MAX_ATTEMPTS,
  BUILTIN_RETRY,
  BUILTIN_STREAM,
  BUILTIN_TIMEOUT,
  DEFAULT_FALLBACK_ON,
  DEFAULT_RETRY_ON,
  deepFreeze,
} from './settings.js';
export type { CompiledBudget, RouteBudget, RouteTraffic } from './traffic.js';
