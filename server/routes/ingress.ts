/**
 * What the `/v1/responses` and `/v1/messages` routes share: the engine hands the request (its
 * API named by the path) through the same pipeline as chat completions and answers in the API's
 * own shapes; this layer only writes the answer, and speaks the API's error shape for what it
 * refuses itself (no policy, a body it could not read, a shutdown cut).
 *
 * Chat completions and embeddings (`api.ts`) use the same handler with the OpenAI shape.
 */
import {
  type Cancellation,
  type EngineResponse,
  type ErrorCode,
  errorBody,
  type RequestInput,
} from '../../engine/serving.js';
import { statusOf } from '../errors.js';
import {
  type BodyError,
  type HttpRequest,
  jsonAnswerHeaders,
  type RouteDef,
  sendJson,
  withJsonType,
} from '../http.js';
import { type Lifecycle, round3, SHUTDOWN_CUT_CODE } from '../lifecycle.js';
import type { PolicyManager } from '../policy-manager.js';
import { releaseStream, writeStream } from '../sse.js';

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
  req: HttpRequest,
  shape: ErrorShape,
  code: ErrorCode,
  params?: Readonly<Record<string, string>>,
): void {
  sendJson(req, statusOf(code), shape.body(code, params, req.id));
}

/**
 * The engine's input for one request. A class, so that `signal` is a getter on the prototype: the
 * engine listens to `cancel` and reads `signal` only where it needs an AbortSignal (made then), so
 * most requests make none; an AbortController per request, made to be listened to, was the
 * largest allocation of the HTTP layer's own.
 */
class IngressInput implements RequestInput {
  constructor(
    readonly body: unknown,
    readonly headers: HttpRequest['headers'],
    readonly path: string,
    readonly cancel: Cancellation,
    readonly requestId: string,
  ) {}

  get signal(): AbortSignal {
    return this.cancel.signal;
  }
}

/** The engine's headers and ours in one object (the later value wins), typed as JSON. */
function mergedHeaders(
  engine: Readonly<Record<string, string>>,
  ours: readonly string[],
  length: string,
): Record<string, string> {
  const headers: Record<string, string> = { ...engine };
  for (let i = 0; i < ours.length; i += 2) headers[ours[i]] = ours[i + 1];
  headers['content-length'] = length;
  return withJsonType(headers);
}

function isRefusedBody(code: ErrorCode): code is 'invalid_json' | 'body_too_deep' | 'body_too_complex' {
  return code === 'invalid_json' || code === 'body_too_deep' || code === 'body_too_complex';
}

export interface IngressHandlerOptions {
  manager: PolicyManager;
  lifecycle: Lifecycle;
  /**
   * Deferral (`x-switchyard-defer`, jobs.ts): answers the request itself and returns true when it
   * asks to be deferred.
   */
  defer?: (req: HttpRequest, endpoint: string) => boolean;
}

/** The route's handler: the request through `engine.handle`, the answer as JSON or SSE. */
export function ingressHandler(path: string, shape: ErrorShape, options: IngressHandlerOptions) {
  const { manager, lifecycle, defer } = options;
  return async (request: HttpRequest): Promise<void> => {
    const state = request.state;
    if (state === null) return send(request, shape, 'internal_error');
    if (defer?.(request, path)) return;
    if (shape.event !== undefined) state.errorEvent = shape.event;
    const engine = manager.engine;
    if (engine === null) return send(request, shape, 'policy_not_loaded');
    const input = new IngressInput(request.body, request.headers, path, state.cancel, request.id);
    const beforeEngineMs = performance.now() - state.started;
    let response: EngineResponse;
    try {
      response = await engine.handle(input);
    } catch (err) {
      request.log.error({ err }, 'engine.handle rejected');
      return send(request, shape, 'internal_error');
    }
    state.meta = response.meta;
    state.guardrails = response.headers['x-switchyard-guardrails'] ?? null;
    if (state.cut && (response.kind === 'stream' || response.status === 499)) {
      // The shutdown's grace period ended while the engine worked: its answer is the abort.
      // The client is still there and is told why (a stream that never started is released).
      if (response.kind === 'stream') void releaseStream(response);
      request.res.setHeader('connection', 'close');
      return send(request, shape, SHUTDOWN_CUT_CODE);
    }
    if (state.cancel.aborted && response.kind === 'json') {
      // The client went away before the answer: the reply below goes nowhere and its 'finish'
      // never fires, so the request is logged and counted here (as the engine recorded it,
      // usually 499).
      lifecycle.report(request, response.status, state);
    }
    const overhead = String(round3(response.meta.overheadMs + beforeEngineMs));
    if (response.kind === 'stream') {
      const extra: Record<string, string> = {
        'x-request-id': request.id,
        'x-switchyard-overhead-ms': overhead,
      };
      if (shape.requestIdHeader !== undefined) extra[shape.requestIdHeader] = request.id;
      await writeStream(lifecycle, request, response, state, extra);
      return;
    }
    const res = request.res;
    if (res.headersSent) return;
    const payload = typeof response.body === 'string' ? response.body : JSON.stringify(response.body);
    const length = String(Buffer.byteLength(payload));
    // Written once, headers and body in one write: the engine's headers, then ours.
    const ours =
      shape.requestIdHeader === undefined
        ? ['x-request-id', request.id, 'x-switchyard-overhead-ms', overhead]
        : [
            'x-request-id',
            request.id,
            'x-switchyard-overhead-ms',
            overhead,
            shape.requestIdHeader,
            request.id,
          ];
    res.writeHead(
      response.status,
      jsonAnswerHeaders(response.headers, ours, length) ?? mergedHeaders(response.headers, ours, length),
    );
    res.end(payload);
  };
}

/**
 * The route's answer to a body the server refused: a body the parser refused goes to the engine
 * (recorded, and worded by the API's translation), anything else is a catalogue error in the
 * API's shape.
 */
export function ingressBodyError(path: string, shape: ErrorShape, options: { manager: PolicyManager }) {
  const { manager } = options;
  return async (request: HttpRequest, error: BodyError): Promise<void> => {
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
        return sendJson(request, response.status, response.body, response.headers);
    }
    return send(request, shape, error.code, error.params);
  };
}

/** The route of a model API: the handler, and the engine's answer to a refused body. */
export function ingressRoute(path: string, shape: ErrorShape, options: IngressHandlerOptions): RouteDef {
  return {
    handler: ingressHandler(path, shape, options),
    onBodyError: ingressBodyError(path, shape, options),
  };
}
