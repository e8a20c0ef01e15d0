/**
 * The OpenAI error shape for everything the HTTP layer itself refuses, and the mapping of
 * Fastify's own errors onto it: a client never sees Fastify's default error JSON or a stack, and
 * 5xx messages are fixed sentences.
 */

import type { FastifyReply } from 'fastify';

export interface ApiErrorBody {
  error: { message: string; type: string; code: string; param?: string | null };
}

/** OpenAI's `type` for a status: client mistakes are `invalid_request_error`, ours `api_error`. */
function typeFor(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 429) return 'rate_limit_error';
  return status < 500 ? 'invalid_request_error' : 'api_error';
}

export function apiError(status: number, code: string, message: string, param?: string | null): ApiErrorBody {
  const error: ApiErrorBody['error'] = { message, type: typeFor(status), code };
  if (param !== undefined) error.param = param;
  return { error };
}

export function sendApiError(
  reply: FastifyReply,
  status: number,
  code: string,
  message: string,
  param?: string | null,
): FastifyReply {
  return reply
    .code(status)
    .type('application/json')
    .send(apiError(status, code, message, param));
}

interface MaybeFastifyError {
  code?: unknown;
  statusCode?: unknown;
  message?: unknown;
}

/** Maps an error thrown inside Fastify (parsers, limits, handlers) to a status and a safe body. */
export function mapFastifyError(err: unknown, bodyLimit: number): { status: number; body: ApiErrorBody } {
  const e: MaybeFastifyError = typeof err === 'object' && err !== null ? err : {};
  const code = typeof e.code === 'string' ? e.code : '';
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        status: 413,
        body: apiError(413, 'body_too_large', `The request body exceeds the limit of ${bodyLimit} bytes.`),
      };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, body: apiError(400, 'invalid_json', 'The request body is not valid JSON.') };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return {
        status: 400,
        body: apiError(400, 'invalid_json', 'The request body is empty; expected a JSON object.'),
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        status: 415,
        body: apiError(
          415,
          'unsupported_media_type',
          'The request body must be JSON (Content-Type: application/json).',
        ),
      };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return {
        status: 400,
        body: apiError(400, 'invalid_request', 'The Content-Length header does not match the body.'),
      };
    case 'SY_BODY_TOO_DEEP':
    case 'SY_BODY_TOO_COMPLEX':
      // Raised by the JSON body parser (json-body.ts); its message names the limit.
      return {
        status: 400,
        body: apiError(
          400,
          code === 'SY_BODY_TOO_DEEP' ? 'body_too_deep' : 'body_too_complex',
          typeof e.message === 'string' ? e.message : 'The request body is too complex.',
        ),
      };
    case 'FST_ERR_BAD_URL':
      return { status: 400, body: apiError(400, 'invalid_request', 'The request URL is malformed.') };
  }
  // secure-json-parse refuses `__proto__` / `constructor.prototype` keys with a SyntaxError.
  if (err instanceof SyntaxError && status === 400) {
    return { status: 400, body: apiError(400, 'invalid_json', 'The request body is not valid JSON.') };
  }
  if (status >= 400 && status < 500) {
    const message = typeof e.message === 'string' && e.message !== '' ? e.message : 'Bad request.';
    return { status, body: apiError(status, 'invalid_request', message) };
  }
  return { status: 500, body: apiError(500, 'internal_error', 'Internal error.') };
}
