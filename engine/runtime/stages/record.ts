/**
 * Stage `record`: hands every finished request to the recorder (what `serve` writes for the
 * policy's `recording` block or `--record`, and `replay` reads), refusals included, off the
 * response path: a JSON answer after it has gone out, a stream once it has ended.
 *
 * A recorder that follows the policy learns, through `begin`, which version's `recording` block
 * each request started under, and is told when that request's line is done (`record`): that pair
 * is how a reload that changes the block switches files without losing a line (policy-recorder.ts).
 */
import { randomUUID } from 'node:crypto';
import type { CompiledRecording } from '../../compile/compile.js';
import { rejectedContext } from '../../context.js';
import type { RecordInput } from '../../replay/record.js';
import type { Clock } from '../../shared/clock.js';
import type { EngineResponse, ResponseMeta } from '../../types.js';
import type { NamedStage, Next } from '../pipeline.js';
import type { RequestScope } from '../scope.js';

export interface RecorderPort {
  /**
   * Optional: the engine serves a version with this `recording` block from now on (null: none);
   * called when the engine is created and on every swap that changed the version.
   */
  activate?(recording: CompiledRecording | null): void;
  /**
   * Optional: a request enters the pipeline under its policy version's `recording` block (null
   * when it has none). False: the request is not recorded (`record` is not called for it). When
   * absent, every request is recorded.
   */
  begin?(recording: CompiledRecording | null): boolean;
  /** The request's answer is complete: its line. Called once per request `begin` accepted. */
  record(entry: RecordInput): void;
  /**
   * Optional: `record` is cheap (it serialises nothing), so a JSON answer's line is handed over
   * as the answer is, not in a later event-loop turn. Replay's is: its driver then needs no
   * macrotask for a request to finish.
   */
  readonly inline?: boolean;
}

export function recordStage(recorder: RecorderPort, clock: Clock): NamedStage {
  const write = (scope: RequestScope, response: EngineResponse, meta: ResponseMeta): void => {
    const context = scope.context ?? rejectedContext(scope.input);
    const body = response.kind === 'json' ? (response.body as { error?: { code?: unknown } } | null) : null;
    const errorCode = typeof body?.error?.code === 'string' ? body.error.code : undefined;
    // The optional fields set only when present, by assignment: the same keys in the same order
    // as conditional spreads made, without a temporary object per field, per request.
    const entry: { -readonly [K in keyof RecordInput]?: RecordInput[K] } = {
      // The scope's id (the one a semantic cache entry names as its source) once it has a context.
      requestId:
        scope.context === null
          ? (scope.input.requestId ?? context.headers['x-request-id'] ?? randomUUID())
          : scope.requestId,
      context,
      decision: scope.decision,
      meta,
      status: response.status,
      kind: response.kind,
    };
    if (errorCode !== undefined) entry.errorCode = errorCode;
    if (scope.verdicts !== null) entry.guardrails = scope.verdicts;
    if (scope.limits !== null) entry.limits = scope.limits;
    if (scope.classes !== null) entry.classes = scope.classes;
    entry.recording = scope.policy.recording;
    entry.startedAt = scope.startedAt;
    entry.durationMs = clock.now() - scope.startedAt;
    recorder.record(entry as RecordInput);
  };
  const begin = recorder.begin?.bind(recorder);
  const inline = recorder.inline === true;
  const recorded = (scope: RequestScope, next: Next): Promise<EngineResponse> =>
    // Never rejects: the errors stage below turns every exception into an answer. A `then`, not
    // an async frame and an await, per request.
    next(scope).then((response) => {
      if (response.kind === 'json') {
        // Serialising the line is the recorder's work; keep it after the answer has gone out.
        if (inline) write(scope, response, response.meta);
        else setImmediate(() => write(scope, response, response.meta));
      } else {
        response.done.then(
          (meta) => write(scope, response, meta),
          () => write(scope, response, response.meta),
        );
      }
      return response;
    });
  return {
    name: 'record',
    // A request its version does not record costs one call, not a promise of its own.
    run: (scope, next) =>
      begin !== undefined && !begin(scope.policy.recording) ? next(scope) : recorded(scope, next),
  };
}
