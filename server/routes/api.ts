/** The OpenAI-compatible API: `/v1/chat/completions`, `/v1/embeddings`, `/v1/models`. */

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { EngineResponse, RequestInput } from '../../engine/index.js';
import { sendApiError } from '../errors.js';
import { type Lifecycle, round3, SHUTDOWN_CUT_CODE } from '../lifecycle.js';
import type { PolicyManager } from '../policy-manager.js';
import { releaseStream, writeStream } from '../sse.js';

export interface ApiRoutesOptions {
  manager: PolicyManager;
  lifecycle: Lifecycle;
}

export async function apiRoutes(app: FastifyInstance, options: ApiRoutesOptions): Promise<void> {
  const { manager, lifecycle } = options;

  // The body's shape is the engine's to check (its `check` stage), so the library and the server
  // refuse the same requests, and every refusal is recorded.
  const handleApi = (path: string) => {
    return async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
      const state = lifecycle.state(request);
      if (state === undefined) return sendApiError(reply, 'internal_error');
      const engine = manager.engine;
      if (engine === null) return sendApiError(reply, 'policy_not_loaded');
      const input: RequestInput = {
        body: request.body,
        headers: request.headers,
        path,
        signal: state.controller.signal,
        requestId: request.id,
      };
      const beforeEngineMs = performance.now() - state.started;
      let response: EngineResponse;
      try {
        response = await engine.handle(input);
      } catch (err) {
        request.log.error({ err }, 'engine.handle rejected');
        return sendApiError(reply, 'internal_error');
      }
      state.meta = response.meta;
      state.guardrails = response.headers['x-switchyard-guardrails'] ?? null;
      if (state.cut && (response.kind === 'stream' || response.status === 499)) {
        // The shutdown's grace period ended while the engine worked: its answer is the abort.
        // The client is still there and is told why (a stream that never started is released).
        if (response.kind === 'stream') void releaseStream(response);
        reply.header('connection', 'close');
        return sendApiError(reply, SHUTDOWN_CUT_CODE);
      }
      if (state.controller.signal.aborted && response.kind === 'json') {
        // The client went away before the answer: the reply below goes nowhere and Fastify's
        // onResponse never fires, so the request is logged and counted here (as the engine
        // recorded it, usually 499).
        lifecycle.report(request, response.status, state);
      }
      const extra = {
        'x-request-id': request.id,
        'x-switchyard-overhead-ms': String(round3(response.meta.overheadMs + beforeEngineMs)),
      };
      if (response.kind === 'stream') {
        await writeStream(lifecycle, request, reply, response, state, extra);
        return reply;
      }
      return reply.code(response.status).headers(response.headers).headers(extra).send(response.body);
    };
  };

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
