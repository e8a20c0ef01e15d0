/**
 * The HTTP layer's errors, through the engine's error catalogue (engine/errors.ts): a status, a
 * `type` and a code come from the table and nowhere else, so a client never sees a stack, and 5xx
 * messages are fixed sentences.
 */

import { ERRORS, type ErrorCode, errorBody, type OpenAIErrorBody, sseFrame } from '../engine/serving.js';
import { type HttpRequest, sendJson } from './http.js';

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

/** Sends a catalogue error in OpenAI's shape (unless an answer was already sent). */
export function sendApiError(
  req: HttpRequest,
  code: ErrorCode,
  params?: Readonly<Record<string, string>>,
  param?: string | null,
): void {
  sendJson(req, ERRORS[code].status, errorBody(code, params, param));
}
