/**
 * The one line of a classification prompt that names its labels: `Labels: a, b, c`. The model
 * classifier's default prompt has it (engine/classify/prompt.ts), and the mock provider answers a
 * classification when a system message has it (engine/providers/mock-answer.ts); both read the
 * line through here so the two never disagree.
 */

export const LABELS_LINE_PREFIX = 'Labels: ';

/** The labels of the first line starting with `Labels: `, or null when there is none. */
export function labelsLine(text: string): string[] | null {
  for (const line of text.split('\n')) {
    if (!line.startsWith(LABELS_LINE_PREFIX)) continue;
    const labels = line
      .slice(LABELS_LINE_PREFIX.length)
      .split(',')
      .map((l) => l.trim())
      .filter((l) => l !== '');
    return labels.length > 0 ? labels : null;
  }
  return null;
}
