/**
 * The EngineError catalogue: every runtime failure the engine itself reports has one stable code
 * here, with its HTTP status, OpenAI error `type`, message template and a one-line doc. Upstream
 * errors that the policy passes through unchanged (content_policy, bad_request, ...) are values
 * from the provider layer and never appear here.
 *
 * Messages of 5xx codes are fixed sentences: the cause (a stack, an upstream address, a provider
 * message) is kept on `EngineError.cause` for logs and never reaches a client body.
 */
import type { AttemptRecord, OpenAIErrorBody } from '../types.js';

export interface EngineErrorSpec {
  readonly status: number;
  /** The OpenAI error `type` of the body. */
  readonly type: string;
  /** Message template; `{name}` placeholders are filled from the params (4xx codes only). */
  readonly message: string;
  /** One line for the error reference documentation. */
  readonly doc: string;
}

export const ENGINE_ERRORS = {
  SY_NO_ROUTE: {
    status: 400,
    type: 'invalid_request_error',
    message: 'No route of policy "{policy}" accepts this request.',
    doc: 'No route matched the request and the policy has no catch-all route.',
  },
  SY_ABORTED: {
    status: 499,
    type: 'invalid_request_error',
    message: 'The request was cancelled by the client.',
    doc: 'The caller disconnected or aborted the request; upstream calls were cancelled.',
  },
  SY_EXHAUSTED: {
    status: 502,
    type: 'api_error',
    message: 'Every upstream target failed; the last error was {lastClass}.',
    doc: 'All targets of the route failed (or were skipped) with errors other than timeouts or overload.',
  },
  SY_UPSTREAM_UNAVAILABLE: {
    status: 503,
    type: 'api_error',
    message: 'Every upstream target is rate-limited, overloaded or circuit-open; try again shortly.',
    doc: 'All targets answered 429/503/529 or were skipped by an open circuit breaker.',
  },
  SY_TIMEOUT: {
    status: 504,
    type: 'api_error',
    message: 'The upstream did not answer in time ({lastClass}).',
    doc: 'The request deadline passed, or the last target failed on a connect, first-token, idle or total timeout.',
  },
  SY_STREAM_INTERRUPTED: {
    status: 502,
    type: 'api_error',
    message: 'The upstream stream failed after it had started ({lastClass}).',
    doc: 'Sent in-band as the last SSE event when a stream fails after content reached the client.',
  },
  SY_PROVIDER_MISSING: {
    status: 500,
    type: 'api_error',
    message: 'Internal error.',
    doc: 'A target names a provider the engine was not given; validation should have prevented it.',
  },
  SY_INTERNAL: {
    status: 500,
    type: 'api_error',
    message: 'Internal error.',
    doc: 'An unexpected failure inside Switchyard; the cause is logged, never returned.',
  },
} as const satisfies Record<string, EngineErrorSpec>;

export type EngineErrorCode = keyof typeof ENGINE_ERRORS;

export function isEngineErrorCode(code: string): code is EngineErrorCode {
  return Object.hasOwn(ENGINE_ERRORS, code);
}

/** Fills `{name}` placeholders; an unknown placeholder stays visible rather than vanishing. */
export function formatErrorMessage(
  code: EngineErrorCode,
  params: Readonly<Record<string, string>> = {},
): string {
  const spec: EngineErrorSpec = ENGINE_ERRORS[code];
  return spec.message.replace(/\{(\w+)\}/g, (whole, name: string) => params[name] ?? whole);
}

/** The OpenAI-shaped body for a catalogue code: `{ error: { message, type, code } }`. */
export function engineErrorBody(
  code: EngineErrorCode,
  params: Readonly<Record<string, string>> = {},
): OpenAIErrorBody {
  const spec: EngineErrorSpec = ENGINE_ERRORS[code];
  return { error: { message: formatErrorMessage(code, params), type: spec.type, code } };
}

export interface EngineErrorOptions {
  readonly cause?: unknown;
  readonly route?: string;
  readonly params?: Readonly<Record<string, string>>;
  /** Attempts made before the failure (e.g. when the caller aborted mid-way). */
  readonly attempts?: readonly AttemptRecord[];
}

/** A runtime failure with a stable code. Only the HTTP layer turns it into a status and a body. */
export class EngineError extends Error {
  readonly code: EngineErrorCode;
  readonly status: number;
  readonly route: string | undefined;
  readonly attempts: readonly AttemptRecord[];
  readonly params: Readonly<Record<string, string>>;

  constructor(code: EngineErrorCode, options: EngineErrorOptions = {}) {
    super(formatErrorMessage(code, options.params), { cause: options.cause });
    this.name = 'EngineError';
    this.code = code;
    this.status = ENGINE_ERRORS[code].status;
    this.route = options.route;
    this.attempts = options.attempts ?? [];
    this.params = options.params ?? {};
  }

  /** The client-safe body: for 5xx codes the fixed message only, never the cause. */
  toBody(): OpenAIErrorBody {
    return engineErrorBody(this.code, this.params);
  }
}

/** Maps anything thrown to a client-safe status and body; unknown errors become `SY_INTERNAL`. */
export function toErrorResponse(error: unknown): { status: number; body: OpenAIErrorBody } {
  if (error instanceof EngineError) return { status: error.status, body: error.toBody() };
  return { status: ENGINE_ERRORS.SY_INTERNAL.status, body: engineErrorBody('SY_INTERNAL') };
}
