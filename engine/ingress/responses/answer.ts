/**
 * A chat answer → the Responses API's shapes: the Response object of a JSON answer, and the
 * pieces the stream writer (stream.ts) builds its events and its closing Response from (ids,
 * output items, usage, the envelope echoing the request's settings). Pure.
 */
import type { ChatCompletion } from '../../providers/openai-types.js';
import { isRecord } from '../../shared/guards.js';

type Obj = Record<string, unknown>;

/** The Response id for a chat answer's id: a passed-through Response keeps its own. */
export function responseId(chatId: string): string {
  if (chatId.startsWith('resp_')) return chatId;
  return `resp_${chatId.replace(/^chatcmpl-/, '')}`;
}

/** The ids of a Response's output items: its message, and each tool call by index. */
export function itemIds(id: string): { message: string; call: (i: number) => string } {
  const suffix = id.slice('resp_'.length);
  return { message: `msg_${suffix}`, call: (i) => `fc_${suffix}_${i}` };
}

export type Status = 'completed' | 'incomplete' | 'in_progress';

export function outputTextPart(text: string, annotations: readonly unknown[] = []): Obj {
  return { type: 'output_text', annotations, logprobs: [], text };
}

export function messageOutput(
  id: string,
  status: Status,
  text: string | null,
  refusal: string | null,
  annotations: unknown[],
): Obj {
  const content: Obj[] = [];
  if (text !== null) content.push(outputTextPart(text, annotations));
  if (refusal !== null) content.push({ type: 'refusal', refusal });
  return { id, type: 'message', status, content, role: 'assistant' };
}

export function callOutput(id: string, status: Status, callId: string, name: string, args: string): Obj {
  return { id, type: 'function_call', status, arguments: args, call_id: callId, name };
}

/** Chat usage → Responses usage (cached and reasoning tokens in their details). */
export function responsesUsage(usage: unknown): Obj | null {
  if (!isRecord(usage) || typeof usage.prompt_tokens !== 'number') return null;
  const prompt = usage.prompt_tokens;
  const completion = typeof usage.completion_tokens === 'number' ? usage.completion_tokens : 0;
  const pd = isRecord(usage.prompt_tokens_details) ? usage.prompt_tokens_details : {};
  const cd = isRecord(usage.completion_tokens_details) ? usage.completion_tokens_details : {};
  return {
    input_tokens: prompt,
    input_tokens_details: {
      cached_tokens: typeof pd.cached_tokens === 'number' ? pd.cached_tokens : 0,
      cache_write_tokens: typeof pd.cache_write_tokens === 'number' ? pd.cache_write_tokens : 0,
    },
    output_tokens: completion,
    output_tokens_details: {
      reasoning_tokens: typeof cd.reasoning_tokens === 'number' ? cd.reasoning_tokens : 0,
    },
    total_tokens: typeof usage.total_tokens === 'number' ? usage.total_tokens : prompt + completion,
  };
}

/** Chat url_citation annotations → Responses ones. */
function annotationsOf(message: Obj): unknown[] {
  if (!Array.isArray(message.annotations)) return [];
  return message.annotations.flatMap((a) => {
    if (!isRecord(a) || a.type !== 'url_citation' || !isRecord(a.url_citation)) return [];
    const c = a.url_citation;
    return [
      {
        type: 'url_citation',
        start_index: c.start_index,
        end_index: c.end_index,
        title: c.title,
        url: c.url,
      },
    ];
  });
}

export interface Envelope {
  readonly id: string;
  readonly createdAt: number;
  readonly model: string;
  readonly status: Status;
  readonly finishReason: string | null;
  readonly output: readonly Obj[];
  readonly usage: Obj | null;
}

function incompleteDetails(finishReason: string | null): Obj | null {
  if (finishReason === 'length') return { reason: 'max_output_tokens' };
  if (finishReason === 'content_filter') return { reason: 'content_filter' };
  return null;
}

/** The Response object around an output, echoing the request's settings as OpenAI does. */
export function envelope(request: Readonly<Obj>, e: Envelope): Obj {
  const reasoning = isRecord(request.reasoning) ? request.reasoning : {};
  const text = isRecord(request.text) ? request.text : {};
  const out: Obj = {
    id: e.id,
    object: 'response',
    created_at: e.createdAt,
    status: e.status,
    background: false,
    error: null,
    incomplete_details: e.status === 'incomplete' ? incompleteDetails(e.finishReason) : null,
    instructions: typeof request.instructions === 'string' ? request.instructions : null,
    max_output_tokens: typeof request.max_output_tokens === 'number' ? request.max_output_tokens : null,
    model: e.model,
    output: e.output,
    parallel_tool_calls: request.parallel_tool_calls !== false,
    previous_response_id: null,
    reasoning: { effort: reasoning.effort ?? null, summary: reasoning.summary ?? null },
    service_tier: typeof request.service_tier === 'string' ? request.service_tier : null,
    temperature: typeof request.temperature === 'number' ? request.temperature : null,
    text: {
      format: isRecord(text.format) ? text.format : { type: 'text' },
      ...(text.verbosity == null ? {} : { verbosity: text.verbosity }),
    },
    tool_choice: request.tool_choice ?? 'auto',
    tools: Array.isArray(request.tools) ? request.tools : [],
    top_p: typeof request.top_p === 'number' ? request.top_p : null,
    truncation: 'disabled',
    metadata: isRecord(request.metadata) ? request.metadata : {},
  };
  if (typeof request.user === 'string') out.user = request.user;
  if (e.usage !== null) out.usage = e.usage;
  return out;
}

/** A Response is `incomplete` after a length or content-filter stop. */
export function statusOf(finishReason: string | null): Status {
  return finishReason === 'length' || finishReason === 'content_filter' ? 'incomplete' : 'completed';
}

/**
 * A chat completion → the Response object for `request` (the caller's Responses request): the
 * message's text (and refusal) as one message item, each tool call as a `function_call` item.
 */
export function chatToResponse(completion: Readonly<ChatCompletion>, request: Readonly<Obj>): Obj {
  const id = responseId(String(completion.id));
  const ids = itemIds(id);
  const choice = completion.choices[0];
  const message: Obj = isRecord(choice?.message) ? choice.message : {};
  const finishReason = typeof choice?.finish_reason === 'string' ? choice.finish_reason : null;
  const output: Obj[] = [];
  const text = typeof message.content === 'string' ? message.content : null;
  const refusal = typeof message.refusal === 'string' ? message.refusal : null;
  const calls = Array.isArray(message.tool_calls) ? message.tool_calls : [];
  // As the stream gives it: a message item when there is text or a refusal, or nothing else.
  if ((text !== null && text !== '') || refusal !== null || calls.length === 0) {
    output.push(messageOutput(ids.message, 'completed', text ?? '', refusal, annotationsOf(message)));
  }
  calls.forEach((call, i) => {
    if (!isRecord(call) || !isRecord(call.function)) return;
    const fn = call.function;
    output.push(
      callOutput(
        ids.call(i),
        'completed',
        String(call.id),
        String(fn.name),
        typeof fn.arguments === 'string' ? fn.arguments : '',
      ),
    );
  });
  return envelope(request, {
    id,
    createdAt: typeof completion.created === 'number' ? completion.created : 0,
    model: String(completion.model),
    status: statusOf(finishReason),
    finishReason,
    output,
    usage: responsesUsage(completion.usage),
  });
}
