/** What the ingress translators share: the problem shape, type names, reading the engine's SSE frames. */
import { SseParser } from '../providers/sse.js';

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
