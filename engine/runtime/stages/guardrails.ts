/**
 * Stage `input guardrails`: the route's input guardrails, in order, on the messages each one's
 * scope names, before any limit, cache or upstream call. `block` answers 400
 * `guardrail_blocked` naming the guardrail (never the matched text); `redact` rewrites the
 * request the later stages and the upstream see (so the cache keys the redacted request);
 * `flag` lets it through with a verdict. A shadow guardrail's verdict is recorded and counted,
 * and nothing else changes (P12). Verdicts that did something are in `x-switchyard-guardrails`.
 */
import {
  checkSegments,
  type GuardrailVerdict,
  replaceSegments,
  requestSegments,
  verdictOf,
} from '../../guardrails/index.js';
import type { Clock } from '../../shared/clock.js';
import type { NamedStage } from '../pipeline.js';
import { errorAnswer } from './answer.js';

export const GUARDRAILS_HEADER = 'x-switchyard-guardrails';

export function inputGuardrailsStage(
  clock: Clock,
  onVerdict?: (verdict: GuardrailVerdict) => void,
): NamedStage {
  return {
    name: 'input-guardrails',
    run: (scope, next) => {
      const guards = scope.route?.guards.input;
      const context = scope.context;
      if (guards === undefined || guards.length === 0 || context === null) return next(scope);
      let body = context.body;
      let header = '';
      for (const guardrail of guards) {
        const started = performance.now();
        const result = checkSegments(guardrail, requestSegments(body, guardrail.scope));
        const verdict = verdictOf(guardrail, result, performance.now() - started);
        scope.addVerdict(verdict);
        if (onVerdict !== undefined) {
          try {
            onVerdict(verdict);
          } catch {
            // Observers never change the outcome.
          }
        }
        if (result.outcome === 'pass' || guardrail.shadow) continue;
        if (result.outcome === 'block') {
          scope.setHeader(GUARDRAILS_HEADER, `${header}${header === '' ? '' : ','}${guardrail.name}=block`);
          return Promise.resolve(
            errorAnswer(scope, 'guardrail_blocked', clock.now(), { params: { guardrail: guardrail.name } }),
          );
        }
        header += `${header === '' ? '' : ','}${guardrail.name}=${result.outcome === 'redact' ? 'redacted' : 'flagged'}`;
        if (result.redactions !== null) body = replaceSegments(body, result.redactions);
      }
      if (header !== '') scope.setHeader(GUARDRAILS_HEADER, header);
      if (body !== context.body) scope.context = { ...context, body };
      return next(scope);
    },
  };
}
