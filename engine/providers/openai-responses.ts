/**
 * OpenAI's Responses API on the upstream side: a `/v1/responses` request passed through to a
 * provider that serves it (`responses: true`), with the upstream's answer (a Response object or
 * its typed event stream) read back into the chat shapes the rest of the engine works on, so
 * guardrails, the cache, limits and accounting see it like any other answer. The caller's side
 * (a Responses request in, a Response out) is engine/ingress/responses.ts.
 *
 * The request that goes upstream is the caller's own, untouched but for `model` and `stream`. It
 * travels from the ingress to here attached to the translated chat body under a symbol
 * ({@link attachResponsesRequest}); when an input guardrail has rewritten the chat body (a
 * redaction), the attachment no longer belongs to it, and the request is rebuilt from the
 * rewritten chat body ({@link chatToResponsesRequest}) with the caller's settings and tools, so a
 * redaction is never undone by the passthrough.
 *
 * Wire formats: the `openai` SDK's `resources/responses/responses.d.ts` and OpenAI's OpenAPI
 * spec (`Response`, `ResponseUsage`, the `Response*Event` schemas).
 */
import type { Clock } from '../shared/clock.js';
import { isRecord } from '../shared/guards.js';
import { needsResponsesApi, RESPONSES_ONLY_KEY, responsesOnlyParts } from '../shared/responses-only.js';
import { fromOpenAIUsage } from '../shared/usage.js';
import type { ErrorClass } from '../types.js';
import { classifyErrorBody, providerError, readErrorBody } from './classify.js';
import type { ChatCompletion, ChatCompletionChunk, ChatToolCall, OpenAIUsage } from './openai-types.js';
import type { Scrubber } from './scrub.js';
import type { SseEvent } from './sse.js';
import { StreamTranslator, type Translated, translatedStreamItems } from './stream-translator.js';
import type { Transport } from './transport.js';
import {
  type ProviderCallRequest,
  type ProviderCallResult,
  type ProviderErrorBody,
  ProviderFailure,
  type ProviderSpec,
} from './types.js';
import { httpFailure, isSuccess, post, successText } from './upstream.js';

type Obj = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// The caller's request, carried with the chat body

/**
 * An enumerable symbol: it survives the object spreads of the pipeline (a redaction's copy
 * keeps it, which is how the copy is recognised) and never reaches JSON (cache keys,
 * recordings, upstream bodies).
 */
const RESPONSES_REQUEST = Symbol('switchyard.responsesRequest');

interface Attachment {
  readonly request: Readonly<Obj>;
  /** The chat body the request was translated into; another object means it was rewritten. */
  readonly chat: object;
}

/** Attaches the caller's Responses request to its translation (engine/ingress/responses.ts). */
export function attachResponsesRequest(chat: Obj, request: Readonly<Obj>): void {
  (chat as Record<symbol, unknown>)[RESPONSES_REQUEST] = { request, chat } satisfies Attachment;
}

/** The caller's Responses request behind a chat body, and whether the body is still its translation. */
export function responsesRequestOf(
  body: Readonly<Obj>,
): { readonly request: Readonly<Obj>; readonly rewritten: boolean } | null {
  const attachment = (body as Record<symbol, unknown>)[RESPONSES_REQUEST];
  if (!isRecord(attachment) || !isRecord(attachment.request)) return null;
  return { request: attachment.request, rewritten: attachment.chat !== body };
}

// ---------------------------------------------------------------------------------------------
// Chat request → Responses request (a rewritten body passed through; the round-trip properties)

function partsToInput(content: unknown): unknown {
  if (typeof content === 'string' || content === null || content === undefined) return content ?? '';
  if (!Array.isArray(content)) return content;
  return content.map((part) => {
    if (!isRecord(part)) return part;
    if (part.type === 'text') return { type: 'input_text', text: part.text };
    if (part.type === 'image_url') {
      const image = isRecord(part.image_url) ? part.image_url : { url: part.image_url };
      return { type: 'input_image', image_url: image.url, detail: image.detail ?? 'auto' };
    }
    if (part.type === 'file' && isRecord(part.file)) return { type: 'input_file', ...part.file };
    return part;
  });
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((p) => (isRecord(p) && typeof p.text === 'string' ? p.text : '')).join('');
}

/** Chat `messages` → Responses `input` items. */
export function chatMessagesToInput(messages: readonly unknown[]): Obj[] {
  const input: Obj[] = [];
  for (const m of messages) {
    if (!isRecord(m)) continue;
    if (m.role === 'tool') {
      input.push({ type: 'function_call_output', call_id: m.tool_call_id, output: textOf(m.content) });
      continue;
    }
    if (m.role === 'assistant') {
      const text = textOf(m.content);
      if (text !== '' || !Array.isArray(m.tool_calls) || m.tool_calls.length === 0) {
        input.push({ type: 'message', role: 'assistant', content: text });
      }
      for (const call of Array.isArray(m.tool_calls) ? m.tool_calls : []) {
        if (!isRecord(call) || !isRecord(call.function)) continue;
        input.push({
          type: 'function_call',
          call_id: call.id,
          name: call.function.name,
          arguments: call.function.arguments,
        });
      }
      continue;
    }
    input.push({ type: 'message', role: m.role, content: partsToInput(m.content) });
  }
  return input;
}

function responsesTools(tools: unknown): unknown {
  if (!Array.isArray(tools)) return tools;
  return tools.map((tool) => {
    if (!isRecord(tool) || tool.type !== 'function' || !isRecord(tool.function)) return tool;
    const { name, description, parameters, strict } = tool.function;
    const out: Obj = { type: 'function', name, parameters: parameters ?? null };
    if (description !== undefined) out.description = description;
    if (strict !== undefined) out.strict = strict;
    return out;
  });
}

function responsesToolChoice(choice: unknown): unknown {
  if (isRecord(choice) && choice.type === 'function' && isRecord(choice.function)) {
    return { type: 'function', name: choice.function.name };
  }
  return choice;
}

function textFormat(format: unknown): Obj | undefined {
  if (!isRecord(format)) return undefined;
  if (format.type === 'json_schema' && isRecord(format.json_schema)) {
    return { type: 'json_schema', ...format.json_schema };
  }
  return { type: format.type };
}

/** Chat request fields that keep their name and meaning in the Responses API. */
const SAME_FIELDS = [
  'model',
  'temperature',
  'top_p',
  'user',
  'metadata',
  'service_tier',
  'parallel_tool_calls',
  'prompt_cache_key',
  'prompt_cache_retention',
  'safety_identifier',
  'top_logprobs',
  'stream',
  'store',
] as const;

/**
 * Chat completion request → Responses request: messages become input items (tool calls and
 * results included), `response_format` and `verbosity` become `text`, `reasoning_effort` becomes
 * `reasoning`, `max_completion_tokens` (or `max_tokens`) becomes `max_output_tokens`.
 */
export function chatToResponsesRequest(body: Readonly<Obj>): Obj {
  const out: Obj = { input: chatMessagesToInput(Array.isArray(body.messages) ? body.messages : []) };
  for (const key of SAME_FIELDS) if (body[key] !== undefined) out[key] = body[key];
  if (body.tools !== undefined) out.tools = responsesTools(body.tools);
  if (body.tool_choice !== undefined) out.tool_choice = responsesToolChoice(body.tool_choice);
  const format = textFormat(body.response_format);
  if (format !== undefined || body.verbosity !== undefined) {
    const text: Obj = {};
    if (format !== undefined) text.format = format;
    if (body.verbosity !== undefined) text.verbosity = body.verbosity;
    out.text = text;
  }
  if (body.reasoning_effort !== undefined) out.reasoning = { effort: body.reasoning_effort };
  const max = body.max_completion_tokens ?? body.max_tokens;
  if (max !== undefined) out.max_output_tokens = max;
  return out;
}

/**
 * The body sent to `POST /responses`: the caller's request with the target's model, or, when a
 * guardrail rewrote the chat body, its rebuild with the caller's settings and tools. A rebuild
 * cannot restore input items only the Responses API carries (an item reference, a hosted tool's
 * call): such a request is refused (a `TranslationError`-like message) rather than sent without them.
 */
export function responsesUpstreamBody(
  req: ProviderCallRequest,
): { ok: true; body: Obj } | { ok: false; message: string } {
  const carried = responsesRequestOf(req.body);
  let body: Obj;
  if (carried === null || carried.rewritten) {
    const lost = responsesOnlyParts(req.body).filter((p) => p.startsWith('input['));
    if (lost.length > 0) {
      return {
        ok: false,
        message: `an input guardrail rewrote this request, and its Responses-only input items (${lost.join(', ')}) cannot be passed through without the original`,
      };
    }
    const rebuilt = chatToResponsesRequest(req.body);
    const settings: Obj = carried === null ? {} : { ...carried.request };
    delete settings.input;
    delete settings.instructions;
    body = { ...settings, input: rebuilt.input };
    for (const key of Object.keys(rebuilt)) if (!(key in body)) body[key] = rebuilt[key];
  } else {
    body = { ...carried.request };
  }
  delete body[RESPONSES_ONLY_KEY];
  body.model = req.upstreamModel;
  if (req.stream) body.stream = true;
  else delete body.stream;
  if (!req.stream) delete body.stream_options;
  if (req.prefill !== undefined) {
    const input = Array.isArray(body.input)
      ? body.input
      : [{ type: 'message', role: 'user', content: body.input ?? '' }];
    body.input = [...input, { type: 'message', role: 'assistant', content: req.prefill }];
  }
  return { ok: true, body };
}

/** `POST {baseUrl}/responses`; Azure's v1 surface (`{baseUrl}/openai/v1/responses`) with `azure`. */
export function responsesUrl(spec: ProviderSpec): string {
  const base = (spec.baseUrl ?? 'https://api.openai.com/v1').replace(/\/+$/, '');
  return spec.azure === null ? `${base}/responses` : `${base}/openai/v1/responses`;
}

// ---------------------------------------------------------------------------------------------
// Response → chat completion

function num(value: unknown): number {
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
function finishReason(response: Obj, toolCalls: boolean): string {
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

// ---------------------------------------------------------------------------------------------
// Response event stream → chat chunks

/** What `whole` adds to `sofar` when it extends it; '' otherwise (nothing new, or a mismatch). */
function remainder(sofar: string, whole: unknown): string {
  return typeof whole === 'string' && whole.length > sofar.length && whole.startsWith(sofar)
    ? whole.slice(sofar.length)
    : '';
}

/** `code` of a Responses `error` event or `response.error` → the error taxonomy. */
function errorClassOf(code: unknown, message: string): ErrorClass {
  const info = { message, type: null, code: typeof code === 'string' ? code : null };
  return classifyErrorBody(info) ?? 'server_error';
}

/**
 * Responses events → chat chunks, one event at a time: text deltas as content, function calls
 * as tool-call deltas (ids and names on their `output_item.added`), the terminal event as the
 * finish reason and the usage chunk. The text and arguments are what the deltas say; a `*.done`
 * event whose whole value extends them (an upstream that sends values whole) adds the rest.
 * Holds the ids, the text and arguments so far per output item, and the usage.
 */
export class ResponsesStreamTranslator extends StreamTranslator {
  /** Per output index: its tool-call index (function calls) and what its deltas said so far. */
  private readonly toolIndex = new Map<number, { index: number; args: string }>();
  private readonly texts = new Map<number, string>();
  private usage: OpenAIUsage | null = null;

  constructor(model: string) {
    super('resp_unknown', model, 0);
  }

  /** Events without data, and a chat-style `[DONE]`: nothing to translate. */
  override skips(event: SseEvent): boolean {
    return event.data === '' || event.data === '[DONE]';
  }

  usageChunk(): ChatCompletionChunk | null {
    return this.usage === null ? null : this.usageChunkOf(this.usage);
  }

  /** The terminal event ends the stream (`done`): an end before it is a cut. */
  atEnd(): ChatCompletionChunk[] {
    throw new ProviderFailure(
      providerError('stream_cut', 'upstream stream ended before a terminal response event'),
    );
  }

  /** `done` on the terminal event. Throws ProviderFailure on `error` and `response.failed`. */
  protected translateEvent(type: string, data: Obj): Translated {
    switch (type) {
      case 'response.created': {
        const response = isRecord(data.response) ? data.response : {};
        if (typeof response.id === 'string') this.id = response.id;
        if (typeof response.model === 'string') this.model = response.model;
        this.created = num(response.created_at);
        return { chunks: [this.chunk({ role: 'assistant', content: '' })], done: false };
      }
      case 'response.output_item.added': {
        const item = isRecord(data.item) ? data.item : {};
        if (item.type !== 'function_call') return { chunks: [], done: false };
        const index = this.toolIndex.size;
        // The arguments come as deltas (or whole on `output_item.done`), never from `added`.
        this.toolIndex.set(num(data.output_index), { index, args: '' });
        const call = {
          index,
          id: String(item.call_id),
          type: 'function' as const,
          function: { name: String(item.name), arguments: '' },
        };
        return { chunks: [this.chunk({ tool_calls: [call] })], done: false };
      }
      case 'response.output_item.done': {
        const item = isRecord(data.item) ? data.item : {};
        const call = this.toolIndex.get(num(data.output_index));
        if (item.type !== 'function_call' || call === undefined) return { chunks: [], done: false };
        const rest = remainder(call.args, item.arguments);
        if (rest === '') return { chunks: [], done: false };
        call.args += rest;
        return {
          chunks: [this.chunk({ tool_calls: [{ index: call.index, function: { arguments: rest } }] })],
          done: false,
        };
      }
      case 'response.output_text.delta': {
        if (typeof data.delta !== 'string' || data.delta === '') return { chunks: [], done: false };
        const at = num(data.output_index);
        this.texts.set(at, (this.texts.get(at) ?? '') + data.delta);
        return { chunks: [this.chunk({ content: data.delta })], done: false };
      }
      case 'response.output_text.done': {
        const at = num(data.output_index);
        const rest = remainder(this.texts.get(at) ?? '', data.text);
        if (rest === '') return { chunks: [], done: false };
        this.texts.set(at, (this.texts.get(at) ?? '') + rest);
        return { chunks: [this.chunk({ content: rest })], done: false };
      }
      case 'response.refusal.delta':
        return typeof data.delta === 'string'
          ? { chunks: [this.chunk({ refusal: data.delta })], done: false }
          : { chunks: [], done: false };
      case 'response.function_call_arguments.delta': {
        const call = this.toolIndex.get(num(data.output_index));
        if (call === undefined) {
          throw new ProviderFailure(
            providerError('malformed', 'function_call_arguments.delta outside a function_call item'),
          );
        }
        if (typeof data.delta !== 'string' || data.delta === '') return { chunks: [], done: false };
        call.args += data.delta;
        return {
          chunks: [this.chunk({ tool_calls: [{ index: call.index, function: { arguments: data.delta } }] })],
          done: false,
        };
      }
      case 'response.completed':
      case 'response.incomplete': {
        const response = isRecord(data.response) ? data.response : {};
        this.usage = chatUsageFromResponses(response.usage);
        this.finished = true;
        const chunks = [this.chunk({}, finishReason(response, this.toolIndex.size > 0))];
        const usage = this.usageChunk();
        if (usage !== null) chunks.push(usage);
        return { chunks, done: true };
      }
      case 'response.failed': {
        const response = isRecord(data.response) ? data.response : {};
        const error = isRecord(response.error) ? response.error : {};
        const message = typeof error.message === 'string' ? error.message : 'upstream response failed';
        throw new ProviderFailure(providerError(errorClassOf(error.code, message), message));
      }
      case 'error': {
        const info = readErrorBody({ error: data });
        const message = info.message ?? 'upstream stream error';
        throw new ProviderFailure(providerError(errorClassOf(info.code, message), message));
      }
      default:
        // in_progress, content parts, reasoning, hosted tools' progress, `*.done` events
        // (their content already came as deltas): no chat counterpart.
        return { chunks: [], done: false };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The call

export interface ResponsesCallOptions {
  readonly transport: Transport;
  readonly clock: Clock;
  readonly scrubber: Scrubber;
  readonly headers: Record<string, string>;
  /** The upstream's own error body when it has the OpenAI shape (openai.ts). */
  readonly ownErrorBody: (text: string) => ProviderErrorBody | null;
}

/** Whether a chat-shaped call is a `/v1/responses` request this provider takes as it is. */
export function isResponsesPassthrough(spec: ProviderSpec, req: ProviderCallRequest): boolean {
  return (
    spec.responses === true &&
    req.endpoint === 'chat' &&
    (responsesRequestOf(req.body) !== null || needsResponsesApi(req.body))
  );
}

/**
 * `POST {baseUrl}/responses` with the caller's request; the answer read back into chat shapes
 * (the JSON Response is kept beside its translation for the ingress: {@link upstreamResponseOf}).
 */
export async function callResponses(
  spec: ProviderSpec,
  req: ProviderCallRequest,
  options: ResponsesCallOptions,
): Promise<ProviderCallResult> {
  const built = responsesUpstreamBody(req);
  if (!built.ok) return { ok: false, error: providerError('bad_request', built.message) };
  const sent = await post(
    options.transport,
    spec,
    req,
    responsesUrl(spec),
    options.headers,
    JSON.stringify(built.body),
  );
  if (!sent.ok) return sent;
  const { res } = sent;
  if (!isSuccess(res.status)) {
    return {
      ok: false,
      error: await httpFailure(res, req.signal, options.scrubber, options.clock, options.ownErrorBody),
    };
  }
  if (req.stream && (res.headers['content-type'] ?? '').includes('event-stream')) {
    return {
      ok: true,
      kind: 'stream',
      status: res.status,
      headers: res.headers,
      items: translatedStreamItems(
        res.body,
        new ResponsesStreamTranslator(req.upstreamModel),
        req.signal,
        options.scrubber,
      ),
    };
  }
  const read = await successText(res, req.signal);
  if (!read.ok) return read;
  if (req.stream) {
    return {
      ok: false,
      error: providerError('malformed', 'upstream sent JSON instead of an event stream', {
        status: res.status,
      }),
    };
  }
  let body: ChatCompletion;
  let parsed: unknown;
  try {
    parsed = JSON.parse(read.text);
    body = chatFromResponse(parsed, req.upstreamModel);
  } catch {
    return {
      ok: false,
      error: providerError('malformed', 'upstream answer is not a Response object', { status: res.status }),
    };
  }
  keepUpstreamResponse(body, parsed as Obj);
  return {
    ok: true,
    kind: 'json',
    status: res.status,
    headers: res.headers,
    body,
    usage: body.usage ? fromOpenAIUsage(body.usage) : null,
  };
}

/** The upstream's own Response object beside its chat translation (enumerable symbol, as above). */
const UPSTREAM_RESPONSE = Symbol('switchyard.upstreamResponse');

function keepUpstreamResponse(chat: ChatCompletion, response: Obj): void {
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
