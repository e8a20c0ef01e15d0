/**
 * Stage `check`: the body's shape and depth, for every request (the server's and an embedding
 * program's alike), before anything reads it. A body the HTTP layer could not parse arrives as
 * `input.refused` and is answered here too, so it is recorded like any other refusal.
 */

import { endpointOf, requestPath } from '../../context.js';
import { validateRequestBody } from '../../request-checks.js';
import type { Clock } from '../../shared/clock.js';
import type { NamedStage } from '../pipeline.js';
import { errorAnswer } from './answer.js';

export function checkStage(clock: Clock): NamedStage {
  return {
    name: 'check',
    run: (scope, next) => {
      const input = scope.input;
      if (input.refused !== undefined) {
        return Promise.resolve(
          errorAnswer(scope, input.refused.code, clock.now(), {
            params: { detail: input.refused.detail },
            ...(input.refused.param === undefined ? {} : { param: input.refused.param }),
          }),
        );
      }
      const problem = validateRequestBody(endpointOf(requestPath(input)), input.body);
      if (problem === null) return next(scope);
      return Promise.resolve(
        errorAnswer(scope, 'invalid_request', clock.now(), {
          params: { detail: problem.message },
          param: problem.param,
        }),
      );
    },
  };
}
