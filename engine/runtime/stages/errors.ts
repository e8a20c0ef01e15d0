/**
 * Stage `errors`: the boundary below which nothing reaches the caller as an exception. A caller's
 * abort becomes `request_aborted` (499, for logs and recordings; nobody is left to read it) and
 * anything else `internal_error` (500, the cause never in the body).
 */
import { EngineError } from '../../errors.js';
import type { Clock } from '../../shared/clock.js';
import type { NamedStage } from '../pipeline.js';
import { errorAnswer } from './answer.js';

export function errorsStage(clock: Clock): NamedStage {
  return {
    name: 'errors',
    run: async (scope, next) => {
      try {
        return await next(scope);
      } catch (error) {
        const aborted =
          (error instanceof EngineError && error.code === 'request_aborted') ||
          scope.signal?.aborted === true;
        return errorAnswer(scope, aborted ? 'request_aborted' : 'internal_error', clock.now(), {
          routeless: true,
        });
      }
    },
  };
}
