/**
 * A Response object (the upstream's JSON answer) → the chat completion the rest of the engine
 * works on, its usage included; the Response itself kept beside its translation for the ingress
 * to return whole when nothing changed the answer.
 */
import { isRecord } from '../shared/guards.js';
import type { ChatCompletion, ChatToolCall, OpenAIUsage } from './openai-types.js';

type Obj = Record<string, unknown>;

/** A finite number, else 0. */
export function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

/** Responses usage → OpenAI chat usage, cached and reasoning tokens kept in their details. */
export function chatUsageFromResponses(usage: unknown): OpenAIUsage | null {
  if (!isRecord(usage) || typeof usage.input_tokens !== 'number') return null;
  const input = usage.input_tokens;
  const output = num(usage.output_tokens);
  const out: OpenAIUsage = {
    prompt_tokens: input,
    completion_tokens: output,
    total_tokens: typeof usage.total_tokens === 'number' ? usage.total_tokens : input + output,
  };
  const inDetails = usage.input_tokens_details;
  if (isRecord(inDetails) && typeof inDetails.cached_tokens === 'number') {
    out.prompt_tokens_details = { cached_tokens: inDetails.cached_tokens };
  }
  const outDetails = usage.output_tokens_details;
  if (isRecord(outDetails) && typeof outDetails.reasoning_tokens === 'number') {
    out.completion_tokens_details = { reasoning_tokens: outDetails.reasoning_tokens };
  }
  return out;
}

/** The chat `finish_reason` of a Response: its status, incomplete reason and output items. */
export function finishReason(response: Obj, toolCalls: boolean): string {
  if (response.status === 'incomplete') {
    const reason = isRecord(response.incomplete_details) ? response.incomplete_details.reason : null;
    return reason === 'content_filter' ? 'content_filter' : 'length';
  }
  return toolCalls ? 'tool_calls' : 'stop';
}

/**
 * A Response object → chat completion: the text of its message items, its function calls as
 * tool calls, its usage. Output items without a chat counterpart (reasoning, hosted tools' calls)
 * stay in the Response only. Throws `Error` when the value is no Response.
 */
export function chatFromResponse(response: unknown, fallbackModel: string): ChatCompletion {
  if (!isRecord(response) || !Array.isArray(response.output)) {
    throw new Error('upstream answer is not a Response object');
  }
  let text = '';
  let refusal: string | null = null;
  const toolCalls: ChatToolCall[] = [];
  for (const item of response.output) {
    if (!isRecord(item)) continue;
    if (item.type === 'message' && Array.isArray(item.content)) {
      for (const part of item.content) {
        if (!isRecord(part)) continue;
        if (part.type === 'output_text' && typeof part.text === 'string') text += part.text;
        else if (part.type === 'refusal' && typeof part.refusal === 'string')
          refusal = (refusal ?? '') + part.refusal;
      }
    } else if (item.type === 'function_call') {
      toolCalls.push({
        id: String(item.call_id),
        type: 'function',
        function: {
          name: String(item.name),
          arguments: typeof item.arguments === 'string' ? item.arguments : '',
        },
      });
    }
  }
  const usage = chatUsageFromResponses(response.usage);
  return {
    id: typeof response.id === 'string' ? response.id : 'resp_unknown',
    object: 'chat.completion',
    created: num(response.created_at),
    model: typeof response.model === 'string' ? response.model : fallbackModel,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: text === '' && toolCalls.length > 0 ? null : text,
          refusal,
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        },
        finish_reason: finishReason(response, toolCalls.length > 0),
        logprobs: null,
      },
    ],
    ...(usage === null ? {} : { usage }),
  };
}

/** The upstream's own Response object beside its chat translation (an enumerable symbol, as the caller's request rides with its translation: openai-responses-request.ts). */
const UPSTREAM_RESPONSE = Symbol('switchyard.upstreamResponse');

/** Keeps `response` beside `chat`, its translation (for {@link upstreamResponseOf}). */
export function keepUpstreamResponse(chat: ChatCompletion, response: Obj): void {
  (chat as unknown as Record<symbol, unknown>)[UPSTREAM_RESPONSE] = response;
}

/**
 * The Response object a passed-through answer came as, for the ingress to return whole (its
 * reasoning items, hosted tools' calls and annotations included) when nothing after the
 * provider changed the answer; null when there is none.
 */
export function upstreamResponseOf(chat: Readonly<Obj>): Readonly<Obj> | null {
  const response = (chat as Record<symbol, unknown>)[UPSTREAM_RESPONSE];
  return isRecord(response) ? response : null;
}
