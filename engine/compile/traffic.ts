/** Limits, budgets and caches compiled once, and each route's share of them. */

import { type CompiledCache, compileCache } from '../cache/compile.js';
import type { BudgetSpec } from '../limits/budgets.js';
import { budgetFingerprint } from '../limits/budgets.js';
import { compileKey, type KeyFunction } from '../limits/keys.js';
import { type CompiledLimit, compileLimit, type LimitSpec } from '../limits/limiter.js';
import { normalizeField } from '../match/match.js';
import type { Budget, Policy, When } from '../policy/types.generated.js';
import { isRecord } from '../shared/guards.js';
import { parseMoney } from '../shared/units.js';
import { definedEntries } from './models.js';
import type { CompiledGroup } from './plan.js';
import { compileGroup, type RouteScope } from './routes.js';

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
  /** The exact cache layer (read first). */
  readonly cache: CompiledCache | null;
  /** The semantic cache layer, asked on an exact miss (or alone). */
  readonly semanticCache: CompiledCache | null;
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
  /** `alerts`: where crossings are delivered besides the log and the metric; null when not declared. */
  readonly alerts: AlertWebhook | null;
}

/**
 * A budget's `alerts.webhook`, compiled once. Its header values may be secrets: the object
 * serialises (JSON, logs) with the header values masked.
 */
export interface AlertWebhook {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  toJSON(): { url: string; headers: Record<string, string> };
}

/** The origin only: webhook paths and queries often carry a token (Slack, Teams, Discord). */
function maskedUrl(url: string): string {
  try {
    const u = new URL(url);
    return u.pathname === '/' && u.search === '' ? u.origin : `${u.origin}/***`;
  } catch {
    return '***';
  }
}

export function compileAlertWebhook(
  url: string,
  headers: Readonly<Record<string, string | undefined>> = {},
): AlertWebhook {
  const frozen: Readonly<Record<string, string>> = Object.freeze(
    Object.fromEntries(
      Object.entries(headers).filter((e): e is [string, string] => typeof e[1] === 'string'),
    ),
  );
  return Object.freeze({
    url,
    headers: frozen,
    toJSON: () => ({
      url: maskedUrl(url),
      headers: Object.fromEntries(Object.keys(frozen).map((k) => [k, '***'])),
    }),
  });
}

// ---------------------------------------------------------------------------------------------
// Limits, budgets, caches

export interface TrafficRules {
  readonly limits: ReadonlyMap<string, CompiledLimit>;
  readonly budgets: ReadonlyMap<string, CompiledBudget>;
  readonly caches: ReadonlyMap<string, CompiledCache>;
}

/** The schema's `Limit` (generated loosely because of its `anyOf`), read field by field. */
export function limitSpec(raw: Record<string, unknown>): LimitSpec {
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const burst = raw.burst;
  return {
    key: Array.isArray(raw.key) ? raw.key.filter((k): k is string => typeof k === 'string') : [],
    requests: str(raw.requests),
    tokens: str(raw.tokens),
    burst:
      typeof burst === 'number'
        ? burst
        : isRecord(burst)
          ? {
              requests: typeof burst.requests === 'number' ? burst.requests : undefined,
              tokens: typeof burst.tokens === 'number' ? burst.tokens : undefined,
            }
          : undefined,
    when: isRecord(raw.when) ? (raw.when as When) : undefined,
    store: raw.store === 'redis' ? 'redis' : 'memory',
    onStoreError: raw.onStoreError === 'closed' ? 'closed' : 'open',
  };
}

export function compileBudget(name: string, b: Budget): CompiledBudget {
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
    alerts: b.alerts === undefined ? null : compileAlertWebhook(b.alerts.webhook, b.alerts.headers),
  };
}

export function compileTrafficRules(document: Policy): TrafficRules {
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

export function compileRouteTraffic(scope: RouteScope, rules: TrafficRules): RouteTraffic | null {
  const { route } = scope;
  const named = <T>(names: readonly string[] | undefined, from: ReadonlyMap<string, T>, what: string): T[] =>
    (names ?? []).map((n) => {
      const v = from.get(n);
      if (v === undefined) throw new Error(`internal: route "${route.name}" names unknown ${what} "${n}"`);
      return v;
    });
  const limits = named(route.limits, rules.limits, 'limit');
  const budgets = named(route.budgets, rules.budgets, 'budget');
  const layers = named(
    route.cache === undefined ? [] : typeof route.cache === 'string' ? [route.cache] : route.cache,
    rules.caches,
    'cache',
  );
  // Validation allows one exact layer, then one semantic layer.
  const cache = layers.find((c) => c.mode === 'exact') ?? null;
  const semanticCache = layers.find((c) => c.mode === 'semantic') ?? null;
  if (limits.length === 0 && budgets.length === 0 && cache === null && semanticCache === null) return null;
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
    semanticCache,
  };
}

export function limitKeyFields(policy: Policy, name: string): string[] {
  const raw = policy.limits?.[name];
  return isRecord(raw) && Array.isArray(raw.key) ? raw.key.map((k) => normalizeField(String(k))) : [];
}
