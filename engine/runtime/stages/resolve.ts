/**
 * Stage `resolve`: the request context (normalised once), the tenant of the caller's key, and
 * `decide`. Refusals here: a malformed metadata header or seed (400), a missing or unknown key
 * when the policy declares tenants (401), no matching route (404 `no_route`).
 */
import type { CompiledPolicy } from '../../compile/compile.js';
import { createContext } from '../../context.js';
import { decide } from '../../decide.js';
import { type ErrorCode, isErrorCode } from '../../errors.js';
import type { Clock } from '../../shared/clock.js';
import type { Decision, RequestContext, RequestInput } from '../../types.js';
import type { NamedStage } from '../pipeline.js';
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
  const created = createContext(policy, input, random);
  if (!created.ok) return { kind: 'refused', code: created.code, detail: created.message, context: null };
  const context = created.context;
  if (policy.requiresAuth && context.tenant === null) {
    return { kind: 'refused', code: 'invalid_api_key', detail: '', context };
  }
  return { kind: 'resolved', context, decision: decide(policy, context, { explain }) };
}

export function resolveStage(clock: Clock, random: () => number): NamedStage {
  return {
    name: 'resolve',
    run: (scope, next) => {
      const resolved = resolveRequest(scope.policy, scope.input, random, false);
      scope.context = resolved.context;
      if (resolved.kind === 'refused') {
        return Promise.resolve(
          errorAnswer(scope, resolved.code, clock.now(), { params: { detail: resolved.detail } }),
        );
      }
      const decision = resolved.decision;
      scope.decision = decision;
      if (decision.kind === 'no_route') {
        // `decide` reports its own faults as a 500 `internal_error` decision.
        const code: ErrorCode = isErrorCode(decision.code) ? decision.code : 'internal_error';
        return Promise.resolve(
          errorAnswer(scope, code, clock.now(), { params: { detail: decision.message } }),
        );
      }
      scope.routed = decision;
      scope.route = scope.policy.routes[decision.routeIndex] ?? null;
      return next(scope);
    },
  };
}
