/**
 * A chat answer → the Messages API's shapes: the Message of a JSON answer, Anthropic's error
 * body, and the pieces the stream writer (stream.ts) builds its events from (stop reasons, ids,
 * usage, content blocks). Pure.
 */
import { anthropicErrorType } from '../../errors.js';
import type { ChatCompletion } from '../../providers/openai-types.js';
import { isRecord } from '../../shared/guards.js';

type Obj = Record<string, unknown>;

/** Chat `finish_reason` → Anthropic `stop_reason`. */
export const STOP_REASONS: Readonly<Record<string, string>> = {
  stop: 'end_turn',
  length: 'max_tokens',
  tool_calls: 'tool_use',
  function_call: 'tool_use',
  content_filter: 'refusal',
};

export function stopReason(finishReason: unknown): string {
  return typeof finishReason === 'string' ? (STOP_REASONS[finishReason] ?? 'end_turn') : 'end_turn';
}

/** The Message id for a chat answer's id: an Anthropic upstream's own id is kept. */
export function messageId(chatId: string): string {
  return chatId.startsWith('msg_') ? chatId : `msg_${chatId.replace(/^chatcmpl-/, '')}`;
}

/**
 * Chat usage → Anthropic usage: cached prompt tokens are `cache_read_input_tokens` (and cache
 * writes `cache_creation_input_tokens`), the rest `input_tokens`, so the three add up to the
 * prompt tokens, as Anthropic counts them.
 */
export function anthropicUsage(usage: unknown): Obj {
  const u = isRecord(usage) ? usage : {};
  const prompt = typeof u.prompt_tokens === 'number' ? u.prompt_tokens : 0;
  const output = typeof u.completion_tokens === 'number' ? u.completion_tokens : 0;
  const pd = isRecord(u.prompt_tokens_details) ? u.prompt_tokens_details : {};
  const cd = isRecord(u.completion_tokens_details) ? u.completion_tokens_details : {};
  const read = typeof pd.cached_tokens === 'number' ? pd.cached_tokens : 0;
  const written = typeof pd.cache_write_tokens === 'number' ? pd.cache_write_tokens : 0;
  return {
    input_tokens: Math.max(0, prompt - read - written),
    cache_creation_input_tokens: written,
    cache_read_input_tokens: read,
    cache_creation: null,
    inference_geo: null,
    output_tokens: output,
    output_tokens_details:
      typeof cd.reasoning_tokens === 'number' ? { thinking_tokens: cd.reasoning_tokens } : null,
    server_tool_use: null,
    service_tier: null,
    speed: null,
  };
}

/** A tool call's arguments as Anthropic's `input`: the parsed JSON, or the text when it is not JSON. */
function toolInput(args: string): unknown {
  if (args.trim() === '') return {};
  try {
    return JSON.parse(args);
  } catch {
    return args;
  }
}

export function toolUseBlock(id: string, name: string, input: unknown): Obj {
  return { type: 'tool_use', id, caller: { type: 'direct' }, input, name };
}

export function textBlock(text: string): Obj {
  return { type: 'text', citations: null, text };
}

/** A chat completion → an Anthropic Message: its text (and refusal) as one text block, each tool call as `tool_use`. */
export function chatToMessage(completion: Readonly<ChatCompletion>): Obj {
  const choice = completion.choices[0];
  const message: Obj = isRecord(choice?.message) ? choice.message : {};
  const content: Obj[] = [];
  const text =
    (typeof message.content === 'string' ? message.content : '') +
    (typeof message.refusal === 'string' ? message.refusal : '');
  if (text !== '') content.push(textBlock(text));
  for (const call of Array.isArray(message.tool_calls) ? message.tool_calls : []) {
    if (!isRecord(call) || !isRecord(call.function)) continue;
    const args = typeof call.function.arguments === 'string' ? call.function.arguments : '';
    content.push(toolUseBlock(String(call.id), String(call.function.name), toolInput(args)));
  }
  return {
    id: messageId(String(completion.id)),
    type: 'message',
    role: 'assistant',
    model: String(completion.model),
    content,
    stop_reason: stopReason(choice?.finish_reason),
    stop_sequence: null,
    stop_details: null,
    container: null,
    diagnostics: null,
    usage: anthropicUsage(completion.usage),
  };
}

/**
 * An OpenAI-shaped error body (the engine's answers, a provider's passed-through error) →
 * Anthropic's error shape `{ type: 'error', error: { type, message }, request_id }`.
 */
export function anthropicError(status: number, body: unknown, requestId: string | null): Obj {
  const error = isRecord(body) && isRecord(body.error) ? body.error : {};
  const message = typeof error.message === 'string' ? error.message : 'The request failed.';
  return {
    type: 'error',
    error: { type: anthropicErrorType(status, typeof error.type === 'string' ? error.type : null), message },
    request_id: requestId,
  };
}
