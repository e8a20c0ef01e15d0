/**
 * The native batch port: a provider's own batch API (OpenAI `/v1/batches`, Anthropic Message
 * Batches, the mock's), used by the job runner for routes that declare `batch: { native: true }`.
 * Requests are encoded one line at a time by the provider (`encode`, translated for Anthropic),
 * the runner writes them to a file and hands it over as a byte stream (`submit`, never held in
 * memory), polls the batch (`poll`), then streams its results (`results`) line by line.
 *
 * Every call goes through the provider's transport with its credentials and headers exactly as
 * its ordinary calls do; failures are classified, scrubbed `ProviderError` values (never keys),
 * except the abort signal's reason, which is rethrown.
 */
import type { Clock } from '../shared/clock.js';
import type { Usage } from '../types.js';
import { classifyException, providerError, rethrowIfAborted } from './classify.js';
import type { ResponseBody } from './openai-types.js';
import type { Scrubber } from './scrub.js';
import type { HttpResponse, Transport } from './transport.js';
import type { ProviderError, ProviderSpec } from './types.js';
import { httpFailure, isSuccess } from './upstream.js';

export type BatchResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: ProviderError };

export interface BatchSubmission {
  /** The batch's input: the lines `encode` returned, each followed by `\n`, streamed. */
  readonly open: () => AsyncIterable<Uint8Array>;
  /** Its size in bytes (newlines included). */
  readonly bytes: number;
  /** Its number of lines. */
  readonly count: number;
  readonly signal: AbortSignal;
  readonly connectTimeoutMs: number;
}

/** A provider batch's state: still running, or ended (its results can be read). */
export type BatchState =
  | { readonly ended: false; readonly status: string }
  | {
      readonly ended: true;
      /** The provider's own final status (`completed`, `failed`, `expired`, `cancelled`, `ended`). */
      readonly status: string;
      /** Why the whole batch failed (OpenAI `errors`), when it did. */
      readonly message: string | null;
    };

/** One request's result: an answer in OpenAI shape, or why it has none (it runs again elsewhere). */
export type BatchItem =
  | {
      readonly customId: string;
      readonly ok: true;
      readonly body: ResponseBody;
      readonly usage: Usage | null;
    }
  | { readonly customId: string; readonly ok: false; readonly reason: string };

export interface NativeBatchApi {
  /**
   * One line of the provider's batch input for a chat request (without the newline), or why the
   * request cannot be sent in a batch (a translation failure). `customId` matches `^[A-Za-z0-9_-]{1,60}$`.
   */
  encode(
    customId: string,
    body: Readonly<Record<string, unknown>>,
    upstreamModel: string,
  ): { readonly ok: true; readonly line: string } | { readonly ok: false; readonly message: string };
  /** Uploads the input and creates the batch; its id. */
  submit(submission: BatchSubmission): Promise<BatchResult<{ readonly id: string }>>;
  poll(id: string, signal: AbortSignal, connectTimeoutMs: number): Promise<BatchResult<BatchState>>;
  /**
   * The results of an ended batch, streamed; every request appears at most once (a request the
   * provider never reports has no result). Iteration throws a `ProviderFailure` when the download
   * fails, and the signal's reason when aborted.
   */
  results(id: string, signal: AbortSignal, connectTimeoutMs: number): AsyncIterable<BatchItem>;
  /** Asks the provider to cancel the batch (it ends later, with what had finished). */
  cancel(id: string, signal: AbortSignal, connectTimeoutMs: number): Promise<BatchResult<void>>;
}

/** Result files are streamed, never held whole: this only bounds a runaway download. */
export const MAX_RESULTS_BYTES = 16 * 1024 ** 3;
/** Longest result line accepted (one answer and its envelope). */
export const MAX_RESULT_LINE_BYTES = 64 * 1024 * 1024;
/** Largest JSON answer of a batch call that is not a file (a batch or file object). */
const MAX_OBJECT_BYTES = 4 * 1024 * 1024;

export interface BatchHttp {
  readonly transport: Transport;
  readonly spec: ProviderSpec;
  readonly scrubber: Scrubber;
  readonly clock: Clock;
}

export interface BatchRequest {
  readonly url: string;
  readonly method: 'GET' | 'POST';
  readonly headers: Record<string, string>;
  readonly body?: string;
  readonly upload?: AsyncIterable<Uint8Array>;
  readonly signal: AbortSignal;
  readonly connectTimeoutMs: number;
  readonly maxBytes?: number;
}

/** Sends one request of a batch API; a non-2xx answer or no answer is a classified error. */
export async function batchSend(http: BatchHttp, req: BatchRequest): Promise<BatchResult<HttpResponse>> {
  let res: HttpResponse;
  try {
    res = await http.transport.request({
      url: req.url,
      method: req.method,
      headers: req.headers,
      ...(req.body === undefined ? {} : { body: req.body }),
      ...(req.upload === undefined ? {} : { upload: req.upload }),
      signal: req.signal,
      connectTimeoutMs: req.connectTimeoutMs,
      maxResponseBytes: req.maxBytes ?? MAX_OBJECT_BYTES,
      pool: http.spec.pool,
    });
  } catch (err) {
    rethrowIfAborted(req.signal);
    return { ok: false, error: http.scrubber.error(classifyException(err, 'request')) };
  }
  if (!isSuccess(res.status)) {
    return { ok: false, error: await httpFailure(res, req, http.scrubber, http.clock) };
  }
  return { ok: true, value: res };
}

/** Sends a request whose answer is one JSON object. */
export async function batchJson(
  http: BatchHttp,
  req: BatchRequest,
): Promise<BatchResult<Readonly<Record<string, unknown>>>> {
  const sent = await batchSend(http, req);
  if (!sent.ok) return sent;
  let text: string;
  try {
    text = await sent.value.text();
  } catch (err) {
    rethrowIfAborted(req.signal);
    return { ok: false, error: http.scrubber.error(classifyException(err, 'body')) };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = null;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return {
      ok: false,
      error: http.scrubber.error(
        classifyException(new Error('the batch API answered something that is not a JSON object'), 'body'),
      ),
    };
  }
  return { ok: true, value: parsed as Record<string, unknown> };
}

/** A create call's answer as the id it gives; an answer without one is malformed (`what` says which). */
export function answeredId(
  answer: BatchResult<Readonly<Record<string, unknown>>>,
  what: string,
): BatchResult<{ readonly id: string }> {
  if (!answer.ok) return answer;
  const id = answer.value.id;
  if (typeof id !== 'string')
    return { ok: false, error: providerError('malformed', `${what} answered no id`) };
  return { ok: true, value: { id } };
}

/** The headers of a body-less request: the provider's own, without `content-type`. */
export function withoutContentType(headers: Record<string, string>): Record<string, string> {
  delete headers['content-type'];
  return headers;
}

/** `POST <batchUrl>/cancel` with an empty JSON body, as both OpenAI and Anthropic take it. */
export async function cancelBatch(
  http: BatchHttp,
  batchUrl: string,
  headers: Record<string, string>,
  signal: AbortSignal,
  connectTimeoutMs: number,
): Promise<BatchResult<void>> {
  const sent = await batchJson(http, {
    url: `${batchUrl}/cancel`,
    method: 'POST',
    headers,
    body: '{}',
    signal,
    connectTimeoutMs,
  });
  return sent.ok ? { ok: true, value: undefined } : sent;
}

/**
 * The lines of a streamed body, decoded as UTF-8, in bounded memory: a line longer than
 * `maxLineBytes` is skipped (reported as null), never buffered whole. Empty lines are dropped.
 */
export async function* bodyLines(
  body: AsyncIterable<Uint8Array>,
  maxLineBytes = MAX_RESULT_LINE_BYTES,
): AsyncGenerator<string | null> {
  let parts: Uint8Array[] = [];
  let size = 0;
  let tooLong = false;
  const flush = (): string | null => {
    const text = tooLong ? null : Buffer.concat(parts, size).toString('utf8').replace(/\r$/, '');
    parts = [];
    size = 0;
    tooLong = false;
    return text;
  };
  const take = (piece: Uint8Array): void => {
    if (tooLong || piece.length === 0) return;
    if (size + piece.length > maxLineBytes) {
      tooLong = true;
      parts = [];
      size = 0;
      return;
    }
    parts.push(piece);
    size += piece.length;
  };
  for await (const chunk of body) {
    let from = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, from);
      if (nl < 0) break;
      take(chunk.subarray(from, nl));
      const wasLong = tooLong;
      const line = flush();
      if (wasLong || (line !== null && line.trim() !== '')) yield line;
      from = nl + 1;
    }
    take(chunk.subarray(from));
  }
  if (size > 0 || tooLong) {
    const wasLong = tooLong;
    const line = flush();
    if (wasLong || (line !== null && line.trim() !== '')) yield line;
  }
}

/** A random multipart boundary. */
export function multipartBoundary(): string {
  return `switchyard-${crypto.randomUUID()}`;
}

/** A string as UTF-8 bytes. */
export function utf8(text: string): Uint8Array {
  return Buffer.from(text, 'utf8');
}
