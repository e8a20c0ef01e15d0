/**
 * Server-sent events (WHATWG HTML §9.2): an incremental parser from bytes to events and the
 * serialiser for the frames Switchyard sends. The parser never holds more than one line plus one
 * event's data, and refuses lines longer than `maxLineLength` so a hostile upstream cannot make it
 * buffer without bound.
 */

import { Utf8Stream } from './utf8-stream.js';

export interface SseEvent {
  /** The `event:` field; 'message' when absent. */
  event: string;
  /** The `data:` lines joined with '\n'. */
  data: string;
  id: string | null;
}

export class SseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SseError';
  }
}

export interface SseParserOptions {
  /** Longest accepted line, in UTF-16 code units. */
  maxLineLength?: number;
}

const LF = 10;

export class SseParser {
  /** TextDecoder's streaming text, without its ICU converter (utf8-stream.ts). */
  private readonly decoder = new Utf8Stream();
  private readonly maxLineLength: number;
  private line = '';
  /** The previous chunk ended in CR: a leading LF in the next one belongs to the same break. */
  private pendingCR = false;
  /**
   * The event's first `data:` line, and the lines after it when there are more (rare: JSON from
   * `JSON.stringify` has no line break). Not one array per event: an array made per event and
   * grown by its first push was a fifth of what the parser allocated per event.
   */
  private data: string | null = null;
  private moreData: string[] | null = null;
  private event = '';
  private id: string | null = null;

  constructor(options: SseParserOptions = {}) {
    this.maxLineLength = options.maxLineLength ?? 1 << 20;
  }

  /** Feeds bytes; returns the events completed by them. */
  push(bytes: Uint8Array): SseEvent[] {
    return this.feed(this.decoder.decode(bytes));
  }

  /** Feeds already-decoded text. */
  pushText(text: string): SseEvent[] {
    return this.feed(text);
  }

  /**
   * Ends the input. Per the spec an event not terminated by a blank line is discarded; a trailing
   * unterminated line is still processed as a field first, and then dropped with its event.
   */
  end(): SseEvent[] {
    const rest = this.decoder.end();
    const events = rest === '' ? [] : this.feed(rest);
    this.line = '';
    this.resetEvent();
    return events;
  }

  /**
   * Line ends are found with `indexOf` (native) rather than a loop over every character, and CR
   * only when the text has one: an upstream read of fifty events is scanned in a few calls.
   */
  private feed(text: string): SseEvent[] {
    const events: SseEvent[] = [];
    const length = text.length;
    let start = 0;
    if (this.pendingCR && length > 0 && text.charCodeAt(0) === LF) start = 1;
    this.pendingCR = false;
    let nextCR = text.indexOf('\r', start);
    let nextLF = text.indexOf('\n', start);
    while (nextLF !== -1 || nextCR !== -1) {
      const atCR = nextLF === -1 || (nextCR !== -1 && nextCR < nextLF);
      const end = atCR ? nextCR : nextLF;
      const line = this.line === '' ? text.slice(start, end) : this.line + text.slice(start, end);
      this.line = '';
      this.checkLength(line.length);
      const event = this.processLine(line);
      if (event !== null) events.push(event);
      start = end + 1;
      if (atCR) {
        // CRLF is one break; a CR at the very end may be followed by an LF in the next chunk.
        if (start < length) {
          if (text.charCodeAt(start) === LF) start++;
        } else {
          this.pendingCR = true;
        }
        nextCR = text.indexOf('\r', start);
        if (nextLF !== -1 && nextLF < start) nextLF = text.indexOf('\n', start);
      } else {
        nextLF = text.indexOf('\n', start);
      }
    }
    if (start < length) {
      this.line += text.slice(start);
      this.checkLength(this.line.length);
    }
    return events;
  }

  private checkLength(length: number): void {
    if (length > this.maxLineLength) {
      throw new SseError(`SSE line longer than ${this.maxLineLength} characters`);
    }
  }

  private processLine(line: string): SseEvent | null {
    if (line === '') return this.dispatch();
    if (line.charCodeAt(0) === 58 /* ':' comment */) return null;
    const colon = line.indexOf(':');
    // The field name is compared in place (no string of its own per line).
    const fieldLength = colon === -1 ? line.length : colon;
    const value =
      colon === -1 ? '' : line.charCodeAt(colon + 1) === 32 ? line.slice(colon + 2) : line.slice(colon + 1);
    if (fieldLength === 4 && line.startsWith('data')) {
      if (this.data === null) this.data = value;
      else if (this.moreData === null) this.moreData = [value];
      else this.moreData.push(value);
    } else if (fieldLength === 5 && line.startsWith('event')) {
      this.event = value;
    } else if (fieldLength === 2 && line.startsWith('id')) {
      if (!value.includes('\0')) this.id = value;
    }
    // `retry` and unknown fields are ignored: reconnection is not ours to do.
    return null;
  }

  private dispatch(): SseEvent | null {
    if (this.data === null) {
      this.resetEvent();
      return null;
    }
    const data = this.moreData === null ? this.data : `${this.data}\n${this.moreData.join('\n')}`;
    const event: SseEvent = { event: this.event || 'message', data, id: this.id };
    this.resetEvent();
    return event;
  }

  private resetEvent(): void {
    this.data = null;
    this.moreData = null;
    this.event = '';
  }
}

/** Parses a byte stream into events. Throws `SseError` for an over-long line. */
export async function* parseSse(
  source: AsyncIterable<Uint8Array>,
  options?: SseParserOptions,
): AsyncGenerator<SseEvent> {
  const parser = new SseParser(options);
  for await (const bytes of source) {
    for (const event of parser.push(bytes)) yield event;
  }
  for (const event of parser.end()) yield event;
}

/**
 * One SSE frame. Line breaks inside `data` become separate `data:` lines, so any string survives
 * the round trip (JSON from `JSON.stringify` has none).
 *
 * @example
 * sseFrame(JSON.stringify(chunk)) // 'data: {...}\n\n'
 * sseFrame('[DONE]')              // 'data: [DONE]\n\n'
 */
export function sseFrame(data: string, event?: string): string {
  const head = event === undefined ? '' : `event: ${event}\n`;
  if (!/[\r\n]/.test(data)) return `${head}data: ${data}\n\n`;
  return `${head}${data
    .split(/\r\n|\r|\n/)
    .map((line) => `data: ${line}\n`)
    .join('')}\n`;
}
