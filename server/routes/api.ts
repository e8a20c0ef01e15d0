/** The OpenAI-compatible API: `/v1/chat/completions`, `/v1/embeddings`, `/v1/models`. */

import type { FastifyInstance } from 'fastify';
import { sendApiError } from '../errors.js';
import type { Lifecycle } from '../lifecycle.js';
import type { PolicyManager } from '../policy-manager.js';
import { ingressHandler, OPENAI_ERRORS } from './ingress.js';

export interface ApiRoutesOptions {
  manager: PolicyManager;
  lifecycle: Lifecycle;
}

export async function apiRoutes(app: FastifyInstance, options: ApiRoutesOptions): Promise<void> {
  const { manager, lifecycle } = options;

  // The body's shape is the engine's to check (its `check` stage), so the library and the server
  // refuse the same requests, and every refusal is recorded. One handler for every model API
  // (ingress.ts); these two answer in OpenAI's shape.
  const handleApi = (path: string) => ingressHandler(path, OPENAI_ERRORS, { manager, lifecycle });

  app.post('/v1/chat/completions', handleApi('/v1/chat/completions'));
  app.post('/v1/embeddings', handleApi('/v1/embeddings'));

  app.get('/v1/models', async (_request, reply) => {
    const current = manager.current;
    const engine = manager.engine;
    if (engine === null || current === null) {
      return sendApiError(reply, 'policy_not_loaded');
    }
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
  });
}
