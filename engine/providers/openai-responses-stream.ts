/**
 * The Responses API's typed event stream → chat completion chunks, one event at a time (the
 * reading loop is stream-translator.ts's; usage and finish reasons are read as in the JSON
 * answer, openai-responses-response.ts).
 */
import { isRecord } from '../shared/guards.js';
import type { ErrorClass } from '../types.js';
import { classifyErrorBody, providerError, readErrorBody } from './classify.js';
import { chatUsageFromResponses, finishReason, num } from './openai-responses-response.js';
import type { ChatCompletionChunk, OpenAIUsage } from './openai-types.js';
import type { SseEvent } from './sse.js';
import { StreamTranslator, type Translated } from './stream-translator.js';
import { ProviderFailure } from './types.js';

type Obj = Record<string, unknown>;

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
        return { chunks: [this.toolCallStart(index, item.call_id, item.name)], done: false };
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
