/**
 * The error catalogue: every error a client can see, from the HTTP layer to the attempt loop, has
 * one entry here with its HTTP status, OpenAI error `type`, stable snake_case `code` (what the
 * OpenAI SDKs and users expect), message template, and the stage that raises it. Nothing else
 * computes a status or a `type`; `docs/errors.md` is generated from this table and a test keeps
 * the two, and the code that raises each entry, in step.
 *
 * Two kinds of error bodies are not in the table: upstream errors the policy passes through
 * unchanged (a caller's own fault: `bad_request`, `content_policy`, `context_length`, with the
 * provider's body, scrubbed of credentials), and policy diagnostics, which have their own codes
 * (`docs/diagnostics.md`).
 *
 * Messages of 5xx entries are fixed sentences: a cause (a stack, an upstream address, a
 * provider's text) stays on `EngineError.cause` for logs and never reaches a client body.
 */
import type { OpenAIErrorBody } from './types.js';

/** Where an error is raised, in request order (the docs group by it). */
export type ErrorStage =
  | 'http'
  | 'request'
  | 'route'
  | 'guardrail'
  | 'admission'
  | 'attempts'
  | 'stream'
  | 'lifecycle'
  | 'jobs'
  | 'admin'
  | 'internal';

export interface ErrorSpec {
  readonly status: number;
  /** The OpenAI error `type` of the body. */
  readonly type: 'invalid_request_error' | 'authentication_error' | 'rate_limit_error' | 'api_error';
  /** Message template; `{name}` placeholders are filled from the params (never for 5xx causes). */
  readonly message: string;
  readonly stage: ErrorStage;
  /** One line for the error reference. */
  readonly doc: string;
}

export const ERRORS = {
  // ---- http: the server refuses what it cannot read -------------------------------------------
  bad_http_request: {
    status: 400,
    type: 'invalid_request_error',
    message: 'Malformed HTTP request.',
    stage: 'http',
    doc: 'The HTTP request itself is malformed (bad framing or headers Node cannot parse).',
  },
  headers_too_large: {
    status: 431,
    type: 'invalid_request_error',
    message: 'Request headers too large.',
    stage: 'http',
    doc: "The request headers exceed Node's header size limit.",
  },
  request_timeout: {
    status: 408,
    type: 'invalid_request_error',
    message: 'Request timed out.',
    stage: 'http',
    doc: 'Receiving the request (headers and body) took longer than the server allows.',
  },
  invalid_json: {
    status: 400,
    type: 'invalid_request_error',
    message: '{detail}',
    stage: 'http',
    doc: "The body is not valid JSON, is empty, holds a `__proto__` key or a `constructor` object with a `prototype` key (refused: they reach an object's prototype), or holds a number too large for a double, such as `1e400` (refused: forwarded, it would become `null`).",
  },
  body_too_deep: {
    status: 400,
    type: 'invalid_request_error',
    message: '{detail}',
    stage: 'http',
    doc: 'The JSON body nests arrays and objects deeper than 128 levels (checked before it is parsed).',
  },
  body_too_complex: {
    status: 400,
    type: 'invalid_request_error',
    message: '{detail}',
    stage: 'http',
    doc: 'The JSON body holds more than 50,000 arrays and objects (checked before it is parsed).',
  },
  missing_host_header: {
    status: 400,
    type: 'invalid_request_error',
    message: 'HTTP/1.1 requests must carry a Host header.',
    stage: 'http',
    doc: 'An HTTP/1.1 request without a `Host` header.',
  },
  body_too_large: {
    status: 413,
    type: 'invalid_request_error',
    message: 'The request body exceeds the limit of {limit} bytes.',
    stage: 'http',
    doc: "The body is larger than the server's body limit (`serve --body-limit`, 1 MiB by default).",
  },
  unsupported_media_type: {
    status: 415,
    type: 'invalid_request_error',
    message: 'The request body must be JSON (Content-Type: application/json).',
    stage: 'http',
    doc: 'The body is not sent as `application/json`.',
  },
  not_found: {
    status: 404,
    type: 'invalid_request_error',
    message: 'No route for {method} {path}.',
    stage: 'http',
    doc: 'No endpoint at this method and path.',
  },
  policy_not_loaded: {
    status: 503,
    type: 'api_error',
    message: 'No valid policy is loaded; see /admin/status.',
    stage: 'http',
    doc: 'The server has no valid policy yet (the first load failed); it is not ready.',
  },
  shutting_down: {
    status: 503,
    type: 'api_error',
    message: 'The server is shutting down; retry on another instance.',
    stage: 'lifecycle',
    doc: 'A request arrived during the shutdown drain, or a stream was still running when the grace period ended (sent in-band, no `[DONE]`).',
  },

  // ---- request: the engine checks what every caller sends, server and library alike --------
  invalid_request: {
    status: 400,
    type: 'invalid_request_error',
    message: '{detail}',
    stage: 'request',
    doc: 'The body does not have the shape the endpoint needs (`param` names the field), nests deeper than 128 levels, or the request is otherwise malformed (a Content-Length that does not match, a malformed URL).',
  },
  invalid_metadata: {
    status: 400,
    type: 'invalid_request_error',
    message: '{detail}',
    stage: 'request',
    doc: 'The body `metadata` or the `x-switchyard-metadata` header is not a JSON object.',
  },
  invalid_seed: {
    status: 400,
    type: 'invalid_request_error',
    message: 'The x-switchyard-seed header must be an unsigned 32-bit integer.',
    stage: 'request',
    doc: 'The `x-switchyard-seed` header is not an unsigned 32-bit integer.',
  },
  unsupported_feature: {
    status: 400,
    type: 'invalid_request_error',
    message: '{detail}',
    stage: 'request',
    doc: 'A `/v1/responses` or `/v1/messages` request uses something its translation to chat completions cannot carry (a hosted or server tool, `previous_response_id`, a document block, ...), and no target of the route can take it as it is: never silently dropped. `param` names the field; `docs/ingress.md` lists what translates.',
  },
  invalid_api_key: {
    status: 401,
    type: 'authentication_error',
    message: 'Missing or unknown API key. Send `Authorization: Bearer <key>` with a key this gateway knows.',
    stage: 'request',
    doc: 'The policy declares tenants and the request carries no key of one of them.',
  },

  model_not_found: {
    status: 404,
    type: 'invalid_request_error',
    message: "The model '{model}' does not exist or is not routed by this gateway.",
    stage: 'request',
    doc: '`GET /v1/models/{id}` for a model no route of the policy accepts.',
  },

  // ---- route -----------------------------------------------------------------------------
  no_route: {
    status: 404,
    type: 'invalid_request_error',
    message: '{detail}',
    stage: 'route',
    doc: 'No route matched the request and the policy has no catch-all route.',
  },
  no_eligible_target: {
    status: 400,
    type: 'invalid_request_error',
    message: '{detail}',
    stage: 'route',
    doc: 'A route matched, but none of its targets can serve the request (it needs tools or vision the targets lack, or a wildcard model without a requested model).',
  },

  // ---- guardrails ------------------------------------------------------------------------
  guardrail_blocked: {
    status: 400,
    type: 'invalid_request_error',
    message: 'Blocked by guardrail "{guardrail}".',
    stage: 'guardrail',
    doc: 'An input guardrail refused the request (no upstream call was made), or an output guardrail withheld the answer (for a stream already started: in band, no `[DONE]`). The matched text is never returned.',
  },

  // ---- admission: limits and budgets -----------------------------------------------------
  rate_limited: {
    status: 429,
    type: 'rate_limit_error',
    message: '{detail}',
    stage: 'admission',
    doc: "A rate limit refused the request (or every target's own limit did); `Retry-After` says when to retry.",
  },
  budget_exceeded: {
    status: 429,
    type: 'rate_limit_error',
    message: '{detail}',
    stage: 'admission',
    doc: 'A budget with no `downgradeTo` is spent for this period (or every target is over its own budget).',
  },

  // ---- attempts: the upstream calls --------------------------------------------------------
  upstream_failed: {
    status: 502,
    type: 'api_error',
    message: 'Every upstream target failed; the last error was {lastClass}.',
    stage: 'attempts',
    doc: 'All targets of the route failed (or were skipped) with errors other than timeouts or overload.',
  },
  upstream_unavailable: {
    status: 503,
    type: 'api_error',
    message: 'Every upstream target is rate-limited, overloaded or circuit-open; try again shortly.',
    stage: 'attempts',
    doc: 'All targets answered 429/503/529 or were skipped by an open circuit breaker.',
  },
  upstream_timeout: {
    status: 504,
    type: 'api_error',
    message: 'The upstream did not answer in time ({lastClass}).',
    stage: 'attempts',
    doc: 'The request deadline passed, or the last target failed on a connect, first-token, idle or total timeout.',
  },
  stream_interrupted: {
    status: 502,
    type: 'api_error',
    message: 'The upstream stream failed after it had started ({lastClass}).',
    stage: 'stream',
    doc: 'Sent in-band as the last SSE event (no `[DONE]`) when a stream fails after content reached the client.',
  },

  // ---- lifecycle -------------------------------------------------------------------------
  request_aborted: {
    status: 499,
    type: 'invalid_request_error',
    message: 'The request was cancelled.',
    stage: 'lifecycle',
    doc: 'The caller disconnected or aborted the request; upstream calls were cancelled. Seen in logs and recordings.',
  },

  // ---- jobs: files, batches and deferred requests ---------------------------------------
  jobs_disabled: {
    status: 404,
    type: 'invalid_request_error',
    message:
      'Jobs (files, batches, deferred requests) are not enabled on this gateway; start it with --jobs-dir or --jobs-redis.',
    stage: 'jobs',
    doc: 'The server was started without `--jobs-dir` or `--jobs-redis`, so it keeps no files or jobs.',
  },
  job_store_unavailable: {
    status: 503,
    type: 'api_error',
    message: 'The job store cannot be reached; retry shortly.',
    stage: 'jobs',
    doc: 'Jobs are kept in Redis (`--jobs-redis`) and Redis cannot be reached: every files and jobs call answers this until it is back; jobs being worked on pause and resume then.',
  },
  file_not_found: {
    status: 404,
    type: 'invalid_request_error',
    message: 'No file with id {id}.',
    stage: 'jobs',
    doc: "No such file, or it belongs to another tenant (another tenant's files do not exist for a caller).",
  },
  file_too_large: {
    status: 413,
    type: 'invalid_request_error',
    message: 'The file exceeds the upload limit of {limit} bytes (jobs.maxFileSize).',
    stage: 'jobs',
    doc: "An upload larger than the policy's `jobs.maxFileSize` (100 MiB by default); nothing is kept.",
  },
  file_in_use: {
    status: 409,
    type: 'invalid_request_error',
    message: 'The file {id} is the input of a job that has not finished; cancel the job first.',
    stage: 'jobs',
    doc: 'Deleting the input file of a batch that is still running.',
  },
  job_not_found: {
    status: 404,
    type: 'invalid_request_error',
    message: 'No {kind} with id {id}.',
    stage: 'jobs',
    doc: 'No such batch or deferred request, or it belongs to another tenant.',
  },
  job_not_cancellable: {
    status: 409,
    type: 'invalid_request_error',
    message: 'A job with status {status} cannot be cancelled.',
    stage: 'jobs',
    doc: 'Cancelling a batch or deferred request that has already finished, failed or expired.',
  },
  too_many_jobs: {
    status: 429,
    type: 'rate_limit_error',
    message: '{limit} jobs are already queued or running (jobs.maxActive); retry when one has finished.',
    stage: 'jobs',
    doc: 'Creating a batch or a deferred request while `jobs.maxActive` jobs have not finished.',
  },

  // ---- admin -----------------------------------------------------------------------------
  invalid_admin_token: {
    status: 401,
    type: 'authentication_error',
    message: 'A valid admin bearer token is required.',
    stage: 'admin',
    doc: '`/admin` needs `Authorization: Bearer <admin token>`.',
  },

  // ---- internal --------------------------------------------------------------------------
  internal_error: {
    status: 500,
    type: 'api_error',
    message: 'Internal error.',
    stage: 'internal',
    doc: 'An unexpected failure inside Switchyard; the cause is logged, never returned.',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERRORS, code);
}

const PLACEHOLDER = /\{(\w+)\}/g;

/** Fills `{name}` placeholders; an unknown placeholder stays visible rather than vanishing. */
export function formatErrorMessage(code: ErrorCode, params: Readonly<Record<string, string>> = {}): string {
  const template: string = ERRORS[code].message;
  if (template.indexOf('{') < 0) return template;
  return template.replace(PLACEHOLDER, (whole, name: string) => params[name] ?? whole);
}

/** The OpenAI error `type` for a status a policy chose (`onExhausted.status`). */
export function errorTypeForStatus(status: number): ErrorSpec['type'] {
  if (status === 401) return 'authentication_error';
  if (status === 429) return 'rate_limit_error';
  return status < 500 ? 'invalid_request_error' : 'api_error';
}

/**
 * Anthropic's error `type` (its Messages API error shape) for an answer's status and OpenAI
 * `type`: what `/v1/messages` answers instead of the OpenAI shape.
 */
export function anthropicErrorType(status: number, openAIType: string | null): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 413) return 'request_too_large';
  if (status === 429) return 'rate_limit_error';
  if (status === 503 || status === 529) return 'overloaded_error';
  if (status === 504) return 'timeout_error';
  if (status >= 500) return 'api_error';
  if (openAIType === 'authentication_error') return 'authentication_error';
  return 'invalid_request_error';
}

/** The OpenAI-shaped body of a catalogue entry: `{ error: { message, type, code[, param] } }`. */
export function errorBody(
  code: ErrorCode,
  params: Readonly<Record<string, string>> = {},
  param?: string | null,
): OpenAIErrorBody {
  const error: { message: string; type: string; code: string; param?: string | null } = {
    message: formatErrorMessage(code, params),
    type: ERRORS[code].type,
    code,
  };
  if (param !== undefined) error.param = param;
  return { error };
}

export interface EngineErrorOptions {
  readonly cause?: unknown;
  readonly route?: string;
  readonly params?: Readonly<Record<string, string>>;
}

/** A runtime failure with a catalogue code, thrown inside the engine and turned into a body once. */
export class EngineError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly route: string | undefined;
  readonly params: Readonly<Record<string, string>>;

  constructor(code: ErrorCode, options: EngineErrorOptions = {}) {
    super(formatErrorMessage(code, options.params), { cause: options.cause });
    this.name = 'EngineError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.route = options.route;
    this.params = options.params ?? {};
  }

  /** The client-safe body: for 5xx codes the fixed message only, never the cause. */
  toBody(): OpenAIErrorBody {
    return errorBody(this.code, this.params);
  }
}
