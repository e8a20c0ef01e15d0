/**
 * Upstream failures → the error taxonomy (docs/design.md §2). Three data tables decide, in this order:
 * body signals (an error code, an Anthropic error type, a message pattern) that name a class
 * outright, then the HTTP status, then the status family. The tables are the reference; the code
 * only walks them.
 */

import { isRecord } from '../shared/guards.js';
import type { ErrorClass } from '../types.js';
import { SseError } from './sse.js';
import { TransportError } from './transport.js';
import { type ProviderError, ProviderFailure } from './types.js';

/** Body error codes (OpenAI `error.code`, Azure `innererror.code`) that name a class. */
const CODE_CLASSES: Readonly<Record<string, ErrorClass>> = {
  context_length_exceeded: 'context_length',
  string_above_max_length: 'context_length',
  content_filter: 'content_policy',
  content_policy_violation: 'content_policy',
  ResponsibleAIPolicyViolation: 'content_policy',
  invalid_api_key: 'auth',
  insufficient_quota: 'rate_limited',
  rate_limit_exceeded: 'rate_limited',
  model_not_found: 'bad_request',
};

/** Anthropic `error.type` (HTTP bodies and stream `error` events). */
export const ANTHROPIC_ERROR_TYPES: Readonly<Record<string, ErrorClass>> = {
  invalid_request_error: 'bad_request',
  authentication_error: 'auth',
  permission_error: 'auth',
  not_found_error: 'bad_request',
  request_too_large: 'bad_request',
  rate_limit_error: 'rate_limited',
  api_error: 'server_error',
  overloaded_error: 'overloaded',
  timeout_error: 'server_error',
};

/**
 * Message patterns checked on 4xx answers, first match wins. Providers disagree on codes but agree
 * closely enough on wording.
 */
const MESSAGE_PATTERNS: ReadonlyArray<readonly [RegExp, ErrorClass]> = [
  [
    /maximum context length|context[_ ]length|context window|prompt is too long|too many (input )?tokens/i,
    'context_length',
  ],
  [/input is too long for requested model|reduce the length of the (messages|prompt)/i, 'context_length'],
  [
    /content[_ ]?(management )?polic|content[_ ]filter|safety system|flagged as potentially violating/i,
    'content_policy',
  ],
];

const STATUS_CLASSES: Readonly<Record<number, ErrorClass>> = {
  401: 'auth',
  403: 'auth',
  404: 'bad_request',
  408: 'server_error',
  413: 'bad_request',
  429: 'rate_limited',
  503: 'overloaded',
  529: 'overloaded',
};

/** The OpenAI `error.type` reported to callers for each class when the upstream gave none. */
const CLASS_TYPES: Readonly<Record<ErrorClass, string>> = {
  connect: 'upstream_error',
  timeout: 'timeout_error',
  first_token: 'timeout_error',
  idle: 'timeout_error',
  rate_limited: 'rate_limit_error',
  overloaded: 'overloaded_error',
  server_error: 'server_error',
  context_length: 'invalid_request_error',
  content_policy: 'invalid_request_error',
  bad_request: 'invalid_request_error',
  auth: 'authentication_error',
  stream_cut: 'upstream_error',
  malformed: 'upstream_error',
  guardrail: 'invalid_request_error',
};

/** The `error.code` reported to callers for classes whose OpenAI code is well known. */
const CLASS_CODES: Partial<Record<ErrorClass, string>> = {
  context_length: 'context_length_exceeded',
  content_policy: 'content_policy_violation',
  rate_limited: 'rate_limit_exceeded',
};

function statusClass(status: number): ErrorClass {
  const exact = STATUS_CLASSES[status];
  if (exact !== undefined) return exact;
  return status >= 500 ? 'server_error' : 'bad_request';
}

/** What an upstream error body says, whichever dialect it speaks. */
interface ErrorBodyInfo {
  message: string | null;
  type: string | null;
  code: string | null;
}

export function readErrorBody(parsed: unknown): ErrorBodyInfo {
  const info: ErrorBodyInfo = { message: null, type: null, code: null };
  if (!isRecord(parsed)) return info;
  const err = parsed.error;
  if (isRecord(err)) {
    if (typeof err.message === 'string') info.message = err.message;
    if (typeof err.type === 'string') info.type = err.type;
    if (typeof err.code === 'string') info.code = err.code;
    else if (typeof err.code === 'number') info.code = String(err.code);
    // Azure content filter: { error: { code: 'content_filter', innererror: { code: 'ResponsibleAIPolicyViolation' } } }
    if (isRecord(err.innererror) && typeof err.innererror.code === 'string' && info.code === null) {
      info.code = err.innererror.code;
    }
  } else if (typeof err === 'string') {
    info.message = err;
  } else if (typeof parsed.message === 'string') {
    info.message = parsed.message;
  }
  return info;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Classifies an error body on its own (also used for in-band stream error events). */
export function classifyErrorBody(info: ErrorBodyInfo): ErrorClass | null {
  if (info.code !== null && CODE_CLASSES[info.code] !== undefined) return CODE_CLASSES[info.code];
  if (info.message !== null) {
    for (const [pattern, cls] of MESSAGE_PATTERNS) if (pattern.test(info.message)) return cls;
  }
  if (info.type !== null && ANTHROPIC_ERROR_TYPES[info.type] !== undefined)
    return ANTHROPIC_ERROR_TYPES[info.type];
  return null;
}

/**
 * Milliseconds to wait from `retry-after-ms` (float ms, OpenAI/Azure), or `Retry-After` as seconds
 * or an HTTP-date. `nowMs` is wall-clock epoch ms, used only for the HTTP-date form.
 */
export function parseRetryAfter(headers: Readonly<Record<string, string>>, nowMs: number): number | null {
  const ms = headers['retry-after-ms'];
  if (ms !== undefined && /^\s*\d+(\.\d+)?\s*$/.test(ms)) return Math.ceil(Number(ms));
  const value = headers['retry-after'];
  if (value === undefined) return null;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Math.ceil(Number(value) * 1000);
  const date = Date.parse(value);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - nowMs);
}

/** Builds a ProviderError for a failure Switchyard observed itself (no upstream body). */
export function providerError(
  cls: ErrorClass,
  message: string,
  options: { status?: number | null; retryAfterMs?: number | null; type?: string; code?: string | null } = {},
): ProviderError {
  return {
    class: cls,
    status: options.status ?? null,
    message,
    retryAfterMs: options.retryAfterMs ?? null,
    body: {
      error: {
        message,
        type: options.type ?? CLASS_TYPES[cls],
        code: options.code !== undefined ? options.code : (CLASS_CODES[cls] ?? null),
      },
    },
  };
}

/**
 * Classifies a non-2xx upstream answer.
 *
 * @example
 * classifyHttpError(429, '{"error":{"message":"slow down"}}', { 'retry-after': '2' }, Date.now())
 * // → { class: 'rate_limited', status: 429, retryAfterMs: 2000, ... }
 */
export function classifyHttpError(
  status: number,
  bodyText: string,
  headers: Readonly<Record<string, string>>,
  nowMs: number,
): ProviderError {
  const info = readErrorBody(parseJson(bodyText));
  let cls = statusClass(status);
  // Only client errors are refined by the body: a 5xx or 429 keeps its retryable class even when
  // the message happens to mention, say, the context window.
  // 401/403 stay `auth` whatever the body says: OpenAI reports a bad key as an
  // `invalid_request_error`, and a caller-fault class would pass the body (and the masked
  // gateway key in its message) through to the caller.
  if (status >= 400 && status < 500 && status !== 429 && cls !== 'auth') {
    cls = classifyErrorBody(info) ?? cls;
  }
  const message = info.message ?? (bodyText.trim().slice(0, 500) || `upstream answered HTTP ${status}`);
  return providerError(cls, message, {
    status,
    retryAfterMs: parseRetryAfter(headers, nowMs),
    // Keep the upstream's OpenAI type/code when it spoke OpenAI; Anthropic types are not OpenAI's.
    type: info.type !== null && ANTHROPIC_ERROR_TYPES[info.type] === undefined ? info.type : CLASS_TYPES[cls],
    code: info.code ?? CLASS_CODES[cls] ?? null,
  });
}

/**
 * Classifies an exception from the transport or from reading a body. `phase` says whether the
 * response headers had arrived: before them everything is `connect`; after them a broken body is
 * `stream_cut`, an oversized or unparseable one `malformed`. The abort case is not handled here:
 * callers rethrow the signal's reason first (see `rethrowIfAborted`).
 */
export function classifyException(err: unknown, phase: 'request' | 'body'): ProviderError {
  if (err instanceof ProviderFailure) return err.failure;
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof SseError) return providerError('malformed', `malformed event stream: ${message}`);
  if (err instanceof TransportError) {
    if (err.code === 'too_large') return providerError('malformed', message);
    if (err.code === 'connect') return providerError('connect', message);
  }
  return phase === 'request'
    ? providerError('connect', message)
    : providerError('stream_cut', `upstream body broke: ${message}`);
}

/**
 * Providers never reject except with the abort reason: rethrow it when the signal fired. A
 * `Cancellation` does too (a call's `cancel`: reading its `signal` would make an AbortSignal).
 */
export function rethrowIfAborted(signal: { readonly aborted: boolean; readonly reason: unknown }): void {
  if (signal.aborted) throw signal.reason;
}
