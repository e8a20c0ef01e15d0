/* Generated from schemas/policy.schema.json by scripts/gen-types.mjs. Do not edit: run `npm run gen:types`. */

/**
 * A name of a provider, model, tenant, limit, budget, cache, guardrail or route. Letters, digits, `_`, `-` and `.`, starting with a letter.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "Name".
 */
export type Name = string;
/**
 * Free text for humans; ignored by the engine.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "Description".
 */
export type Description = string;
/**
 * An upstream API. `kind` selects the wire protocol.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "Provider".
 */
export type Provider = (OpenAIProvider | AnthropicProvider | MockProvider) | undefined;
/**
 * The API's base URL, e.g. `https://api.openai.com/v1`; paths such as `/chat/completions` are appended.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "BaseUrl".
 */
export type BaseUrl = string;
/**
 * A secret string, usually `${ENV_VAR}`. Secrets are masked in diagnostics, logs and recordings.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "Secret".
 */
export type Secret = string;
/**
 * Upstream responses larger than this fail as `malformed`. Default `16mb`.
 */
export type MaxResponseSize = string;
/**
 * The most connections to the provider's origin, and so the most requests in flight there: a connection carries one request at a time, and a stream holds it to its end. A request that finds them all busy waits for one, and the wait counts against `timeout.connect`: when none frees up in time the attempt fails as `connect` (retried or failed over like a refused connection), not as a `first_token` timeout. Default 1024: well above what a gateway keeps open at once, since every in-flight stream holds a connection, while still bounding sockets; lower it to shield a small self-hosted upstream. At most 65535, the connections one address can open to one port. Providers with the same origin, `connections` and `keepAlive` share their connections.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "Connections".
 */
export type Connections = number;
/**
 * How long an idle connection to the provider is kept open for the next request, sparing it a new TCP and TLS handshake. A shorter `Keep-Alive: timeout` announced by the server wins. `false` (or a zero duration) closes the connection after every response. Default `30s`: connections are reused between bursts, and closed before the typical 60-second idle cut of load balancers in front of providers.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "KeepAlive".
 */
export type KeepAlive = Duration | false;
/**
 * A duration: a number with a unit `ms`, `s`, `m`, `h` or `d`, e.g. `250ms`, `30s`, `5m`, `24h`.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "Duration".
 */
export type Duration = string;
/**
 * The API's base URL, e.g. `https://api.openai.com/v1`; paths such as `/chat/completions` are appended.
 */
export type BaseUrl1 = string;
/**
 * A duration: a number with a unit `ms`, `s`, `m`, `h` or `d`, e.g. `250ms`, `30s`, `5m`, `24h`.
 */
export type Duration1 = string;
/**
 * A duration: a number with a unit `ms`, `s`, `m`, `h` or `d`, e.g. `250ms`, `30s`, `5m`, `24h`.
 */
export type Duration2 = string;
/**
 * A duration: a number with a unit `ms`, `s`, `m`, `h` or `d`, e.g. `250ms`, `30s`, `5m`, `24h`.
 */
export type Duration3 = string;
/**
 * A duration: a number with a unit `ms`, `s`, `m`, `h` or `d`, e.g. `250ms`, `30s`, `5m`, `24h`.
 */
export type Duration4 = string;
/**
 * A duration: a number with a unit `ms`, `s`, `m`, `h` or `d`, e.g. `250ms`, `30s`, `5m`, `24h`.
 */
export type Duration5 = string;
/**
 * A duration: a number with a unit `ms`, `s`, `m`, `h` or `d`, e.g. `250ms`, `30s`, `5m`, `24h`.
 */
export type Duration6 = string;
/**
 * A duration: a number with a unit `ms`, `s`, `m`, `h` or `d`, e.g. `250ms`, `30s`, `5m`, `24h`.
 */
export type Duration7 = string;
/**
 * A duration: a number with a unit `ms`, `s`, `m`, `h` or `d`, e.g. `250ms`, `30s`, `5m`, `24h`.
 */
export type Duration8 = string;
/**
 * A duration: a number with a unit `ms`, `s`, `m`, `h` or `d`, e.g. `250ms`, `30s`, `5m`, `24h`.
 */
export type Duration9 = string;
/**
 * A duration: a number with a unit `ms`, `s`, `m`, `h` or `d`, e.g. `250ms`, `30s`, `5m`, `24h`.
 */
export type Duration10 = string;
/**
 * A class of upstream failure: `connect` (refused, reset before headers), `timeout` (total deadline), `first_token` (no content in time), `idle` (stream stalled), `rate_limited` (429), `overloaded` (503/529), `server_error` (other 5xx), `context_length`, `content_policy`, `bad_request` (other 4xx), `auth` (401/403), `stream_cut` (stream ended without a finish), `malformed` (unparseable body or chunk), `guardrail` (an output guardrail asked for a fallback).
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "ErrorClass".
 */
export type ErrorClass =
  | 'connect'
  | 'timeout'
  | 'first_token'
  | 'idle'
  | 'rate_limited'
  | 'overloaded'
  | 'server_error'
  | 'context_length'
  | 'content_policy'
  | 'bad_request'
  | 'auth'
  | 'stream_cut'
  | 'malformed'
  | 'guardrail';
/**
 * A duration: a number with a unit `ms`, `s`, `m`, `h` or `d`, e.g. `250ms`, `30s`, `5m`, `24h`.
 */
export type Duration11 = string;
/**
 * A duration: a number with a unit `ms`, `s`, `m`, `h` or `d`, e.g. `250ms`, `30s`, `5m`, `24h`.
 */
export type Duration12 = string;
/**
 * A request and/or token rate per key tuple (GCRA). Token limits reserve an estimate at admission and reconcile with real usage afterwards. A denied request gets 429 with `Retry-After`.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "Limit".
 */
export type Limit =
  | {
      [k: string]: unknown | undefined;
    }
  | undefined;
/**
 * A request field that partitions a counter or cache: `tenant`, `route`, `model` (requested), `target`, `label.<k>`, `header.<name>` or `metadata.<k>`.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "KeyField".
 */
export type KeyField = string;
/**
 * USD per period: `500/month`, `20/day`, `5/hour` (a leading `$` is allowed).
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "Money".
 */
export type Money = string;
/**
 * `memory` (this process) or `redis` (shared by replicas; needs `stores.redis`).
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "StoreRef".
 */
export type StoreRef = 'memory' | 'redis';
/**
 * A duration: a number with a unit `ms`, `s`, `m`, `h` or `d`, e.g. `250ms`, `30s`, `5m`, `24h`.
 */
export type Duration13 = string;
/**
 * A name of a provider, model, tenant, limit, budget, cache, guardrail or route. Letters, digits, `_`, `-` and `.`, starting with a letter.
 */
export type Name1 = string;
/**
 * A duration: a number with a unit `ms`, `s`, `m`, `h` or `d`, e.g. `250ms`, `30s`, `5m`, `24h`.
 */
export type Duration14 = string;
/**
 * Bound on the total size of entries (memory store).
 */
export type Size = string;
/**
 * A bare value (equals) or an operator object: `in`, `glob`, `regex`, `gt`, `gte`, `lt`, `lte`, `exists`. Several operators in one object must all hold.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "Condition".
 */
export type Condition = (string | number | boolean) | Operators;
/**
 * A check on input (before routing) or output (before the answer reaches the caller). `kind` selects the check.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "Guardrail".
 */
export type Guardrail =
  | (
      | RegexGuardrail
      | KeywordsGuardrail
      | MaxLengthGuardrail
      | PiiGuardrail
      | InjectionGuardrail
      | JsonSchemaGuardrail
    )
  | undefined;
/**
 * `input` checks the request, `output` checks the answer.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "GuardrailStage".
 */
export type GuardrailStage = 'input' | 'output';
/**
 * `block` refuses, `flag` records a verdict and lets the request through, `redact` masks the matched text, `fallback` tries the next target (output only).
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "GuardrailAction".
 */
export type GuardrailAction = 'block' | 'flag' | 'redact' | 'fallback';
/**
 * Record the verdict without acting on it (to try a rule on live traffic).
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "GuardrailShadow".
 */
export type GuardrailShadow = boolean;
/**
 * How an output guardrail runs on streams: `buffer` holds the whole answer until the check passes, then sends it as a normal stream (the caller's first token then comes when the check is done); `scan` checks as it streams, holding back at most a bounded window, so matched text is never sent. Default: `buffer` for `fallback`, `jsonSchema` and `maxLength` (they need the whole answer; `scan` is a validation error for the last two), `scan` otherwise; a request with tools is always held whole.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "GuardrailStreaming".
 */
export type GuardrailStreaming = 'buffer' | 'scan';
/**
 * What an input guardrail reads: `last_user` (the last user message, the default), `user` (every user message), `system` (the system and developer messages), `tools` (the arguments of tool calls in the conversation and the tool results), or `conversation` (every message). Text parts of multimodal messages are read; images, audio and files are skipped. Output guardrails read the answer (its text and tool-call arguments) and take no scope.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "GuardrailScope".
 */
export type GuardrailScope = 'last_user' | 'user' | 'system' | 'tools' | 'conversation';
/**
 * Matches whole words or phrases (Unicode-aware; case-insensitive unless `caseSensitive`), from a list, a file, or both.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "KeywordsGuardrail".
 */
export type KeywordsGuardrail = {
  [k: string]: unknown | undefined;
};
/**
 * Refuses or flags text longer than a bound: the checked messages (input) or the answer (output). Tokens are estimated as characters / 4, rounded up.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "MaxLengthGuardrail".
 */
export type MaxLengthGuardrail = {
  [k: string]: unknown | undefined;
};
/**
 * Sorts a request into one of its declared labels; `kind` selects how: `complexity` (a built-in heuristic, no model call), `model` (a cheap model of the policy picks the label), `embedding` (the nearest labelled examples by cosine similarity).
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "Classifier".
 */
export type Classifier = (ComplexityClassifier | ModelClassifier | EmbeddingClassifier) | undefined;
/**
 * What an input guardrail reads: `last_user` (the last user message, the default), `user` (every user message), `system` (the system and developer messages), `tools` (the arguments of tool calls in the conversation and the tool results), or `conversation` (every message). Text parts of multimodal messages are read; images, audio and files are skipped. Output guardrails read the answer (its text and tool-call arguments) and take no scope.
 */
export type GuardrailScope1 = 'last_user' | 'user' | 'system' | 'tools' | 'conversation';
/**
 * A classifier's label: letters, digits, `_`, `-` and `.`, starting with a letter.
 */
export type ClassifierLabel = string;
/**
 * A duration: a number with a unit `ms`, `s`, `m`, `h` or `d`, e.g. `250ms`, `30s`, `5m`, `24h`.
 */
export type Duration15 = string;
/**
 * What an input guardrail reads: `last_user` (the last user message, the default), `user` (every user message), `system` (the system and developer messages), `tools` (the arguments of tool calls in the conversation and the tool results), or `conversation` (every message). Text parts of multimodal messages are read; images, audio and files are skipped. Output guardrails read the answer (its text and tool-call arguments) and take no scope.
 */
export type GuardrailScope2 = 'last_user' | 'user' | 'system' | 'tools' | 'conversation';
/**
 * A classifier's label: letters, digits, `_`, `-` and `.`, starting with a letter.
 */
export type ClassifierLabel1 = string;
/**
 * A duration: a number with a unit `ms`, `s`, `m`, `h` or `d`, e.g. `250ms`, `30s`, `5m`, `24h`.
 */
export type Duration16 = string;
/**
 * What an input guardrail reads: `last_user` (the last user message, the default), `user` (every user message), `system` (the system and developer messages), `tools` (the arguments of tool calls in the conversation and the tool results), or `conversation` (every message). Text parts of multimodal messages are read; images, audio and files are skipped. Output guardrails read the answer (its text and tool-call arguments) and take no scope.
 */
export type GuardrailScope3 = 'last_user' | 'user' | 'system' | 'tools' | 'conversation';
/**
 * A duration: a number with a unit `ms`, `s`, `m`, `h` or `d`, e.g. `250ms`, `30s`, `5m`, `24h`.
 */
export type Duration17 = string;
/**
 * The size at which the file is rotated, e.g. `100mb`.
 */
export type Size1 = string;
/**
 * The largest file `POST /v1/files` accepts, e.g. `200mb` (default `100mb`); a larger upload is refused with 413 and nothing is kept. Input files are streamed from disk, never held in memory.
 */
export type Size2 = string;
/**
 * Cap on upstream calls for one request, all targets and retries together. Default 6.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "MaxAttempts".
 */
export type MaxAttempts = number;
/**
 * `fallback` tries targets in order; `weighted` picks one by weight, then the rest by weight as fallback; `latency` prefers the lowest recent latency (EWMA); `sticky` maps a key (`stickyKey`) to a target by consistent hashing so a conversation stays on one target.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "Strategy".
 */
export type Strategy = 'fallback' | 'weighted' | 'latency' | 'sticky';
/**
 * The request field hashed by `strategy: sticky`, e.g. `header.x-session-id`, `metadata.user`, `tenant`.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "StickyKey".
 */
export type StickyKey = string;
/**
 * Models to send to: a model name, `{ model, weight }`, or a nested group `{ strategy, targets }`.
 *
 * @minItems 1
 * @maxItems 64
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "Targets".
 */
export type Targets = [Target, ...Target[]];
/**
 * A model name, a model with a weight, or a nested group.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "Target".
 */
export type Target = string | ModelTarget | GroupTarget;
/**
 * Relative share for `weighted`; 0 means never chosen first. Default 1.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "Weight".
 */
export type Weight = number;
/**
 * Mark the request's stable prefix cacheable at providers that take explicit cache markers, so repeated system prompts and tool lists are read from the provider's cache at its cached price (`price.cachedInput`) instead of being processed again. Anthropic: `cache_control: {type: ephemeral}` on the last system block (`system`) and on the last tool (`tools`), two of Anthropic's four breakpoints; a prefix shorter than the model's minimum (1024 tokens for most models) is simply not cached. OpenAI caches long prefixes on its own and takes no marker, so OpenAI and mock targets send the request unchanged. `true` marks both, `false` (the default) neither. Cache writes cost more than plain input on Anthropic (`price.cacheWrite`): worth it for prefixes reused within the cache's 5 minutes.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "PromptCache".
 */
export type PromptCache =
  | boolean
  | {
      /**
       * Mark the system prompt (system and developer messages) cacheable.
       */
      system?: boolean;
      /**
       * Mark the tool definitions cacheable.
       */
      tools?: boolean;
    };
/**
 * A positive amount per period: `100/min`, `10000/hour`, `5/s`, `2/day`, `0.5/s`, or per several units: `100/10s`. A rate of 0 is refused (it would admit nothing: remove the limit instead).
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "Rate".
 */
export type Rate = string;
/**
 * A size in bytes with a unit `b`, `kb`, `mb` or `gb` (powers of 1024), e.g. `512kb`, `10mb`.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "Size".
 */
export type Size3 = string;
/**
 * Upstream responses larger than this fail as `malformed`. Default `16mb`.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "MaxResponseSize".
 */
export type MaxResponseSize1 = string;
/**
 * A classifier's label: letters, digits, `_`, `-` and `.`, starting with a letter.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "ClassifierLabel".
 */
export type ClassifierLabel2 = string;

/**
 * A Switchyard policy: providers, named models, tenants, traffic controls, guardrails, defaults and an ordered list of routes. A policy is one YAML file or a directory of YAML fragments merged by name. Strings may use ${VAR} and ${VAR:-default} environment interpolation. Unknown keys are errors.
 */
export interface Policy {
  /**
   * The policy language version this file is written in. Always `v1` for now; a future v2 ships with a migrator.
   */
  switchyard: 'v1';
  policy: PolicyInfo;
  /**
   * Upstream API endpoints, by name. Models refer to them.
   */
  providers?: {
    [k: string]: Provider | undefined;
  };
  /**
   * Named targets that routes send traffic to, by name. A model is a provider plus the upstream model name, its price, context window and capabilities.
   */
  models?: {
    [k: string]: Model | undefined;
  };
  /**
   * Callers, by name. A request's `Authorization: Bearer <key>` is looked up among the tenants' keys; the tenant's name and labels then become matchable (`tenant`, `label.<k>`). When the policy declares tenants, a request without a known key is refused with 401.
   */
  tenants?: {
    [k: string]: Tenant | undefined;
  };
  /**
   * Request and token rate limits, by name. Routes opt in with `limits:`.
   */
  limits?: {
    [k: string]: Limit | undefined;
  };
  /**
   * Spending budgets in USD per period, by name. Routes opt in with `budgets:`.
   */
  budgets?: {
    [k: string]: Budget | undefined;
  };
  /**
   * Response caches, by name. A route uses one with `cache:`.
   */
  caches?: {
    [k: string]: Cache | undefined;
  };
  /**
   * Input and output checks, by name. Routes apply them with `guardrails:` (and `defaults.guardrails` for every route); a route opts out of a default one with `skipGuardrails:`.
   */
  guardrails?: {
    [k: string]: Guardrail | undefined;
  };
  /**
   * Request classifiers, by name. A route matches on a classifier's label with `when: { class.<name>: <label> }`. A classifier runs only for requests where a route that could match depends on it, once per request, and its result is cached for identical inputs. See docs/classifiers.md.
   */
  classifiers?: {
    [k: string]: Classifier | undefined;
  };
  stores?: Stores;
  recording?: Recording;
  jobs?: Jobs;
  accounting?: Accounting;
  defaults?: Defaults;
  /**
   * The routing table. Routes are tried in order and the first whose `when` matches the request wins; a route without `when` matches everything (a catch-all), so routes after it are unreachable.
   *
   * @minItems 1
   */
  routes: [Route, ...Route[]];
}
/**
 * The policy's own name and version. Together with the content hash they identify what served each request (header `x-switchyard-policy`, logs, metrics, recordings).
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "PolicyInfo".
 */
export interface PolicyInfo {
  name: Name;
  /**
   * Your version of this policy, e.g. `2026.11.22-1`. Free text.
   */
  version: string;
  description?: Description;
}
/**
 * Any endpoint that speaks the OpenAI chat completions API (OpenAI, Azure OpenAI, vLLM, Ollama, LM Studio, ...).
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "OpenAIProvider".
 */
export interface OpenAIProvider {
  /**
   * The wire protocol.
   */
  kind: 'openai';
  baseUrl: BaseUrl;
  apiKey?: Secret;
  headers?: Headers;
  maxResponseSize?: MaxResponseSize;
  connections?: Connections;
  keepAlive?: KeepAlive;
  /**
   * Whether the endpoint also serves OpenAI's Responses API (`POST {baseUrl}/responses`; with `azure`, `{baseUrl}/openai/v1/responses` with the deployment as the model). A `/v1/responses` request whose target is such a provider is passed through as it is (hosted tools, `previous_response_id`, `store`, reasoning items: every Responses feature works; the answer is read back to apply guardrails, limits and accounting); every other target gets it translated to chat completions, and a request using what the translation cannot carry (a hosted tool, `previous_response_id`, ...) is routed only to targets of such providers (400 `unsupported_feature` when the route has none). Default: true when `baseUrl` is OpenAI's own `https://api.openai.com/v1`, false otherwise (set it for vLLM, Azure OpenAI and other servers that have `/v1/responses`).
   */
  responses?: boolean;
  /**
   * Azure OpenAI deployment addressing: requests go to `{baseUrl}/openai/deployments/{deployment}/chat/completions?api-version={apiVersion}` with an `api-key` header.
   */
  azure?: {
    /**
     * The `api-version` query parameter, e.g. `2024-10-21`.
     */
    apiVersion: string;
    /**
     * The deployment name; defaults to the model's upstream model name.
     */
    deployment?: string;
  };
  description?: Description;
}
/**
 * Static headers added to every upstream request (values may be `${SECRETS}`; they are masked in logs).
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "Headers".
 */
export interface Headers {
  [k: string]: string | undefined;
}
/**
 * The Anthropic Messages API. Chat completion requests and responses (streaming included) are translated both ways.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "AnthropicProvider".
 */
export interface AnthropicProvider {
  /**
   * The wire protocol.
   */
  kind: 'anthropic';
  baseUrl?: BaseUrl1;
  apiKey?: Secret;
  headers?: Headers;
  maxResponseSize?: MaxResponseSize;
  connections?: Connections;
  keepAlive?: KeepAlive;
  /**
   * The `anthropic-version` header.
   */
  version?: string;
  description?: Description;
}
/**
 * An in-process fake provider for offline demos, tests and replay. Deterministic; no network. It answers tool calls, JSON-schema answers and base64 embeddings by the rules in docs/mock-provider.md.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "MockProvider".
 */
export interface MockProvider {
  /**
   * The wire protocol.
   */
  kind: 'mock';
  /**
   * The answer text; by default the mock echoes the last user message.
   */
  reply?: string;
  latency?: Duration1;
  chunkDelay?: Duration2;
  /**
   * How many chunks a streamed `stream_cut` outcome delivers before the body breaks (at most the whole answer, which then breaks before it finishes). Default: half the answer's chunks, at least one.
   */
  cutAfter?: number;
  /**
   * Outcomes the mock cycles through, one per call, per model: `ok` or a failure (`rate_limited`, `overloaded`, `server_error`, `bad_request`, `context_length`, `content_policy`, `auth`, `connect`, `silent`, `stream_cut`, `malformed`). Empty or absent: always `ok`.
   *
   * @maxItems 1000
   */
  sequence?: (
    | 'ok'
    | 'rate_limited'
    | 'overloaded'
    | 'server_error'
    | 'bad_request'
    | 'context_length'
    | 'content_policy'
    | 'auth'
    | 'connect'
    | 'silent'
    | 'stream_cut'
    | 'malformed'
  )[];
  batchLatency?: Duration3;
  description?: Description;
}
/**
 * A named target: a provider plus the upstream model name. `model: "*"` forwards the model name the caller asked for (wildcard routing).
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "Model".
 */
export interface Model {
  /**
   * The name of a provider in `providers`.
   */
  provider: string;
  /**
   * The model name sent to the provider, or `"*"` to forward the caller's requested model.
   */
  model: string;
  /**
   * USD per million tokens, used for cost accounting and budgets. Prompt tokens the provider reports as read from or written to its prompt cache are priced at `cachedInput` and `cacheWrite`, the rest at `input` (see `promptCache` on a route).
   */
  price?: {
    /**
     * USD per million input tokens.
     */
    input: number;
    /**
     * USD per million output tokens.
     */
    output: number;
    /**
     * USD per million input tokens read from the provider's prompt cache (OpenAI `prompt_tokens_details.cached_tokens`, Anthropic `cache_read_input_tokens`); typically a tenth to a half of `input`. Default: `input` (cache reads are not discounted in cost and budgets).
     */
    cachedInput?: number;
    /**
     * USD per million input tokens written to the provider's prompt cache (Anthropic `cache_creation_input_tokens`, 1.25 × `input` for Anthropic's 5-minute cache). Default: `input`.
     */
    cacheWrite?: number;
  };
  /**
   * USD per million tokens for requests this model answered through its provider's native batch API (a route's `batch: { native: true }`): OpenAI and Anthropic charge about half of `price`. Used for the cost and budgets of those requests; absent: `price`.
   */
  batchPrice?: {
    /**
     * USD per million input tokens.
     */
    input: number;
    /**
     * USD per million output tokens.
     */
    output: number;
  };
  /**
   * The context window in tokens. A `context_length` failure falls over to a target with a larger window.
   */
  context?: number;
  capabilities?: Capabilities;
  timeout?: Timeout;
  retry?: Retry;
  breaker?: Breaker;
  description?: Description;
}
/**
 * What the model accepts. `prefill` must be declared to be used; `tools: false` or `vision: false` make routes skip this model for requests with tools or images (undeclared: assumed supported).
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "Capabilities".
 */
export interface Capabilities {
  /**
   * Accepts a trailing assistant message to continue from (needed by `stream.midStream: continue`).
   */
  prefill?: boolean;
  /**
   * Accepts tool definitions.
   */
  tools?: boolean;
  /**
   * Accepts image inputs.
   */
  vision?: boolean;
}
/**
 * Time bounds. `connect`: TCP+TLS; `firstToken`: until the first content arrives; `idle`: the longest gap between stream chunks; `total`: the whole request, all attempts and backoffs.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "Timeout".
 */
export interface Timeout {
  connect?: Duration4;
  firstToken?: Duration5;
  idle?: Duration6;
  total?: Duration7;
}
/**
 * Retries of the same target and when to fall over to the next one. By default `connect`, `rate_limited`, `overloaded` and `server_error` are retried; a target that timed out or went silent is never re-sent the request (the next target is tried instead); `context_length` falls over to a target with a larger context; `content_policy`, `bad_request` return the provider's error unchanged.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "Retry".
 */
export interface Retry {
  /**
   * Retries of the same target after its first call.
   */
  attempts?: number;
  backoff?: Backoff;
  respectRetryAfter?: Duration10;
  /**
   * Error classes retried on the same target.
   */
  retryOn?: ErrorClass[];
  /**
   * Error classes that move on to the next target; others end the request with the provider's error.
   */
  fallbackOn?: ErrorClass[];
}
/**
 * Exponential backoff between retries of the same target.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "Backoff".
 */
export interface Backoff {
  initial?: Duration8;
  max?: Duration9;
  /**
   * Growth factor per retry.
   */
  multiplier?: number;
  /**
   * `full` waits a uniform random time in [0, delay]; `equal` in [delay/2, delay]; `none` waits exactly the delay.
   */
  jitter?: 'full' | 'equal' | 'none';
}
/**
 * Per target. Opens after `failures` failures within `window`; after `cooldown` one probe is let through; a success closes it.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "Breaker".
 */
export interface Breaker {
  /**
   * Turn the breaker off for this scope.
   */
  enabled?: boolean;
  /**
   * Failures within the window that open the circuit.
   */
  failures?: number;
  window?: Duration11;
  cooldown?: Duration12;
}
/**
 * A caller of the gateway.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "Tenant".
 */
export interface Tenant {
  /**
   * The bearer keys that identify this tenant (secrets; use `${ENV_VAR}`).
   *
   * @minItems 1
   */
  keys: [Secret, ...Secret[]];
  /**
   * Free-form labels, matchable as `label.<name>` (e.g. `tier: paid`).
   */
  labels?: {
    [k: string]: string | undefined;
  };
  description?: Description;
}
/**
 * A spending budget: cost = usage × the model's price, counted per key tuple and period.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "Budget".
 */
export interface Budget {
  /**
   * The fields whose values partition the counter.
   *
   * @minItems 1
   */
  key: [KeyField, ...KeyField[]];
  usd: Money;
  /**
   * Fractions of the budget (0..1) at which an alert is logged and counted, once per crossing.
   */
  alertAt?: number[];
  /**
   * Where `alertAt` crossings (and reaching the limit) are delivered besides the log and the metric `switchyard_budget_alerts_total`: a JSON `POST` to `webhook` with `budget`, `kind`, `period`, `threshold`, `spentUsd`, `limitUsd`, `key`, `policy` and `at`. Delivery happens off the request path (a bounded queue; a full queue drops and logs), each attempt has a timeout and failures are retried with exponential backoff a bounded number of times. Each crossing is delivered once per period, also across replicas sharing a Redis store.
   */
  alerts?: {
    /**
     * An `http://` or `https://` URL that receives each alert as a JSON `POST`.
     */
    webhook: string;
    headers?: Headers1;
  };
  /**
   * What happens once the period's spend reaches the budget: `block` (the default) refuses with 429 (`budget_exceeded`); `{ downgradeTo: [models] }` routes to a cheaper target list instead (in that order, as a fallback chain). A budget keyed on `target` is checked per attempt: a target over its budget is skipped like an open breaker, and a request whose every target is over budget is refused with 429 (`budget_exceeded`).
   */
  onExceeded?:
    | 'block'
    | {
        /**
         * Models to use instead.
         *
         * @minItems 1
         */
        downgradeTo: [string, ...string[]];
      };
  store?: StoreRef;
  description?: Description;
}
/**
 * Static headers added to every upstream request (values may be `${SECRETS}`; they are masked in logs).
 */
export interface Headers1 {
  [k: string]: string | undefined;
}
/**
 * A response cache. Exact mode keys on the declared fields of the canonicalised request; the tenant is always part of the key unless `shared: true`. Semantic mode answers a request whose prompt embedding is close enough (`threshold`) to a cached one with the same tenant and the same other key fields; its vector index is in memory, per replica. Only complete successful answers are stored.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "Cache".
 */
export interface Cache {
  /**
   * Cache lookup mode: `exact` (the key fields, prompt included, must be identical) or `semantic` (the prompt's embedding must be within `threshold` of a cached one; the other key fields identical).
   */
  mode: 'exact' | 'semantic';
  ttl: Duration13;
  /**
   * Request fields that form the key: `model`, `messages`, `temperature`, `top_p`, `max_tokens`, `tools`, `tenant`, or any `body.<field>`, `header.<name>`, `metadata.<k>`. Default: the whole body (`stream` fields aside). In a semantic cache these are the fields that must match exactly besides the prompt (so never `messages`); default: the whole body except `messages`.
   *
   * @minItems 1
   */
  key?: [string, ...string[]];
  embedding?: Name1;
  /**
   * Semantic mode only: the least cosine similarity, in (0, 1], between a request's prompt embedding and a cached one for the cached answer to be served. Default 0.95.
   */
  threshold?: number;
  /**
   * Semantic mode only: the `dimensions` asked of the embedding model (OpenAI `text-embedding-3-*` and the mock honour it). Absent: the model's default.
   */
  dimensions?: number;
  embeddingTimeout?: Duration14;
  /**
   * Bound on the number of entries (memory store).
   */
  maxEntries?: number;
  maxSize?: Size;
  /**
   * Share entries across tenants (the tenant is then not part of the key).
   */
  shared?: boolean;
  when?: When;
  store?: StoreRef;
  description?: Description;
}
/**
 * Conditions on the request; all must hold. Fields: `model` (requested), `path`, `tenant`, `stream`, `tools`, `input.tokens`, `input.chars`, `label.<k>`, `header.<name>`, `metadata.<k>`, `body.<field>`, `class.<classifier>` (the label a classifier gave the request; see `classifiers`). Combinators: `all`, `any`, `not`.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "When".
 */
export interface When {
  model?: Condition;
  path?: Condition;
  tenant?: Condition;
  stream?: Condition;
  tools?: Condition;
  'input.tokens'?: Condition;
  'input.chars'?: Condition;
  /**
   * Every condition holds.
   *
   * @minItems 1
   */
  all?: [When, ...When[]];
  /**
   * At least one condition holds.
   *
   * @minItems 1
   */
  any?: [When, ...When[]];
  not?: When1;
  [k: string]: unknown | undefined;
}
/**
 * Operators on one field; all must hold.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "Operators".
 */
export interface Operators {
  /**
   * The field equals one of these values.
   *
   * @minItems 1
   */
  in?: [string | number | boolean, ...(string | number | boolean)[]];
  /**
   * Shell-style pattern: `*` any run, `?` one character (e.g. `gpt-4*`).
   */
  glob?: string;
  /**
   * A JavaScript regular expression (a leading `(?i)` makes it case-insensitive); unanchored.
   */
  regex?: string;
  /**
   * Numeric comparison.
   */
  gt?: number;
  /**
   * Numeric comparison.
   */
  gte?: number;
  /**
   * Numeric comparison.
   */
  lt?: number;
  /**
   * Numeric comparison.
   */
  lte?: number;
  /**
   * The field is present (true) or absent (false).
   */
  exists?: boolean;
}
/**
 * The condition does not hold.
 */
export interface When1 {
  model?: Condition;
  path?: Condition;
  tenant?: Condition;
  stream?: Condition;
  tools?: Condition;
  'input.tokens'?: Condition;
  'input.chars'?: Condition;
  /**
   * Every condition holds.
   *
   * @minItems 1
   */
  all?: [When, ...When[]];
  /**
   * At least one condition holds.
   *
   * @minItems 1
   */
  any?: [When, ...When[]];
  not?: When1;
  [k: string]: unknown | undefined;
}
/**
 * Matches regular expressions (JavaScript syntax; a leading `(?i)` makes one case-insensitive).
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "RegexGuardrail".
 */
export interface RegexGuardrail {
  /**
   * The check.
   */
  kind: 'regex';
  stage: GuardrailStage;
  action: GuardrailAction;
  shadow?: GuardrailShadow;
  streaming?: GuardrailStreaming;
  scope?: GuardrailScope;
  /**
   * A match of any pattern triggers the action.
   *
   * @minItems 1
   */
  deny: [string, ...string[]];
  description?: Description;
}
/**
 * Detects personal data with built-in patterns.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "PiiGuardrail".
 */
export interface PiiGuardrail {
  /**
   * The check.
   */
  kind: 'pii';
  stage: GuardrailStage;
  action: GuardrailAction;
  shadow?: GuardrailShadow;
  streaming?: GuardrailStreaming;
  scope?: GuardrailScope;
  /**
   * Which kinds of personal data to detect: `email`, `phone` (international formats), `card` (Luhn-checked), `iban` (checksum-checked), `ssn` (US), `ip` (IPv4 and IPv6), `secret` (provider API keys and access-key shapes).
   *
   * @minItems 1
   */
  entities: [
    'email' | 'phone' | 'card' | 'iban' | 'ssn' | 'ip' | 'secret',
    ...('email' | 'phone' | 'card' | 'iban' | 'ssn' | 'ip' | 'secret')[]
  ];
  description?: Description;
}
/**
 * Detects common prompt-injection phrasings with a built-in pattern pack.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "InjectionGuardrail".
 */
export interface InjectionGuardrail {
  /**
   * The check.
   */
  kind: 'injection';
  stage: GuardrailStage;
  action: GuardrailAction;
  shadow?: GuardrailShadow;
  streaming?: GuardrailStreaming;
  scope?: GuardrailScope;
  /**
   * More phrases that count as injection attempts, matched like keywords (case-insensitive, whole words), besides the built-in pack (whose version is in every verdict).
   */
  extra?: string[];
  description?: Description;
}
/**
 * Checks that the answer is JSON valid against a schema (output only; buffers streams).
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "JsonSchemaGuardrail".
 */
export interface JsonSchemaGuardrail {
  /**
   * The check.
   */
  kind: 'jsonSchema';
  stage: GuardrailStage;
  action: GuardrailAction;
  shadow?: GuardrailShadow;
  streaming?: GuardrailStreaming;
  /**
   * An inline JSON Schema (2020-12), or `{ $ref: ./path.json }`: a schema file relative to the policy file that names it. The answer must be JSON (a fenced ```json block is accepted) valid against it.
   */
  schema: {};
  description?: Description;
}
/**
 * A built-in heuristic, with no model call: the text's length, code (fences and code-like lines), the number of questions and reasoning cues (`step by step`, `prove`, `why`, `explain`, `compare`, ...) give a score between 0 and 1 (docs/classifiers.md states the formula). Each label declares the upper bound of its band: the request takes the label with the smallest bound at or above its score.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "ComplexityClassifier".
 */
export interface ComplexityClassifier {
  /**
   * The classifier.
   */
  kind: 'complexity';
  /**
   * Label → the upper bound (inclusive) of its score band, between 0 and 1, e.g. `{ simple: 0.3, medium: 0.6, complex: 1 }`. The largest bound must be 1, so every score has a label.
   */
  labels: {
    [k: string]: number | undefined;
  };
  scope?: GuardrailScope1;
  description?: Description;
}
/**
 * A cheap model of the policy is asked to pick one of the labels. The answer is parsed strictly: the exact label after trimming whitespace (and a trailing period) and ignoring case; anything else, a failure or the timeout gives the `default` label. The call's cost is the request's and counts against its route's budgets.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "ModelClassifier".
 */
export interface ModelClassifier {
  /**
   * The classifier.
   */
  kind: 'model';
  /**
   * The name of a model in `models` (not a wildcard `"*"` model) that answers the classification prompt.
   */
  model: string;
  /**
   * Label → a short description of what it means, given to the model (an empty string for none).
   */
  labels: {
    [k: string]: string | undefined;
  };
  default: ClassifierLabel;
  /**
   * The system message sent with the classified text as the user message. `{{labels}}` is replaced by the labels separated by `, `, `{{descriptions}}` by one `- label: description` line per label. Default: an instruction to answer with one label only, a `Labels: {{labels}}` line and the descriptions. The mock provider answers a classification only when the prompt has a line starting `Labels: `.
   */
  prompt?: string;
  timeout?: Duration15;
  /**
   * `max_tokens` of the classification call. Default 16.
   */
  maxTokens?: number;
  scope?: GuardrailScope2;
  /**
   * Bound on the results kept for identical inputs (an LRU keyed on the classified text). Default 10000; 0 keeps none.
   */
  maxEntries?: number;
  description?: Description;
}
/**
 * The label of the most similar example (cosine similarity of embeddings from a declared embedding model). The examples are embedded once, on first use, and kept; the request's text is embedded per classification. A failure, the timeout, or a best similarity under `minSimilarity` gives the `default` label.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "EmbeddingClassifier".
 */
export interface EmbeddingClassifier {
  /**
   * The classifier.
   */
  kind: 'embedding';
  /**
   * The name of a model in `models` whose provider serves embeddings (not a wildcard `"*"` model).
   */
  model: string;
  /**
   * Label → example texts of that label.
   */
  labels: {
    /**
     * @minItems 1
     * @maxItems 200
     */
    [k: string]: [string, ...string[]] | undefined;
  };
  default: ClassifierLabel1;
  /**
   * The least cosine similarity of the nearest example for its label to be taken; below it, the `default` label. Default 0 (always the nearest).
   */
  minSimilarity?: number;
  timeout?: Duration16;
  scope?: GuardrailScope3;
  /**
   * Bound on the results kept for identical inputs (an LRU keyed on the classified text). Default 10000; 0 keeps none.
   */
  maxEntries?: number;
  description?: Description;
}
/**
 * Shared state backends.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "Stores".
 */
export interface Stores {
  /**
   * The Redis server shared by replicas for limits, budgets and caches.
   */
  redis?: {
    /**
     * e.g. `redis://127.0.0.1:6379/0`; may carry a password (masked).
     */
    url: string;
    commandTimeout?: Duration17;
  };
}
/**
 * Append one JSON line per request served to a file (format: `schemas/recorded-traffic.schema.json`, documented in `docs/recorded-traffic.md`): the input of `switchyard replay`. Only the server (`switchyard serve`) writes it; `validate`, `test`, `replay`, `diff` and an embedding program that passes no recorder never do. Lines are written off the request path through a bounded buffer (10,000 lines or 64 MiB; beyond that, lines are dropped and counted in `switchyard_recording_dropped_total`) and flushed on shutdown. A reload that changes this block switches cleanly: a request is written under the block of the policy version it started with, and a file no version uses any more is closed once its last request is written. `serve --record <file>` replaces `path` and `serve --record-content` replaces `content` for every version; `serve --no-record` ignores the block.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "Recording".
 */
export interface Recording {
  /**
   * The JSON Lines file to append to, created when missing (its directory must exist). A relative path is relative to the policy file that declares it. The server opens it before a version serves: a file it cannot write makes the load or reload fail, and the previous version keeps serving.
   */
  path: string;
  /**
   * What of the callers' text is written. `hash`: every message content, tool-call arguments, embeddings input and prompt become `sha256:<hex>` of the text, with roles, parameters and lengths kept (equal prompts hash equally, so cache behaviour stays visible). `drop`: those texts are removed. `keep`: the body as received. Credentials (keys, `Authorization`, cookies) are never written in any mode.
   */
  content?: 'keep' | 'hash' | 'drop';
  /**
   * Request headers to record besides the default allow-list (`x-request-id`, `x-switchyard-metadata`, `x-switchyard-seed`, `content-type`, `user-agent`): typically the headers a `when` or a sticky key reads, so that `replay` decides as the server did. Names are case-insensitive. A credential header (`authorization`, `cookie`, or a name containing `auth`, `api-key`, `token`, `secret`, `password` or `session`) is refused: recordings never hold credentials.
   */
  headers?: string[];
  rotate?: RecordingRotation;
}
/**
 * Bounds the recording's size on disk. Before a write would take the file past `size`, the file is renamed `<path>.1` (an existing `<path>.1` becomes `<path>.2`, and so on up to `keep`; the oldest beyond `keep` is deleted) and a new file is started. Lines are never split across files. Without `rotate` the file grows until an external tool (logrotate with `copytruncate`) trims it.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "RecordingRotation".
 */
export interface RecordingRotation {
  size: Size1;
  /**
   * How many rotated files are kept besides the current one.
   */
  keep?: number;
}
/**
 * Background work: batches (`POST /v1/files` then `POST /v1/batches`), deferred requests (`x-switchyard-defer: true`) and `switchyard batch run`. Each request of a job runs through the same routes, limits, budgets, guardrails and recording as an interactive one, and carries the header `x-switchyard-job` (`batch` or `deferred`), so a route can send background work elsewhere with `when: { header.x-switchyard-job: batch }`. The server keeps jobs only when started with `--jobs-dir` (a directory) or `--jobs-redis` (Redis, shared by replicas).
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "Jobs".
 */
export interface Jobs {
  /**
   * The most job requests in flight at once, all jobs of this process together; a reload applies to the next request started. Interactive requests never queue behind job requests, but both share the upstream connections (`connections`) and the policy's limits: keep it well below the smallest `connections` of the providers jobs use (a warning says when it is not). Job requests refused by a rate limit wait for its `Retry-After` and run again, so a batch yields to interactive traffic under a shared limit.
   */
  concurrency?: number;
  maxFileSize?: Size2;
  /**
   * The most lines a batch input file may have (OpenAI allows 50,000).
   */
  maxRequests?: number;
  /**
   * The most batches and deferred requests not yet finished, all callers together; one more is refused with 429 `too_many_jobs`.
   */
  maxActive?: number;
}
/**
 * Spend attributed to request fields beyond tenant, route and model: each field in `attribute` splits the cost (and request count) in the metric `switchyard_attributed_cost_usd_total{attribute, value}`, in `GET /admin/spend` (`byAttribute`) and in the recording (`outcome.attribution`). A request without the field counts as `none`. The values come from clients, so each field keeps at most `maxValues` distinct values, the first ones seen by this process; every later new value, and any value over 64 characters, counts as `other`: a client sending random values cannot grow the metrics without bound. Requests refused before routing (a malformed body, an unknown key, no route) cost nothing and are not attributed.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "Accounting".
 */
export interface Accounting {
  /**
   * Request fields to split spend by, as `when` names them: `metadata.<key>` (the body's `metadata` or the `x-switchyard-metadata` header), `header.<name>` or `label.<key>` (the tenant's labels). Credential headers are refused.
   *
   * @minItems 1
   * @maxItems 8
   */
  attribute:
    | [string]
    | [string, string]
    | [string, string, string]
    | [string, string, string, string]
    | [string, string, string, string, string]
    | [string, string, string, string, string, string]
    | [string, string, string, string, string, string, string]
    | [string, string, string, string, string, string, string, string];
  /**
   * The most distinct values kept per attributed field (besides `none` and `other`); later new values count as `other`. Default 100.
   */
  maxValues?: number;
  description?: Description;
}
/**
 * Settings every route inherits unless it or its model overrides them.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "Defaults".
 */
export interface Defaults {
  timeout?: Timeout;
  retry?: Retry;
  breaker?: Breaker;
  stream?: Stream;
  maxAttempts?: MaxAttempts;
  /**
   * Names of `guardrails` every route applies (before its own); a route opts out with `skipGuardrails`.
   */
  guardrails?: string[];
}
/**
 * What happens when a stream fails after content reached the caller: `error` ends it with an in-band error event and no `[DONE]`; `continue` resumes on the next target that accepts an assistant prefill.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "Stream".
 */
export interface Stream {
  /**
   * `error` or `continue`.
   */
  midStream?: 'error' | 'continue';
}
/**
 * A rule of the routing table. The first route whose `when` matches serves the request.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "Route".
 */
export interface Route {
  name: Name;
  description?: Description;
  when?: When;
  strategy?: Strategy;
  stickyKey?: StickyKey;
  targets: Targets;
  timeout?: Timeout;
  retry?: Retry;
  breaker?: Breaker;
  stream?: Stream;
  maxAttempts?: MaxAttempts;
  /**
   * Names of `limits` that apply.
   */
  limits?: string[];
  /**
   * Names of `budgets` that apply.
   */
  budgets?: string[];
  /**
   * The name of a `caches` entry, or the cache layers in the order they are read: at most one `exact` cache, then at most one `semantic` cache (`[faq, similar]`: an exact hit is served first; on an exact miss the semantic cache is asked; an upstream answer is stored in both).
   */
  cache?: string | [string] | [string, string];
  /**
   * Names of `guardrails` that apply to this route, after those of `defaults.guardrails`. Input guardrails run in this order before any limit, cache or upstream call; output guardrails check each answer before the caller sees it.
   */
  guardrails?: string[];
  /**
   * Names of `defaults.guardrails` this route does not apply.
   */
  skipGuardrails?: string[];
  promptCache?: PromptCache;
  batch?: RouteBatch;
  /**
   * The response when every target failed. By default the last upstream error is returned with an honest status (502, 503 or 504).
   */
  onExhausted?: {
    /**
     * HTTP status (4xx or 5xx).
     */
    status: number;
    /**
     * The error message returned to the caller.
     */
    message: string;
  };
}
/**
 * A model with a weight (for `weighted`).
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "ModelTarget".
 */
export interface ModelTarget {
  /**
   * The name of a model in `models`.
   */
  model: string;
  weight?: Weight;
}
/**
 * A nested group of targets with its own strategy.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "GroupTarget".
 */
export interface GroupTarget {
  strategy?: Strategy;
  stickyKey?: StickyKey;
  targets: Targets;
  weight?: Weight;
}
/**
 * Hand this route's batch work to the provider's own batch API (OpenAI `/v1/batches`, Anthropic Message Batches, the mock's): a price/latency trade. The lines of a batch job (`POST /v1/batches`, never interactive or deferred requests) that this route serves are grouped by the first target of the plan whose provider has a batch API, and a group of at least `minRequests` lines is submitted as one provider batch, priced at the model's `batchPrice` (about half of `price` at OpenAI and Anthropic), finished within the provider's window (up to 24 h). What is given up: per-request timeouts, retries, breakers and fallback (a line the provider batch failed, expired or cancelled runs again through the route's normal plan), and rate limits and budgets apply when the results arrive, not before submission (an answer is never refused for a budget exceeded by then: it is paid for, and its cost counts). Input guardrails run before submission (a blocked line is not submitted; a redacted one is submitted redacted), output guardrails when the results arrive.
 *
 * This interface was referenced by `Policy`'s JSON-Schema
 * via the `definition` "RouteBatch".
 */
export interface RouteBatch {
  /**
   * Send this route's batch lines to the provider's batch API.
   */
  native: boolean;
  /**
   * The fewest lines of one job for one target worth a provider batch; fewer run as ordinary requests.
   */
  minRequests?: number;
}
