/** Stage `attempts`: the attempt loop over the route's plan (attempts/), the last stage. */
import type { GuardrailVerdict } from '../../guardrails/index.js';
import type { Executor, OutputGuard } from '../attempts/index.js';
import type { Next } from '../pipeline.js';
import type { RequestScope } from '../scope.js';

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

export function attemptsStage(executor: Executor, onVerdict?: (verdict: GuardrailVerdict) => void): Next {
  return (scope) => {
    const routed = scope.routed;
    const context = scope.context;
    if (routed === null || context === null)
      throw new Error('internal: the attempt loop needs a routed request');
    return executor.execute(routed, context, scope.signal, scope.snapshot.providers, {
      gate: scope.gate,
      output: outputGuard(scope, onVerdict),
    });
  };
}
