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
 * The `data` of the engine's SSE frames, in order. The engine writes whole frames, one per
 * string, but nothing here depends on it: a frame split across strings is reassembled.
 */
export class EventParser {
  private readonly parser = new SseParser();

  push(frame: string): string[] {
    return this.parser.pushText(frame).map((event) => event.data);
  }
}
