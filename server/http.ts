/**
 * The request and response as the routes see them, over `node:http`: an {@link HttpRequest} per
 * request (the raw request and response, its id, route and parameters, the parsed body, its
 * lifecycle state, a logger made on first use), the body reader (size limit, content type, JSON)
 * and the writers of JSON and text answers.
 */

import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import type { ErrorCode } from '../engine/index.js';
import { type JsonBodyProblem, parseJsonBody } from './json-body.js';
import type { RequestState } from './lifecycle.js';
import type { Logger } from './logging.js';
import type { Params } from './router.js';

export const JSON_TYPE = 'application/json; charset=utf-8';

const NO_PARAMS: Params = Object.freeze({});

export class HttpRequest {
  /** The matched route's pattern (`/v1/files/:id`); null before routing and for a 404. */
  route: string | null = null;
  params: Params = NO_PARAMS;
  /** The parsed JSON body; undefined without one (and for multipart uploads, read by the route). */
  body: unknown = undefined;
  /** Set by the lifecycle as the request starts. */
  state: RequestState | null = null;
  #log: Logger | null = null;

  constructor(
    readonly raw: IncomingMessage,
    readonly res: ServerResponse,
    readonly id: string,
    /** The path, without the query string. */
    readonly path: string,
    private readonly baseLog: Logger,
  ) {}

  get method(): string {
    return this.raw.method ?? 'GET';
  }

  get url(): string {
    return this.raw.url ?? '/';
  }

  get headers(): IncomingHttpHeaders {
    return this.raw.headers;
  }

  /** A logger bound to the request id, made on first use (most requests never log through it). */
  get log(): Logger {
    this.#log ??= this.baseLog.child({ reqId: this.id });
    return this.#log;
  }

  /** The query string's parameters (a repeated one is an array). */
  query(): Record<string, string | string[] | undefined> {
    const url = this.url;
    const q = url.indexOf('?');
    return q < 0 ? {} : parseQuery(url.slice(q + 1));
  }
}

/**
 * Writes a JSON answer (a string is sent as it is) unless one was already sent. Headers set
 * earlier with `setHeader` (connection, www-authenticate) are kept; `headers` may override the
 * content type.
 */
export function sendJson(
  req: HttpRequest,
  status: number,
  body: unknown,
  headers?: Readonly<Record<string, string>>,
): void {
  const res = req.res;
  if (res.headersSent) return;
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  const length = String(Buffer.byteLength(payload));
  res.writeHead(
    status,
    headers === undefined
      ? { 'content-type': JSON_TYPE, 'content-length': length, 'x-request-id': req.id }
      : withJsonType({ ...headers, 'content-length': length, 'x-request-id': req.id }),
  );
  res.end(payload);
}

/**
 * Sets the JSON content type on headers that name none or a bare `application/json` (as Fastify
 * did: JSON answers say their charset); another type is kept.
 */
export function withJsonType(headers: Record<string, string>): Record<string, string> {
  const type = headers['content-type'];
  if (type === undefined || type === 'application/json') headers['content-type'] = JSON_TYPE;
  return headers;
}

/**
 * The headers of a JSON answer as the flat `[name, value, ...]` list `writeHead` takes: the
 * engine's, then `ours` (pairs, flat), then the length, with the content type as
 * {@link withJsonType} sets it. The same lines in the same order as spreading them into one
 * object and passing that through `withJsonType`, without building the object: that spread cost
 * as much as serialising the body. Null when the engine's headers name one of ours or the
 * length (then only an object, where the later value wins in place, says what is sent).
 */
export function jsonAnswerHeaders(
  engine: Readonly<Record<string, string>>,
  ours: readonly string[],
  length: string,
): string[] | null {
  for (let i = 0; i < ours.length; i += 2) if (Object.hasOwn(engine, ours[i])) return null;
  if (Object.hasOwn(engine, 'content-length')) return null;
  const out: string[] = [];
  let typed = false;
  for (const name in engine) {
    if (!Object.hasOwn(engine, name)) continue;
    let value = engine[name];
    if (name === 'content-type') {
      typed = true;
      if (value === 'application/json') value = JSON_TYPE;
    }
    out.push(name, value);
  }
  for (const item of ours) out.push(item);
  out.push('content-length', length);
  if (!typed) out.push('content-type', JSON_TYPE);
  return out;
}

/** Writes a text answer of the given content type. */
export function sendText(req: HttpRequest, status: number, contentType: string, text: string): void {
  const res = req.res;
  if (res.headersSent) return;
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': String(Buffer.byteLength(text)),
    'x-request-id': req.id,
  });
  res.end(text);
}

/** A body the server refused before any route saw it: the catalogue code and its parameters. */
export interface BodyError {
  readonly code: ErrorCode;
  readonly params?: Readonly<Record<string, string>>;
}

/** Methods whose requests may carry a body (as Fastify read them). */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** `type/subtype` of a Content-Type header, lower-cased; null when it is not one. */
export function mediaType(header: string): string | null {
  const semi = header.indexOf(';');
  const essence = (semi < 0 ? header : header.slice(0, semi)).trim().toLowerCase();
  return /^[!#$%&'*+.^`|~\w-]+\/[!#$%&'*+.^`|~\w-]+$/.test(essence) ? essence : null;
}

function fromProblem(problem: JsonBodyProblem): BodyError {
  return { code: problem.code, params: { detail: problem.detail } };
}

/**
 * Reads and parses the request's JSON body into `req.body`, then calls `next` without an error; a
 * body that is refused calls it with the error (its rest unread: the caller closes the
 * connection). `next` is the server's, shared by every request: nothing is allocated per request
 * but the reader's state.
 *
 * - Methods without a body, and requests without one (no Content-Type, no Content-Length or 0,
 *   no Transfer-Encoding), have none.
 * - Only `application/json` is parsed; `multipart/form-data` is left to the route when it takes
 *   uploads (`next` at once, the body unread); any other type is a 415.
 * - A declared length over `limit` is refused before reading, a body that grows over it as soon
 *   as it does (413).
 */
export function readBody(
  req: HttpRequest,
  limit: number,
  route: RouteDef,
  next: (req: HttpRequest, route: RouteDef, error: BodyError | null) => void,
): void {
  const raw = req.raw;
  if (!BODY_METHODS.has(req.method)) {
    next(req, route, null);
    return;
  }
  const headers = raw.headers;
  const contentType = headers['content-type'];
  if (contentType === undefined) {
    const length = headers['content-length'];
    if (headers['transfer-encoding'] === undefined && (length === undefined || length === '0')) {
      next(req, route, null);
      return;
    }
    next(req, route, { code: 'unsupported_media_type' });
    return;
  }
  const type = mediaType(contentType);
  if (type === 'multipart/form-data' && route.multipart === true) {
    next(req, route, null);
    return;
  }
  if (type !== 'application/json') {
    next(req, route, { code: 'unsupported_media_type' });
    return;
  }
  const declared = Number(headers['content-length']);
  if (declared > limit) {
    next(req, route, { code: 'body_too_large', params: { limit: String(limit) } });
    return;
  }
  const reader: BodyReader = { req, route, next, limit, declared, chunks: [], received: 0 };
  (raw as ReadingMessage)[READER] = reader;
  raw.on('data', onBodyData);
  raw.on('end', onBodyEnd);
  raw.on('error', onBodyError);
}

/** A body being read; its listeners are shared by every request and find it on the request. */
interface BodyReader {
  readonly req: HttpRequest;
  readonly route: RouteDef;
  readonly next: (req: HttpRequest, route: RouteDef, error: BodyError | null) => void;
  readonly limit: number;
  /** The Content-Length, NaN when there is none (chunked). */
  readonly declared: number;
  chunks: Buffer[];
  received: number;
}

const READER = Symbol('switchyard.body');

type ReadingMessage = IncomingMessage & { [READER]?: BodyReader | null };

function finishBody(raw: ReadingMessage, reader: BodyReader, error: BodyError | null): void {
  raw.off('data', onBodyData);
  raw.off('end', onBodyEnd);
  raw.off('error', onBodyError);
  raw[READER] = null;
  reader.chunks = [];
  reader.next(reader.req, reader.route, error);
}

function onBodyData(this: ReadingMessage, chunk: Buffer): void {
  const reader = this[READER];
  if (reader == null) return;
  reader.received += chunk.length;
  if (reader.received > reader.limit) {
    finishBody(this, reader, { code: 'body_too_large', params: { limit: String(reader.limit) } });
    return;
  }
  reader.chunks.push(chunk);
}

function onBodyError(this: ReadingMessage): void {
  const reader = this[READER];
  if (reader == null) return;
  finishBody(this, reader, {
    code: 'invalid_request',
    params: { detail: 'The request body could not be read.' },
  });
}

function onBodyEnd(this: ReadingMessage): void {
  const reader = this[READER];
  if (reader == null) return;
  const { chunks, received, declared } = reader;
  if (!Number.isNaN(declared) && received !== declared) {
    finishBody(this, reader, {
      code: 'invalid_request',
      params: { detail: 'The Content-Length header does not match the body.' },
    });
    return;
  }
  // Decoded once, whole: a character split across chunks stays intact; invalid UTF-8 becomes
  // U+FFFD.
  const text =
    chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks, received).toString('utf8');
  const parsed = parseJsonBody(text);
  if (!parsed.ok) {
    finishBody(this, reader, fromProblem(parsed.problem));
    return;
  }
  reader.req.body = parsed.value;
  finishBody(this, reader, null);
}

/** A route's handler and how it takes its body. */
export interface RouteDef {
  /** Answers the request; a value it returns (and has not sent itself) is sent as 200 JSON. */
  readonly handler: (req: HttpRequest) => unknown;
  /** Answers a body the server refused; by default its catalogue error in OpenAI's shape. */
  readonly onBodyError?: (req: HttpRequest, error: BodyError) => unknown;
  /** Runs before the body is read; true when it answered (the admin token check). */
  readonly guard?: (req: HttpRequest) => boolean;
  /** Multipart bodies are left unread for the handler (uploads). */
  readonly multipart?: boolean;
}

export type Routes = import('./router.js').Router<RouteDef>;
