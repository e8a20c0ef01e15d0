/**
 * Strict parsing of a model classifier's answer: the answer is a label when, after trimming
 * whitespace, surrounding quotes or backticks and one trailing period, it equals a declared label
 * ignoring case. Anything else — a sentence, two labels, an empty answer — is no label (the
 * caller then uses the classifier's `default`). Strict on purpose: a lenient "contains" match
 * would route `not code` to `code`.
 */

export function parseLabel(answer: string, labels: readonly string[]): string | null {
  let text = answer.trim();
  if (text.endsWith('.')) text = text.slice(0, -1).trimEnd();
  const quoted = /^(["'`])(.*)\1$/s.exec(text);
  if (quoted !== null) text = quoted[2].trim();
  const folded = text.toLowerCase();
  for (const label of labels) if (label.toLowerCase() === folded) return label;
  return null;
}
