/** Answers a stage gives on its own (refusals, errors), with the headers and metadata every answer has. */
import { ERRORS, type ErrorCode, errorBody } from '../../errors.js';
import type { EngineResponse, ResponseMeta, Usage } from '../../types.js';
import { policyLabel } from '../attempts/index.js';
import type { RequestScope } from '../scope.js';

export interface AnswerOptions {
  readonly params?: Readonly<Record<string, string>>;
  /** OpenAI's `param`: the offending request field. */
  readonly param?: string | null;
  readonly headers?: Readonly<Record<string, string>>;
  /** Leave the route out of headers and metadata (an abort or an internal error: no route served it). */
  readonly routeless?: boolean;
}

/** The headers of an answer no upstream call made: policy, and route when one was chosen. */
export function scopeHeaders(
  scope: RequestScope,
  extra?: Readonly<Record<string, string>>,
  routeless = false,
): Record<string, string> {
  const headers: Record<string, string> = { 'x-switchyard-policy': policyLabel(scope.policy.identity) };
  const route = routeless ? undefined : scope.routed?.route;
  if (route !== undefined) {
    headers['x-switchyard-route'] = route;
    headers['x-switchyard-attempts'] = '0';
  }
  if (extra !== undefined) Object.assign(headers, extra);
  return headers;
}

export function scopeMeta(
  scope: RequestScope,
  now: number,
  served?: { readonly target: string; readonly usage: Usage | null },
  routeless = false,
): ResponseMeta {
  return {
    policy: scope.policy.identity,
    route: routeless ? null : (scope.routed?.route ?? null),
    tenant: scope.context?.tenant ?? null,
    target: served?.target ?? null,
    attempts: [],
    cache: null,
    usage: served?.usage ?? null,
    costUsd: served === undefined ? null : 0,
    overheadMs: Math.max(0, now - scope.startedAt),
  };
}

/** A catalogue error answered by a stage itself. */
export function errorAnswer(
  scope: RequestScope,
  code: ErrorCode,
  now: number,
  options: AnswerOptions = {},
): EngineResponse {
  return {
    kind: 'json',
    status: ERRORS[code].status,
    headers: scopeHeaders(scope, options.headers, options.routeless),
    body: errorBody(code, options.params, options.param),
    meta: scopeMeta(scope, now, undefined, options.routeless),
  };
}
