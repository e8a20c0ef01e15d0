/**
 * `POST /v1/responses`: OpenAI's Responses API, routed by the same policy as chat completions.
 * The engine translates (engine/ingress/responses.ts) or passes the request through to a
 * provider that serves the API; errors keep the OpenAI shape.
 */
import type { FastifyInstance } from 'fastify';
import { type IngressRoutesOptions, ingressErrorHandler, ingressHandler, OPENAI_ERRORS } from './ingress.js';

export async function responsesRoutes(app: FastifyInstance, options: IngressRoutesOptions): Promise<void> {
  const path = '/v1/responses';
  app.post(
    path,
    { errorHandler: ingressErrorHandler(path, OPENAI_ERRORS, options) },
    ingressHandler(path, OPENAI_ERRORS, options),
  );
}
