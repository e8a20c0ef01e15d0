/**
 * `GET /v1/models/{id}`: one model, as the OpenAI API answers it, when the policy routes it; 404
 * `model_not_found` in the OpenAI shape otherwise. A model is routed when a route names it (the
 * list of `GET /v1/models`) or when a route would take a request for it (a catch-all route, a
 * wildcard target), with the caller's own headers (tenant, metadata).
 */
import { sendApiError } from '../errors.js';
import type { Routes } from '../http.js';
import type { PolicyManager } from '../policy-manager.js';

export interface ModelRoutesOptions {
  manager: PolicyManager;
}

/** Longest model id looked up; longer ones are no model of any provider. */
const MAX_MODEL_ID = 256;

export function modelRoutes(routes: Routes, options: ModelRoutesOptions): void {
  const { manager } = options;
  // A wildcard, not `:id`: model ids may hold slashes (`meta-llama/Llama-3.1-8B-Instruct`).
  routes.add('GET', '/v1/models/*', {
    handler: (request) => {
      const current = manager.current;
      const engine = manager.engine;
      if (engine === null || current === null) return sendApiError(request, 'policy_not_loaded');
      const id = request.params['*'] ?? '';
      const shown = id.slice(0, MAX_MODEL_ID);
      let routed = id !== '' && id.length <= MAX_MODEL_ID && engine.policy.acceptedModels.includes(id);
      if (!routed && id !== '' && id.length <= MAX_MODEL_ID) {
        const decision = engine.decide({
          body: { model: id, messages: [{ role: 'user', content: '' }] },
          headers: request.headers,
          path: '/v1/chat/completions',
        });
        routed = decision.kind === 'route';
      }
      if (!routed) return sendApiError(request, 'model_not_found', { model: shown }, 'model');
      return {
        id,
        object: 'model',
        created: Math.floor(Date.parse(current.loadedAt) / 1000),
        owned_by: 'switchyard',
      };
    },
  });
}
