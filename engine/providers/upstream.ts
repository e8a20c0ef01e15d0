/**
 * What the HTTP adapters (`openai.ts`, `anthropic.ts`) share: the request headers, sending the
 * request, an error answer as a scrubbed `ProviderError`, and a broken stream as a
 * `ProviderFailure`. Every failure is a value, except the abort signal's reason (rethrown).
 */

import type { Cancellation } from '../shared/cancellation.js';
import type { Clock } from '../shared/clock.js';
import { classifyException, classifyHttpError, rethrowIfAborted } from './classify.js';
import type { PoolSettings } from './pool.js';
import type { Scrubber } from './scrub.js';
import type { HttpRequest, HttpResponse, Transport } from './transport.js';
import {
  type ProviderCallRequest,
  type ProviderError,
  type ProviderErrorBody,
  ProviderFailure,
  type ProviderSpec,
} from './types.js';

/** JSON in, JSON or an event stream out, with the provider's `auth` headers; the spec's own headers win. */
export function requestHeaders(
  spec: ProviderSpec,
  stream: boolean,
  auth: Readonly<Record<string, string>>,
): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: stream ? 'text/event-stream' : 'application/json',
    // The transport reads bodies as sent and decodes no content coding, and a request naming none
    // lets a server pick any (RFC 9110 §12.5.3): a gzipped answer would then fail as `malformed`.
    'accept-encoding': 'identity',
    ...auth,
  };
  for (const [name, value] of Object.entries(spec.headers)) headers[name.toLowerCase()] = value;
  return headers;
}

export type Sent = { ok: true; res: HttpResponse } | { ok: false; error: ProviderError };

/**
 * The transport request of a provider call. A class, so that `signal` is a getter on the
 * prototype that reads the call's own (lazy) signal only when the transport asks: the undici
 * transport listens to `cancel` and never does on the JSON path.
 */
class PostRequest implements HttpRequest {
  readonly method = 'POST';
  readonly cancel: Cancellation | undefined;
  readonly connectTimeoutMs: number;

  constructor(
    readonly url: string,
    readonly headers: Record<string, string>,
    readonly body: string,
    private readonly call: ProviderCallRequest,
    readonly maxResponseBytes: number,
    readonly pool: PoolSettings | undefined,
  ) {
    this.cancel = call.cancel;
    this.connectTimeoutMs = call.connectTimeoutMs;
  }

  get signal(): AbortSignal {
    return this.call.signal;
  }
}

/** POSTs `body` to `url` for `req`; not reaching the upstream is a classified error. */
export async function post(
  transport: Transport,
  spec: ProviderSpec,
  req: ProviderCallRequest,
  url: string,
  headers: Record<string, string>,
  body: string,
): Promise<Sent> {
  try {
    const res = await transport.request(
      new PostRequest(
        url,
        req.headers === undefined ? headers : { ...headers, ...req.headers },
        body,
        req,
        spec.maxResponseBytes,
        spec.pool,
      ),
    );
    return { ok: true, res };
  } catch (err) {
    rethrowIfAborted(req.signal);
    return { ok: false, error: classifyException(err, 'request') };
  }
}

/**
 * A success answer's body as text; a body that breaks while it is read is a classified error.
 * `req.signal` is read only then (it may be a getter that makes the signal).
 */
export async function successText(
  res: HttpResponse,
  req: { readonly signal: AbortSignal },
): Promise<{ ok: true; text: string } | { ok: false; error: ProviderError }> {
  try {
    return { ok: true, text: await res.text() };
  } catch (err) {
    rethrowIfAborted(req.signal);
    return { ok: false, error: classifyException(err, 'body') };
  }
}

export function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

/** Reads an error body; a broken one reads as empty so the status still classifies. */
async function errorText(res: HttpResponse, req: { readonly signal: AbortSignal }): Promise<string> {
  try {
    return await res.text();
  } catch {
    rethrowIfAborted(req.signal);
    return '';
  }
}

/**
 * A non-2xx answer as a `ProviderError`. The body is scrubbed before anything is cut from it (a
 * message is the body's first 500 characters when it is not JSON), and the error again once
 * parsed (a JSON-escaped echo reads as the key). `ownBody` may keep the upstream's own error body
 * (null: the classified body). `req.signal` is read only if the body breaks (it may be a getter
 * that makes the signal: a failed attempt, the common case of a fallback, then makes none).
 */
export async function httpFailure(
  res: HttpResponse,
  req: { readonly signal: AbortSignal },
  scrubber: Scrubber,
  clock: Clock,
  ownBody?: (text: string) => ProviderErrorBody | null,
): Promise<ProviderError> {
  const text = scrubber.text(await errorText(res, req));
  const error = classifyHttpError(res.status, text, res.headers, clock.now());
  const body = ownBody?.(text) ?? null;
  return scrubber.error(body === null ? error : { ...error, body });
}

/**
 * What broke a stream's body, classified (and scrubbed when `scrubber` is given). `call.signal`
 * is read only here, on a failure: it may be a getter that makes the call's AbortSignal, which a
 * stream that ends well then never makes.
 */
export function streamFailure(
  err: unknown,
  call: { readonly signal: AbortSignal },
  scrubber?: Scrubber,
): ProviderFailure {
  rethrowIfAborted(call.signal);
  const failure = classifyException(err, 'body');
  return new ProviderFailure(scrubber === undefined ? failure : scrubber.error(failure));
}
