/** Writes the engine's streamed answers to the client as server-sent events. */

import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { EngineResponse } from '../engine/index.js';
import { apiError } from './errors.js';
import type { Lifecycle, RequestState } from './lifecycle.js';

export type StreamResponse = Extract<EngineResponse, { kind: 'stream' }>;

function waitForWritable(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}

/**
 * Relays the stream's frames with backpressure, then reports the request with the stream's final
 * metadata. The engine's frames end with `data: [DONE]` only on success.
 */
export async function writeStream(
  lifecycle: Lifecycle,
  request: FastifyRequest,
  reply: FastifyReply,
  response: StreamResponse,
  state: RequestState,
  extraHeaders: Record<string, string>,
): Promise<void> {
  state.streamed = true;
  reply.hijack();
  const res = reply.raw;
  // `shouldKeepAlive` is Node's reading of the request: false when the client sent
  // `Connection: close` (or spoke HTTP/1.0 without keep-alive). An explicit `keep-alive` header
  // would override it and leave the socket open after the stream.
  const keepAlive = res.shouldKeepAlive && !lifecycle.closing;
  res.writeHead(response.status, {
    ...response.headers,
    ...extraHeaders,
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: keepAlive ? 'keep-alive' : 'close',
    'x-accel-buffering': 'no',
  });
  res.flushHeaders();
  try {
    for await (const frame of response.events) {
      if (res.destroyed) break;
      if (!res.write(frame)) await waitForWritable(res);
    }
  } catch (err) {
    // The engine's stream should never throw; if it does, end the stream honestly: an in-band
    // error and no [DONE], so no client mistakes a truncated answer for a complete one.
    request.log.error({ err }, 'stream failed');
    if (!res.destroyed) {
      res.write(`data: ${JSON.stringify(apiError(500, 'internal_error', 'Internal error.'))}\n\n`);
    }
  } finally {
    res.end();
  }
  try {
    state.meta = await response.done;
  } catch (err) {
    request.log.error({ err }, 'stream metadata failed');
  }
  lifecycle.report(request, response.status, state);
}
