/** Stage `attempts`: the attempt loop over the route's plan (attempts/), the last stage. */
import { type GuardrailVerdict, verdictHeader } from '../../guardrails/index.js';
import type { EngineResponse } from '../../types.js';
import type { Executor, OutputGuard } from '../attempts/index.js';
import type { Next } from '../pipeline.js';
import type { RequestScope } from '../scope.js';
import { GUARDRAILS_HEADER } from './guardrails.js';

/** The route's output guardrails, reporting their verdicts to the request and the observer. */
function outputGuard(
  scope: RequestScope,
  onVerdict?: (verdict: GuardrailVerdict) => void,
): OutputGuard | undefined {
  const guards = scope.route?.guards;
  if (guards === undefined || guards.output.length === 0) return undefined;
  return {
    guardrails: guards.output,
    buffer: guards.bufferOutput,
    onVerdict(verdict) {
      scope.addVerdict(verdict);
      if (onVerdict === undefined) return;
      try {
        onVerdict(verdict);
      } catch {
        // Observers never change the outcome.
      }
    },
  };
}

/**
 * The verdicts known when the answer is handed over (input ones, and output ones of a JSON answer
 * or of a stream held whole) go into `x-switchyard-guardrails`; a scanned stream's come later and
 * reach the recording, the log and the metrics only.
 */
async function withVerdictHeader(
  scope: RequestScope,
  answer: Promise<EngineResponse>,
): Promise<EngineResponse> {
  const response = await answer;
  const header = verdictHeader(scope.verdicts ?? []);
  if (header !== null) scope.setHeader(GUARDRAILS_HEADER, header);
  return response;
}

export function attemptsStage(executor: Executor, onVerdict?: (verdict: GuardrailVerdict) => void): Next {
  return (scope) => {
    const routed = scope.routed;
    const context = scope.context;
    if (routed === null || context === null)
      throw new Error('internal: the attempt loop needs a routed request');
    const output = outputGuard(scope, onVerdict);
    const answer = executor.execute(routed, context, scope.signal, scope.snapshot.providers, {
      gate: scope.gate,
      output,
      trace: scope.trace,
    });
    return output === undefined ? answer : withVerdictHeader(scope, answer);
  };
}
