/**
 * Stage `trace`: the request's OpenTelemetry span (tracing.ts), outermost so that it covers every
 * other stage, refusals included. Its context is what the attempt spans hang from. When no tracer
 * provider is registered the stage only calls `next`.
 */
import type { NamedStage } from '../pipeline.js';
import { endRequestSpan, startRequestSpan } from '../tracing.js';

export const traceStage: NamedStage = {
  name: 'trace',
  run: async (scope, next) => {
    const started = startRequestSpan(scope.input);
    if (started === null) return next(scope);
    scope.trace = started.trace;
    try {
      const response = await next(scope);
      endRequestSpan(started.span, response);
      return response;
    } catch (error) {
      // Nothing below `errors` throws; a bug that does still ends the span.
      started.span.end();
      throw error;
    }
  },
};
