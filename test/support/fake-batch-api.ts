/**
 * A fake upstream with native batch APIs on `node:http` (127.0.0.1, port 0): OpenAI's Files and
 * Batch endpoints (`POST /v1/files` multipart, `POST /v1/batches`, `GET /v1/batches/{id}`,
 * `POST /v1/batches/{id}/cancel`, `GET /v1/files/{id}/content`) and Anthropic's Message Batches
 * (`POST /v1/messages/batches`, `GET /v1/messages/batches/{id}`, `.../results`, `.../cancel`),
 * plus the ordinary `POST /v1/chat/completions` and `POST /v1/messages` (lines that fall back).
 *
 * A batch ends after `pollsToEnd` polls; `fail(customId)` makes a line fail inside the batch
 * (error file / `errored`); `endStatus` makes the whole batch end otherwise (`expired`: no line
 * has a result). Every request is recorded (method, path, headers, body size).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface FakeBatchOptions {
  /** Polls (`GET` of the batch) answered `in_progress` before it ends; default 1. */
  pollsToEnd?: number;
  /** A line whose provider custom_id this returns true for fails inside the batch. */
  fail?: (customId: string) => boolean;
  /** How an OpenAI batch ends: `completed` (default), `expired`, `failed`. */
  endStatus?: 'completed' | 'expired' | 'failed';
}

export interface FakeBatchRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly bytes: number;
  /** The body as text. */
  readonly text: string;
  /** The body parsed as JSON when it was JSON. */
  readonly json: unknown;
}

interface StoredBatch {
  readonly kind: 'openai' | 'anthropic';
  readonly lines: { customId: string; body: Record<string, unknown> }[];
  polls: number;
  cancelled: boolean;
}

export interface FakeBatchApi {
  /** `http://127.0.0.1:<port>` (add `/v1` for OpenAI's baseUrl). */
  readonly origin: string;
  readonly requests: FakeBatchRequest[];
  /** Batches created, by id. */
  readonly batches: ReadonlyMap<
    string,
    { readonly kind: string; readonly lines: number; readonly cancelled: boolean }
  >;
  close(): Promise<void>;
}

function lastUser(body: Record<string, unknown>): string {
  const messages = Array.isArray(body.messages) ? body.messages : [];
  const last = [...messages].reverse().find((m) => (m as { role?: string }).role === 'user') as
    | { content?: unknown }
    | undefined;
  const content = last?.content;
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((b) => (b as { text?: string }).text ?? '').join('');
  return '';
}

const USAGE = { prompt_tokens: 1000, completion_tokens: 500, total_tokens: 1500 };

function chat(model: string, text: string): Record<string, unknown> {
  return {
    id: `chatcmpl-${Math.random().toString(36).slice(2)}`,
    object: 'chat.completion',
    created: 1,
    model,
    choices: [
      { index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop', logprobs: null },
    ],
    usage: USAGE,
  };
}

function message(model: string, text: string): Record<string, unknown> {
  return {
    id: `msg_${Math.random().toString(36).slice(2)}`,
    type: 'message',
    role: 'assistant',
    model,
    content: [{ type: 'text', text }],
    stop_reason: 'end_turn',
    usage: { input_tokens: 1000, output_tokens: 500 },
  };
}

/** The `file` part of a multipart body (the test's uploads are small: read whole). */
function multipartFile(raw: Buffer, contentType: string): string | null {
  const boundary = /boundary=(.+)$/.exec(contentType)?.[1];
  if (boundary === undefined) return null;
  const text = raw.toString('utf8');
  for (const part of text.split(`--${boundary}`)) {
    if (!part.includes('name="file"')) continue;
    const start = part.indexOf('\r\n\r\n');
    return part.slice(start + 4, part.length - 2);
  }
  return null;
}

export async function startFakeBatchApi(options: FakeBatchOptions = {}): Promise<FakeBatchApi> {
  const pollsToEnd = options.pollsToEnd ?? 1;
  const fail = options.fail ?? (() => false);
  const requests: FakeBatchRequest[] = [];
  const files = new Map<string, string>();
  const batches = new Map<string, StoredBatch>();
  let n = 0;
  const sockets = new Set<Socket>();

  const json = (res: ServerResponse, status: number, value: unknown): void => {
    const text = JSON.stringify(value);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };

  const ended = (b: StoredBatch): boolean => b.cancelled || b.polls > pollsToEnd;

  const openAIBatch = (id: string, b: StoredBatch): Record<string, unknown> => {
    const done = ended(b);
    const status = !done ? 'in_progress' : b.cancelled ? 'cancelled' : (options.endStatus ?? 'completed');
    return {
      id,
      object: 'batch',
      endpoint: '/v1/chat/completions',
      status,
      input_file_id: `${id}-input`,
      output_file_id: done && status !== 'failed' ? `${id}-output` : null,
      error_file_id: done && status !== 'failed' ? `${id}-errors` : null,
      errors:
        status === 'failed'
          ? { object: 'list', data: [{ code: 'x', message: 'the batch failed (fake)' }] }
          : null,
      request_counts: { total: b.lines.length, completed: 0, failed: 0 },
    };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    let parsed: unknown = null;
    try {
      parsed = raw.length > 0 ? JSON.parse(raw.toString('utf8')) : null;
    } catch {
      parsed = null;
    }
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    requests.push({
      method: req.method ?? '',
      path,
      headers: req.headers,
      bytes: raw.length,
      text: raw.toString('utf8'),
      json: parsed,
    });
    const body = (parsed ?? {}) as Record<string, unknown>;
    let m: RegExpExecArray | null;

    // --- OpenAI -------------------------------------------------------------------------------
    if (req.method === 'POST' && path === '/v1/chat/completions') {
      return json(res, 200, chat(String(body.model), `Direct answer to: ${lastUser(body)}`));
    }
    if (req.method === 'POST' && path === '/v1/files') {
      if (Number(req.headers['content-length']) !== raw.length)
        return json(res, 400, { error: { message: 'bad length' } });
      const file = multipartFile(raw, String(req.headers['content-type']));
      if (file === null || !raw.toString('utf8').includes('name="purpose"\r\n\r\nbatch')) {
        return json(res, 400, { error: { message: 'no file or purpose', type: 'invalid_request_error' } });
      }
      const id = `file-${++n}`;
      files.set(id, file);
      return json(res, 200, { id, object: 'file', purpose: 'batch', bytes: file.length });
    }
    if (req.method === 'POST' && path === '/v1/batches') {
      const file = files.get(String(body.input_file_id));
      if (
        file === undefined ||
        body.endpoint !== '/v1/chat/completions' ||
        body.completion_window !== '24h'
      ) {
        return json(res, 400, { error: { message: 'bad batch', type: 'invalid_request_error' } });
      }
      const lines = file
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as { custom_id: string; body: Record<string, unknown> })
        .map((l) => ({ customId: l.custom_id, body: l.body }));
      const id = `batch_${++n}`;
      const b: StoredBatch = { kind: 'openai', lines, polls: 0, cancelled: false };
      batches.set(id, b);
      return json(res, 200, openAIBatch(id, b));
    }
    m = req.method === 'GET' ? /^\/v1\/batches\/([^/]+)$/.exec(path) : null;
    if (m !== null) {
      const b = batches.get(m[1]);
      if (b === undefined) return json(res, 404, { error: { message: 'no such batch' } });
      b.polls++;
      return json(res, 200, openAIBatch(m[1], b));
    }
    m = req.method === 'POST' ? /^\/v1\/batches\/([^/]+)\/cancel$/.exec(path) : null;
    if (m !== null) {
      const b = batches.get(m[1]);
      if (b === undefined) return json(res, 404, { error: { message: 'no such batch' } });
      b.cancelled = true;
      return json(res, 200, openAIBatch(m[1], b));
    }
    m = req.method === 'GET' ? /^\/v1\/files\/(.+)-(output|errors)\/content$/.exec(path) : null;
    if (m !== null) {
      const b = batches.get(m[1]);
      if (b === undefined) return json(res, 404, { error: { message: 'no such file' } });
      const out: string[] = [];
      if (!b.cancelled && (options.endStatus ?? 'completed') === 'completed') {
        for (const line of b.lines) {
          const failed = fail(line.customId);
          if ((m[2] === 'output') === failed) continue;
          out.push(
            JSON.stringify({
              id: `batch_req_${line.customId}`,
              custom_id: line.customId,
              response: failed
                ? {
                    status_code: 500,
                    request_id: 'r',
                    body: { error: { message: 'upstream failed (fake)', type: 'server_error' } },
                  }
                : {
                    status_code: 200,
                    request_id: 'r',
                    body: chat(String(line.body.model), `Batch answer to: ${lastUser(line.body)}`),
                  },
              error: null,
            }),
          );
        }
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(out.map((l) => `${l}\n`).join(''));
      return;
    }

    // --- Anthropic ----------------------------------------------------------------------------
    if (req.method === 'POST' && path === '/v1/messages') {
      return json(res, 200, message(String(body.model), `Direct answer to: ${lastUser(body)}`));
    }
    if (req.method === 'POST' && path === '/v1/messages/batches') {
      if (Number(req.headers['content-length']) !== raw.length || !Array.isArray(body.requests)) {
        return json(res, 400, {
          type: 'error',
          error: { type: 'invalid_request_error', message: 'bad body' },
        });
      }
      const lines = (body.requests as { custom_id: string; params: Record<string, unknown> }[]).map((r) => ({
        customId: r.custom_id,
        body: r.params,
      }));
      const id = `msgbatch_${++n}`;
      batches.set(id, { kind: 'anthropic', lines, polls: 0, cancelled: false });
      return json(res, 200, {
        id,
        type: 'message_batch',
        processing_status: 'in_progress',
        results_url: null,
      });
    }
    m = req.method === 'GET' ? /^\/v1\/messages\/batches\/([^/]+)$/.exec(path) : null;
    if (m !== null) {
      const b = batches.get(m[1]);
      if (b === undefined)
        return json(res, 404, { type: 'error', error: { type: 'not_found_error', message: 'no' } });
      b.polls++;
      const done = ended(b);
      return json(res, 200, {
        id: m[1],
        type: 'message_batch',
        processing_status: done ? 'ended' : b.cancelled ? 'canceling' : 'in_progress',
        results_url: done ? `http://${req.headers.host}/v1/messages/batches/${m[1]}/results` : null,
      });
    }
    m = req.method === 'POST' ? /^\/v1\/messages\/batches\/([^/]+)\/cancel$/.exec(path) : null;
    if (m !== null) {
      const b = batches.get(m[1]);
      if (b === undefined)
        return json(res, 404, { type: 'error', error: { type: 'not_found_error', message: 'no' } });
      b.cancelled = true;
      return json(res, 200, { id: m[1], type: 'message_batch', processing_status: 'canceling' });
    }
    m = req.method === 'GET' ? /^\/v1\/messages\/batches\/([^/]+)\/results$/.exec(path) : null;
    if (m !== null) {
      const b = batches.get(m[1]);
      if (b === undefined)
        return json(res, 404, { type: 'error', error: { type: 'not_found_error', message: 'no' } });
      const out = b.lines.map((line) =>
        JSON.stringify({
          custom_id: line.customId,
          result: b.cancelled
            ? { type: 'canceled' }
            : fail(line.customId)
              ? {
                  type: 'errored',
                  error: { type: 'error', error: { type: 'api_error', message: 'failed (fake)' } },
                }
              : {
                  type: 'succeeded',
                  message: message(String(line.body.model), `Batch answer to: ${lastUser(line.body)}`),
                },
        }),
      );
      res.writeHead(200, { 'content-type': 'application/binary' });
      res.end(out.map((l) => `${l}\n`).join(''));
      return;
    }
    json(res, 404, { error: { message: `no route ${req.method} ${path}` } });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      res.statusCode = 500;
      res.end(String(err));
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    get batches() {
      const view = new Map<string, { kind: string; lines: number; cancelled: boolean }>();
      for (const [id, b] of batches)
        view.set(id, { kind: b.kind, lines: b.lines.length, cancelled: b.cancelled });
      return view;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
