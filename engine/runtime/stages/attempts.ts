/** Stage `attempts`: the attempt loop over the route's plan (attempts/), the last stage. */
import { type GuardrailVerdict, verdictHeader } from '../../guardrails/index.js';
import type { Provider, ResponseBody } from '../../providers/types.js';
import type { Decision, EngineResponse, NativeAnswer } from '../../types.js';
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

type Providers = Pick<ReadonlyMap<string, Provider>, 'get'>;
type RouteDecision = Extract<Decision, { kind: 'route' }>;

/**
 * The providers with the native batch's answer in place of the call to its target (the plan is
 * that one target: see `nativeDecision`); used once, any further call goes upstream as usual.
 */
function answeredBy(providers: Providers, routed: RouteDecision, native: NativeAnswer): Providers {
  const target = routed.targets.find((t) => t.name === native.target);
  const real = target === undefined ? undefined : providers.get(target.provider);
  if (target === undefined || real === undefined) return providers;
  let used = false;
  const answered: Provider = {
    spec: real.spec,
    call(req) {
      if (used || req.upstreamModel !== target.upstreamModel || req.stream) return real.call(req);
      used = true;
      return Promise.resolve({
        ok: true,
        kind: 'json',
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: native.body as unknown as ResponseBody,
        usage: native.usage,
      });
    },
  };
  return { get: (name) => (name === target.provider ? answered : providers.get(name)) };
}

export function attemptsStage(executor: Executor, onVerdict?: (verdict: GuardrailVerdict) => void): Next {
  return (scope) => {
    const routed = scope.routed;
    const context = scope.context;
    if (routed === null || context === null)
      throw new Error('internal: the attempt loop needs a routed request');
    const output = outputGuard(scope, onVerdict);
    const native = scope.input.nativeAnswer;
    const providers =
      native === undefined ? scope.snapshot.providers : answeredBy(scope.snapshot.providers, routed, native);
    const answer = executor.execute(routed, context, scope.input.cancel ?? scope.signal, providers, {
      gate: scope.gate,
      output,
      trace: scope.trace,
    });
    return output === undefined ? answer : withVerdictHeader(scope, answer);
  };
}
