/**
 * Stage `resolve`: the request context (normalised once), the tenant of the caller's key, the
 * classifiers a candidate route needs (only for a policy with class routes; classify.ts), and
 * `decide`. Refusals here: a malformed metadata header or seed (400), a missing or unknown key
 * when the policy declares tenants (401), no matching route (404 `no_route`).
 */
import type { CompiledPolicy } from '../../compile/compile.js';
import { createContext } from '../../context.js';
import { decide } from '../../decide.js';
import { type ErrorCode, isErrorCode } from '../../errors.js';
import type { Clock } from '../../shared/clock.js';
import type { ClassResult, Decision, EngineResponse, RequestContext, RequestInput } from '../../types.js';
import { type Classifiers, classifyForRoutes, decideClasses } from '../classify.js';
import type { NamedStage, Next } from '../pipeline.js';
import type { RequestScope } from '../scope.js';
import { errorAnswer } from './answer.js';

export type Resolved =
  | {
      readonly kind: 'refused';
      readonly code: ErrorCode;
      readonly detail: string;
      readonly context: RequestContext | null;
    }
  | { readonly kind: 'resolved'; readonly context: RequestContext; readonly decision: Decision };

/** Context, tenant and decision of a request under `policy` (also what `engine.decide` answers). */
export function resolveRequest(
  policy: CompiledPolicy,
  input: RequestInput,
  random: () => number,
  explain: boolean,
): Resolved {
  const created = requestContext(policy, input, random, true);
  if (created.kind === 'refused') return created;
  const context = created.context;
  return { kind: 'resolved', context, decision: decide(policy, context, { explain }) };
}

type Contextual =
  | Exclude<Resolved, { kind: 'resolved' }>
  | { readonly kind: 'context'; readonly context: RequestContext };

/**
 * The request's context and tenant. With `withGiven`, the caller's given class labels
 * (`input.classes`) and the labels of the call-free `complexity` classifiers are put in it: what
 * the synchronous `engine.decide` sees.
 */
function requestContext(
  policy: CompiledPolicy,
  input: RequestInput,
  random: () => number,
  withGiven: boolean,
): Contextual {
  const created = createContext(policy, input, random);
  if (!created.ok) return { kind: 'refused', code: created.code, detail: created.message, context: null };
  let context = created.context;
  if (policy.requiresAuth && context.tenant === null) {
    return { kind: 'refused', code: 'invalid_api_key', detail: '', context };
  }
  if (withGiven && policy.classification.classifiers.size > 0) {
    const classes = decideClasses(policy.classification, context.body, input.classes);
    if (classes !== undefined) context = { ...context, classes };
  }
  return { kind: 'context', context };
}

/**
 * The decision of a request under a policy whose routes read classifiers: the classifiers the
 * routes need run first (engine/runtime/classify.ts), their labels go into the context, then
 * `decide`. Their cost is the request's (the accounting stage adds it; a `no_route` answer here).
 */
async function classifyAndResolve(
  scope: RequestScope,
  next: Next,
  clock: Clock,
  random: () => number,
  classifiers: Classifiers,
  onClassify: ((result: ClassResult) => void) | undefined,
): Promise<EngineResponse> {
  const created = requestContext(scope.policy, scope.input, random, false);
  scope.context = created.context;
  if (created.kind === 'refused') {
    return errorAnswer(scope, created.code, clock.now(), { params: { detail: created.detail } });
  }
  const request = { providers: scope.snapshot.providers, signal: scope.signal };
  const classified = await classifyForRoutes(
    scope.policy,
    created.context,
    (c) => classifiers.run(c, created.context, request),
    scope.input.classes,
  );
  scope.context = classified.context;
  if (classified.results.length > 0) {
    scope.classes = classified.results;
    if (onClassify !== undefined) for (const r of classified.results) onClassify(r);
  }
  scope.extraCostUsd += classified.costUsd;
  const answer = route(scope, decide(scope.policy, classified.context), next, clock);
  if (scope.routed !== null || classified.costUsd === 0) return answer;
  const response = await answer;
  return response.kind === 'json'
    ? { ...response, meta: { ...response.meta, costUsd: (response.meta.costUsd ?? 0) + classified.costUsd } }
    : response;
}

/**
 * A request answered by a native batch already (`input.nativeAnswer`): the plan is that one
 * target, priced at its model's `batchPrice`, tried once. Unchanged when the route no longer has
 * the target (a reload since the batch was submitted): the request then runs through the plan.
 */
export function nativeDecision(policy: CompiledPolicy, decision: Decision, target: string): Decision {
  if (decision.kind !== 'route') return decision;
  const chosen = decision.targets.find((t) => t.name === target);
  if (chosen === undefined) return decision;
  const batchPrice = policy.models.get(chosen.name)?.batchPrice ?? null;
  const priced = batchPrice === null ? chosen : { ...chosen, price: batchPrice };
  return { ...decision, plan: { kind: 'target', target: priced }, targets: [priced], maxAttempts: 1 };
}

function route(scope: RequestScope, given: Decision, next: Next, clock: Clock): Promise<EngineResponse> {
  const native = scope.input.nativeAnswer;
  const decision = native === undefined ? given : nativeDecision(scope.policy, given, native.target);
  scope.decision = decision;
  if (decision.kind === 'no_route') {
    // `decide` reports its own faults as a 500 `internal_error` decision.
    const code: ErrorCode = isErrorCode(decision.code) ? decision.code : 'internal_error';
    return Promise.resolve(errorAnswer(scope, code, clock.now(), { params: { detail: decision.message } }));
  }
  scope.routed = decision;
  scope.route = scope.policy.routes[decision.routeIndex] ?? null;
  return next(scope);
}

export function resolveStage(
  clock: Clock,
  random: () => number,
  classifiers: Classifiers,
  onClassify?: (result: ClassResult) => void,
): NamedStage {
  return {
    name: 'resolve',
    run: (scope, next) => {
      // Only a policy whose routes read a classifier pays for the asynchronous path.
      if (scope.policy.classification.routes.length > 0) {
        return classifyAndResolve(scope, next, clock, random, classifiers, onClassify);
      }
      const resolved = resolveRequest(scope.policy, scope.input, random, false);
      scope.context = resolved.context;
      if (resolved.kind === 'refused') {
        return Promise.resolve(
          errorAnswer(scope, resolved.code, clock.now(), { params: { detail: resolved.detail } }),
        );
      }
      return route(scope, resolved.decision, next, clock);
    },
  };
}
