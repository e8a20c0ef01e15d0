/**
 * What the undici call (`undici-call.ts`) hands the transport port in its shapes: response headers
 * as one flat record, a whole body as text, failures as `TransportError`s.
 */
import type { Cancellation } from '../shared/cancellation.js';
import { TransportError } from './http.js';

/** An error's message, whatever was thrown. */
export function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Lower-cased header names; repeated headers joined with ', '. */
export function flattenHeaders(raw: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  // for-in over undici's plain object: Object.entries allocated a pair per header per response.
  for (const name in raw) {
    const value = raw[name];
    if (value === undefined || !Object.hasOwn(raw, name)) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/**
 * A whole body's bytes as UTF-8 text, a leading byte-order mark dropped: what undici's
 * `body.text()` and a streaming `TextDecoder` (`readText`) both gave before
 * (test/property/undici-body.test.ts checks the three agree).
 */
export function decodeBody(chunks: readonly Buffer[], length: number): string {
  if (length === 0) return '';
  const buffer = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, length);
  const start = buffer.length > 2 && buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf ? 3 : 0;
  return buffer.toString('utf8', start);
}

/** The TransportError for a body that failed while it was read. */
export function bodyError(err: unknown, signal: Cancellation | AbortSignal): TransportError {
  if (err instanceof TransportError) return err;
  if (signal.aborted) return new TransportError('aborted', 'request aborted', { cause: signal.reason });
  return new TransportError('body', `response body failed: ${describe(err)}`, { cause: err });
}
