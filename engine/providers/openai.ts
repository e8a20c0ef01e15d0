/**
 * The OpenAI-compatible adapter: OpenAI, Azure OpenAI, vLLM, Ollama and anything else speaking
 * `/chat/completions` and `/embeddings`. Bodies pass through unchanged except `model`, the prefill
 * and `stream_options.include_usage`, which is always requested upstream on streams so that usage
 * can be accounted; the attempt loop drops the usage chunk when the caller did not ask for it
 * (see `callerWantsStreamUsage` and `isUsageOnlyChunk`).
 */

import { isRecord } from '../shared/guards.js';
import { RESPONSES_ONLY_KEY } from '../shared/responses-only.js';
import { addPromptDetails } from '../shared/usage.js';
import type { Endpoint, Usage } from '../types.js';
import { classifyErrorBody, providerError, readErrorBody } from './classify.js';
import { type ChunkFrame, scanChunk } from './openai-frames.js';
import { callResponses, isResponsesPassthrough } from './openai-responses.js';
import type { ChatCompletionChunk, ResponseBody } from './openai-types.js';
import { type Scrubber, scrubberFor } from './scrub.js';
import { type SseEvent, SseParser } from './sse.js';
import type { HttpResponse } from './transport.js';
import {
  type Provider,
  type ProviderCallRequest,
  type ProviderCallResult,
  type ProviderDeps,
  type ProviderErrorBody,
  ProviderFailure,
  type ProviderSpec,
  type StreamItem,
  type StreamItemIterator,
} from './types.js';
import { httpFailure, isSuccess, post, requestHeaders, streamFailure, successText } from './upstream.js';

const ENDPOINT_PATHS: Readonly<Record<Endpoint, string>> = {
  chat: 'chat/completions',
  embeddings: 'embeddings',
};

export function openAIUrl(spec: ProviderSpec, endpoint: Endpoint, upstreamModel: string): string {
  const base = (spec.baseUrl ?? 'https://api.openai.com/v1').replace(/\/+$/, '');
  const path = ENDPOINT_PATHS[endpoint];
  if (spec.azure === null) return `${base}/${path}`;
  const deployment = encodeURIComponent(spec.azure.deployment ?? upstreamModel);
  return `${base}/openai/deployments/${deployment}/${path}?api-version=${encodeURIComponent(spec.azure.apiVersion)}`;
}

export function openAIHeaders(spec: ProviderSpec, stream: boolean): Record<string, string> {
  const auth: Record<string, string> = {};
  if (spec.apiKey !== null) {
    if (spec.azure !== null) auth['api-key'] = spec.apiKey;
    else auth.authorization = `Bearer ${spec.apiKey}`;
  }
  return requestHeaders(spec, stream, auth);
}

/**
 * The body sent upstream; `stream` overrides `req.stream` (taken as an argument rather than by
 * spreading `req`, whose lazy `signal` a spread would read, making the call's AbortSignal).
 */
export function openAIBody(req: ProviderCallRequest, stream = req.stream): Record<string, unknown> {
  const body: Record<string, unknown> = { ...req.body, model: req.upstreamModel };
  // Body `metadata` is what callers route on (`metadata.<k>`). OpenAI accepts it on chat
  // completions only together with `store: true`, so it goes upstream only then.
  if (body.metadata !== undefined && body.store !== true) delete body.metadata;
  // The mark of a Responses request (shared/responses-only.ts) is the engine's, never the upstream's.
  if (body[RESPONSES_ONLY_KEY] !== undefined) delete body[RESPONSES_ONLY_KEY];
  if (req.endpoint === 'embeddings') {
    // Embeddings never stream: neither `stream` nor `stream_options` goes upstream.
    delete body.stream;
    delete body.stream_options;
    return body;
  }
  if (stream) {
    body.stream = true;
    const options = isRecord(req.body.stream_options) ? req.body.stream_options : {};
    body.stream_options = { ...options, include_usage: true };
  } else {
    delete body.stream;
    delete body.stream_options;
  }
  if (req.prefill !== undefined && Array.isArray(req.body.messages)) {
    body.messages = [...req.body.messages, { role: 'assistant', content: req.prefill }];
  }
  return body;
}

/** OpenAI usage → engine Usage (cached and cache-write prompt tokens included when reported); null when absent or not numeric. */
export function usageFromOpenAI(raw: unknown): Usage | null {
  if (!isRecord(raw)) return null;
  const prompt = typeof raw.prompt_tokens === 'number' ? raw.prompt_tokens : null;
  const completion = typeof raw.completion_tokens === 'number' ? raw.completion_tokens : 0;
  if (prompt === null) return null;
  const total = typeof raw.total_tokens === 'number' ? raw.total_tokens : prompt + completion;
  return addPromptDetails(
    { promptTokens: prompt, completionTokens: completion, totalTokens: total },
    raw.prompt_tokens_details,
  );
}

/** The caller asked for the usage chunk itself (`stream_options.include_usage`). */
export function callerWantsStreamUsage(body: Readonly<Record<string, unknown>>): boolean {
  return isRecord(body.stream_options) && body.stream_options.include_usage === true;
}

/** The final `include_usage` chunk: no choices, only usage. */
export function isUsageOnlyChunk(chunk: ChatCompletionChunk): boolean {
  return chunk.choices.length === 0 && isRecord(chunk.usage);
}

function isChunk(value: unknown): value is ChatCompletionChunk {
  return isRecord(value) && Array.isArray(value.choices);
}

function isResponseBody(value: unknown, endpoint: Endpoint): value is ResponseBody {
  if (!isRecord(value)) return false;
  return endpoint === 'embeddings' ? Array.isArray(value.data) : Array.isArray(value.choices);
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** An error object where a success was expected (some servers answer 200 with `{ error }`). */
function inBandError(value: unknown): ProviderFailure | null {
  if (!isRecord(value) || value.error === undefined || value.error === null) return null;
  const info = readErrorBody(value);
  const message = info.message ?? 'upstream reported an error';
  return new ProviderFailure(
    providerError(classifyErrorBody(info) ?? 'server_error', message, {
      code: info.code,
      type: info.type ?? undefined,
    }),
  );
}

const DONE_ITEM: StreamItem = Object.freeze({ type: 'done' });

function parseChunk(data: string): ChatCompletionChunk {
  const parsed = parseJson(data);
  if (!parsed.ok)
    throw new ProviderFailure(providerError('malformed', 'upstream sent a stream chunk that is not JSON'));
  const inBand = inBandError(parsed.value);
  if (inBand !== null) throw inBand;
  if (!isChunk(parsed.value))
    throw new ProviderFailure(providerError('malformed', 'upstream stream chunk has no choices'));
  return parsed.value;
}

/**
 * OpenAI SSE → StreamItems. A stream that ends without `[DONE]` is complete if a finish_reason was
 * seen, otherwise cut. An in-band error's text goes through `scrubber` when one is given.
 */
export function openAIStreamItems(
  body: AsyncIterable<Uint8Array>,
  /** The call (or an AbortController): its `signal` is read only on a failure (see `streamFailure`). */
  call: { readonly signal: AbortSignal },
  scrubber?: Scrubber,
): StreamItemIterator & AsyncIterable<StreamItem> {
  return new OpenAIStreamReader(body, call, scrubber);
}

const END: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * The reader behind {@link openAIStreamItems}: a class rather than an async generator, so that
 * the events one upstream read completed are handed out without a promise each (`poll`). The
 * attempt loop takes those synchronously and races only a read that must wait for the network;
 * a generator (and the SSE generator under it) cost two promise hops per event.
 *
 * Events are parsed one at a time as they are taken, so a malformed event fails the stream only
 * after every event before it was delivered, as the generator did.
 */
class OpenAIStreamReader implements StreamItemIterator, AsyncIterable<StreamItem> {
  readonly #parser = new SseParser();
  readonly #source: AsyncIterator<Uint8Array>;
  /** Events received and not yet taken; `#next` indexes the first one. */
  #events: SseEvent[] = [];
  #next = 0;
  /** The source ended (or failed): it is not returned again. */
  #exhausted = false;
  /** `[DONE]` was taken, the source failed or the reader was returned: only END from now on. */
  #closed = false;
  #finished = false;
  /** Hand out canonical chunks as their text (`preferFrames`). */
  #frames = false;
  /** The last frame with a content string: the next chunk is checked against it first. */
  #template: ChunkFrame | null = null;

  constructor(
    body: AsyncIterable<Uint8Array>,
    private readonly call: { readonly signal: AbortSignal },
    private readonly scrubber: Scrubber | undefined,
  ) {
    this.#source = body[Symbol.asyncIterator]();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  poll(): IteratorResult<StreamItem> | undefined {
    if (this.#closed) return END;
    while (this.#next < this.#events.length) {
      const event = this.#events[this.#next++];
      if (event.data === '[DONE]') {
        this.#close();
        return { done: false, value: DONE_ITEM };
      }
      if (event.data === '') continue;
      if (this.#frames) {
        // Scanned, not parsed; a chunk the scan does not accept is parsed below, with its errors.
        const frame = scanChunk(event.data, this.#template);
        if (frame !== null) {
          if (frame.prefix !== null) this.#template = frame;
          if (frame.finish) this.#finished = true;
          return { done: false, value: { type: 'frame', frame } };
        }
      }
      let chunk: ChatCompletionChunk;
      try {
        chunk = parseChunk(event.data);
      } catch (err) {
        this.#fail();
        throw streamFailure(err, this.call, this.scrubber);
      }
      for (const choice of chunk.choices) if (choice.finish_reason != null) this.#finished = true;
      return { done: false, value: { type: 'chunk', chunk } };
    }
    if (!this.#exhausted) return undefined;
    this.#closed = true;
    if (!this.#finished) {
      throw new ProviderFailure(providerError('stream_cut', 'upstream stream ended before a finish_reason'));
    }
    return END;
  }

  async next(): Promise<IteratorResult<StreamItem>> {
    for (;;) {
      const ready = this.poll();
      if (ready !== undefined) return ready;
      let step: IteratorResult<Uint8Array>;
      try {
        step = await this.#source.next();
      } catch (err) {
        // A source that threw is finished: it is not returned (as for-await).
        this.#exhausted = true;
        this.#closed = true;
        throw streamFailure(err, this.call, this.scrubber);
      }
      if (this.#closed) return END; // returned while the read was pending
      try {
        if (step.done === true) {
          this.#exhausted = true;
          this.#events = this.#parser.end();
        } else {
          this.#events = this.#parser.push(step.value);
        }
        this.#next = 0;
      } catch (err) {
        this.#fail();
        throw streamFailure(err, this.call, this.scrubber);
      }
    }
  }

  preferFrames(): void {
    this.#frames = true;
  }

  async return(): Promise<IteratorResult<StreamItem>> {
    this.#close();
    return END;
  }

  /** Stops reading: the body, when not read to its end, is returned (drained, the connection reused). */
  #close(): void {
    this.#closed = true;
    this.#events = [];
    if (this.#exhausted) return;
    this.#exhausted = true;
    try {
      void Promise.resolve(this.#source.return?.()).catch(() => undefined);
    } catch {
      // A source that cannot be returned is left to the abort signal.
    }
  }

  /** A broken event or line: the body is returned, as for-await did when its loop threw. */
  #fail(): void {
    this.#close();
  }
}

/**
 * The upstream's own error body when it already has the OpenAI shape, kept whole (`param` and
 * any other field included): a policy that ends the request with this error returns the
 * provider's error unchanged (docs/design.md §2). Anything else gets the classified body.
 */
function openAIErrorBody(text: string): ProviderErrorBody | null {
  const parsed = parseJson(text);
  if (!parsed.ok || !isRecord(parsed.value)) return null;
  const err = parsed.value.error;
  if (!isRecord(err) || typeof err.message !== 'string' || typeof err.type !== 'string') return null;
  if (err.code !== null && typeof err.code !== 'string') return null;
  return { ...parsed.value, error: { ...err, message: err.message, type: err.type, code: err.code } };
}

/**
 * @example
 * const provider = createOpenAIProvider(spec, { transport: createUndiciTransport(), clock: systemClock });
 * const result = await provider.call({ upstreamModel: 'gpt-5-nano', endpoint: 'chat', body, stream: false, signal, connectTimeoutMs: 2000 });
 */
export function createOpenAIProvider(spec: ProviderSpec, deps: ProviderDeps): Provider {
  const { transport, clock } = deps;
  // The spec is fixed for the provider's life: headers, URLs and the scrubber are built once.
  const scrubber = scrubberFor(spec);
  const jsonHeaders = openAIHeaders(spec, false);
  const streamHeaders = openAIHeaders(spec, true);
  const urls = new Map<string, string>();
  const urlFor = (endpoint: Endpoint, upstreamModel: string): string => {
    // Only Azure puts the model (deployment) in the URL.
    const key = spec.azure === null ? endpoint : `${endpoint} ${upstreamModel}`;
    let url = urls.get(key);
    if (url === undefined) {
      url = openAIUrl(spec, endpoint, upstreamModel);
      if (urls.size >= 1024) urls.clear();
      urls.set(key, url);
    }
    return url;
  };
  return {
    spec,
    async call(req: ProviderCallRequest): Promise<ProviderCallResult> {
      if (isResponsesPassthrough(spec, req)) {
        return callResponses(spec, req, {
          transport,
          clock,
          scrubber,
          headers: req.stream ? streamHeaders : jsonHeaders,
          ownErrorBody: openAIErrorBody,
        });
      }
      const stream = req.stream && req.endpoint === 'chat';
      const sent = await post(
        transport,
        spec,
        req,
        urlFor(req.endpoint, req.upstreamModel),
        stream ? streamHeaders : jsonHeaders,
        JSON.stringify(openAIBody(req, stream)),
      );
      if (!sent.ok) return sent;
      const { res } = sent;
      if (!isSuccess(res.status)) {
        // The upstream's own error body is kept when it has the OpenAI shape.
        return { ok: false, error: await httpFailure(res, req, scrubber, clock, openAIErrorBody) };
      }
      const contentType = res.headers['content-type'] ?? '';
      if (stream && !contentType.includes('application/json')) {
        return {
          ok: true,
          kind: 'stream',
          status: res.status,
          headers: res.headers,
          items: openAIStreamItems(res.body, req, scrubber),
        };
      }
      const result = await readJson(res, req, stream);
      return result.ok ? result : { ok: false, error: scrubber.error(result.error) };
    },
  };
}

async function readJson(
  res: HttpResponse,
  req: ProviderCallRequest,
  streamWanted: boolean,
): Promise<ProviderCallResult> {
  const read = await successText(res, req);
  if (!read.ok) return read;
  const { text } = read;
  const parsed = parseJson(text);
  if (!parsed.ok)
    return {
      ok: false,
      error: providerError('malformed', 'upstream answer is not JSON', { status: res.status }),
    };
  const inBand = inBandError(parsed.value);
  if (inBand !== null) return { ok: false, error: { ...inBand.failure, status: res.status } };
  if (streamWanted || !isResponseBody(parsed.value, req.endpoint)) {
    const what = streamWanted ? 'a JSON body instead of an event stream' : 'an answer without choices';
    return { ok: false, error: providerError('malformed', `upstream sent ${what}`, { status: res.status }) };
  }
  return {
    ok: true,
    kind: 'json',
    status: res.status,
    headers: res.headers,
    body: parsed.value,
    usage: usageFromOpenAI(parsed.value.usage),
  };
}
