/**
 * What the undici call (`undici-call.ts`) hands the transport port in its shapes: response headers
 * as one flat record, a whole body as text, failures as `TransportError`s.
 */
import type { Cancellation } from '../shared/cancellation.js';
import { TransportError } from './http.js';
import { undici } from './undici-lib.js';

/** An error's message, whatever was thrown. */
export function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The response's raw header lines (undici's `[name, value, …]`, Buffers) as one flat record: names
 * as undici's `parseHeaders` writes them (its `headerNameToString`: lower-cased, well-known ones
 * interned), values as latin1 text, a repeated header's values joined with ', ' in order, a
 * `__proto__` line dropped. The record undici's `parseHeaders` followed by the flattening of its
 * arrays gave (test/property/undici-headers.test.ts), built as one object instead of two.
 */
export function headersOf(raw: readonly (Buffer | string)[]): Record<string, string> {
  const out: Record<string, string> = {};
  const nameOf = undici().util.headerNameToString;
  for (let i = 0; i < raw.length; i += 2) {
    const name = nameOf(raw[i]);
    const line = raw[i + 1];
    const value = typeof line === 'string' ? line : line.toString('latin1');
    if (Object.hasOwn(out, name)) out[name] = `${out[name]}, ${value}`;
    else if (name !== '__proto__') out[name] = value;
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
