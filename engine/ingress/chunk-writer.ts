/**
 * What the ingress stream writers (Messages, Responses) share: reading the engine's SSE frames,
 * and the skeleton that turns their chat chunks, `[DONE]` and in-band errors into the API's events.
 */
import type { ChatCompletionChunk } from '../providers/openai-types.js';
import { SseParser } from '../providers/sse.js';
import { isRecord } from '../shared/guards.js';

/**
 * The `data` of the engine's SSE frames, in order. The engine writes whole one-line frames
 * (`data: ...\n\n`), one per string, and those are cut out directly; anything else (a frame
 * split across strings, several lines) goes through the SSE parser, so nothing depends on it.
 */
export class EventParser {
  private readonly parser = new SseParser();
  private partial = false;

  push(frame: string): string[] {
    const end = frame.length - 2;
    if (
      !this.partial &&
      frame.startsWith('data: ') &&
      frame.charCodeAt(end) === 10 &&
      frame.charCodeAt(end + 1) === 10 &&
      frame.indexOf('\n') === end &&
      frame.indexOf('\r') < 0
    ) {
      return [frame.slice(6, end)];
    }
    const events = this.parser.pushText(frame).map((event) => event.data);
    // Whatever the parser holds (a frame not yet ended) keeps the next strings on this path.
    this.partial = !frame.endsWith('\n\n');
    return events;
  }
}

/**
 * What both stream writers (Messages, Responses) do with the engine's frames: each chat chunk in
 * turn (the first one starts the answer, usage and the finish reason are kept for the end, and
 * each delta's text, refusal and tool-call parts become the API's events), `[DONE]` as the end
 * of a complete answer, an error body as the in-band error; nothing after the end. Subclasses
 * say what each part becomes.
 */
export abstract class ChatChunkWriter {
  protected started = false;
  protected ended = false;
  protected finishReason: string | null = null;
  protected usage: unknown = null;
  private readonly parser = new EventParser();

  protected abstract start(chunk: Record<string, unknown>, out: string[]): void;
  protected abstract text(delta: string, out: string[]): void;
  protected abstract refusal(delta: string, out: string[]): void;
  protected abstract toolCall(delta: Record<string, unknown>, out: string[]): void;
  /** The events that end a complete answer (the answer has started). */
  protected abstract end(out: string[]): void;
  /** The API's error event for an in-band error: the body's `error` (or `{}`) and the body. */
  protected abstract errorEvent(error: Record<string, unknown>, body: unknown): string;

  /** The end of a complete answer; nothing once the stream has ended. */
  finish(): string[] {
    const out: string[] = [];
    if (this.ended) return out;
    this.ended = true;
    if (!this.started) this.start({}, out);
    this.end(out);
    return out;
  }

  /** An in-band error (the engine's OpenAI-shaped error body) → the API's `error` event. */
  fail(body: unknown): string[] {
    if (this.ended) return [];
    this.ended = true;
    return [this.errorEvent(isRecord(body) && isRecord(body.error) ? body.error : {}, body)];
  }

  /** One of the engine's SSE frames (`data: {chunk}`, `data: [DONE]`, `data: {error}`) → events. */
  frame(frame: string): string[] {
    const out: string[] = [];
    for (const data of this.parser.push(frame)) {
      if (data === '[DONE]') {
        out.push(...this.finish());
        continue;
      }
      let parsed: unknown = null;
      try {
        parsed = JSON.parse(data);
      } catch {
        // not a chunk: nothing to relay
      }
      if (isRecord(parsed) && parsed.error !== undefined) out.push(...this.fail(parsed));
      else if (isRecord(parsed)) out.push(...this.chunk(parsed));
    }
    return out;
  }

  /** One chat chunk → the events it gives. */
  chunk(chunk: Readonly<ChatCompletionChunk> | Record<string, unknown>): string[] {
    const out: string[] = [];
    if (!this.started) this.start(chunk as Record<string, unknown>, out);
    if (isRecord(chunk.usage)) this.usage = chunk.usage;
    const choices = Array.isArray(chunk.choices) ? chunk.choices : [];
    for (const choice of choices) {
      if (!isRecord(choice)) continue;
      const delta = isRecord(choice.delta) ? choice.delta : {};
      if (typeof delta.content === 'string' && delta.content !== '') this.text(delta.content, out);
      if (typeof delta.refusal === 'string' && delta.refusal !== '') this.refusal(delta.refusal, out);
      if (Array.isArray(delta.tool_calls))
        for (const call of delta.tool_calls) if (isRecord(call)) this.toolCall(call, out);
      if (typeof choice.finish_reason === 'string') this.finishReason = choice.finish_reason;
    }
    return out;
  }
}
