/** The classifiers' pure parts: the complexity heuristic, answer parsing, prompts, similarity. */
export {
  bandOf,
  COMPLEXITY_WEIGHTS,
  complexityScore,
  complexitySignals,
  type ScoreBand,
} from './complexity.js';
export { parseLabel } from './parse.js';
export { DEFAULT_CLASSIFIER_PROMPT, renderPrompt } from './prompt.js';
export { cosine, type LabelledVector, nearest, norm } from './similarity.js';

import { type GuardrailScope, requestSegments } from '../guardrails/text.js';

/** The text a classifier reads: the segments of `scope`, joined with blank lines. */
export function classifiedText(body: Readonly<Record<string, unknown>>, scope: GuardrailScope): string {
  return requestSegments(body, scope)
    .map((s) => s.text)
    .join('\n\n');
}
