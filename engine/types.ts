/**
 * The contracts between the pipeline stages (load → validate → compile → decide → execute).
 * Every stage imports its input and output shapes from here, so the stages stay decoupled and
 * imports flow one way. Durations are milliseconds, prices are USD per million tokens.
 */

/** The error taxonomy used by `retryOn` / `fallbackOn` and in attempt records (docs/design.md §2). */
export const ERROR_CLASSES = [
  'connect',
  'timeout',
  'first_token',
  'idle',
  'rate_limited',
  'overloaded',
  'server_error',
  'context_length',
  'content_policy',
  'bad_request',
  'auth',
  'stream_cut',
  'malformed',
  'guardrail',
] as const;
export type ErrorClass = (typeof ERROR_CLASSES)[number];

/**
 * Classes never re-sent to the same target, whatever `retryOn` says (docs/design.md §2). The one
 * definition: the attempt loop skips retries on these and validation warns (`SEM_NEVER_RETRIED`)
 * when `retryOn` lists one.
 */
export const NEVER_RETRIED: ReadonlySet<ErrorClass> = new Set<ErrorClass>([
  'timeout',
  'first_token',
  'idle',
  'context_length',
  'content_policy',
]);

/** What identifies the policy version that served a request (header `x-switchyard-policy`). */
export interface PolicyIdentity {
  readonly name: string;
  readonly version: string;
  /** Content hash of the canonical policy: stable under key order and whitespace. */
  readonly hash: string;
}

/** A source position, 1-based. */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly endLine?: number;
  readonly endColumn?: number;
}

// ---------------------------------------------------------------------------------------------
// Requests

/** What a caller hands the engine: an OpenAI-style body plus HTTP headers. */
/** An answer received through a provider's native batch API (see `RequestInput.nativeAnswer`). */
export interface NativeAnswer {
  /** The model (target) name the batch was sent to. */
  readonly target: string;
  /** The answer in OpenAI shape (a chat completion). */
  readonly body: Readonly<Record<string, unknown>>;
  readonly usage: Usage | null;
}

/**
 * A request's cancellation that makes no AbortSignal until one is asked for (`signal`): the
 * engine's `Cancellation` (engine/shared/cancellation.ts) is one.
 */
export interface RequestCancellation {
  readonly aborted: boolean;
  readonly reason: unknown;
  /** An AbortSignal that follows the cancellation, made on first use. */
  readonly signal: AbortSignal;
  /** Calls `listener` when aborted (at once when it is already). */
  onAbort(listener: (reason: unknown) => void): void;
  removeListener(event: 'abort', listener: () => void): unknown;
}

export interface RequestInput {
  readonly body: unknown;
  /** Header names in any case; values as Node gives them. */
  readonly headers?: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** Request path; defaults to `/v1/chat/completions`. */
  readonly path?: string;
  /** Caller disconnect or embedding program's cancel: aborts everything, upstream included. */
  readonly signal?: AbortSignal;
  /**
   * Optional: the same cancellation as `signal`. The attempt loop listens to it instead, and
   * `signal` is read only by what needs an AbortSignal (a retry's wait, the cache, side calls), so
   * a `signal` getter over it (`Cancellation.signal`) makes none on the common path.
   */
  readonly cancel?: RequestCancellation;
  /** Correlates logs and recordings; defaults to the `x-request-id` header, else a fresh UUID. */
  readonly requestId?: string;
  /**
   * The HTTP layer already refused the body (it is not JSON, or nests too deep): the engine
   * answers with this catalogue error without reading `body`, and records the request.
   */
  readonly refused?: {
    readonly code: RefusedCode;
    readonly detail: string;
    /** The offending request field (OpenAI's `param`), when one is to blame. */
    readonly param?: string | null;
  };
  /**
   * The body is already in the engine's internal (chat completions) shape, whatever API the path
   * names: a recorded `/v1/responses` or `/v1/messages` request replayed. It is not translated,
   * and neither is its answer.
   */
  readonly internal?: boolean;
  /**
   * The answer this request already got from the provider's native batch API (engine/jobs, a
   * route's `batch: { native: true }`). The route's plan is narrowed to `target` (a model name),
   * priced at that model's `batchPrice`, and its call returns this answer instead of going
   * upstream; everything else (limits, budgets, guardrails, accounting, recording) runs as for
   * any request. When the route no longer has that target (a reload), the answer is not used
   * and the request runs through the plan. Never set from HTTP.
   */
  readonly nativeAnswer?: NativeAnswer;
  /**
   * Classifier labels given by the caller, by classifier name: used instead of running those
   * classifiers (`replay` passes the recorded ones, `switchyard test` a case's `classes`). Never
   * set from HTTP: a client cannot choose its own class.
   */
  readonly classes?: Readonly<Record<string, GivenClass>>;
}

/**
 * A classifier's label given by the caller: the label, or the label with what the classification
 * cost when it was recorded (so a replay costs what the recorded request cost).
 */
export type GivenClass = string | { readonly label: string; readonly costUsd?: number };

/**
 * Why a request was refused before the engine read it: the HTTP layer could not parse the body,
 * or an ingress API's body could not be translated (`invalid_request`, `unsupported_feature`).
 */
export type RefusedCode =
  | 'invalid_json'
  | 'body_too_deep'
  | 'body_too_complex'
  | 'invalid_request'
  | 'unsupported_feature';

/** What an upstream call asks for: every API the engine serves is answered by one of these. */
export type Endpoint = 'chat' | 'embeddings';

/**
 * The API a request addresses (from its path): chat completions, embeddings, or one of the APIs
 * translated to chat completions at the engine's edge (`engine/ingress/`): OpenAI's Responses
 * API and Anthropic's Messages API.
 */
export type ApiEndpoint = Endpoint | 'responses' | 'messages';

/** A request normalised once, before `decide`. Everything a `when` can test is precomputed here. */
export interface RequestContext {
  readonly path: string;
  /** The API the path addresses; `responses` and `messages` bodies are already translated to chat. */
  readonly endpoint: ApiEndpoint;
  /** The model the caller asked for ('' when absent). */
  readonly model: string;
  readonly body: Readonly<Record<string, unknown>>;
  /** Lower-cased header names; repeated headers joined with ', '. */
  readonly headers: Readonly<Record<string, string>>;
  /** Tenant resolved from `Authorization: Bearer <key>` through `tenants`; null when none. */
  readonly tenant: string | null;
  readonly labels: Readonly<Record<string, string>>;
  /** Body `metadata` merged over the `x-switchyard-metadata` header (JSON object); values as strings. */
  readonly metadata: Readonly<Record<string, string>>;
  readonly stream: boolean;
  /** The request declares tools. */
  readonly tools: boolean;
  /** Fast estimate of input tokens (chars / 4, rounded up, plus a per-message overhead). */
  readonly inputTokens: number;
  readonly inputChars: number;
  /**
   * Unsigned 32-bit seed for weighted choices. Taken from the `x-switchyard-seed` header when
   * present, else from the engine's random port, so every decision can be replayed exactly.
   */
  readonly seed: number;
  /**
   * The labels of the classifiers that ran for this request, by classifier name (`class.<name>`
   * conditions read them). Absent, or without a name, when that classifier did not run: decide
   * is pure, so classification happens before it (engine/runtime/classify.ts).
   */
  readonly classes?: Readonly<Record<string, string>>;
}

// ---------------------------------------------------------------------------------------------
// Decisions

export interface TimeoutSettings {
  readonly connectMs: number;
  readonly firstTokenMs: number;
  readonly idleMs: number;
  readonly totalMs: number;
}

export interface BackoffSettings {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly multiplier: number;
  readonly jitter: 'full' | 'equal' | 'none';
}

export interface RetrySettings {
  /** Retries of the same target after its first call (so calls per target ≤ 1 + attempts). */
  readonly attempts: number;
  readonly backoff: BackoffSettings;
  /** Longest `Retry-After` honoured; a longer one fails over instead of waiting. */
  readonly respectRetryAfterMs: number;
  /** Classes retried on the same target. */
  readonly retryOn: readonly ErrorClass[];
  /** Classes that move on to the next target (others end the request with that error). */
  readonly fallbackOn: readonly ErrorClass[];
}

export interface BreakerSettings {
  readonly failures: number;
  readonly windowMs: number;
  readonly cooldownMs: number;
}

export interface Capabilities {
  readonly prefill: boolean;
  readonly tools: boolean;
  readonly vision: boolean;
}

export interface Price {
  /** USD per million input tokens. */
  readonly input: number;
  /** USD per million output tokens. */
  readonly output: number;
  /** USD per million input tokens read from the provider's prompt cache; `input` when not declared. */
  readonly cachedInput?: number;
  /** USD per million input tokens written to the provider's prompt cache; `input` when not declared. */
  readonly cacheWrite?: number;
}

/** Which stable prefixes of a request are marked cacheable at the provider (route `promptCache`). */
export interface PromptCacheMarks {
  /** The system prompt (Anthropic: `cache_control` on the last system block). */
  readonly system: boolean;
  /** The tool definitions (Anthropic: `cache_control` on the last tool). */
  readonly tools: boolean;
}

/** A named model of the policy, resolved for one request. */
export interface ResolvedTarget {
  /** The model's name in the policy (`fast`). */
  readonly name: string;
  /** The provider's name in the policy (`openai`). */
  readonly provider: string;
  /** The model name sent upstream; a `model: "*"` entry resolves to the requested model. */
  readonly upstreamModel: string;
  readonly price: Price | null;
  /** Context window in tokens; null when not declared. */
  readonly context: number | null;
  readonly capabilities: Capabilities;
  readonly retry: RetrySettings;
  readonly timeout: TimeoutSettings;
  readonly breaker: BreakerSettings;
  /** The route's `promptCache`; absent when it marks nothing. */
  readonly promptCache?: PromptCacheMarks;
}

/**
 * The attempt plan as a tree. `decide` has already ordered weighted and sticky groups (from the
 * context's seed and sticky key); a `latency` group is ordered by the runtime from its EWMA
 * tracker. Flattening depth-first gives the attempt order.
 */
export type PlanNode =
  | { readonly kind: 'target'; readonly target: ResolvedTarget }
  | {
      readonly kind: 'group';
      readonly strategy: 'fallback' | 'weighted' | 'latency' | 'sticky';
      readonly children: readonly PlanNode[];
    };

export interface StreamSettings {
  readonly midStream: 'error' | 'continue';
}

export interface ExhaustedResponse {
  readonly status: number;
  readonly message: string;
}

/** Why a route before the chosen one did not match (the explain trace). */
export interface SkippedRoute {
  readonly route: string;
  readonly reason: string;
}

export type Decision =
  | {
      readonly kind: 'route';
      readonly policy: PolicyIdentity;
      readonly route: string;
      readonly routeIndex: number;
      readonly plan: PlanNode;
      /** The plan flattened in its default attempt order. */
      readonly targets: readonly ResolvedTarget[];
      /** Route-level timeouts; `totalMs` bounds the whole request, all attempts and backoffs. */
      readonly timeout: TimeoutSettings;
      /** Global cap on upstream calls for the request, all targets together. */
      readonly maxAttempts: number;
      readonly stream: StreamSettings;
      readonly onExhausted: ExhaustedResponse | null;
      readonly limits: readonly string[];
      readonly budgets: readonly string[];
      /** The route's cache as declared: one name, or its layers (exact, then semantic). */
      readonly cache: string | readonly string[] | null;
      readonly guardrails: readonly string[];
      readonly skipped: readonly SkippedRoute[];
    }
  | {
      /** No route matched: the request is refused with an OpenAI-shaped error. */
      readonly kind: 'no_route';
      readonly policy: PolicyIdentity;
      readonly status: number;
      /** A code of the error catalogue (engine/errors.ts). */
      readonly code: 'no_route' | 'no_eligible_target' | 'internal_error';
      readonly message: string;
      readonly skipped: readonly SkippedRoute[];
    };

// ---------------------------------------------------------------------------------------------
// Execution results

export interface Usage {
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly totalTokens: number;
  /** Of the prompt tokens, those read from the provider's prompt cache; absent when not reported. */
  readonly cachedTokens?: number;
  /** Of the prompt tokens, those written to the provider's prompt cache (Anthropic); absent when not reported. */
  readonly cacheWriteTokens?: number;
}

/** What one classifier said about a request (engine/runtime/classify.ts); recorded. */
export interface ClassResult {
  readonly classifier: string;
  readonly label: string;
  /**
   * How the label was obtained: `heuristic` (complexity), `model`, `embedding`, `cache` (an
   * identical input's result), `default` (failure, timeout, unparseable answer, nothing similar
   * enough), `given` (by the caller: a test case, or `replay` from the recording).
   */
  readonly source: 'heuristic' | 'model' | 'embedding' | 'cache' | 'default' | 'given';
  /** What the classification call cost (0 when nothing was called). */
  readonly costUsd: number;
  /** The complexity score. */
  readonly score?: number;
  /** The nearest example's cosine similarity. */
  readonly similarity?: number;
  /** Why the default was used: `timeout`, `error`, `aborted`, `unparsed`, `below_similarity`, `examples`. */
  readonly detail?: string;
}

export interface AttemptRecord {
  readonly target: string;
  readonly upstreamModel: string;
  /** 'ok' for the successful attempt, else the error class. */
  readonly outcome: 'ok' | ErrorClass;
  readonly status: number | null;
  readonly startedAtMs: number;
  readonly durationMs: number;
  readonly firstByteMs: number | null;
  readonly firstTokenMs: number | null;
  readonly usage: Usage | null;
}

export interface ResponseMeta {
  readonly policy: PolicyIdentity;
  readonly route: string | null;
  /** The tenant the request was resolved to (never its key); null when none. */
  readonly tenant: string | null;
  /** The model name (policy) that served the answer; null when none did. */
  readonly target: string | null;
  readonly attempts: readonly AttemptRecord[];
  readonly cache: 'hit' | 'miss' | 'bypass' | null;
  /** A semantic cache hit: the cosine similarity of the prompt to the stored one's. Absent otherwise. */
  readonly cacheSimilarity?: number;
  /**
   * A semantic cache hit: the request id of the request whose answer the entry stored (what
   * replay needs to reproduce the hit on a real embedding model). Absent otherwise.
   */
  readonly cacheSource?: string;
  /**
   * The prompt tokens a semantic cache's embedding call reported for the request (hit or miss);
   * replay prices its own embedding call with them. Absent when no such call was answered.
   */
  readonly cacheEmbeddingTokens?: number;
  readonly usage: Usage | null;
  readonly costUsd: number | null;
  /** Time spent in Switchyard itself, upstream time excluded. */
  readonly overheadMs: number;
  /**
   * The policy's `accounting.attribute` fields → this request's bucket (its value, `none` or
   * `other`); absent when the policy declares none or the request was refused before routing.
   */
  readonly attribution?: Readonly<Record<string, string>>;
}

export interface OpenAIErrorBody {
  readonly error: {
    readonly message: string;
    readonly type: string;
    readonly code: string | null;
    /** The offending request field, when one is to blame. */
    readonly param?: string | null;
  };
}

/**
 * What a stream's events iterator may offer besides `next`: every frame that is ready, at least
 * one, in one step, so that a writer makes one write and one await per upstream read rather than
 * per frame. `next` and `nextFrames` read one sequence; the attempt loop's streams offer it, a
 * wrapper that maps frames one by one does not (and is read with `next`).
 */
export interface FrameBatches {
  nextFrames(): Promise<IteratorResult<readonly string[], undefined>>;
}

/**
 * What the events of a stream that is whole before anyone reads it (a cache hit's) may offer:
 * every frame not read yet, at once and without a promise; the stream has then been read to its
 * end. A wrapper that maps the frames does not offer it.
 */
export interface ReadyFrames {
  takeFrames(): readonly string[];
}

export type EngineResponse =
  | {
      readonly kind: 'json';
      readonly status: number;
      readonly headers: Readonly<Record<string, string>>;
      readonly body: unknown;
      readonly meta: ResponseMeta;
    }
  | {
      readonly kind: 'stream';
      readonly status: number;
      readonly headers: Readonly<Record<string, string>>;
      /**
       * Serialised SSE frames (`data: {...}\n\n`), one per step, ending with `data: [DONE]\n\n`
       * only on success. Its iterator may also be {@link FrameBatches}; a cache hit's events are
       * also {@link ReadyFrames}.
       */
      readonly events: AsyncIterable<string>;
      /** Resolves when the stream has ended, with the final metadata (attempts, usage, cost). */
      readonly done: Promise<ResponseMeta>;
      /** Metadata known before the first byte (route, first target, policy). */
      readonly meta: ResponseMeta;
    };
