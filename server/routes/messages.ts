/**
 * `POST /v1/messages`: Anthropic's Messages API, so Anthropic SDK clients and coding agents can
 * use the gateway whatever provider serves them (engine/ingress/messages.ts). Every error,
 * including what the HTTP layer refuses itself and a stream cut in band, has Anthropic's shape
 * `{ type: 'error', error: { type, message }, request_id }`.
 */
import { anthropicError, type ErrorCode, errorBody, sseFrame } from '../../engine/serving.js';
import { statusOf } from '../errors.js';
import type { Routes } from '../http.js';
import { type ErrorShape, type IngressHandlerOptions, ingressRoute } from './ingress.js';

function anthropicBody(
  code: ErrorCode,
  params: Readonly<Record<string, string>> | undefined,
  requestId: string | null,
) {
  return anthropicError(statusOf(code), errorBody(code, params), requestId);
}

const ANTHROPIC_ERRORS: ErrorShape = {
  body: anthropicBody,
  event: (code) => {
    const { error } = anthropicBody(code, undefined, null);
    return sseFrame(JSON.stringify({ type: 'error', error }), 'error');
  },
  requestIdHeader: 'request-id',
};

export function messagesRoutes(routes: Routes, options: IngressHandlerOptions): void {
  // Not deferrable (jobs run the OpenAI endpoints only).
  const { defer: _defer, ...rest } = options;
  routes.add('POST', '/v1/messages', ingressRoute('/v1/messages', ANTHROPIC_ERRORS, rest));
}
