/**
 * Stage `errors`: the boundary below which nothing reaches the caller as an exception. A caller's
 * abort becomes `request_aborted` (499, for logs and recordings; nobody is left to read it) and
 * anything else `internal_error` (500, the cause never in the body).
 */
import { EngineError } from '../../errors.js';
import type { Clock } from '../../shared/clock.js';
import type { EngineResponse } from '../../types.js';
import type { NamedStage } from '../pipeline.js';
import type { RequestScope } from '../scope.js';
import { errorAnswer } from './answer.js';

export function errorsStage(clock: Clock): NamedStage {
  const boundary = (scope: RequestScope, error: unknown): EngineResponse => {
    const aborted = (error instanceof EngineError && error.code === 'request_aborted') || scope.aborted;
    return errorAnswer(scope, aborted ? 'request_aborted' : 'internal_error', clock.now(), {
      routeless: true,
    });
  };
  return {
    name: 'errors',
    // Not an async function: `then` catches a rejection with one promise instead of an async
    // frame and an await per request; a synchronous throw is caught too.
    run: (scope, next) => {
      let answer: Promise<EngineResponse>;
      try {
        answer = next(scope);
      } catch (error) {
        return Promise.resolve(boundary(scope, error));
      }
      return answer.then(undefined, (error: unknown) => boundary(scope, error));
    },
  };
}
