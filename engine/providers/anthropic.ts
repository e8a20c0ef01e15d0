/**
 * The Anthropic Messages adapter: chat completions in, `/v1/messages` out, and the answer (JSON or
 * event stream) translated back into OpenAI shapes, so nothing above this layer knows Anthropic
 * exists. The translations are exported for tests and for `replay`.
 */

import { isRecord } from '../shared/guards.js';
import { fromOpenAIUsage } from '../shared/usage.js';
import type { ErrorClass } from '../types.js';
import {
  ANTHROPIC_ERROR_TYPES,
  classifyException,
  classifyHttpError,
  providerError,
  readErrorBody,
  rethrowIfAborted,
} from './classify.js';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatDelta,
  ChatToolCall,
  OpenAIUsage,
} from './openai-types.js';
import { type Scrubber, scrubberFor } from './scrub.js';
import { parseSse, type SseEvent } from './sse.js';
import type { HttpResponse } from './transport.js';
import {
  type Provider,
  type ProviderCallRequest,
  type ProviderCallResult,
  type ProviderDeps,
  ProviderFailure,
  type ProviderSpec,
  type StreamItem,
} from './types.js';

export const DEFAULT_MAX_TOKENS = 4096;

/** Anthropic `stop_reason` → OpenAI `finish_reason`. */
const STOP_REASONS: Readonly<Record<string, string>> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  pause_turn: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};

type Block = Record<string, unknown>;

interface AnthropicMessage {
  role: 'user' | 'assistant';
  content: string | Block[];
}

export interface AnthropicRequest {
  model: string;
  max_tokens: number;
  messages: AnthropicMessage[];
  system?: string;
  [key: string]: unknown;
}

/** A request Anthropic cannot express; becomes a `bad_request` without calling upstream. */
class TranslationError extends Error {}

function textOfParts(content: unknown, what: string): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (!Array.isArray(content))
    throw new TranslationError(`${what} content must be a string or an array of parts`);
  return content
    .map((part) => {
      if (isRecord(part) && (part.type === 'text' || part.type === 'refusal')) {
        const text = part.type === 'text' ? part.text : part.refusal;
        if (typeof text === 'string') return text;
      }
      throw new TranslationError(`${what} content supports only text parts`);
    })
    .join('');
}

function imageBlock(part: Record<string, unknown>): Block {
  const image = part.image_url;
  const url = isRecord(image) ? image.url : image;
  if (typeof url !== 'string') throw new TranslationError('image_url part needs a url');
  const data = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (data !== null) return { type: 'image', source: { type: 'base64', media_type: data[1], data: data[2] } };
  return { type: 'image', source: { type: 'url', url } };
}

function userBlocks(content: unknown): Block[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  if (!Array.isArray(content))
    throw new TranslationError('user content must be a string or an array of parts');
  return content.map((part): Block => {
    if (!isRecord(part)) throw new TranslationError('content parts must be objects');
    if (part.type === 'text' && typeof part.text === 'string') return { type: 'text', text: part.text };
    if (part.type === 'image_url') return imageBlock(part);
    throw new TranslationError(`content part type "${String(part.type)}" is not supported by Anthropic`);
  });
}

function parseArguments(args: unknown): Record<string, unknown> {
  if (typeof args !== 'string' || args.trim() === '') return {};
  try {
    const parsed: unknown = JSON.parse(args);
    if (isRecord(parsed)) return parsed;
  } catch {
    // fall through: Anthropic needs an object, and the model will see the call as empty
  }
  throw new TranslationError('tool_call arguments must be a JSON object');
}

function assistantBlocks(message: Record<string, unknown>): Block[] {
  const blocks: Block[] = [];
  const text = textOfParts(message.content, 'assistant');
  if (text !== '') blocks.push({ type: 'text', text });
  if (Array.isArray(message.tool_calls)) {
    for (const call of message.tool_calls) {
      if (!isRecord(call) || !isRecord(call.function)) throw new TranslationError('malformed tool_call');
      blocks.push({
        type: 'tool_use',
        id: call.id,
        name: call.function.name,
        input: parseArguments(call.function.arguments),
      });
    }
  }
  return blocks;
}

function toolResultBlock(message: Record<string, unknown>): Block {
  if (typeof message.tool_call_id !== 'string') throw new TranslationError('tool message needs tool_call_id');
  const content =
    typeof message.content === 'string'
      ? message.content
      : [{ type: 'text', text: textOfParts(message.content, 'tool') }];
  return { type: 'tool_result', tool_use_id: message.tool_call_id, content };
}

function toolChoice(choice: unknown, parallel: unknown): Record<string, unknown> | undefined {
  let out: Record<string, unknown> | undefined;
  if (choice === 'auto') out = { type: 'auto' };
  else if (choice === 'none') out = { type: 'none' };
  else if (choice === 'required') out = { type: 'any' };
  else if (isRecord(choice) && isRecord(choice.function) && typeof choice.function.name === 'string') {
    out = { type: 'tool', name: choice.function.name };
  }
  if (parallel === false) out = { ...(out ?? { type: 'auto' }), disable_parallel_tool_use: true };
  return out;
}

function tools(list: unknown): Block[] | undefined {
  if (!Array.isArray(list)) return undefined;
  return list.flatMap((tool): Block[] => {
    if (!isRecord(tool) || tool.type !== 'function' || !isRecord(tool.function)) return [];
    const fn = tool.function;
    const block: Block = { name: fn.name, input_schema: fn.parameters ?? { type: 'object', properties: {} } };
    if (typeof fn.description === 'string') block.description = fn.description;
    return [block];
  });
}

/** Anthropic refuses a final assistant turn ending in whitespace; trim it, dropping what empties. */
function trimFinalAssistant(messages: AnthropicMessage[]): void {
  const last = messages.at(-1);
  if (last === undefined || last.role !== 'assistant' || typeof last.content === 'string') return;
  const block = last.content.at(-1);
  if (block === undefined || block.type !== 'text' || typeof block.text !== 'string') return;
  const text = block.text.trimEnd();
  if (text !== '') block.text = text;
  else last.content.pop();
  if (last.content.length === 0) messages.pop();
}

/**
 * OpenAI chat completion request → Anthropic Messages request. System and developer messages
 * become `system`; tool results become `tool_result` blocks in a user turn; consecutive turns of one
 * role merge; a final assistant message (or `prefill`) is Anthropic's native prefill.
 * `temperature` is clamped to Anthropic's 0..1.
 */
export function toAnthropicRequest(
  body: Readonly<Record<string, unknown>>,
  upstreamModel: string,
  stream: boolean,
  prefill?: string,
): AnthropicRequest {
  if (!Array.isArray(body.messages)) throw new TranslationError('messages must be an array');
  const system: string[] = [];
  const messages: AnthropicMessage[] = [];
  const push = (role: AnthropicMessage['role'], blocks: Block[]) => {
    const last = messages.at(-1);
    if (last !== undefined && last.role === role && Array.isArray(last.content)) last.content.push(...blocks);
    else messages.push({ role, content: blocks });
  };
  for (const message of body.messages) {
    if (!isRecord(message)) throw new TranslationError('messages must be objects');
    switch (message.role) {
      case 'system':
      case 'developer':
        system.push(textOfParts(message.content, 'system'));
        break;
      case 'user':
        push('user', userBlocks(message.content));
        break;
      case 'assistant':
        push('assistant', assistantBlocks(message));
        break;
      case 'tool':
        push('user', [toolResultBlock(message)]);
        break;
      default:
        throw new TranslationError(`message role "${String(message.role)}" is not supported by Anthropic`);
    }
  }
  if (prefill !== undefined) push('assistant', [{ type: 'text', text: prefill }]);
  trimFinalAssistant(messages);
  for (const message of messages) {
    const only = Array.isArray(message.content) && message.content.length === 1 ? message.content[0] : null;
    if (only !== null && only.type === 'text' && typeof only.text === 'string') message.content = only.text;
  }

  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  const out: AnthropicRequest = {
    model: upstreamModel,
    max_tokens: typeof maxTokens === 'number' ? maxTokens : DEFAULT_MAX_TOKENS,
    messages,
  };
  if (system.length > 0) out.system = system.join('\n\n');
  if (typeof body.temperature === 'number') out.temperature = Math.min(1, Math.max(0, body.temperature));
  if (typeof body.top_p === 'number') out.top_p = body.top_p;
  if (typeof body.stop === 'string') out.stop_sequences = [body.stop];
  else if (Array.isArray(body.stop) && body.stop.length > 0) out.stop_sequences = body.stop;
  const toolList = tools(body.tools);
  if (toolList !== undefined && toolList.length > 0) out.tools = toolList;
  const choice = toolChoice(body.tool_choice, body.parallel_tool_calls);
  if (choice !== undefined && out.tools !== undefined) out.tool_choice = choice;
  if (typeof body.user === 'string') out.metadata = { user_id: body.user };
  if (stream) out.stream = true;
  return out;
}

function num(value: unknown): number {
  return typeof value === 'number' ? value : 0;
}

/** Anthropic usage → OpenAI usage; cached input counts as prompt tokens, as OpenAI counts it. */
function openAIUsage(input: number, output: number): OpenAIUsage {
  return { prompt_tokens: input, completion_tokens: output, total_tokens: input + output };
}

function inputTokens(usage: Record<string, unknown>): number {
  return (
    num(usage.input_tokens) + num(usage.cache_creation_input_tokens) + num(usage.cache_read_input_tokens)
  );
}

/** Anthropic message → OpenAI chat completion. Throws TranslationError when it is not a message. */
export function fromAnthropicMessage(
  message: unknown,
  fallbackModel: string,
  created: number,
): ChatCompletion {
  if (!isRecord(message) || !Array.isArray(message.content)) {
    throw new TranslationError('upstream answer is not an Anthropic message');
  }
  let text = '';
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
    usage: openAIUsage(inputTokens(usage), num(usage.output_tokens)),
  };
}

/**
 * Anthropic stream events → OpenAI chunks, one event at a time. Holds only the ids, the token
 * counts and the mapping from content-block index to tool-call index.
 */
export class AnthropicStreamTranslator {
  private id = 'msg_unknown';
  private model: string;
  private inputTokens = 0;
  private outputTokens = 0;
  private readonly toolIndex = new Map<number, number>();
  /** A stop_reason arrived: the answer is complete even if message_stop never does. */
  finished = false;

  constructor(
    model: string,
    private readonly created: number,
  ) {
    this.model = model;
  }

  private chunk(delta: ChatDelta, finishReason: string | null = null): ChatCompletionChunk {
    return {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }],
    };
  }

  /** The closing usage chunk, as OpenAI sends it with `include_usage`. */
  usageChunk(): ChatCompletionChunk {
    return {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      choices: [],
      usage: openAIUsage(this.inputTokens, this.outputTokens),
    };
  }

  /** Translates one event; `done` is true on message_stop. Throws ProviderFailure on error events. */
  translate(event: SseEvent): { chunks: ChatCompletionChunk[]; done: boolean } {
    let data: unknown;
    try {
      data = JSON.parse(event.data);
    } catch {
      throw new ProviderFailure(providerError('malformed', `upstream sent a non-JSON ${event.event} event`));
    }
    if (!isRecord(data))
      throw new ProviderFailure(providerError('malformed', 'upstream event is not an object'));
    const type = typeof data.type === 'string' ? data.type : event.event;
    switch (type) {
      case 'message_start': {
        const message = isRecord(data.message) ? data.message : {};
        if (typeof message.id === 'string') this.id = message.id;
        if (typeof message.model === 'string') this.model = message.model;
        const usage = isRecord(message.usage) ? message.usage : {};
        this.inputTokens = inputTokens(usage);
        this.outputTokens = num(usage.output_tokens);
        return { chunks: [this.chunk({ role: 'assistant', content: '' })], done: false };
      }
      case 'content_block_start': {
        const block = isRecord(data.content_block) ? data.content_block : {};
        if (block.type === 'tool_use') {
          const index = this.toolIndex.size;
          this.toolIndex.set(num(data.index), index);
          const call = {
            index,
            id: String(block.id),
            type: 'function' as const,
            function: { name: String(block.name), arguments: '' },
          };
          return { chunks: [this.chunk({ tool_calls: [call] })], done: false };
        }
        if (block.type === 'text' && typeof block.text === 'string' && block.text !== '') {
          return { chunks: [this.chunk({ content: block.text })], done: false };
        }
        return { chunks: [], done: false };
      }
      case 'content_block_delta': {
        const delta = isRecord(data.delta) ? data.delta : {};
        if (delta.type === 'text_delta' && typeof delta.text === 'string') {
          return { chunks: [this.chunk({ content: delta.text })], done: false };
        }
        if (delta.type === 'input_json_delta' && typeof delta.partial_json === 'string') {
          const index = this.toolIndex.get(num(data.index));
          if (index === undefined)
            throw new ProviderFailure(
              providerError('malformed', 'input_json_delta outside a tool_use block'),
            );
          return {
            chunks: [this.chunk({ tool_calls: [{ index, function: { arguments: delta.partial_json } }] })],
            done: false,
          };
        }
        // thinking_delta, signature_delta, citations: no OpenAI counterpart.
        return { chunks: [], done: false };
      }
      case 'message_delta': {
        const delta = isRecord(data.delta) ? data.delta : {};
        const usage = isRecord(data.usage) ? data.usage : {};
        if (typeof usage.output_tokens === 'number') this.outputTokens = usage.output_tokens;
        if (typeof usage.input_tokens === 'number') this.inputTokens = inputTokens(usage);
        if (typeof delta.stop_reason !== 'string') return { chunks: [], done: false };
        this.finished = true;
        return { chunks: [this.chunk({}, STOP_REASONS[delta.stop_reason] ?? 'stop')], done: false };
      }
      case 'message_stop':
        return { chunks: [this.usageChunk()], done: true };
      case 'error': {
        const info = readErrorBody(data);
        const cls: ErrorClass =
          (info.type !== null ? ANTHROPIC_ERROR_TYPES[info.type] : undefined) ?? 'server_error';
        throw new ProviderFailure(providerError(cls, info.message ?? 'upstream stream error'));
      }
      default:
        // ping, content_block_stop and event types added later are ignored, as Anthropic asks.
        return { chunks: [], done: false };
    }
  }
}

/** Anthropic SSE → StreamItems; an error event's text goes through `scrubber` when one is given. */
export async function* anthropicStreamItems(
  body: AsyncIterable<Uint8Array>,
  translator: AnthropicStreamTranslator,
  signal: AbortSignal,
  scrubber?: Scrubber,
): AsyncGenerator<StreamItem> {
  try {
    for await (const event of parseSse(body)) {
      const { chunks, done } = translator.translate(event);
      for (const chunk of chunks) yield { type: 'chunk', chunk };
      if (done) {
        yield { type: 'done' };
        return;
      }
    }
  } catch (err) {
    rethrowIfAborted(signal);
    const failure = classifyException(err, 'body');
    throw new ProviderFailure(scrubber === undefined ? failure : scrubber.error(failure));
  }
  if (!translator.finished) {
    throw new ProviderFailure(providerError('stream_cut', 'upstream stream ended before a stop_reason'));
  }
  yield { type: 'chunk', chunk: translator.usageChunk() };
}

export function anthropicUrl(spec: ProviderSpec): string {
  const base = (spec.baseUrl ?? 'https://api.anthropic.com').replace(/\/+$/, '');
  return base.endsWith('/v1') ? `${base}/messages` : `${base}/v1/messages`;
}

export function anthropicHeaders(spec: ProviderSpec, stream: boolean): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: stream ? 'text/event-stream' : 'application/json',
    'anthropic-version': spec.anthropicVersion || '2023-06-01',
  };
  if (spec.apiKey !== null) headers['x-api-key'] = spec.apiKey;
  for (const [name, value] of Object.entries(spec.headers)) headers[name.toLowerCase()] = value;
  return headers;
}

/**
 * @example
 * const provider = createAnthropicProvider(spec, { transport, clock });
 * await provider.call({ upstreamModel: 'claude-sonnet-4-5', endpoint: 'chat', body, stream: true, signal, connectTimeoutMs: 2000 });
 */
export function createAnthropicProvider(spec: ProviderSpec, deps: ProviderDeps): Provider {
  const { transport, clock } = deps;
  const scrubber = scrubberFor(spec);
  return {
    spec,
    async call(req: ProviderCallRequest): Promise<ProviderCallResult> {
      rethrowIfAborted(req.signal);
      if (req.endpoint !== 'chat') {
        return {
          ok: false,
          error: providerError(
            'bad_request',
            `provider "${spec.name}" (anthropic) has no ${req.endpoint} endpoint`,
          ),
        };
      }
      let payload: AnthropicRequest;
      try {
        payload = toAnthropicRequest(req.body, req.upstreamModel, req.stream, req.prefill);
      } catch (err) {
        if (!(err instanceof TranslationError)) throw err;
        return { ok: false, error: providerError('bad_request', err.message) };
      }
      let res: HttpResponse;
      try {
        res = await transport.request({
          url: anthropicUrl(spec),
          method: 'POST',
          headers: anthropicHeaders(spec, req.stream),
          body: JSON.stringify(payload),
          signal: req.signal,
          connectTimeoutMs: req.connectTimeoutMs,
          maxResponseBytes: spec.maxResponseBytes,
          pool: spec.pool,
        });
      } catch (err) {
        rethrowIfAborted(req.signal);
        return { ok: false, error: classifyException(err, 'request') };
      }
      const created = Math.floor(clock.now() / 1000);
      if (
        res.status >= 200 &&
        res.status < 300 &&
        req.stream &&
        (res.headers['content-type'] ?? '').includes('event-stream')
      ) {
        const translator = new AnthropicStreamTranslator(req.upstreamModel, created);
        return {
          ok: true,
          kind: 'stream',
          status: res.status,
          headers: res.headers,
          items: anthropicStreamItems(res.body, translator, req.signal, scrubber),
        };
      }
      let text: string;
      try {
        text = await res.text();
      } catch (err) {
        rethrowIfAborted(req.signal);
        if (res.status >= 200 && res.status < 300)
          return { ok: false, error: classifyException(err, 'body') };
        text = '';
      }
      if (res.status < 200 || res.status >= 300) {
        // Scrubbed before the message is cut from it, and again once parsed (see openai.ts).
        const clean = scrubber.text(text);
        return {
          ok: false,
          error: scrubber.error(classifyHttpError(res.status, clean, res.headers, clock.now())),
        };
      }
      if (req.stream) {
        return {
          ok: false,
          error: providerError('malformed', 'upstream sent JSON instead of an event stream', {
            status: res.status,
          }),
        };
      }
      let body: ChatCompletion;
      try {
        body = fromAnthropicMessage(JSON.parse(text), req.upstreamModel, created);
      } catch {
        return {
          ok: false,
          error: providerError('malformed', 'upstream answer is not an Anthropic message', {
            status: res.status,
          }),
        };
      }
      return {
        ok: true,
        kind: 'json',
        status: res.status,
        headers: res.headers,
        body,
        usage: body.usage ? fromOpenAIUsage(body.usage) : null,
      };
    },
  };
}
