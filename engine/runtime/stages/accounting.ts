/**
 * Stage `accounting`: the one place where what the inner stages hold is settled — token
 * reservations reconciled with the usage the attempts reported, spend recorded against budgets,
 * a complete answer stored in the cache and handed to single-flight waiters — once the answer is
 * complete (JSON: at once, in the background; a stream: when it ends, before `done` resolves),
 * or released when an exception ends the request. It also puts the headers and the cache outcome
 * the inner stages set on the answer, and the request's cost attribution (`accounting.attribute`).
 */
import type { EngineResponse, ResponseMeta } from '../../types.js';
import type { Attribution } from '../attribution.js';
import type { NamedStage } from '../pipeline.js';
import type { RequestScope } from '../scope.js';

function noop(): void {}

/**
 * The answer's metadata with what the scope adds: the cache outcome and a semantic hit's
 * similarity, the cost of the gateway's own calls (classifiers, embeddings), the attribution.
 */
function withScope(
  scope: RequestScope,
  meta: ResponseMeta,
  attribution: Readonly<Record<string, string>> | null,
): ResponseMeta {
  if (scope.cache === null && scope.extraCostUsd === 0 && attribution === null) return meta;
  // Assignments to a copy, not conditional spreads (a temporary object each): every answer of a
  // route with a cache comes through here. The same keys, in the same order, with the same values.
  const out: { -readonly [K in keyof ResponseMeta]: ResponseMeta[K] } = { ...meta };
  out.cache = scope.cache ?? meta.cache;
  if (scope.cacheSimilarity !== null) out.cacheSimilarity = scope.cacheSimilarity;
  if (scope.cacheSource !== null) out.cacheSource = scope.cacheSource;
  if (scope.cacheEmbeddingTokens !== null) out.cacheEmbeddingTokens = scope.cacheEmbeddingTokens;
  // The classification and embedding calls are the request's cost, so its budgets count them.
  out.costUsd = scope.extraCostUsd > 0 ? (meta.costUsd ?? 0) + scope.extraCostUsd : meta.costUsd;
  if (attribution !== null) out.attribution = attribution;
  return out;
}

/**
 * `{ ...answer, ...scope }`, by assignment: V8 copies these header records (hyphenated keys, built
 * key by key) several times slower with a spread, and every answer of a route with limits or a
 * cache goes through here. Same keys, same order, same values.
 */
function mergeHeaders(
  answer: Readonly<Record<string, string>>,
  scope: Readonly<Record<string, string>>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in answer) if (Object.hasOwn(answer, name)) put(out, name, answer[name]);
  for (const name in scope) if (Object.hasOwn(scope, name)) put(out, name, scope[name]);
  return out;
}

function put(out: Record<string, string>, name: string, value: string): void {
  // A spread defines `__proto__` as a key; an assignment would set the prototype instead.
  if (name === '__proto__')
    Object.defineProperty(out, name, { value, writable: true, enumerable: true, configurable: true });
  else out[name] = value;
}

/**
 * `attributor` is the engine's: it keeps the values each `accounting.attribute` field has taken
 * (the cap), across reloads. A request refused before routing has no context and no attribution.
 */
export function accountingStage(attributor: Attribution): NamedStage {
  return { name: 'accounting', run: (scope, next) => account(attributor, scope, next) };
}

/** Not an async function: one `then` per request instead of an async frame and an await. */
function account(
  attributor: Attribution,
  scope: RequestScope,
  next: (scope: RequestScope) => Promise<EngineResponse>,
): Promise<EngineResponse> {
  const failed = (error: unknown): never => {
    void scope.settle(null).catch(noop);
    throw error;
  };
  let answer: Promise<EngineResponse>;
  try {
    answer = next(scope);
  } catch (error) {
    void scope.settle(null).catch(noop);
    return Promise.reject(error);
  }
  return answer.then((response) => settled(attributor, scope, response), failed);
}

/** The answer with what the scope adds, its holds settled (a stream's when it ends). */
function settled(attributor: Attribution, scope: RequestScope, response: EngineResponse): EngineResponse {
  const accounting = scope.policy.accounting;
  const attribution =
    accounting === null || scope.context === null ? null : attributor.attribute(accounting, scope.context);
  if (scope.plain && attribution === null) return response;
  const headers = scope.headers === null ? response.headers : mergeHeaders(response.headers, scope.headers);
  if (response.kind === 'json') {
    const meta = withScope(scope, response.meta, attribution);
    // In the background: cache writes, reconciles and spend may be Redis round trips the caller
    // need not wait for (single-flight waiters are handed the answer synchronously).
    void scope.settle(meta).catch(noop);
    return { ...response, headers, meta };
  }
  const done = response.done.then(
    async (final) => {
      const meta = withScope(scope, final, attribution);
      await scope.settle(meta);
      return meta;
    },
    async (error: unknown) => {
      await scope.settle(null);
      throw error;
    },
  );
  return { ...response, headers, done, meta: withScope(scope, response.meta, attribution) };
}
