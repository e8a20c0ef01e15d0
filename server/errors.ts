/**
 * The HTTP layer's errors, through the engine's error catalogue (engine/errors.ts): a status, a
 * `type` and a code come from the table and nowhere else. Fastify's own errors are mapped onto
 * catalogue codes, so a client never sees Fastify's default error JSON or a stack, and 5xx
 * messages are fixed sentences.
 */

import type { FastifyReply } from 'fastify';
import { ERRORS, type ErrorCode, errorBody, type OpenAIErrorBody, sseFrame } from '../engine/index.js';

export type ApiErrorBody = OpenAIErrorBody;

/** A catalogue error as the HTTP layer sends it. */
export interface HttpError {
  readonly code: ErrorCode;
  readonly params?: Readonly<Record<string, string>>;
  readonly param?: string | null;
}

export function apiError(error: HttpError): ApiErrorBody {
  return errorBody(error.code, error.params, error.param);
}

/** The error as an in-band SSE event, which ends a stream that cannot finish (no `[DONE]` follows). */
export function apiErrorEvent(error: HttpError): string {
  return sseFrame(JSON.stringify(apiError(error)));
}

export function statusOf(code: ErrorCode): number {
  return ERRORS[code].status;
}

export function sendApiError(
  reply: FastifyReply,
  code: ErrorCode,
  params?: Readonly<Record<string, string>>,
  param?: string | null,
): FastifyReply {
  return reply
    .code(ERRORS[code].status)
    .type('application/json')
    .send(errorBody(code, params, param));
}

interface MaybeFastifyError {
  code?: unknown;
  statusCode?: unknown;
  message?: unknown;
}

/** Maps an error thrown inside Fastify (parsers, limits, handlers) to a catalogue error. */
export function mapFastifyError(err: unknown, bodyLimit: number): HttpError {
  const e: MaybeFastifyError = typeof err === 'object' && err !== null ? err : {};
  const code = typeof e.code === 'string' ? e.code : '';
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { code: 'body_too_large', params: { limit: String(bodyLimit) } };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { code: 'invalid_json', params: { detail: 'The request body is not valid JSON.' } };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return {
        code: 'invalid_json',
        params: { detail: 'The request body is empty; expected a JSON object.' },
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { code: 'unsupported_media_type' };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return {
        code: 'invalid_request',
        params: { detail: 'The Content-Length header does not match the body.' },
      };
    case 'SY_BODY_TOO_DEEP':
    case 'SY_BODY_TOO_COMPLEX':
      // Raised by the JSON body parser (json-body.ts); its message names the limit.
      return {
        code: code === 'SY_BODY_TOO_DEEP' ? 'body_too_deep' : 'body_too_complex',
        params: { detail: typeof e.message === 'string' ? e.message : 'The request body is too complex.' },
      };
    case 'SY_JOB_STORE_UNAVAILABLE':
      // The job store (Redis) dropped during a files or jobs call (engine/jobs/storage.ts).
      return { code: 'job_store_unavailable' };
    case 'FST_ERR_BAD_URL':
      return { code: 'invalid_request', params: { detail: 'The request URL is malformed.' } };
  }
  // secure-json-parse refuses `__proto__` / `constructor.prototype` keys with a SyntaxError.
  if (err instanceof SyntaxError && status === 400) {
    return { code: 'invalid_json', params: { detail: 'The request body is not valid JSON.' } };
  }
  if (status >= 400 && status < 500) {
    const message = typeof e.message === 'string' && e.message !== '' ? e.message : 'Bad request.';
    return { code: 'invalid_request', params: { detail: message } };
  }
  return { code: 'internal_error' };
}
