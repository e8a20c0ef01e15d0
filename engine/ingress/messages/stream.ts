/**
 * The engine's chat chunks → the Messages API's event stream, one frame at a time (chunk-writer.ts
 * reads the frames; answer.ts gives the shapes).
 */
import { ERRORS, isErrorCode } from '../../errors.js';
import { isRecord } from '../../shared/guards.js';
import { ChatChunkWriter } from '../chunk-writer.js';
import { anthropicError, anthropicUsage, messageId, stopReason, textBlock, toolUseBlock } from './answer.js';

type Obj = Record<string, unknown>;

type Block = { kind: 'text'; index: number } | { kind: 'tool'; index: number; chatIndex: number };

/**
 * Chat completion chunks (the engine's SSE frames) → the Messages event stream. Blocks are
 * sequential, as Anthropic sends them: a text delta after a tool call opens a new text block,
 * and each block is stopped before the next starts. Usage is known at the end of a chat stream,
 * so `message_start` reports 0 input tokens and `message_delta` the real counts (the SDKs take
 * the later values). An in-band error ends the stream with an `error` event.
 *
 * @example
 * const writer = new MessagesStreamWriter();
 * for (const frame of engineFrames) for (const out of writer.frame(frame)) send(out);
 */
export class MessagesStreamWriter extends ChatChunkWriter {
  private next = 0;
  private current: Block | null = null;
  private readonly tools = new Map<number, number>();

  private event(type: string, fields: Obj): string {
    return `event: ${type}\ndata: ${JSON.stringify({ type, ...fields })}\n\n`;
  }

  protected start(chunk: Obj, out: string[]): void {
    this.started = true;
    const message = {
      id: messageId(typeof chunk.id === 'string' ? chunk.id : 'msg_switchyard'),
      type: 'message',
      role: 'assistant',
      model: typeof chunk.model === 'string' ? chunk.model : '',
      content: [],
      stop_reason: null,
      stop_sequence: null,
      stop_details: null,
      container: null,
      diagnostics: null,
      usage: anthropicUsage(null),
    };
    out.push(this.event('message_start', { message }), this.event('ping', {}));
  }

  private stopCurrent(out: string[]): void {
    if (this.current === null) return;
    out.push(this.event('content_block_stop', { index: this.current.index }));
    this.current = null;
  }

  /** A refusal is text in the Messages API. */
  protected refusal(delta: string, out: string[]): void {
    this.text(delta, out);
  }

  protected text(delta: string, out: string[]): void {
    if (this.current?.kind !== 'text') {
      this.stopCurrent(out);
      this.current = { kind: 'text', index: this.next++ };
      out.push(
        this.event('content_block_start', { index: this.current.index, content_block: textBlock('') }),
      );
    }
    out.push(
      this.event('content_block_delta', {
        index: this.current.index,
        delta: { type: 'text_delta', text: delta },
      }),
    );
  }

  protected toolCall(delta: Obj, out: string[]): void {
    const chatIndex = typeof delta.index === 'number' ? delta.index : 0;
    const fn = isRecord(delta.function) ? delta.function : {};
    let index = this.tools.get(chatIndex);
    if (index === undefined) {
      this.stopCurrent(out);
      index = this.next++;
      this.tools.set(chatIndex, index);
      this.current = { kind: 'tool', index, chatIndex };
      const id = typeof delta.id === 'string' ? delta.id : `toolu_${chatIndex}`;
      out.push(
        this.event('content_block_start', {
          index,
          content_block: toolUseBlock(id, typeof fn.name === 'string' ? fn.name : '', {}),
        }),
      );
    }
    if (typeof fn.arguments === 'string' && fn.arguments !== '') {
      out.push(
        this.event('content_block_delta', {
          index,
          delta: { type: 'input_json_delta', partial_json: fn.arguments },
        }),
      );
    }
  }

  /** The last block stopped, `message_delta`, `message_stop`. */
  protected end(out: string[]): void {
    this.stopCurrent(out);
    const usage = anthropicUsage(this.usage);
    out.push(
      this.event('message_delta', {
        delta: {
          stop_reason: stopReason(this.finishReason),
          stop_sequence: null,
          stop_details: null,
          container: null,
        },
        usage: {
          input_tokens: usage.input_tokens,
          cache_creation_input_tokens: usage.cache_creation_input_tokens,
          cache_read_input_tokens: usage.cache_read_input_tokens,
          output_tokens: usage.output_tokens,
          output_tokens_details: usage.output_tokens_details,
          server_tool_use: null,
        },
      }),
      this.event('message_stop', {}),
    );
  }

  /** Anthropic's `error` event, typed by the catalogue status of the engine's code. */
  protected errorEvent(error: Obj, body: unknown): string {
    const code = typeof error.code === 'string' ? error.code : null;
    const status = code !== null && isErrorCode(code) ? ERRORS[code].status : 500;
    const shaped = anthropicError(status, body, null);
    return this.event('error', { error: shaped.error });
  }
}
