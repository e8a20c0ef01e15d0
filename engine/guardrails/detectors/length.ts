/**
 * Size of a text for length limits. Tokens use the engine's own estimate, ceil(chars / 4)
 * (engine/context.ts measures request input the same way), so a guardrail limit and the
 * admission estimate agree; it is not a tokenizer.
 */
export function measureLength(text: string): { chars: number; tokens: number } {
  return { chars: text.length, tokens: Math.ceil(text.length / 4) };
}
