/** The OpenAI-compatible API: `/v1/chat/completions`, `/v1/embeddings`, `/v1/models`. */

import { sendApiError } from '../errors.js';
import type { Routes } from '../http.js';
import { type IngressHandlerOptions, ingressRoute, OPENAI_ERRORS } from './ingress.js';

export function apiRoutes(routes: Routes, options: IngressHandlerOptions): void {
  const { manager } = options;

  // The body's shape is the engine's to check (its `check` stage), so the library and the server
  // refuse the same requests, and every refusal is recorded. One handler for every model API
  // (ingress.ts); these two answer in OpenAI's shape.
  for (const path of ['/v1/chat/completions', '/v1/embeddings']) {
    routes.add('POST', path, ingressRoute(path, OPENAI_ERRORS, options));
  }

  routes.add('GET', '/v1/models', {
    handler: (req) => {
      const current = manager.current;
      const engine = manager.engine;
      if (engine === null || current === null) return sendApiError(req, 'policy_not_loaded');
      const created = Math.floor(Date.parse(current.loadedAt) / 1000);
      return {
        object: 'list',
        data: engine.policy.acceptedModels.map((id) => ({
          id,
          object: 'model',
          created,
          owned_by: 'switchyard',
        })),
      };
    },
  });
}
