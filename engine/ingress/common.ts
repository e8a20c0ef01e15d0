/** What the ingress translators share: the problem shape, type names, reading the engine's SSE frames. */
import type { ChatCompletionChunk } from '../providers/openai-types.js';
import { SseParser } from '../providers/sse.js';
import { isRecord } from '../shared/guards.js';

/** A request an ingress cannot translate: a 400 of the catalogue, with the offending field. */
export interface IngressProblem {
  readonly code: 'invalid_request' | 'unsupported_feature';
  readonly message: string;
  readonly param: string | null;
}

export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

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
 * What both stream writers (Messages, Responses) do with a chat chunk: the first one starts the
 * answer, usage and the finish reason are kept for the end, and each delta's text, refusal and
 * tool-call parts become the API's events. Subclasses say what each part becomes.
 */
export abstract class ChatChunkWriter {
  protected started = false;
  protected ended = false;
  protected finishReason: string | null = null;
  protected usage: unknown = null;

  protected abstract start(chunk: Record<string, unknown>, out: string[]): void;
  protected abstract text(delta: string, out: string[]): void;
  protected abstract refusal(delta: string, out: string[]): void;
  protected abstract toolCall(delta: Record<string, unknown>, out: string[]): void;

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
