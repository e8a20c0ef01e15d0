/**
 * Anthropic Messages event stream → OpenAI chat completion chunks, one event at a time (the
 * reading loop is stream-translator.ts's).
 */
import { isRecord } from '../shared/guards.js';
import type { ErrorClass } from '../types.js';
import {
  cachedTokens,
  cacheWriteTokens,
  inputTokens,
  num,
  openAIUsage,
  STOP_REASONS,
} from './anthropic-response.js';
import { ANTHROPIC_ERROR_TYPES, providerError, readErrorBody } from './classify.js';
import type { ChatCompletionChunk } from './openai-types.js';
import { StreamTranslator, type Translated } from './stream-translator.js';
import { ProviderFailure } from './types.js';

/**
 * Anthropic stream events → OpenAI chunks, one event at a time. Holds only the ids, the token
 * counts and the mapping from content-block index to tool-call index.
 */
export class AnthropicStreamTranslator extends StreamTranslator {
  private inputTokens = 0;
  private outputTokens = 0;
  private cached: number | null = null;
  private written: number | null = null;
  private readonly toolIndex = new Map<number, number>();

  /**
   * @param prefix Text the request put in the answer's mouth (a JSON-mode `{`): the first content,
   *   sent with the role chunk.
   */
  constructor(
    model: string,
    created: number,
    private readonly prefix = '',
  ) {
    super('msg_unknown', model, created);
  }

  /** The closing usage chunk, as OpenAI sends it with `include_usage`. */
  usageChunk(): ChatCompletionChunk {
    return this.usageChunkOf(openAIUsage(this.inputTokens, this.outputTokens, this.cached, this.written));
  }

  /** A stream that ended after its stop_reason but without message_stop is complete: its usage closes it. */
  atEnd(): ChatCompletionChunk[] {
    if (!this.finished) {
      throw new ProviderFailure(providerError('stream_cut', 'upstream stream ended before a stop_reason'));
    }
    return [this.usageChunk()];
  }

  /** `done` is true on message_stop. Throws ProviderFailure on error events. */
  protected translateEvent(type: string, data: Record<string, unknown>): Translated {
    switch (type) {
      case 'message_start': {
        const message = isRecord(data.message) ? data.message : {};
        if (typeof message.id === 'string') this.id = message.id;
        if (typeof message.model === 'string') this.model = message.model;
        const usage = isRecord(message.usage) ? message.usage : {};
        this.inputTokens = inputTokens(usage);
        this.outputTokens = num(usage.output_tokens);
        this.cached = cachedTokens(usage);
        this.written = cacheWriteTokens(usage);
        return { chunks: [this.chunk({ role: 'assistant', content: this.prefix })], done: false };
      }
      case 'content_block_start': {
        const block = isRecord(data.content_block) ? data.content_block : {};
        if (block.type === 'tool_use') {
          const index = this.toolIndex.size;
          this.toolIndex.set(num(data.index), index);
          return { chunks: [this.toolCallStart(index, block.id, block.name)], done: false };
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
        this.cached = cachedTokens(usage) ?? this.cached;
        this.written = cacheWriteTokens(usage) ?? this.written;
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
