/** Stage `attempts`: the attempt loop over the route's plan (attempts/), the last stage. */
import type { Executor } from '../attempts/index.js';
import type { Next } from '../pipeline.js';

export function attemptsStage(executor: Executor): Next {
  return (scope) => {
    const routed = scope.routed;
    const context = scope.context;
    if (routed === null || context === null)
      throw new Error('internal: the attempt loop needs a routed request');
    return executor.execute(routed, context, scope.signal, scope.snapshot.providers, { gate: scope.gate });
  };
}
