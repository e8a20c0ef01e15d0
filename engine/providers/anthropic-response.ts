/**
 * Anthropic Messages answer → OpenAI chat completion, and the pieces the stream translation
 * shares with it: stop reasons and usage.
 */
import { isRecord } from '../shared/guards.js';
import { TranslationError } from './anthropic-request.js';
import type { ChatCompletion, ChatToolCall, OpenAIUsage } from './openai-types.js';

/** Anthropic `stop_reason` → OpenAI `finish_reason`. */
export const STOP_REASONS: Readonly<Record<string, string>> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  pause_turn: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};

export function num(value: unknown): number {
  return typeof value === 'number' ? value : 0;
}

/**
 * Anthropic usage → OpenAI usage; cached input counts as prompt tokens, as OpenAI counts it, and
 * the tokens read from the cache are `prompt_tokens_details.cached_tokens` when reported, those
 * written to it `prompt_tokens_details.cache_write_tokens` (priced apart: `price.cacheWrite`).
 */
export function openAIUsage(
  input: number,
  output: number,
  cached: number | null = null,
  written: number | null = null,
): OpenAIUsage {
  const usage: OpenAIUsage = {
    prompt_tokens: input,
    completion_tokens: output,
    total_tokens: input + output,
  };
  if (cached !== null || written !== null) {
    const details: Record<string, number> = {};
    if (cached !== null) details.cached_tokens = cached;
    if (written !== null) details.cache_write_tokens = written;
    usage.prompt_tokens_details = details;
  }
  return usage;
}

/** `cache_read_input_tokens` when the usage reports it. */
export function cachedTokens(usage: Record<string, unknown>): number | null {
  return typeof usage.cache_read_input_tokens === 'number' ? usage.cache_read_input_tokens : null;
}

/**
 * `cache_creation_input_tokens` when the usage reports some (tokens written to the prompt cache).
 * Zero is left out: it prices the same as absent, and answers without prompt caching keep the
 * usage shape they had.
 */
export function cacheWriteTokens(usage: Record<string, unknown>): number | null {
  const written = usage.cache_creation_input_tokens;
  return typeof written === 'number' && written > 0 ? written : null;
}

export function inputTokens(usage: Record<string, unknown>): number {
  return (
    num(usage.input_tokens) + num(usage.cache_creation_input_tokens) + num(usage.cache_read_input_tokens)
  );
}

/**
 * Anthropic message → OpenAI chat completion; `prefix` is text the request put in the answer's
 * mouth (a JSON-mode `{`), given back. Throws TranslationError when it is not a message.
 */
export function fromAnthropicMessage(
  message: unknown,
  fallbackModel: string,
  created: number,
  prefix = '',
): ChatCompletion {
  if (!isRecord(message) || !Array.isArray(message.content)) {
    throw new TranslationError('upstream answer is not an Anthropic message');
  }
  let text = prefix;
  const toolCalls: ChatToolCall[] = [];
  for (const block of message.content) {
    if (!isRecord(block)) continue;
    if (block.type === 'text' && typeof block.text === 'string') text += block.text;
    else if (block.type === 'tool_use') {
      toolCalls.push({
        id: String(block.id),
        type: 'function',
        function: { name: String(block.name), arguments: JSON.stringify(block.input ?? {}) },
      });
    }
  }
  const usage = isRecord(message.usage) ? message.usage : {};
  const stop = typeof message.stop_reason === 'string' ? message.stop_reason : null;
  return {
    id: typeof message.id === 'string' ? message.id : 'msg_unknown',
    object: 'chat.completion',
    created,
    model: typeof message.model === 'string' ? message.model : fallbackModel,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: text === '' && toolCalls.length > 0 ? null : text,
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        },
        finish_reason: stop === null ? 'stop' : (STOP_REASONS[stop] ?? 'stop'),
        logprobs: null,
      },
    ],
    usage: openAIUsage(
      inputTokens(usage),
      num(usage.output_tokens),
      cachedTokens(usage),
      cacheWriteTokens(usage),
    ),
  };
}
