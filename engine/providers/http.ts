/**
 * The transport port: the HTTP request a provider makes, the response it reads, and how a
 * transport fails. `transport.ts` implements it on undici; tests implement it with fakes.
 */
import type { Cancellation } from '../shared/cancellation.js';
import type { PoolSettings } from './pool.js';

export interface HttpRequest {
  url: string;
  method: 'POST' | 'GET';
  headers: Record<string, string>;
  body?: string;
  /**
   * A body streamed rather than held in memory (a batch upload), used when `body` is absent; send
   * its `content-length` in `headers`. Transports that cannot stream may read it whole.
   */
  upload?: AsyncIterable<Uint8Array>;
  signal: AbortSignal;
  /**
   * Optional: the same cancellation as `signal`. A transport that can listen to it (undici's does)
   * does so and reads `signal` only when it must, so that `signal`, when a getter, is never made.
   */
  cancel?: Cancellation;
  connectTimeoutMs: number;
  /** The body iterator (and `text()`) throws `TransportError('too_large')` past this many bytes. */
  maxResponseBytes: number;
  /** The provider's pool settings; absent: the transport's own defaults. */
  pool?: PoolSettings;
}

export interface HttpResponse {
  status: number;
  /** Lower-cased names; repeated headers joined with ', '. */
  headers: Record<string, string>;
  /** Streamed, never buffered whole. Iterate once. */
  body: AsyncIterable<Uint8Array>;
  /** Reads the rest of `body` as UTF-8. */
  text(): Promise<string>;
}

export interface Transport {
  request(req: HttpRequest): Promise<HttpResponse>;
  close(): Promise<void>;
}

/**
 * - `connect`: refused, reset before the headers, connect timeout, DNS failure, no free
 *   connection in the pool within the connect timeout.
 * - `aborted`: the request's signal fired (the signal's reason is the `cause`).
 * - `too_large`: the body exceeded `maxResponseBytes`.
 * - `body`: the connection broke while the body was being read.
 */
export type TransportErrorCode = 'connect' | 'aborted' | 'too_large' | 'body';

export class TransportError extends Error {
  constructor(
    readonly code: TransportErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TransportError';
  }
}

/** Reads a byte stream to the end as UTF-8. */
export async function readText(body: AsyncIterable<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of body) text += decoder.decode(chunk, { stream: true });
  return text + decoder.decode();
}
