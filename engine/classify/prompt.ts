/**
 * The model classifier's prompt: a system message with the labels, the classified text as the
 * user message. `{{labels}}` is replaced by the labels joined with `, `, `{{descriptions}}` by one
 * `- label: description` line per described label. Rendered once, at compile time.
 */
import { LABELS_LINE_PREFIX } from '../shared/classify-prompt.js';

export const DEFAULT_CLASSIFIER_PROMPT = [
  'You are a request classifier. Read the user message and decide which one label fits it best.',
  'Answer with exactly one label from the list below, written as it is listed, and nothing else.',
  `${LABELS_LINE_PREFIX}{{labels}}`,
  '{{descriptions}}',
].join('\n');

export function renderPrompt(
  template: string,
  labels: readonly (readonly [label: string, description: string])[],
): string {
  const names = labels.map(([label]) => label).join(', ');
  const descriptions = labels
    .filter(([, d]) => d.trim() !== '')
    .map(([label, d]) => `- ${label}: ${d.trim()}`)
    .join('\n');
  return template.replaceAll('{{labels}}', names).replaceAll('{{descriptions}}', descriptions).trimEnd();
}
