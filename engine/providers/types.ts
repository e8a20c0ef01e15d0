/**
 * The provider port: how the attempt loop talks to one upstream. A provider turns the caller's
 * OpenAI-shaped request into the upstream's wire format and back, and reports every failure as a
 * classified `ProviderError` (a value) — never as a rejection, except the abort signal's reason.
 *
 * Timeouts: a provider enforces only the connect timeout and the abort signal. First-token, idle
 * and total deadlines belong to the attempt loop, which races `call()` and the `items` iteration
 * against its Clock and aborts the signal when one fires.
 */

import type { MockProvider } from '../policy/types.generated.js';
import type { Cancellation } from '../shared/cancellation.js';
import type { Clock } from '../shared/clock.js';
import type { Endpoint, ErrorClass, PromptCacheMarks, Usage } from '../types.js';
import type { NativeBatchApi } from './batch.js';
import type { ChunkFrame } from './openai-frames.js';
import type { ChatCompletionChunk, ResponseBody } from './openai-types.js';
import type { PoolSettings } from './pool.js';
import type { Transport } from './transport.js';

export type {
  ChatCompletion,
  ChatCompletionChunk,
  EmbeddingsResponse,
  ResponseBody,
} from './openai-types.js';

/** What a mock call does: `ok` or a failure, as the policy's mock `sequence` names them (one list, in the schema). */
export type MockOutcome = NonNullable<MockProvider['sequence']>[number];

export interface MockSpec {
  /** The answer text; null echoes the last user message as `Echo: <text>`. */
  reply: string | null;
  /** Delay before the first byte (the call resolves after it). */
  latencyMs: number;
  /** Delay between stream chunks. */
  chunkDelayMs: number;
  /** How long a native batch takes to end after it is submitted; absent: 1 s. */
  batchLatencyMs?: number;
  /** Outcomes cycled per (provider, upstream model); empty means always `ok`. */
  sequence: readonly MockOutcome[];
  /** Chunks a streamed `stream_cut` delivers before it breaks; null: half the answer (at least one). */
  cutAfter?: number | null;
}

export interface ProviderSpec {
  name: string;
  kind: 'openai' | 'anthropic' | 'mock';
  baseUrl: string | null;
  apiKey: string | null;
  headers: Readonly<Record<string, string>>;
  /**
   * Azure OpenAI: `POST {baseUrl}/openai/deployments/{deployment ?? upstreamModel}/chat/completions
   * ?api-version=...` with the key in the `api-key` header.
   */
  azure: { apiVersion: string; deployment: string | null } | null;
  /** Sent as the `anthropic-version` header; '2023-06-01' by default. */
  anthropicVersion: string;
  mock: MockSpec | null;
  /**
   * The endpoint serves OpenAI's Responses API: `/v1/responses` requests are passed through to it
   * (engine/providers/openai-responses.ts). Absent: false.
   */
  responses?: boolean;
  maxResponseBytes: number;
  /**
   * The upstream connection pool (`connections`, `keepAlive`). The compiler always sets it for
   * network providers; absent (mock providers, hand-built specs): the transport's defaults.
   */
  pool?: PoolSettings;
}

/** The OpenAI error shape returned to the caller when the policy passes the provider's error on. */
export interface ProviderErrorBody {
  error: { message: string; type: string; code: string | null };
}

export interface ProviderError {
  class: ErrorClass;
  /** The upstream HTTP status; null when no response was received (connect, cut, ...). */
  status: number | null;
  message: string;
  /** From `retry-after-ms` / `Retry-After` (seconds or HTTP-date); null when absent. */
  retryAfterMs: number | null;
  body: ProviderErrorBody;
}

export type StreamItem =
  | { type: 'chunk'; chunk: ChatCompletionChunk }
  /** A chunk as its canonical JSON text, not parsed: only after `preferFrames()` (see there). */
  | { type: 'frame'; frame: ChunkFrame }
  | { type: 'done' };

/**
 * An iterator over a stream's items that may also hand out, synchronously, items it has already
 * received (`poll`): the attempt loop takes those without a promise or a timer race each, and
 * awaits `next()` only when the next item must come from the network.
 */
export interface StreamItemIterator extends AsyncIterator<StreamItem> {
  /**
   * The next item when it is already here, the end when the stream is over, `undefined` when it
   * must be awaited with `next()`. Throws what `next()` would reject with.
   */
  poll?(): IteratorResult<StreamItem> | undefined;
  /**
   * From now on, hand out a chunk whose text the caller can forward as it is (openai-frames.ts)
   * as a `frame` item rather than parsed; any other chunk still comes parsed. The stream relay
   * asks for it once the stream is committed and nothing needs the parsed chunks.
   */
  preferFrames?(): void;
}

export type ProviderCallResult =
  | {
      ok: true;
      kind: 'json';
      status: number;
      headers: Record<string, string>;
      /** OpenAI shape always: a chat completion, or an embeddings list for the embeddings endpoint. */
      body: ResponseBody;
      usage: Usage | null;
    }
  | {
      ok: true;
      kind: 'stream';
      status: number;
      headers: Record<string, string>;
      /**
       * OpenAI chunks always. Iteration throws a `ProviderFailure` (stream_cut, malformed, or the
       * class of an in-band error event) when the body breaks, and the signal's reason when aborted.
       * It ends without `done` when the upstream ended after a finish_reason without `[DONE]`.
       * Must be iterated to the end or broken out of (or the signal aborted) to free the connection.
       */
      items: AsyncIterable<StreamItem>;
    }
  | { ok: false; error: ProviderError };

/** Thrown by stream iteration when the body breaks; carries the classified error. */
export class ProviderFailure extends Error {
  constructor(readonly failure: ProviderError) {
    super(failure.message);
    this.name = 'ProviderFailure';
  }
}

export interface ProviderCallRequest {
  upstreamModel: string;
  endpoint: Endpoint;
  /** The caller's OpenAI request body; its `model` is replaced by `upstreamModel`. */
  body: Readonly<Record<string, unknown>>;
  stream: boolean;
  signal: AbortSignal;
  /**
   * Optional: the same cancellation as `signal`, for an in-process provider that can listen
   * without an AbortSignal (`signal` may then be made only when read).
   */
  cancel?: Cancellation;
  connectTimeoutMs: number;
  /** Continue after a mid-stream failure: the partial answer, appended as an assistant prefill. */
  prefill?: string;
  /** Per-call request headers (the trace context, `traceparent`); they win over the spec's. */
  headers?: Readonly<Record<string, string>>;
  /** Prefixes to mark cacheable, for providers that take explicit markers (Anthropic); absent: none. */
  promptCache?: PromptCacheMarks;
}

export interface Provider {
  readonly spec: ProviderSpec;
  /** Never rejects, except with the signal's abort reason. */
  call(req: ProviderCallRequest): Promise<ProviderCallResult>;
  /** The provider's native batch API (batch.ts); absent when it has none (Azure OpenAI). */
  readonly batch?: NativeBatchApi;
}

export interface ProviderDeps {
  transport: Transport;
  clock: Clock;
}
