/**
 * A real, misbehaving OpenAI-compatible upstream on `node:http` (127.0.0.1, port 0) for tests and
 * benchmarks. Each request takes the next behaviour from a queue, else from a handler function,
 * else the default (`ok`). Every request is recorded (time, method, path, headers, body) so tests
 * can assert what the upstream saw.
 *
 * @example
 * const upstream = await startUpstream();
 * upstream.enqueue({ kind: 'status', status: 429, retryAfter: '2' }, { kind: 'ok' });
 * // ... point a provider at upstream.url (`http://127.0.0.1:<port>/v1`)
 * await upstream.close();
 */
import { setMaxListeners } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { sseFrame } from '../../engine/providers/sse.js';

export type UpstreamBehaviour =
  /** A normal answer, JSON or SSE per the request's `stream`; `delayMs` between stream chunks. */
  | { kind: 'ok'; reply?: string; delayMs?: number }
  /** An HTTP error: `body` (object → JSON, string → raw), optional Retry-After and headers. */
  | { kind: 'status'; status: number; body?: unknown; retryAfter?: string; headers?: Record<string, string> }
  /** Destroy the socket before any response byte. */
  | { kind: 'reset' }
  /** Never answer; the socket is held until the client gives up or the upstream closes. */
  | { kind: 'hold' }
  /** Headers at once, the first token (or the JSON body) after `delayMs`. */
  | { kind: 'slow_first_token'; delayMs: number; reply?: string }
  /** Destroy the socket after `afterChunks` stream frames (JSON: after half the body). */
  | { kind: 'cut'; afterChunks: number }
  /** Stop sending after `afterChunks` frames but keep the connection open. */
  | { kind: 'stall'; afterChunks: number }
  /** Frame number `atChunk` (default 1) is not JSON; the rest of the stream follows normally. */
  | { kind: 'malformed'; atChunk?: number }
  /** A finish_reason, then the body ends without `[DONE]`. */
  | { kind: 'no_done' }
  /** Content, then the body ends: no finish_reason, no `[DONE]`. */
  | { kind: 'no_finish' }
  /** 400, OpenAI shape, code context_length_exceeded. */
  | { kind: 'context_length' }
  /** 400, OpenAI shape, code content_policy_violation. */
  | { kind: 'content_policy' }
  /** 400 when the last message is from the assistant (no prefill support), else `ok`. */
  | { kind: 'reject_prefill' }
  /** Arbitrary bytes: status, headers and body pieces written `delayMs` apart, then `end`. */
  | {
      kind: 'raw';
      status?: number;
      headers?: Record<string, string>;
      chunks: readonly string[];
      delayMs?: number;
      end?: 'end' | 'destroy' | 'hold';
    };

export interface RecordedRequest {
  /** Wall-clock ms when the request body had been received. */
  at: number;
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** The client socket's port: equal ports mean a reused keep-alive connection. */
  remotePort: number | undefined;
  /** Parsed JSON, or the raw text when it is not JSON. */
  body: unknown;
  /**
   * Wall-clock ms when the connection closed before the response was complete (the client
   * aborted, or the behaviour destroyed the socket); absent while open or after a full answer.
   */
  closedEarlyAt?: number;
}

export type UpstreamHandler = (req: RecordedRequest, index: number) => UpstreamBehaviour;

/** What an `ok` answer says unless told otherwise. */
export const DEFAULT_REPLY = 'Hello from the upstream.';

export interface UpstreamOptions {
  /** The default reply text; default {@link DEFAULT_REPLY}. */
  reply?: string;
  /** Keep RecordedRequests (default true; benchmarks turn it off). */
  record?: boolean;
  /**
   * Simulated model latency: every `ok` answer (JSON or the start of a stream) waits this many ms
   * first. Other behaviours answer at once, as an overloaded upstream's 503 does. Default 0.
   */
  latencyMs?: number;
  /**
   * How stream chunks look: `minimal` (the default) has only the members the gateway reads;
   * `openai` is what OpenAI's API sends today: `service_tier`, `system_fingerprint`, `logprobs`,
   * `usage: null` on every chunk when usage was asked for, and a random `obfuscation` string on
   * every chunk (on by default there: random padding against side channels), so no two chunks
   * share their text after the content. Benchmarks use it.
   */
  chunks?: 'minimal' | 'openai';
}

export interface Upstream {
  /** Base URL including `/v1`, as an OpenAI `baseUrl`. */
  readonly url: string;
  readonly origin: string;
  readonly port: number;
  readonly requests: RecordedRequest[];
  enqueue(...behaviours: UpstreamBehaviour[]): void;
  /** Used when the queue is empty; null restores the default. */
  setHandler(handler: UpstreamHandler | null): void;
  /** Clears the queue, the handler and the recorded requests. */
  reset(): void;
  /** Destroys every socket (held ones included) and closes the server. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Payload helpers

export interface UsagePayload {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export function completionPayload(opts: {
  model: string;
  content: string | null;
  id?: string;
  finishReason?: string;
  usage?: UsagePayload;
  toolCalls?: unknown[];
}): Record<string, unknown> {
  return {
    id: opts.id ?? 'chatcmpl-upstream',
    object: 'chat.completion',
    created: 1_700_000_000,
    model: opts.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: opts.content,
          ...(opts.toolCalls ? { tool_calls: opts.toolCalls } : {}),
        },
        finish_reason: opts.finishReason ?? 'stop',
        logprobs: null,
      },
    ],
    usage: opts.usage ?? null,
  };
}

export function chunkPayload(opts: {
  model: string;
  delta?: Record<string, unknown>;
  id?: string;
  finishReason?: string | null;
  usage?: UsagePayload | null;
}): Record<string, unknown> {
  const usageOnly = opts.delta === undefined && opts.usage != null;
  return {
    id: opts.id ?? 'chatcmpl-upstream',
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model: opts.model,
    choices: usageOnly
      ? []
      : [{ index: 0, delta: opts.delta ?? {}, finish_reason: opts.finishReason ?? null }],
    ...(opts.usage !== undefined ? { usage: opts.usage } : {}),
  };
}

/** One SSE frame of `data` (a string as is, anything else as JSON). */
export const sse = (data: unknown): string =>
  sseFrame(typeof data === 'string' ? data : JSON.stringify(data));

export function openAIError(message: string, type: string, code: string | null): Record<string, unknown> {
  return { error: { message, type, code, param: null } };
}

// ---------------------------------------------------------------------------------------------

function words(text: string): string[] {
  return text.match(/\s*\S+\s*/g) ?? [text];
}

/** Deterministic usage: the request body's length / 4 for the prompt, the reply's for the completion. */
function usageFor(p: Parsed, reply: string): UsagePayload {
  const prompt = Math.ceil(p.rawLength / 4);
  const completion = Math.ceil(reply.length / 4);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

interface Parsed {
  rawLength: number;
  body: Record<string, unknown>;
  model: string;
  stream: boolean;
  includeUsage: boolean;
}

function parse(raw: string): { parsed: Parsed; body: unknown } {
  let body: unknown = raw;
  try {
    body = JSON.parse(raw);
  } catch {
    // recorded as text
  }
  const record =
    typeof body === 'object' && body !== null && !Array.isArray(body)
      ? (body as Record<string, unknown>)
      : {};
  const options = record.stream_options;
  return {
    body,
    parsed: {
      rawLength: raw.length,
      body: record,
      model: typeof record.model === 'string' ? record.model : 'unknown',
      stream: record.stream === true,
      includeUsage:
        typeof options === 'object' &&
        options !== null &&
        (options as Record<string, unknown>).include_usage === true,
    },
  };
}

const OBFUSCATION_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A chunk as OpenAI writes it (member order included), with `obfuscation` padding of 1 to 16 characters. */
function openAIChunk(
  chunk: Record<string, unknown>,
  includeUsage: boolean,
  n: number,
): Record<string, unknown> {
  const { choices, usage, ...head } = chunk;
  let obfuscation = '';
  // Deterministic per chunk index, different from one chunk to the next.
  for (let i = 0, seed = n * 7919 + 13, len = 1 + ((n * 5 + 3) % 16); i < len; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    obfuscation += OBFUSCATION_ALPHABET[seed % OBFUSCATION_ALPHABET.length];
  }
  return {
    ...head,
    service_tier: 'default',
    system_fingerprint: 'fp_upstream0',
    choices: (choices as Record<string, unknown>[]).map((c) => ({
      index: c.index,
      delta: c.delta,
      logprobs: null,
      finish_reason: c.finish_reason,
    })),
    ...(usage !== undefined ? { usage } : includeUsage ? { usage: null } : {}),
    obfuscation,
  };
}

/** The SSE frames of a normal streamed answer, split at `finishAt` (the index of the finish frame). */
function streamFrames(
  p: Parsed,
  reply: string,
  style: 'minimal' | 'openai' = 'minimal',
): { frames: string[]; finishAt: number } {
  const chunks = [chunkPayload({ model: p.model, delta: { role: 'assistant', content: '' } })];
  for (const piece of words(reply)) chunks.push(chunkPayload({ model: p.model, delta: { content: piece } }));
  const finishAt = chunks.length;
  chunks.push(chunkPayload({ model: p.model, finishReason: 'stop' }));
  if (p.includeUsage) chunks.push(chunkPayload({ model: p.model, usage: usageFor(p, reply) }));
  const frames = chunks.map((c, n) => sse(style === 'openai' ? openAIChunk(c, p.includeUsage, n) : c));
  frames.push(sse('[DONE]'));
  return { frames, finishAt };
}

const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' };

export async function startUpstream(options: UpstreamOptions = {}): Promise<Upstream> {
  const defaultReply = options.reply ?? DEFAULT_REPLY;
  const record = options.record ?? true;
  const latencyMs = options.latencyMs ?? 0;
  const chunkStyle = options.chunks ?? 'minimal';
  const queue: UpstreamBehaviour[] = [];
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const closing = new AbortController();
  // Every open stream waits on this one signal (hundreds at once in the pool tests): not a leak.
  setMaxListeners(0, closing.signal);
  let handler: UpstreamHandler | null = null;
  let count = 0;
  /** The ok JSON answer per model up to its usage, serialised once: the benchmark path stays cheap. */
  const okJsonHead = new Map<string, string>();

  const wait = async (ms: number): Promise<boolean> => {
    if (ms <= 0) return true;
    try {
      await sleep(ms, undefined, { signal: closing.signal });
      return true;
    } catch {
      return false;
    }
  };

  async function writeFrames(
    res: ServerResponse,
    frames: readonly string[],
    delayMs: number,
    end: 'end' | 'destroy' | 'hold',
    firstDelayMs = 0,
  ): Promise<void> {
    let flushed: Promise<unknown> = Promise.resolve();
    for (let i = 0; i < frames.length; i++) {
      if (!(await wait(i === 0 ? firstDelayMs : delayMs)) || res.destroyed) return;
      flushed = new Promise((resolve) => res.write(frames[i], resolve));
    }
    if (end === 'end') res.end();
    else if (end === 'destroy') {
      // Destroying drops unflushed bytes: let the frames reach the client first.
      if (frames.length === 0) res.flushHeaders();
      await flushed;
      res.socket?.destroy();
    }
  }

  function sendJson(
    res: ServerResponse,
    status: number,
    payload: unknown,
    headers: Record<string, string> = {},
  ): void {
    const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  }

  function ok(
    res: ServerResponse,
    p: Parsed,
    reply: string,
    delayMs: number,
    firstDelayMs = 0,
  ): Promise<void> | void {
    if (p.stream) {
      res.writeHead(200, SSE_HEADERS);
      res.flushHeaders();
      return writeFrames(res, streamFrames(p, reply, chunkStyle).frames, delayMs, 'end', firstDelayMs);
    }
    if (reply === defaultReply && firstDelayMs === 0) {
      // The answer up to its usage is serialised once per model; only the usage is per request.
      let head = okJsonHead.get(p.model);
      if (head === undefined) {
        head = JSON.stringify(completionPayload({ model: p.model, content: reply })).replace(/null\}$/, '');
        okJsonHead.set(p.model, head);
      }
      const u = usageFor(p, reply);
      return sendJson(
        res,
        200,
        `${head}{"prompt_tokens":${u.prompt_tokens},"completion_tokens":${u.completion_tokens},"total_tokens":${u.total_tokens}}}`,
      );
    }
    const text = JSON.stringify(
      completionPayload({ model: p.model, content: reply, usage: usageFor(p, reply) }),
    );
    if (firstDelayMs === 0) return sendJson(res, 200, text);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.flushHeaders();
    return writeFrames(res, [text], 0, 'end', firstDelayMs);
  }

  async function behave(b: UpstreamBehaviour, res: ServerResponse, p: Parsed): Promise<void> {
    switch (b.kind) {
      case 'ok':
        return ok(res, p, b.reply ?? defaultReply, b.delayMs ?? 0);
      case 'status': {
        const body = b.body ?? openAIError(`upstream error ${b.status}`, 'server_error', null);
        const headers = {
          ...(b.headers ?? {}),
          ...(b.retryAfter !== undefined ? { 'retry-after': b.retryAfter } : {}),
        };
        return sendJson(res, b.status, body, headers);
      }
      case 'reset':
        res.socket?.destroy();
        return;
      case 'hold':
        return;
      case 'slow_first_token':
        return ok(res, p, b.reply ?? defaultReply, 0, b.delayMs);
      case 'cut':
      case 'stall': {
        const end = b.kind === 'cut' ? 'destroy' : 'hold';
        if (p.stream) {
          res.writeHead(200, SSE_HEADERS);
          return writeFrames(res, streamFrames(p, defaultReply).frames.slice(0, b.afterChunks), 0, end);
        }
        const text = JSON.stringify(completionPayload({ model: p.model, content: defaultReply }));
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        return writeFrames(res, [text.slice(0, text.length >> 1)], 0, end);
      }
      case 'malformed': {
        if (!p.stream) return sendJson(res, 200, '{"id":"chatcmpl-upstream","choices":[{');
        const frames = streamFrames(p, defaultReply).frames;
        frames[b.atChunk ?? 1] = 'data: {"id":"chatcmpl-upstream","choices":[{"delta":\n\n';
        res.writeHead(200, SSE_HEADERS);
        return writeFrames(res, frames, 0, 'end');
      }
      case 'no_done':
      case 'no_finish': {
        if (!p.stream) return ok(res, p, defaultReply, 0);
        const { frames, finishAt } = streamFrames(p, defaultReply);
        res.writeHead(200, SSE_HEADERS);
        const kept =
          b.kind === 'no_done' ? frames.filter((f) => f !== sse('[DONE]')) : frames.slice(0, finishAt);
        return writeFrames(res, kept, 0, 'end');
      }
      case 'context_length':
        return sendJson(
          res,
          400,
          openAIError(
            "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens. Please reduce the length of the messages.",
            'invalid_request_error',
            'context_length_exceeded',
          ),
        );
      case 'content_policy':
        return sendJson(
          res,
          400,
          openAIError(
            'Your request was rejected as a result of our safety system.',
            'invalid_request_error',
            'content_policy_violation',
          ),
        );
      case 'reject_prefill': {
        const messages = Array.isArray(p.body.messages) ? p.body.messages : [];
        const last: unknown = messages.at(-1);
        const role =
          typeof last === 'object' && last !== null ? (last as Record<string, unknown>).role : undefined;
        if (role === 'assistant') {
          return sendJson(
            res,
            400,
            openAIError(
              'This model does not support assistant message prefill.',
              'invalid_request_error',
              null,
            ),
          );
        }
        return ok(res, p, defaultReply, 0);
      }
      case 'raw':
        res.writeHead(b.status ?? 200, b.headers ?? SSE_HEADERS);
        res.flushHeaders();
        return writeFrames(res, b.chunks, b.delayMs ?? 0, b.end ?? 'end');
    }
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const pieces: Buffer[] = [];
    req.on('data', (piece: Buffer) => pieces.push(piece));
    req.on('end', () => {
      const raw = pieces.length === 1 ? pieces[0].toString('utf8') : Buffer.concat(pieces).toString('utf8');
      const { parsed, body } = parse(raw);
      const recorded: RecordedRequest = {
        at: Date.now(),
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers: req.headers,
        remotePort: req.socket.remotePort,
        body,
      };
      if (record) requests.push(recorded);
      res.on('close', () => {
        if (!res.writableFinished) recorded.closedEarlyAt = Date.now();
      });
      const index = count++;
      const behaviour = queue.shift() ?? handler?.(recorded, index) ?? { kind: 'ok' };
      const answer = async (): Promise<void> => {
        if (latencyMs > 0 && behaviour.kind === 'ok' && !(await wait(latencyMs))) return;
        return behave(behaviour, res, parsed);
      };
      void answer().catch(() => res.socket?.destroy());
    });
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;

  return {
    url: `${origin}/v1`,
    origin,
    port,
    requests,
    enqueue: (...behaviours) => queue.push(...behaviours),
    setHandler: (h) => {
      handler = h;
    },
    reset: () => {
      queue.length = 0;
      requests.length = 0;
      handler = null;
    },
    close: async () => {
      closing.abort();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
