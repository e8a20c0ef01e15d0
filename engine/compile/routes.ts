import type { CompiledGuardrail } from '../guardrails/index.js';
import { compileWhen, indexGetter } from '../match/match.js';
import type { GroupTarget, Policy, Route, Target } from '../policy/types.generated.js';
import type { Decision, PolicyIdentity, PromptCacheMarks, ResolvedTarget } from '../types.js';
import type { CompiledRoute } from './compile.js';
import { routeGuardrails } from './guardrails.js';
import { type CompiledModel, servesResponses } from './models.js';
import { buildPlan, type CompiledGroup, type CompiledNode, flattenPlan, isDynamic } from './plan.js';
import {
  BUILTIN_MAX_ATTEMPTS,
  BUILTIN_STREAM,
  deepFreeze,
  resolveBreaker,
  resolveRetry,
  resolveTimeout,
} from './settings.js';
import { compileRouteTraffic, type TrafficRules } from './traffic.js';

// ---------------------------------------------------------------------------------------------
// Routes

/** The schema's default `batch.minRequests`. */
export const DEFAULT_NATIVE_MIN_REQUESTS = 100;

export interface RouteScope {
  readonly policy: Policy;
  readonly route: Route;
  readonly models: ReadonlyMap<string, CompiledModel>;
  /** Per model name, the target resolved for this route (shared by repeated mentions). */
  readonly resolved: Map<string, ResolvedTarget>;
  position: number;
}

export function resolveTarget(scope: RouteScope, modelName: string): ResolvedTarget {
  const cached = scope.resolved.get(modelName);
  if (cached !== undefined) return cached;
  const model = scope.models.get(modelName);
  if (model === undefined)
    throw new Error(`internal: route "${scope.route.name}" names unknown model "${modelName}"`);
  const d = scope.policy.defaults;
  const r = scope.route;
  const m = model.definition;
  const timeout = resolveTimeout([d?.timeout, r.timeout, m.timeout], [d?.timeout, r.timeout]);
  const target: { -readonly [K in keyof ResolvedTarget]: ResolvedTarget[K] } = {
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
  const promptCache = resolvePromptCache(r.promptCache);
  if (promptCache !== null) target.promptCache = promptCache;
  deepFreeze(target);
  scope.resolved.set(modelName, target);
  return target;
}

/** A route's `promptCache` → the prefixes it marks; null when none (`false`, absent, all false). */
export function resolvePromptCache(declared: Route['promptCache']): PromptCacheMarks | null {
  if (declared === undefined || declared === false) return null;
  if (declared === true) return { system: true, tools: true };
  const marks = { system: declared.system ?? false, tools: declared.tools ?? false };
  return marks.system || marks.tools ? marks : null;
}

export function isGroup(t: Target): t is GroupTarget {
  return typeof t === 'object' && 'targets' in t;
}

export function compileNode(scope: RouteScope, t: Target, inheritedSticky: string | null): CompiledNode {
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
    responses: servesResponses(scope.policy.providers?.[model.provider]),
    template,
    node: model.wildcard ? null : Object.freeze({ kind: 'target' as const, target: template }),
  };
}

export function compileGroup(
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

export function someTarget(
  node: CompiledNode,
  test: (t: CompiledNode & { kind: 'target' }) => boolean,
): boolean {
  return node.kind === 'target' ? test(node) : node.children.some((c) => someTarget(c, test));
}

export function compileRoute(
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
  const checksResponses = someTarget(root, (t) => !t.responses);
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
    checksResponses,
    decisions: null,
    timeout,
    maxAttempts: route.maxAttempts ?? d?.maxAttempts ?? BUILTIN_MAX_ATTEMPTS,
    stream: { midStream: route.stream?.midStream ?? d?.stream?.midStream ?? BUILTIN_STREAM.midStream },
    onExhausted: route.onExhausted
      ? { status: route.onExhausted.status, message: route.onExhausted.message }
      : null,
    limits: [...(route.limits ?? [])],
    budgets: [...(route.budgets ?? [])],
    cache:
      typeof route.cache === 'string' ? route.cache : route.cache === undefined ? null : [...route.cache],
    guardrails: guards.names,
    guards,
    traffic,
    nativeBatch:
      route.batch?.native === true
        ? { minRequests: route.batch.minRequests ?? DEFAULT_NATIVE_MIN_REQUESTS }
        : null,
    definition: route,
  };
  if (!dynamic) {
    const decisions: Decision[] = [];
    for (let shape = 0; shape < (checksResponses ? 8 : 4); shape++) {
      const plan = buildPlan(root, {
        ctx: null,
        tools: (shape & 1) !== 0,
        images: (shape & 2) !== 0,
        responses: (shape & 4) !== 0,
      });
      decisions.push(routeDecision(identity, compiled, plan));
    }
    compiled.decisions = decisions;
  }
  return compiled;
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
