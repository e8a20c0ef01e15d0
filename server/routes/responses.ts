/**
 * `POST /v1/responses`: OpenAI's Responses API, routed by the same policy as chat completions.
 * The engine translates (engine/ingress/responses.ts) or passes the request through to a
 * provider that serves the API; errors keep the OpenAI shape.
 */
import type { Routes } from '../http.js';
import { type IngressHandlerOptions, ingressRoute, OPENAI_ERRORS } from './ingress.js';

export function responsesRoutes(routes: Routes, options: IngressHandlerOptions): void {
  routes.add('POST', '/v1/responses', ingressRoute('/v1/responses', OPENAI_ERRORS, options));
}
