/**
 * What a semantic cache embeds: the conversation's text, every message in order, each as
 * `role: text`, one per line. Text is the string `content` or the `text` parts of an array
 * `content`; it is normalised (Unicode NFKC, runs of whitespace as one space, trimmed) so two
 * prompts that differ only in spacing or compatibility characters embed alike. Case is kept:
 * embedding models read it.
 *
 * Every role counts, not only the user's: the answer depends on the whole conversation, so two
 * conversations with different assistant turns or system prompts must be far apart. A request
 * this cannot represent faithfully has no text (null) and bypasses the semantic cache: a message
 * with a non-text part (an image, audio, a file) or with tool calls, a message whose content is neither a string
 * nor parts, or a conversation longer than {@link MAX_SEMANTIC_TEXT_CHARS} (cutting it would make
 * conversations that differ only at the end look identical).
 */
import { isRecord } from '../shared/guards.js';

/** The longest text embedded (about 8k tokens, the input bound of common embedding models). */
export const MAX_SEMANTIC_TEXT_CHARS = 24_000;

function normalize(text: string): string {
  return text.normalize('NFKC').replace(/\s+/gu, ' ').trim();
}

function contentText(content: unknown): string | null {
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return null;
  let out = '';
  for (const part of content) {
    if (!isRecord(part) || part.type !== 'text' || typeof part.text !== 'string') return null;
    out += (out === '' ? '' : ' ') + part.text;
  }
  return out;
}

/**
 * The text a semantic cache embeds for a chat request body, or null when it has none it can
 * embed faithfully.
 *
 * @example
 * semanticText({ messages: [{ role: 'user', content: '  What is  the capital of France? ' }] })
 * // 'user: What is the capital of France?'
 */
export function semanticText(body: Readonly<Record<string, unknown>>): string | null {
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) return null;
  const lines: string[] = [];
  let length = 0;
  for (const message of messages) {
    if (!isRecord(message) || typeof message.role !== 'string') return null;
    // A tool call's name and arguments are not text; two calls with other arguments must differ.
    if (message.tool_calls !== undefined || message.function_call !== undefined) return null;
    const text = contentText(message.content);
    if (text === null) return null;
    const line = `${message.role}: ${normalize(text)}`;
    length += line.length + 1;
    if (length > MAX_SEMANTIC_TEXT_CHARS) return null;
    lines.push(line);
  }
  return lines.join('\n');
}

/**
 * The property of a semantic cache's embedding call body naming the body of the request it
 * embeds for: a symbol, so invisible to JSON and to the upstream. Replay's simulated upstream
 * reads the replayed request from it (engine/replay/upstream.ts).
 */
export const EMBEDDING_FOR: unique symbol = Symbol('switchyard.embedding.for');
