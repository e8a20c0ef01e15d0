/**
 * decide: `(CompiledPolicy, RequestContext) -> Decision`, pure and synchronous. The first route
 * whose `when` holds wins, in file order, found through the route index (which equals the linear
 * scan: property P3). Static routes return their precomputed decision; weighted, sticky and
 * wildcard routes build their plan from the context's seed, sticky key and model.
 */
import { type CompiledPolicy, type CompiledRoute, NO_SKIPPED, routeDecision } from './compile/compile.js';
import { findFirstMatch, findFirstMatchLinear } from './compile/graph.js';
import { buildPlan } from './compile/plan.js';
import { hasImageContent } from './context.js';
import { describeMismatch } from './match/match.js';
import { needsResponsesApi } from './shared/responses-only.js';
import type { Decision, RequestContext, SkippedRoute } from './types.js';

export interface DecideOptions {
  /** Compute `skipped`: why each earlier route did not match (a linear scan; for explain). */
  readonly explain?: boolean;
}

type NoRoute = Extract<Decision, { kind: 'no_route' }>;

/** The request is not routed: an answer with `status`, `code` and `message` instead. */
function notRouted(policy: CompiledPolicy, status: number, code: NoRoute['code'], message: string): NoRoute {
  return { kind: 'no_route', policy: policy.identity, status, code, message, skipped: NO_SKIPPED };
}

function noRoute(policy: CompiledPolicy, ctx: RequestContext): Decision {
  const message =
    ctx.model === ''
      ? 'No route matches this request (it names no model)'
      : `No route matches model "${ctx.model}"`;
  return notRouted(policy, 404, 'no_route', message);
}

function routeFor(policy: CompiledPolicy, route: CompiledRoute, ctx: RequestContext): Decision {
  const images = route.checksImages && hasImageContent(ctx.body);
  const responses = route.checksResponses && needsResponsesApi(ctx.body);
  if (route.decisions !== null) {
    return route.decisions[(ctx.tools ? 1 : 0) | (images ? 2 : 0) | (responses ? 4 : 0)];
  }
  return routeDecision(
    policy.identity,
    route,
    buildPlan(route.root, { ctx, tools: ctx.tools, images, responses }),
  );
}

function skippedBefore(policy: CompiledPolicy, position: number, ctx: RequestContext): SkippedRoute[] {
  const out: SkippedRoute[] = [];
  const end = position < 0 ? policy.routes.length : position;
  for (let i = 0; i < end; i++) {
    const route = policy.routes[i];
    out.push({ route: route.name, reason: describeMismatch(route.when, ctx) || 'did not match' });
  }
  return out;
}

function finish(
  policy: CompiledPolicy,
  position: number,
  ctx: RequestContext,
  options: DecideOptions | undefined,
): Decision {
  const decision = position < 0 ? noRoute(policy, ctx) : routeFor(policy, policy.routes[position], ctx);
  if (options?.explain !== true) return decision;
  return { ...decision, skipped: skippedBefore(policy, position, ctx) };
}

function internalError(policy: CompiledPolicy, _err: unknown): Decision {
  // 5xx details never reach callers: the message stays generic (the fault is a bug to fix, and
  // P5's property test is what finds it).
  return notRouted(policy, 500, 'internal_error', 'Internal error while routing the request.');
}

/**
 * Chooses the route and attempt plan for a request. Never throws (P5): an internal fault becomes a
 * `no_route` decision with status 500 and code `internal_error`.
 *
 * @example
 * const d = decide(compiled, ctx);
 * if (d.kind === 'route') console.log(d.route, d.targets.map((t) => t.name));
 */
export function decide(policy: CompiledPolicy, ctx: RequestContext, options?: DecideOptions): Decision {
  try {
    return finish(policy, findFirstMatch(policy.index, policy.routes, ctx), ctx, options);
  } catch (err) {
    return internalError(policy, err);
  }
}

/** {@link decide} without the index: a plain scan in file order. For tests and the benchmark. */
export function decideLinear(policy: CompiledPolicy, ctx: RequestContext, options?: DecideOptions): Decision {
  try {
    return finish(policy, findFirstMatchLinear(policy.routes, ctx), ctx, options);
  } catch (err) {
    return internalError(policy, err);
  }
}
