/**
 * Stage `trace`: the request's OpenTelemetry span (tracing.ts), outermost so that it covers every
 * other stage, refusals included. Its context is what the attempt spans hang from. When no tracer
 * provider is registered the stage only calls `next`.
 */
import type { EngineResponse } from '../../types.js';
import type { NamedStage, Next } from '../pipeline.js';
import type { RequestScope } from '../scope.js';
import { endRequestSpan, startRequestSpan } from '../tracing.js';

export const traceStage: NamedStage = {
  name: 'trace',
  // Untraced (the usual case), the stage is `next` itself: no async frame of its own. `handle`
  // still never throws: a throw becomes the rejection an async function would return.
  run: (scope, next) => {
    try {
      const started = startRequestSpan(scope.input);
      if (started === null) return next(scope);
      return traced(scope, next, started);
    } catch (error) {
      return Promise.reject(error);
    }
  },
};

async function traced(
  scope: RequestScope,
  next: Next,
  started: NonNullable<ReturnType<typeof startRequestSpan>>,
): Promise<EngineResponse> {
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
}
