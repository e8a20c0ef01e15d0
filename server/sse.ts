/** Writes the engine's streamed answers to the client as server-sent events. */

import type { ServerResponse } from 'node:http';
import type { EngineResponse, FrameBatches } from '../engine/index.js';
import { apiErrorEvent } from './errors.js';
import type { HttpRequest } from './http.js';
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

/** Returns a stream's iterator unread, so that the engine releases its upstream call. */
export async function releaseStream(response: StreamResponse): Promise<void> {
  try {
    await response.events[Symbol.asyncIterator]().return?.();
  } catch {
    // Nothing to do: the request's abort cancels upstream anyway.
  }
}

/** The headers a stream's answer sets after the engine's and the route's. */
const STREAM_HEADERS = ['content-type', 'cache-control', 'connection', 'x-accel-buffering'] as const;

/**
 * A streamed answer's headers as the flat `[name, value, ...]` list `writeHead` takes: the
 * engine's, then the route's (`extra`), then the event stream's own four, the lines (and their
 * order) that spreading them into one object gave, without building it (the spread was two
 * thirds of `writeStream`'s own time). Null when a name is in more than one of them: then only
 * the object, where the later value wins in the earlier place, says what is sent.
 * test/property/json-answer-headers.test.ts checks it against the spread.
 */
export function streamAnswerHeaders(
  engine: Readonly<Record<string, string>>,
  extra: Readonly<Record<string, string>>,
  keepAlive: boolean,
): string[] | null {
  for (const name in extra) if (Object.hasOwn(extra, name) && Object.hasOwn(engine, name)) return null;
  for (const name of STREAM_HEADERS)
    if (Object.hasOwn(engine, name) || Object.hasOwn(extra, name)) return null;
  const out: string[] = [];
  for (const name in engine) if (Object.hasOwn(engine, name)) out.push(name, engine[name]);
  for (const name in extra) if (Object.hasOwn(extra, name)) out.push(name, extra[name]);
  out.push(
    'content-type',
    'text/event-stream',
    'cache-control',
    'no-cache',
    'connection',
    keepAlive ? 'keep-alive' : 'close',
    'x-accel-buffering',
    'no',
  );
  return out;
}

/** Past this many characters waiting, frames are written at once rather than at the end of the tick. */
const BATCH_LIMIT = 64 * 1024;

/**
 * Relays the stream's frames with backpressure, then reports the request with the stream's final
 * metadata. The engine's frames end with `data: [DONE]` only on success.
 *
 * Frames that arrive in the same tick (one upstream read often carries several events, which the
 * attempt loop hands over in one step, `nextFrames`) are joined and written once at the end of it
 * (`process.nextTick` runs after the promise jobs that produce them): one chunk of the chunked
 * encoding and one syscall instead of one per frame, and the headers go out with the first
 * frames. A frame is never held past its tick.
 */
export async function writeStream(
  lifecycle: Lifecycle,
  request: HttpRequest,
  response: StreamResponse,
  state: RequestState,
  extraHeaders: Record<string, string>,
): Promise<void> {
  state.streamed = true;
  const res = request.res;
  // `shouldKeepAlive` is Node's reading of the request: false when the client sent
  // `Connection: close` (or spoke HTTP/1.0 without keep-alive). An explicit `keep-alive` header
  // would override it and leave the socket open after the stream.
  const keepAlive = res.shouldKeepAlive && !lifecycle.closing;
  res.writeHead(
    response.status,
    streamAnswerHeaders(response.headers, extraHeaders, keepAlive) ?? {
      ...response.headers,
      ...extraHeaders,
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: keepAlive ? 'keep-alive' : 'close',
      'x-accel-buffering': 'no',
    },
  );
  let pending = '';
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (res.destroyed || res.writableEnded) {
      pending = '';
      return;
    }
    if (pending === '') {
      // Nothing to send this tick: the headers go out on their own, so the client sees the answer start.
      if (!res.headersSent) res.flushHeaders();
      return;
    }
    const text = pending;
    pending = '';
    res.write(text);
  };
  const schedule = (): void => {
    if (scheduled) return;
    scheduled = true;
    process.nextTick(flush);
  };
  schedule();
  // Iterated by hand rather than with for-await, so that a shutdown cut (lifecycle.cutAll) can
  // end the response and return the iterator while a `next()` is pending: the cut writes the
  // in-band error itself, and this loop then stops without writing anything more.
  const events = response.events[Symbol.asyncIterator]();
  state.events = events;
  // The attempt loop's streams hand out every frame that is ready in one step (FrameBatches).
  const batches =
    typeof (events as Partial<FrameBatches>).nextFrames === 'function'
      ? (events as AsyncIterator<string> & FrameBatches)
      : null;
  try {
    for (;;) {
      const next = batches !== null ? await batches.nextFrames() : await events.next();
      if (next.done || state.cut) break;
      if (res.destroyed) {
        // The client left: release the stream (and its upstream call) as for-await's break would.
        await events.return?.();
        break;
      }
      const value = next.value;
      if (typeof value === 'string') pending += value;
      else for (let i = 0; i < value.length; i++) pending += value[i];
      if (pending.length >= BATCH_LIMIT) flush();
      else schedule();
      if (res.writableNeedDrain) await waitForWritable(res);
    }
  } catch (err) {
    // The engine's stream should never throw; if it does, end the stream honestly: an in-band
    // error and no [DONE], so no client mistakes a truncated answer for a complete one.
    if (!state.cut) {
      request.log.error({ err }, 'stream failed');
      if (!res.destroyed)
        pending += state.errorEvent?.('internal_error') ?? apiErrorEvent({ code: 'internal_error' });
    }
  } finally {
    state.events = null;
    // A cut already wrote its error event and ended the response.
    if (!state.cut) {
      if (!res.destroyed && !res.writableEnded) res.end(pending === '' ? undefined : pending);
      pending = '';
    }
  }
  try {
    state.meta = await response.done;
  } catch (err) {
    request.log.error({ err }, 'stream metadata failed');
  }
  lifecycle.report(request, response.status, state);
}
