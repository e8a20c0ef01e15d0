/**
 * What the `/v1/responses` and `/v1/messages` routes share: the engine hands the request (its
 * API named by the path) through the same pipeline as chat completions and answers in the API's
 * own shapes; this layer only writes the answer, and speaks the API's error shape for what it
 * refuses itself (no policy, a body it could not read, a shutdown cut).
 *
 * Chat completions and embeddings (`api.ts`) use the same handler with the OpenAI shape.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { type EngineResponse, type ErrorCode, errorBody, type RequestInput } from '../../engine/index.js';
import { mapFastifyError, statusOf } from '../errors.js';
import { type Lifecycle, round3, SHUTDOWN_CUT_CODE } from '../lifecycle.js';
import { lingerOnClose } from '../linger.js';
import type { PolicyManager } from '../policy-manager.js';
import { releaseStream, writeStream } from '../sse.js';

export interface IngressRoutesOptions {
  manager: PolicyManager;
  lifecycle: Lifecycle;
  /** The server's body limit, named by a 413. */
  bodyLimit: number;
}

/** How an API words the errors the HTTP layer answers itself. */
export interface ErrorShape {
  /** The JSON body of a catalogue error. */
  body(code: ErrorCode, params: Readonly<Record<string, string>> | undefined, requestId: string): unknown;
  /** The in-band SSE event that ends a stream with this error; absent: the OpenAI shape. */
  event?(code: ErrorCode): string;
  /** A header that also carries the request id (Anthropic's SDKs read `request-id`). */
  requestIdHeader?: string;
}

/** OpenAI's error shape: chat completions, embeddings, Responses. */
export const OPENAI_ERRORS: ErrorShape = { body: (code, params) => errorBody(code, params) };

function send(
  reply: FastifyReply,
  shape: ErrorShape,
  code: ErrorCode,
  requestId: string,
  params?: Readonly<Record<string, string>>,
): FastifyReply {
  return reply
    .code(statusOf(code))
    .type('application/json')
    .send(shape.body(code, params, requestId));
}

function isRefusedBody(code: ErrorCode): code is 'invalid_json' | 'body_too_deep' | 'body_too_complex' {
  return code === 'invalid_json' || code === 'body_too_deep' || code === 'body_too_complex';
}

/** The route's handler: the request through `engine.handle`, the answer as JSON or SSE. */
export function ingressHandler(
  path: string,
  shape: ErrorShape,
  options: Pick<IngressRoutesOptions, 'manager' | 'lifecycle'>,
) {
  const { manager, lifecycle } = options;
  return async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const state = lifecycle.state(request);
    if (state === undefined) return send(reply, shape, 'internal_error', request.id);
    if (shape.event !== undefined) state.errorEvent = shape.event;
    const engine = manager.engine;
    if (engine === null) return send(reply, shape, 'policy_not_loaded', request.id);
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
      return send(reply, shape, 'internal_error', request.id);
    }
    state.meta = response.meta;
    state.guardrails = response.headers['x-switchyard-guardrails'] ?? null;
    if (state.cut && (response.kind === 'stream' || response.status === 499)) {
      // The shutdown's grace period ended while the engine worked: its answer is the abort.
      // The client is still there and is told why (a stream that never started is released).
      if (response.kind === 'stream') void releaseStream(response);
      reply.header('connection', 'close');
      return send(reply, shape, SHUTDOWN_CUT_CODE, request.id);
    }
    if (state.controller.signal.aborted && response.kind === 'json') {
      // The client went away before the answer: the reply below goes nowhere and Fastify's
      // onResponse never fires, so the request is logged and counted here (as the engine
      // recorded it, usually 499).
      lifecycle.report(request, response.status, state);
    }
    const extra: Record<string, string> = {
      'x-request-id': request.id,
      'x-switchyard-overhead-ms': String(round3(response.meta.overheadMs + beforeEngineMs)),
    };
    if (shape.requestIdHeader !== undefined) extra[shape.requestIdHeader] = request.id;
    if (response.kind === 'stream') {
      await writeStream(lifecycle, request, reply, response, state, extra);
      return reply;
    }
    return reply.code(response.status).headers(response.headers).headers(extra).send(response.body);
  };
}

/**
 * The route's error handler: a body the parser refused goes to the engine (recorded, and worded
 * by the API's translation), anything else is a catalogue error in the API's shape.
 */
export function ingressErrorHandler(path: string, shape: ErrorShape, options: IngressRoutesOptions) {
  const { manager, bodyLimit } = options;
  return async (err: FastifyError, request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const error = mapFastifyError(err, bodyLimit);
    if (statusOf(error.code) >= 500) request.log.error({ err }, 'request failed');
    if (!request.raw.complete) lingerOnClose(request.raw.socket);
    const engine = manager.engine;
    if (engine !== null && isRefusedBody(error.code)) {
      const response = await engine.handle({
        body: null,
        headers: request.headers,
        path,
        requestId: request.id,
        refused: { code: error.code, detail: error.params?.detail ?? '' },
      });
      if (response.kind === 'json')
        return reply.code(response.status).headers(response.headers).send(response.body);
    }
    return send(reply, shape, error.code, request.id, error.params);
  };
}
