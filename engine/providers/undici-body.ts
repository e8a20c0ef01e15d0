/**
 * undici response bodies behind the transport port: a response whose body is bounded by
 * `maxResponseBytes`, reports failures as `TransportError`s, and is drained (not destroyed) when
 * its reader stops early, so its keep-alive connection goes back to the pool.
 */
import type { Pool } from 'undici';
import { type HttpRequest, type HttpResponse, readText, TransportError } from './http.js';

/** undici's response body: a Readable with undici's own whole-body readers. */
export type UndiciBody = Awaited<ReturnType<Pool['request']>>['body'];

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

/** The TransportError for a body that failed while it was read. */
function bodyError(err: unknown, req: HttpRequest): TransportError {
  if (err instanceof TransportError) return err;
  if (req.signal.aborted)
    return new TransportError('aborted', 'request aborted', { cause: req.signal.reason });
  return new TransportError('body', `response body failed: ${describe(err)}`, { cause: err });
}

/**
 * One upstream response. A class, not an object of closures: the request path builds one per
 * call. `body` is wrapped on first use; `text()` on an untouched body with a Content-Length
 * reads it in one piece through undici (the length is checked against the bound first, and
 * undici fails a body longer than its Content-Length), skipping the per-chunk async iteration.
 */
export class UndiciResponse implements HttpResponse {
  #bounded: AsyncGenerator<Uint8Array> | null = null;

  constructor(
    readonly status: number,
    readonly headers: Record<string, string>,
    private readonly raw: UndiciBody,
    private readonly req: HttpRequest,
  ) {}

  get body(): AsyncIterable<Uint8Array> {
    this.#bounded ??= boundedBody(this.raw, this.req);
    return this.#bounded;
  }

  async text(): Promise<string> {
    const declared = this.headers['content-length'];
    if (this.#bounded !== null || declared === undefined || !/^\d+$/.test(declared)) {
      return readText(this.body);
    }
    if (Number(declared) > this.req.maxResponseBytes) {
      discard(this.raw);
      throw new TransportError('too_large', `response body exceeds ${this.req.maxResponseBytes} bytes`);
    }
    try {
      return await this.raw.text();
    } catch (err) {
      discard(this.raw);
      throw bodyError(err, this.req);
    }
  }
}

/** A body left unread when its consumer stops is drained this far to keep the connection... */
const DRAIN_LIMIT_BYTES = 64 * 1024;
/** ...for at most this long; past either bound it is destroyed (the connection closes). */
const DRAIN_TIMEOUT_MS = 1_000;

/**
 * Wraps a body stream: bounds its size and turns errors into TransportErrors.
 *
 * A consumer that stops early without failing (an SSE reader returns at `[DONE]` before the
 * body's end was emitted) must not destroy the body: destroying an unfinished body costs an
 * AbortError with its stack trace (dear under source maps) and, when the response has not fully
 * arrived, undici aborts it and closes the pooled connection. The rest is drained instead,
 * within {@link DRAIN_LIMIT_BYTES} and {@link DRAIN_TIMEOUT_MS}. A failure (too_large, a broken
 * body) destroys it at once.
 */
async function* boundedBody(source: UndiciBody, req: HttpRequest): AsyncGenerator<Uint8Array> {
  let received = 0;
  let failed = false;
  try {
    for await (const chunk of source.iterator({ destroyOnReturn: false }) as AsyncIterable<Uint8Array>) {
      received += chunk.byteLength;
      if (received > req.maxResponseBytes) {
        throw new TransportError('too_large', `response body exceeds ${req.maxResponseBytes} bytes`);
      }
      yield chunk;
    }
  } catch (err) {
    failed = true;
    discard(source);
    throw bodyError(err, req);
  } finally {
    if (!failed && !source.readableEnded) drain(source, req.signal);
  }
}

/** Destroys a body (closing its connection); the error undici then emits has no one to tell. */
export function discard(source: UndiciBody): void {
  source.on('error', () => undefined);
  source.destroy();
}

/** Reads and drops the rest of a body so its connection returns to the pool. */
function drain(source: UndiciBody, signal: AbortSignal): void {
  if (signal.aborted) {
    discard(source);
    return;
  }
  const timer = setTimeout(() => discard(source), DRAIN_TIMEOUT_MS);
  timer.unref();
  source
    .dump({ signal, limit: DRAIN_LIMIT_BYTES })
    .catch(() => undefined)
    .finally(() => clearTimeout(timer));
}
