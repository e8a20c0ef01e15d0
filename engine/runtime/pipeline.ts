/**
 * How a request is executed: a list of stages with one signature, composed once per engine
 * (koa-style: a stage gets the request's scope and `next`, may answer on its own, and sees the
 * answer of the stages after it). The order, outermost first:
 *
 * | # | stage        | what it does                                                              |
 * |---|--------------|---------------------------------------------------------------------------|
 * | 0 | trace        | the request's OpenTelemetry span (tracing.ts); a no-op without a provider  |
 * | 1 | record       | one recording line per request, once its answer is complete (optional)    |
 * | 2 | errors       | the boundary: an exception below becomes a catalogue answer, never a throw |
 * | 3 | check        | the body's shape and depth (the server's and the library's requests alike) |
 * | 4 | resolve      | request context, tenant key, the classifiers a candidate route needs,     |
 * |   |              | `decide` (401, 404 `no_route`)                                            |
 * | 5 | accounting   | settles every hold once when the answer is complete; adds shared headers  |
 * | 6 | guardrails   | input guardrails: block (400), redact the request, flag; shadow records   |
 * | 7 | admission    | rate limits and budgets: 429, downgrade, the per-target gate             |
 * | 8 | cache        | stored answers, single flight, and what to store                          |
 * | 9 | attempts     | the attempt loop over the plan (attempts/), with the output guardrails    |
 * |   |              | checking each answer before it counts (attempts/output.ts): the last stage |
 *
 * Why this order: recording sees every answer, refusals included; nothing after `errors` can
 * make `handle` reject; `accounting` is outside every stage that holds something, so each hold
 * is settled in one place whatever the exit; limits are taken before the cache so a hit still
 * counts as a request (its tokens are refunded); input guardrails run before admission and the
 * cache, so a blocked request consumes no limit or budget and the cache keys the redacted request;
 * output guardrails run inside the attempt loop, so `fallback` can try the next target and the
 * cache stores only an answer that passed them.
 */
import type { EngineResponse } from '../types.js';
import type { RequestScope } from './scope.js';

export type Next = (scope: RequestScope) => Promise<EngineResponse>;

/** One step of a request: answer on its own, or call `next` and possibly adapt its answer. */
export type Stage = (scope: RequestScope, next: Next) => Promise<EngineResponse>;

/** A named stage, so a trace or a test can say which stage did what. */
export interface NamedStage {
  readonly name: string;
  readonly run: Stage;
}

/**
 * Composes `stages` (outermost first) around the last one. Built once per engine: a request
 * allocates no closures here.
 */
export function composeStages(stages: readonly NamedStage[], last: Next): Next {
  let next = last;
  for (let i = stages.length - 1; i >= 0; i--) {
    const stage = stages[i].run;
    const inner = next;
    next = (scope) => stage(scope, inner);
  }
  return next;
}
