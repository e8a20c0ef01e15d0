/**
 * Stage `accounting`: the one place where what the inner stages hold is settled — token
 * reservations reconciled with the usage the attempts reported, spend recorded against budgets,
 * a complete answer stored in the cache and handed to single-flight waiters — once the answer is
 * complete (JSON: at once, in the background; a stream: when it ends, before `done` resolves),
 * or released when an exception ends the request. It also puts the headers and the cache outcome
 * the inner stages set on the answer.
 */
import type { EngineResponse, ResponseMeta } from '../../types.js';
import type { NamedStage } from '../pipeline.js';
import type { RequestScope } from '../scope.js';

function noop(): void {}

function withScope(scope: RequestScope, meta: ResponseMeta): ResponseMeta {
  if (scope.cache === null && scope.extraCostUsd === 0) return meta;
  const out: { -readonly [K in keyof ResponseMeta]: ResponseMeta[K] } = { ...meta };
  if (scope.cache !== null) out.cache = scope.cache;
  if (scope.cacheSimilarity !== null) out.cacheSimilarity = scope.cacheSimilarity;
  if (scope.extraCostUsd > 0) out.costUsd = (meta.costUsd ?? 0) + scope.extraCostUsd;
  return out;
}

export const accountingStage: NamedStage = {
  name: 'accounting',
  run: async (scope, next) => {
    let response: EngineResponse;
    try {
      response = await next(scope);
    } catch (error) {
      void scope.settle(null).catch(noop);
      throw error;
    }
    if (scope.plain) return response;
    const headers = scope.headers === null ? response.headers : { ...response.headers, ...scope.headers };
    if (response.kind === 'json') {
      const meta = withScope(scope, response.meta);
      // In the background: cache writes, reconciles and spend may be Redis round trips the caller
      // need not wait for (single-flight waiters are handed the answer synchronously).
      void scope.settle(meta).catch(noop);
      return { ...response, headers, meta };
    }
    const done = response.done.then(
      async (final) => {
        const meta = withScope(scope, final);
        await scope.settle(meta);
        return meta;
      },
      async (error: unknown) => {
        await scope.settle(null);
        throw error;
      },
    );
    return { ...response, headers, done, meta: withScope(scope, response.meta) };
  },
};
