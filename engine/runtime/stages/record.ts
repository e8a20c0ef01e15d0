/**
 * Stage `record`: hands every finished request to the recorder (what `serve --record` writes and
 * `replay` reads), refusals included, off the response path: a JSON answer after it has gone
 * out, a stream once it has ended.
 */
import { randomUUID } from 'node:crypto';
import { rejectedContext } from '../../context.js';
import type { RecordInput } from '../../replay/record.js';
import type { Clock } from '../../shared/clock.js';
import type { EngineResponse, ResponseMeta } from '../../types.js';
import type { NamedStage } from '../pipeline.js';
import type { RequestScope } from '../scope.js';

export interface RecorderPort {
  record(entry: RecordInput): void;
}

export function recordStage(recorder: RecorderPort, clock: Clock): NamedStage {
  const write = (scope: RequestScope, response: EngineResponse, meta: ResponseMeta): void => {
    const context = scope.context ?? rejectedContext(scope.input);
    const body = response.kind === 'json' ? (response.body as { error?: { code?: unknown } } | null) : null;
    const errorCode = typeof body?.error?.code === 'string' ? body.error.code : undefined;
    recorder.record({
      requestId: scope.input.requestId ?? context.headers['x-request-id'] ?? randomUUID(),
      context,
      decision: scope.decision,
      meta,
      status: response.status,
      kind: response.kind,
      ...(errorCode === undefined ? {} : { errorCode }),
      ...(scope.verdicts === null ? {} : { guardrails: scope.verdicts }),
      startedAt: scope.startedAt,
      durationMs: clock.now() - scope.startedAt,
    });
  };
  return {
    name: 'record',
    run: async (scope, next) => {
      const response = await next(scope);
      if (response.kind === 'json') {
        // Serialising the line is the recorder's work; keep it after the answer has gone out.
        setImmediate(() => write(scope, response, response.meta));
      } else {
        response.done.then(
          (meta) => write(scope, response, meta),
          () => write(scope, response, response.meta),
        );
      }
      return response;
    },
  };
}
