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

import { createHash } from 'node:crypto';
import { type CompiledCache, compileCache } from '../cache/compile.js';
import type { CompiledGuardrail } from '../guardrails/index.js';
import type { BudgetSpec } from '../limits/budgets.js';
import { budgetFingerprint } from '../limits/budgets.js';
import { compileKey, type KeyFunction } from '../limits/keys.js';
import { type CompiledLimit, compileLimit, type LimitSpec } from '../limits/limiter.js';
import {
  compileWhen,
  indexGetter,
  markInterpolated,
  normalizeField,
  type Predicate,
} from '../match/match.js';
import type { Attachments } from '../policy/attachments.js';
import { splitPointer } from '../policy/source-map.js';
import type {
  Breaker,
  Budget,
  GroupTarget,
  Model,
  Policy,
  Provider,
  Retry,
  Route,
  Target,
  Timeout,
  When,
} from '../policy/types.generated.js';
import type { ProviderSpec } from '../providers/types.js';
import { canonicalJson } from '../shared/canonical-json.js';
import { DEFAULT_CONNECTIONS, DEFAULT_KEEP_ALIVE_MS, type PoolSettings } from '../shared/pool-settings.js';
import { parseDuration, parseMoney, parseSize } from '../shared/units.js';
import {
  type BreakerSettings,
  type Capabilities,
  type Decision,
  ERROR_CLASSES,
  type ErrorClass,
  type ExhaustedResponse,
  type PolicyIdentity,
  type Price,
  type ResolvedTarget,
  type RetrySettings,
  type StreamSettings,
  type TimeoutSettings,
} from '../types.js';
import { createRouteIndex, type RouteIndex } from './graph.js';
import { compileGuardrails, type RouteGuardrails, routeGuardrails } from './guardrails.js';
import { buildPlan, type CompiledGroup, type CompiledNode, flattenPlan, isDynamic } from './plan.js';

export type { CompiledGroup, CompiledNode, CompiledTarget } from './plan.js';

// ---------------------------------------------------------------------------------------------
// Built-in defaults (the schema's `default` keywords)

export const BUILTIN_TIMEOUT: TimeoutSettings = Object.freeze({
  connectMs: 5_000,
  firstTokenMs: 60_000,
  idleMs: 30_000,
  totalMs: 300_000,
});

export const DEFAULT_RETRY_ON: readonly ErrorClass[] = Object.freeze([
  'connect',
  'rate_limited',
  'overloaded',
  'server_error',
] as const);

/** Every class except the caller's own faults (`bad_request`, `content_policy`) falls over. */
export const DEFAULT_FALLBACK_ON: readonly ErrorClass[] = Object.freeze(
  ERROR_CLASSES.filter((c) => c !== 'bad_request' && c !== 'content_policy'),
);

export const BUILTIN_RETRY: RetrySettings = Object.freeze({
  attempts: 2,
  backoff: Object.freeze({ initialMs: 250, maxMs: 8_000, multiplier: 2, jitter: 'full' as const }),
  respectRetryAfterMs: 30_000,
  retryOn: DEFAULT_RETRY_ON,
  fallbackOn: DEFAULT_FALLBACK_ON,
});

export const BUILTIN_BREAKER: BreakerSettings = Object.freeze({
  failures: 5,
  windowMs: 30_000,
  cooldownMs: 30_000,
});

export const BUILTIN_STREAM: StreamSettings = Object.freeze({ midStream: 'error' as const });

export const BUILTIN_MAX_ATTEMPTS = 6;

const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
const DEFAULT_ANTHROPIC_BASE_URL = 'https://api.anthropic.com';
const DEFAULT_ANTHROPIC_VERSION = '2023-06-01';

// ---------------------------------------------------------------------------------------------
// The compiled shapes

export interface CompiledModel {
  readonly name: string;
  readonly provider: string;
  /** The upstream model name, or '*' for a wildcard. */
  readonly upstreamModel: string;
  readonly wildcard: boolean;
  readonly price: Price | null;
  readonly context: number | null;
  readonly capabilities: Capabilities;
  readonly definition: Model;
}

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
  /**
   * Static routes: the finished decision per request shape, at `(tools ? 1 : 0) | (images ? 2 : 0)`.
   * Dynamic routes: null.
   */
  readonly decisions: readonly Decision[] | null;
  readonly timeout: TimeoutSettings;
  readonly maxAttempts: number;
  readonly stream: StreamSettings;
  readonly onExhausted: ExhaustedResponse | null;
  readonly limits: readonly string[];
  readonly budgets: readonly string[];
  readonly cache: string | null;
  /** The names of the guardrails the route applies, in order (defaults first). */
  readonly guardrails: readonly string[];
  /** The same, compiled and split by stage. */
  readonly guards: RouteGuardrails;
  /** The traffic rules of the route, compiled (null when it has no limits, budgets or cache). */
  readonly traffic: RouteTraffic | null;
  readonly definition: Route;
}

/**
 * What the execute stage enforces around the attempt loop, resolved once per route: the route's
 * limits split by when they are acquired, its budgets and its cache.
 */
export interface RouteTraffic {
  /** Limits acquired once per request, at admission (their key does not name `target`). */
  readonly limits: readonly CompiledLimit[];
  /** Limits whose key names `target`: acquired per attempt; a refused target is skipped. */
  readonly targetLimits: readonly CompiledLimit[];
  /** Budgets checked at admission (key without `target`), with their downgrade plans. */
  readonly budgets: readonly RouteBudget[];
  /** Budgets whose key names `target`: checked per attempt like `targetLimits`. */
  readonly targetBudgets: readonly CompiledBudget[];
  readonly cache: CompiledCache | null;
}

export interface RouteBudget {
  readonly budget: CompiledBudget;
  /** `onExceeded.downgradeTo` as a fallback group resolved with this route's settings. */
  readonly downgrade: CompiledGroup | null;
}

export interface CompiledBudget {
  readonly name: string;
  readonly keyFields: readonly string[];
  readonly key: KeyFunction;
  /** The key names `target`: spend is counted and checked per target. */
  readonly perTarget: boolean;
  readonly spec: BudgetSpec;
  readonly onExceeded: 'block' | 'downgrade';
  readonly downgradeTo: readonly string[];
  readonly store: 'memory' | 'redis';
  /** Counter namespace: the same name, key fields and period keep the spend across reloads. */
  readonly prefix: string;
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
}

// ---------------------------------------------------------------------------------------------
// Canonical JSON and hash

/** Moved to engine/shared/canonical-json.ts (validate uses it too); re-exported for existing importers. */
export { canonicalJson };

/**
 * sha256 (hex) of the policy's canonical JSON: stable under key order and whitespace. Files the
 * policy names (a keyword list, a schema) count too: changing one is a new version.
 */
export function policyHash(policy: Policy, attachments: Attachments = new Map()): string {
  const hash = createHash('sha256').update(canonicalJson(policy));
  for (const pointer of [...attachments.keys()].sort())
    hash.update(`\n${pointer}\n${attachments.get(pointer)?.text ?? ''}`);
  return hash.digest('hex');
}

// ---------------------------------------------------------------------------------------------
// Freezing

function freezeMap<K, V>(map: Map<K, V>): ReadonlyMap<K, V> {
  const refuse = (): never => {
    throw new TypeError('compiled policy maps are read-only');
  };
  Object.defineProperty(map, 'set', { value: refuse });
  Object.defineProperty(map, 'delete', { value: refuse });
  Object.defineProperty(map, 'clear', { value: refuse });
  for (const [k, v] of map) {
    deepFreeze(k);
    deepFreeze(v);
  }
  return Object.freeze(map);
}

/** Freezes plain objects, arrays and Maps reachable from `value` (functions and RegExps stay as they are). */
export function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return value;
  if (value instanceof Map) {
    freezeMap(value);
    return value;
  }
  Object.freeze(value);
  for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  return value;
}

// ---------------------------------------------------------------------------------------------
// Settings resolution

function ms(duration: string): number {
  const r = parseDuration(duration);
  if (!r.ok) throw new Error(`internal: invalid duration reached compile: ${r.error}`);
  return r.value;
}

/** The last defined value among layers (lowest precedence first). */
function pick<L, V>(layers: readonly (L | undefined)[], get: (layer: L) => V | undefined): V | undefined {
  let out: V | undefined;
  for (const layer of layers) {
    if (layer === undefined) continue;
    const v = get(layer);
    if (v !== undefined) out = v;
  }
  return out;
}

function resolveTimeout(
  layers: readonly (Timeout | undefined)[],
  totalLayers: readonly (Timeout | undefined)[],
) {
  const connect = pick(layers, (t) => t.connect);
  const firstToken = pick(layers, (t) => t.firstToken);
  const idle = pick(layers, (t) => t.idle);
  const total = pick(totalLayers, (t) => t.total);
  return {
    connectMs: connect === undefined ? BUILTIN_TIMEOUT.connectMs : ms(connect),
    firstTokenMs: firstToken === undefined ? BUILTIN_TIMEOUT.firstTokenMs : ms(firstToken),
    idleMs: idle === undefined ? BUILTIN_TIMEOUT.idleMs : ms(idle),
    totalMs: total === undefined ? BUILTIN_TIMEOUT.totalMs : ms(total),
  } satisfies TimeoutSettings;
}

function resolveRetry(layers: readonly (Retry | undefined)[]): RetrySettings {
  const initial = pick(layers, (r) => r.backoff?.initial);
  const max = pick(layers, (r) => r.backoff?.max);
  const respect = pick(layers, (r) => r.respectRetryAfter);
  return {
    attempts: pick(layers, (r) => r.attempts) ?? BUILTIN_RETRY.attempts,
    backoff: {
      initialMs: initial === undefined ? BUILTIN_RETRY.backoff.initialMs : ms(initial),
      maxMs: max === undefined ? BUILTIN_RETRY.backoff.maxMs : ms(max),
      multiplier: pick(layers, (r) => r.backoff?.multiplier) ?? BUILTIN_RETRY.backoff.multiplier,
      jitter: pick(layers, (r) => r.backoff?.jitter) ?? BUILTIN_RETRY.backoff.jitter,
    },
    respectRetryAfterMs: respect === undefined ? BUILTIN_RETRY.respectRetryAfterMs : ms(respect),
    retryOn: pick(layers, (r) => r.retryOn) ?? BUILTIN_RETRY.retryOn,
    fallbackOn: pick(layers, (r) => r.fallbackOn) ?? BUILTIN_RETRY.fallbackOn,
  };
}

function resolveBreaker(layers: readonly (Breaker | undefined)[]): BreakerSettings {
  const enabled = pick(layers, (b) => b.enabled) ?? true;
  const window = pick(layers, (b) => b.window);
  const cooldown = pick(layers, (b) => b.cooldown);
  return {
    failures: enabled ? (pick(layers, (b) => b.failures) ?? BUILTIN_BREAKER.failures) : 0,
    windowMs: window === undefined ? BUILTIN_BREAKER.windowMs : ms(window),
    cooldownMs: cooldown === undefined ? BUILTIN_BREAKER.cooldownMs : ms(cooldown),
  };
}

// ---------------------------------------------------------------------------------------------
// Providers, models, tenants

/**
 * A network provider's connection pool: `connections` as given, `keepAlive` as milliseconds of
 * idle time, `false` and a zero duration both meaning 0 (close after every response).
 */
function compilePool(connections: number | undefined, keepAlive: string | false | undefined): PoolSettings {
  return {
    connections: connections ?? DEFAULT_CONNECTIONS,
    keepAliveMs: keepAlive === undefined ? DEFAULT_KEEP_ALIVE_MS : keepAlive === false ? 0 : ms(keepAlive),
  };
}

function compileProvider(name: string, p: NonNullable<Provider>): ProviderSpec {
  const maxBytes = (size: string | undefined): number => {
    if (size === undefined) return DEFAULT_MAX_RESPONSE_BYTES;
    const r = parseSize(size);
    if (!r.ok) throw new Error(`internal: invalid size reached compile: ${r.error}`);
    return r.value;
  };
  switch (p.kind) {
    case 'openai':
      return {
        name,
        kind: 'openai',
        baseUrl: p.baseUrl,
        apiKey: p.apiKey ?? null,
        headers: Object.fromEntries(definedEntries(p.headers)),
        azure: p.azure ? { apiVersion: p.azure.apiVersion, deployment: p.azure.deployment ?? null } : null,
        anthropicVersion: DEFAULT_ANTHROPIC_VERSION,
        mock: null,
        maxResponseBytes: maxBytes(p.maxResponseSize),
        pool: compilePool(p.connections, p.keepAlive),
      };
    case 'anthropic':
      return {
        name,
        kind: 'anthropic',
        baseUrl: p.baseUrl ?? DEFAULT_ANTHROPIC_BASE_URL,
        apiKey: p.apiKey ?? null,
        headers: Object.fromEntries(definedEntries(p.headers)),
        azure: null,
        anthropicVersion: p.version ?? DEFAULT_ANTHROPIC_VERSION,
        mock: null,
        maxResponseBytes: maxBytes(p.maxResponseSize),
        pool: compilePool(p.connections, p.keepAlive),
      };
    case 'mock':
      return {
        name,
        kind: 'mock',
        baseUrl: null,
        apiKey: null,
        headers: {},
        azure: null,
        anthropicVersion: DEFAULT_ANTHROPIC_VERSION,
        mock: {
          reply: p.reply ?? null,
          latencyMs: p.latency === undefined ? 0 : ms(p.latency),
          chunkDelayMs: p.chunkDelay === undefined ? 0 : ms(p.chunkDelay),
          sequence: [...(p.sequence ?? [])],
        },
        maxResponseBytes: DEFAULT_MAX_RESPONSE_BYTES,
      };
  }
}

function compileModel(name: string, m: Model): CompiledModel {
  return {
    name,
    provider: m.provider,
    upstreamModel: m.model,
    wildcard: m.model === '*',
    price: m.price ? { input: m.price.input, output: m.price.output } : null,
    context: m.context ?? null,
    capabilities: {
      prefill: m.capabilities?.prefill ?? false,
      tools: m.capabilities?.tools ?? true,
      vision: m.capabilities?.vision ?? true,
    },
    definition: m,
  };
}

function definedEntries<V>(record: { [k: string]: V | undefined } | undefined): [string, V][] {
  const out: [string, V][] = [];
  if (record === undefined) return out;
  for (const key of Object.keys(record)) {
    const v = record[key];
    if (v !== undefined) out.push([key, v]);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Routes

interface RouteScope {
  readonly policy: Policy;
  readonly route: Route;
  readonly models: ReadonlyMap<string, CompiledModel>;
  /** Per model name, the target resolved for this route (shared by repeated mentions). */
  readonly resolved: Map<string, ResolvedTarget>;
  position: number;
}

function resolveTarget(scope: RouteScope, modelName: string): ResolvedTarget {
  const cached = scope.resolved.get(modelName);
  if (cached !== undefined) return cached;
  const model = scope.models.get(modelName);
  if (model === undefined)
    throw new Error(`internal: route "${scope.route.name}" names unknown model "${modelName}"`);
  const d = scope.policy.defaults;
  const r = scope.route;
  const m = model.definition;
  const timeout = resolveTimeout([d?.timeout, r.timeout, m.timeout], [d?.timeout, r.timeout]);
  const target: ResolvedTarget = {
    name: model.name,
    provider: model.provider,
    upstreamModel: model.upstreamModel,
    price: model.price,
    context: model.context,
    capabilities: model.capabilities,
    retry: resolveRetry([d?.retry, r.retry, m.retry]),
    timeout,
    breaker: resolveBreaker([d?.breaker, r.breaker, m.breaker]),
  };
  deepFreeze(target);
  scope.resolved.set(modelName, target);
  return target;
}

function isGroup(t: Target): t is GroupTarget {
  return typeof t === 'object' && 'targets' in t;
}

function compileNode(scope: RouteScope, t: Target, inheritedSticky: string | null): CompiledNode {
  if (isGroup(t)) return compileGroup(scope, t, t.weight ?? 1, inheritedSticky);
  const name = typeof t === 'string' ? t : t.model;
  const weight = typeof t === 'string' ? 1 : (t.weight ?? 1);
  const template = resolveTarget(scope, name);
  const model = scope.models.get(name)!;
  return {
    kind: 'target',
    model: name,
    weight,
    wildcard: model.wildcard,
    capabilities: model.capabilities,
    template,
    node: model.wildcard ? null : Object.freeze({ kind: 'target' as const, target: template }),
  };
}

function compileGroup(
  scope: RouteScope,
  g: { strategy?: Route['strategy']; stickyKey?: string; targets: readonly Target[] },
  weight: number,
  inheritedSticky: string | null,
): CompiledGroup {
  const position = scope.position++;
  const stickyKey = g.stickyKey ?? inheritedSticky;
  const children = g.targets.map((t) => compileNode(scope, t, stickyKey));
  return {
    kind: 'group',
    strategy: g.strategy ?? 'fallback',
    stickyKey,
    stickyGet: stickyKey === null ? null : indexGetter(stickyKey),
    position,
    weight,
    children,
  };
}

function someTarget(node: CompiledNode, test: (t: CompiledNode & { kind: 'target' }) => boolean): boolean {
  return node.kind === 'target' ? test(node) : node.children.some((c) => someTarget(c, test));
}

function compileRoute(
  policy: Policy,
  identity: PolicyIdentity,
  models: ReadonlyMap<string, CompiledModel>,
  rules: TrafficRules,
  guardrails: ReadonlyMap<string, CompiledGuardrail>,
  route: Route,
  index: number,
): CompiledRoute {
  const d = policy.defaults;
  const timeout = resolveTimeout([d?.timeout, route.timeout], [d?.timeout, route.timeout]);
  const scope: RouteScope = { policy, route, models, resolved: new Map(), position: 0 };
  const root = compileGroup(scope, route, 1, null);
  const traffic = compileRouteTraffic(scope, rules);
  const guards = routeGuardrails(policy, route, guardrails);
  const dynamic = isDynamic(root);
  const checksImages = someTarget(root, (t) => !t.capabilities.vision);
  // One literal with every field (no spread, no later additions), so all routes share one
  // hidden class and the hot path's property loads stay monomorphic.
  const compiled: { -readonly [K in keyof CompiledRoute]: CompiledRoute[K] } = {
    index,
    name: route.name,
    when: route.when,
    match: compileWhen(route.when),
    root,
    dynamic,
    checksImages,
    decisions: null,
    timeout,
    maxAttempts: route.maxAttempts ?? d?.maxAttempts ?? BUILTIN_MAX_ATTEMPTS,
    stream: { midStream: route.stream?.midStream ?? d?.stream?.midStream ?? BUILTIN_STREAM.midStream },
    onExhausted: route.onExhausted
      ? { status: route.onExhausted.status, message: route.onExhausted.message }
      : null,
    limits: [...(route.limits ?? [])],
    budgets: [...(route.budgets ?? [])],
    cache: route.cache ?? null,
    guardrails: guards.names,
    guards,
    traffic,
    definition: route,
  };
  if (!dynamic) {
    const decisions: Decision[] = [];
    for (let shape = 0; shape < 4; shape++) {
      const plan = buildPlan(root, { ctx: null, tools: (shape & 1) !== 0, images: (shape & 2) !== 0 });
      decisions.push(routeDecision(identity, compiled, plan));
    }
    compiled.decisions = decisions;
  }
  return compiled;
}

// ---------------------------------------------------------------------------------------------
// Limits, budgets, caches

interface TrafficRules {
  readonly limits: ReadonlyMap<string, CompiledLimit>;
  readonly budgets: ReadonlyMap<string, CompiledBudget>;
  readonly caches: ReadonlyMap<string, CompiledCache>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The schema's `Limit` (generated loosely because of its `anyOf`), read field by field. */
function limitSpec(raw: Record<string, unknown>): LimitSpec {
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const burst = raw.burst;
  return {
    key: Array.isArray(raw.key) ? raw.key.filter((k): k is string => typeof k === 'string') : [],
    requests: str(raw.requests),
    tokens: str(raw.tokens),
    burst:
      typeof burst === 'number'
        ? burst
        : isObject(burst)
          ? {
              requests: typeof burst.requests === 'number' ? burst.requests : undefined,
              tokens: typeof burst.tokens === 'number' ? burst.tokens : undefined,
            }
          : undefined,
    when: isObject(raw.when) ? (raw.when as When) : undefined,
    store: raw.store === 'redis' ? 'redis' : 'memory',
    onStoreError: raw.onStoreError === 'closed' ? 'closed' : 'open',
  };
}

function compileBudget(name: string, b: Budget): CompiledBudget {
  const money = parseMoney(b.usd);
  if (!money.ok) throw new Error(`internal: invalid budget reached compile: ${money.error}`);
  const keyFields = b.key.map(normalizeField);
  const downgradeTo = typeof b.onExceeded === 'object' ? [...b.onExceeded.downgradeTo] : [];
  return {
    name,
    keyFields,
    key: compileKey(keyFields),
    perTarget: keyFields.includes('target'),
    spec: { money: money.value, alertAt: b.alertAt === undefined ? [] : [...b.alertAt] },
    onExceeded: downgradeTo.length > 0 ? 'downgrade' : 'block',
    downgradeTo,
    store: b.store ?? 'memory',
    prefix: `budget:${budgetFingerprint(name, keyFields, money.value.period)}:`,
  };
}

function compileTrafficRules(document: Policy): TrafficRules {
  const limits = new Map<string, CompiledLimit>();
  for (const [name, raw] of definedEntries(document.limits)) {
    const r = compileLimit(name, limitSpec(raw));
    if (!r.ok) throw new Error(`internal: invalid limit reached compile: ${r.error}`);
    limits.set(name, r.value);
  }
  const budgets = new Map<string, CompiledBudget>();
  for (const [name, b] of definedEntries(document.budgets)) budgets.set(name, compileBudget(name, b));
  const caches = new Map<string, CompiledCache>();
  for (const [name, c] of definedEntries(document.caches)) {
    const r = compileCache(name, c);
    if (!r.ok) throw new Error(`internal: invalid cache reached compile: ${r.field}: ${r.error}`);
    caches.set(name, r.cache);
  }
  return { limits, budgets, caches };
}

function compileRouteTraffic(scope: RouteScope, rules: TrafficRules): RouteTraffic | null {
  const { route } = scope;
  const named = <T>(names: readonly string[] | undefined, from: ReadonlyMap<string, T>, what: string): T[] =>
    (names ?? []).map((n) => {
      const v = from.get(n);
      if (v === undefined) throw new Error(`internal: route "${route.name}" names unknown ${what} "${n}"`);
      return v;
    });
  const limits = named(route.limits, rules.limits, 'limit');
  const budgets = named(route.budgets, rules.budgets, 'budget');
  const cache = route.cache === undefined ? null : (named([route.cache], rules.caches, 'cache')[0] ?? null);
  if (limits.length === 0 && budgets.length === 0 && cache === null) return null;
  const perTarget = (fields: readonly string[]): boolean => fields.includes('target');
  return {
    limits: limits.filter((l) => !perTarget(limitKeyFields(scope.policy, l.name))),
    targetLimits: limits.filter((l) => perTarget(limitKeyFields(scope.policy, l.name))),
    budgets: budgets
      .filter((b) => !b.perTarget)
      .map((budget) => ({
        budget,
        downgrade:
          budget.downgradeTo.length === 0
            ? null
            : compileGroup(scope, { strategy: 'fallback', targets: budget.downgradeTo }, 1, null),
      })),
    targetBudgets: budgets.filter((b) => b.perTarget),
    cache,
  };
}

function limitKeyFields(policy: Policy, name: string): string[] {
  const raw = policy.limits?.[name];
  return isObject(raw) && Array.isArray(raw.key) ? raw.key.map((k) => normalizeField(String(k))) : [];
}

/** The empty explain trace, shared. */
export const NO_SKIPPED: readonly never[] = Object.freeze([]);

/**
 * The decision for `route` with `plan` (null: no eligible target). Shared by compile (static
 * routes, precomputed) and decide (dynamic routes).
 */
export function routeDecision(
  identity: PolicyIdentity,
  route: CompiledRoute,
  plan: ReturnType<typeof buildPlan>,
): Decision {
  if (plan === null) {
    return {
      kind: 'no_route',
      policy: identity,
      status: 400,
      code: 'no_eligible_target',
      message: `Route "${route.name}" matched, but none of its targets can serve this request (tools, images or a wildcard model without a requested model)`,
      skipped: NO_SKIPPED,
    };
  }
  return {
    kind: 'route',
    policy: identity,
    route: route.name,
    routeIndex: route.index,
    plan,
    targets: flattenPlan(plan),
    timeout: route.timeout,
    maxAttempts: route.maxAttempts,
    stream: route.stream,
    onExhausted: route.onExhausted,
    limits: route.limits,
    budgets: route.budgets,
    cache: route.cache,
    guardrails: route.guardrails,
    skipped: NO_SKIPPED,
  };
}

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
  const document = structuredClone(input);
  if (options.interpolated !== undefined) markInterpolatedValues(document, options.interpolated);
  deepFreeze(document);
  const attachments: Attachments = options.attachments ?? new Map();
  const identity: PolicyIdentity = Object.freeze({
    name: document.policy.name,
    version: document.policy.version,
    hash: policyHash(document, attachments),
  });

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

  const rules = compileTrafficRules(document);
  const guardrails = compileGuardrails(document, attachments);
  const routes = document.routes.map((route, i) =>
    compileRoute(document, identity, models, rules, guardrails, route, i),
  );
  const index = createRouteIndex(routes);

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
  };
  return deepFreeze(compiled);
}
