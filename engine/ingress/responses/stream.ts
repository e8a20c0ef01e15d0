/**
 * The engine's chat chunks → the Responses API's typed event stream, one frame at a time
 * (chunk-writer.ts reads the frames); the closing Response is answer.ts's, as the JSON answer
 * would be.
 */
import { isRecord } from '../../shared/guards.js';
import { ChatChunkWriter } from '../chunk-writer.js';
import {
  callOutput,
  envelope,
  itemIds,
  messageOutput,
  outputTextPart,
  responseId,
  responsesUsage,
  type Status,
  statusOf,
} from './answer.js';

type Obj = Record<string, unknown>;

interface OpenCall {
  readonly outputIndex: number;
  readonly itemId: string;
  readonly callId: string;
  readonly name: string;
  args: string;
}

/**
 * Chat completion chunks (the engine's SSE frames) → the Responses event stream: `response.created`,
 * `response.in_progress`, per output item `output_item.added`, its content part and deltas
 * (`output_text.delta`, `function_call_arguments.delta`), then on `[DONE]` each item's `*.done`
 * events and `response.completed` (`response.incomplete` after a length or content-filter stop)
 * carrying the whole Response, as the JSON answer would be. An in-band error ends the stream with
 * an `error` event. Every event has its `sequence_number`.
 *
 * @example
 * const writer = new ResponsesStreamWriter(request);
 * for (const frame of engineFrames) for (const out of writer.frame(frame)) send(out);
 */
export class ResponsesStreamWriter extends ChatChunkWriter {
  private seq = 0;
  private id = 'resp_switchyard';
  private createdAt = 0;
  private model = '';
  private ids = itemIds('resp_switchyard');
  private nextOutput = 0;
  private message: {
    outputIndex: number;
    text: string;
    refusal: string | null;
    refusalIndex: number;
  } | null = null;
  private readonly calls = new Map<number, OpenCall>();

  constructor(private readonly request: Readonly<Obj>) {
    super();
  }

  private event(type: string, fields: Obj): string {
    const payload = { type, ...fields, sequence_number: this.seq++ };
    return `event: ${type}\ndata: ${JSON.stringify(payload)}\n\n`;
  }

  private snapshot(status: Status, output: readonly Obj[]): Obj {
    return envelope(this.request, {
      id: this.id,
      createdAt: this.createdAt,
      model: this.model,
      status,
      finishReason: this.finishReason,
      output,
      usage: status === 'in_progress' ? null : responsesUsage(this.usage),
    });
  }

  protected start(chunk: Obj, out: string[]): void {
    this.started = true;
    this.id = responseId(typeof chunk.id === 'string' ? chunk.id : 'resp_switchyard');
    this.ids = itemIds(this.id);
    this.createdAt = typeof chunk.created === 'number' ? chunk.created : 0;
    this.model = typeof chunk.model === 'string' ? chunk.model : '';
    const response = this.snapshot('in_progress', []);
    out.push(this.event('response.created', { response }), this.event('response.in_progress', { response }));
  }

  private openMessage(out: string[]): NonNullable<ResponsesStreamWriter['message']> {
    if (this.message !== null) return this.message;
    const outputIndex = this.nextOutput++;
    this.message = { outputIndex, text: '', refusal: null, refusalIndex: 1 };
    out.push(
      this.event('response.output_item.added', {
        output_index: outputIndex,
        item: messageOutput(this.ids.message, 'in_progress', null, null, []),
      }),
      this.event('response.content_part.added', {
        item_id: this.ids.message,
        output_index: outputIndex,
        content_index: 0,
        part: outputTextPart(''),
      }),
    );
    return this.message;
  }

  protected text(delta: string, out: string[]): void {
    const message = this.openMessage(out);
    message.text += delta;
    out.push(
      this.event('response.output_text.delta', {
        item_id: this.ids.message,
        output_index: message.outputIndex,
        content_index: 0,
        delta,
        logprobs: [],
      }),
    );
  }

  protected refusal(delta: string, out: string[]): void {
    const message = this.openMessage(out);
    if (message.refusal === null) {
      message.refusal = '';
      out.push(
        this.event('response.content_part.added', {
          item_id: this.ids.message,
          output_index: message.outputIndex,
          content_index: message.refusalIndex,
          part: { type: 'refusal', refusal: '' },
        }),
      );
    }
    message.refusal += delta;
    out.push(
      this.event('response.refusal.delta', {
        item_id: this.ids.message,
        output_index: message.outputIndex,
        content_index: message.refusalIndex,
        delta,
      }),
    );
  }

  protected toolCall(delta: Obj, out: string[]): void {
    const index = typeof delta.index === 'number' ? delta.index : 0;
    const fn = isRecord(delta.function) ? delta.function : {};
    let call = this.calls.get(index);
    if (call === undefined) {
      call = {
        outputIndex: this.nextOutput++,
        itemId: this.ids.call(index),
        callId: typeof delta.id === 'string' ? delta.id : `call_${index}`,
        name: typeof fn.name === 'string' ? fn.name : '',
        args: '',
      };
      this.calls.set(index, call);
      out.push(
        this.event('response.output_item.added', {
          output_index: call.outputIndex,
          item: callOutput(call.itemId, 'in_progress', call.callId, call.name, ''),
        }),
      );
    }
    if (typeof fn.arguments === 'string' && fn.arguments !== '') {
      call.args += fn.arguments;
      out.push(
        this.event('response.function_call_arguments.delta', {
          item_id: call.itemId,
          output_index: call.outputIndex,
          delta: fn.arguments,
        }),
      );
    }
  }

  /** Every item's `*.done` events, then the terminal event. */
  protected end(out: string[]): void {
    if (this.message === null && this.calls.size === 0) this.openMessage(out);
    const done: { index: number; item: Obj }[] = [];
    const message = this.message;
    if (message !== null) {
      const { outputIndex } = message;
      const text = message.text;
      out.push(
        this.event('response.output_text.done', {
          item_id: this.ids.message,
          output_index: outputIndex,
          content_index: 0,
          text,
          logprobs: [],
        }),
        this.event('response.content_part.done', {
          item_id: this.ids.message,
          output_index: outputIndex,
          content_index: 0,
          part: outputTextPart(text),
        }),
      );
      if (message.refusal !== null) {
        out.push(
          this.event('response.refusal.done', {
            item_id: this.ids.message,
            output_index: outputIndex,
            content_index: message.refusalIndex,
            refusal: message.refusal,
          }),
          this.event('response.content_part.done', {
            item_id: this.ids.message,
            output_index: outputIndex,
            content_index: message.refusalIndex,
            part: { type: 'refusal', refusal: message.refusal },
          }),
        );
      }
      const item = messageOutput(this.ids.message, 'completed', text, message.refusal, []);
      out.push(this.event('response.output_item.done', { output_index: outputIndex, item }));
      done.push({ index: outputIndex, item });
    }
    for (const call of [...this.calls.values()].sort((a, b) => a.outputIndex - b.outputIndex)) {
      out.push(
        this.event('response.function_call_arguments.done', {
          item_id: call.itemId,
          output_index: call.outputIndex,
          name: call.name,
          arguments: call.args,
        }),
      );
      const item = callOutput(call.itemId, 'completed', call.callId, call.name, call.args);
      out.push(this.event('response.output_item.done', { output_index: call.outputIndex, item }));
      done.push({ index: call.outputIndex, item });
    }
    const status = statusOf(this.finishReason);
    const response = this.snapshot(
      status,
      done.sort((a, b) => a.index - b.index).map((d) => d.item),
    );
    out.push(this.event(status === 'completed' ? 'response.completed' : 'response.incomplete', { response }));
  }

  protected errorEvent(error: Obj): string {
    return this.event('error', {
      code: typeof error.code === 'string' ? error.code : null,
      message: typeof error.message === 'string' ? error.message : 'The stream failed.',
      param: typeof error.param === 'string' ? error.param : null,
    });
  }
}
