/**
 * OpenAI's Batch API as a native batch (see batch.ts): the input is uploaded with `POST /files`
 * (multipart, `purpose=batch`, streamed), the batch created with `POST /batches` (`endpoint:
 * /v1/chat/completions`, `completion_window: 24h`), polled with `GET /batches/{id}`, and its
 * output and error files read with `GET /files/{id}/content`. Azure OpenAI's batch API addresses
 * deployments differently and is not supported (no `batch` on Azure providers).
 */
import { isRecord } from '../shared/guards.js';
import {
  answeredId,
  type BatchHttp,
  type BatchItem,
  type BatchResult,
  type BatchState,
  batchJson,
  batchSend,
  bodyLines,
  cancelBatch,
  MAX_RESULTS_BYTES,
  multipartBoundary,
  type NativeBatchApi,
  utf8,
  withoutContentType,
} from './batch.js';
import { openAIBody, openAIHeaders, usageFromOpenAI } from './openai.js';
import type { ResponseBody } from './openai-types.js';
import { ProviderFailure } from './types.js';

/** Statuses after which a batch no longer changes. */
const ENDED = new Set(['completed', 'failed', 'expired', 'cancelled']);

function baseUrl(http: BatchHttp): string {
  return (http.spec.baseUrl ?? 'https://api.openai.com/v1').replace(/\/+$/, '');
}

/** The first of a failed batch's `errors.data` messages. */
function batchErrors(batch: Readonly<Record<string, unknown>>): string | null {
  const data = isRecord(batch.errors) && Array.isArray(batch.errors.data) ? batch.errors.data : [];
  const first = data.find(isRecord);
  if (first === undefined) return null;
  return typeof first.message === 'string' ? first.message.slice(0, 500) : null;
}

/** One line of an output or error file as a result. */
export function openAIBatchItem(line: unknown): BatchItem | null {
  if (!isRecord(line) || typeof line.custom_id !== 'string') return null;
  const customId = line.custom_id;
  const response = isRecord(line.response) ? line.response : null;
  const status = typeof response?.status_code === 'number' ? response.status_code : null;
  if (response !== null && status !== null && status >= 200 && status < 300 && isRecord(response.body)) {
    const body = response.body as unknown as ResponseBody;
    return { customId, ok: true, body, usage: usageFromOpenAI(response.body.usage) };
  }
  const error = isRecord(line.error) ? line.error : null;
  const bodyError =
    response !== null && isRecord(response.body) && isRecord(response.body.error)
      ? response.body.error
      : null;
  const message =
    (typeof error?.message === 'string' ? error.message : null) ??
    (typeof bodyError?.message === 'string' ? bodyError.message : null) ??
    (status !== null ? `HTTP ${status}` : 'no answer');
  return { customId, ok: false, reason: message.slice(0, 500) };
}

export function createOpenAIBatchApi(http: BatchHttp): NativeBatchApi | undefined {
  if (http.spec.azure !== null) return undefined;
  const base = baseUrl(http);
  const jsonHeaders = (): Record<string, string> => openAIHeaders(http.spec, false);
  const getHeaders = (): Record<string, string> => withoutContentType(openAIHeaders(http.spec, false));
  /** The batch object (`GET /batches/{id}`). */
  const retrieve = (id: string, signal: AbortSignal, connectTimeoutMs: number) =>
    batchJson(http, {
      url: `${base}/batches/${encodeURIComponent(id)}`,
      method: 'GET',
      headers: getHeaders(),
      signal,
      connectTimeoutMs,
    });

  async function* fileLines(
    fileId: string,
    signal: AbortSignal,
    connectTimeoutMs: number,
  ): AsyncGenerator<BatchItem> {
    const sent = await batchSend(http, {
      url: `${base}/files/${encodeURIComponent(fileId)}/content`,
      method: 'GET',
      headers: getHeaders(),
      signal,
      connectTimeoutMs,
      maxBytes: MAX_RESULTS_BYTES,
    });
    if (!sent.ok) throw new ProviderFailure(sent.error);
    for await (const text of bodyLines(sent.value.body)) {
      let parsed: unknown = null;
      if (text !== null) {
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = null;
        }
      }
      const item = openAIBatchItem(parsed);
      if (item !== null) yield item;
    }
  }

  return {
    encode(customId, body, upstreamModel) {
      const payload = openAIBody({
        upstreamModel,
        endpoint: 'chat',
        body,
        stream: false,
        signal: AbortSignal.abort(),
        connectTimeoutMs: 0,
      });
      return {
        ok: true,
        line: JSON.stringify({
          custom_id: customId,
          method: 'POST',
          url: '/v1/chat/completions',
          body: payload,
        }),
      };
    },

    async submit(s) {
      const boundary = multipartBoundary();
      const head = utf8(
        `--${boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n` +
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="switchyard-batch.jsonl"\r\n` +
          'Content-Type: application/jsonl\r\n\r\n',
      );
      const tail = utf8(`\r\n--${boundary}--\r\n`);
      async function* multipart(): AsyncGenerator<Uint8Array> {
        yield head;
        yield* s.open();
        yield tail;
      }
      const headers = {
        ...jsonHeaders(),
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'content-length': String(head.length + s.bytes + tail.length),
      };
      const file = await batchJson(http, {
        url: `${base}/files`,
        method: 'POST',
        headers,
        upload: multipart(),
        signal: s.signal,
        connectTimeoutMs: s.connectTimeoutMs,
      });
      const uploaded = answeredId(file, 'the file upload');
      if (!uploaded.ok) return uploaded;
      const batch = await batchJson(http, {
        url: `${base}/batches`,
        method: 'POST',
        headers: jsonHeaders(),
        body: JSON.stringify({
          input_file_id: uploaded.value.id,
          endpoint: '/v1/chat/completions',
          completion_window: '24h',
        }),
        signal: s.signal,
        connectTimeoutMs: s.connectTimeoutMs,
      });
      return answeredId(batch, 'the batch creation');
    },

    async poll(id, signal, connectTimeoutMs): Promise<BatchResult<BatchState>> {
      const got = await retrieve(id, signal, connectTimeoutMs);
      if (!got.ok) return got;
      const status = typeof got.value.status === 'string' ? got.value.status : 'unknown';
      if (!ENDED.has(status)) return { ok: true, value: { ended: false, status } };
      return { ok: true, value: { ended: true, status, message: batchErrors(got.value) } };
    },

    async *results(id, signal, connectTimeoutMs) {
      const got = await retrieve(id, signal, connectTimeoutMs);
      if (!got.ok) throw new ProviderFailure(got.error);
      for (const key of ['output_file_id', 'error_file_id']) {
        const fileId = got.value[key];
        if (typeof fileId === 'string' && fileId !== '') yield* fileLines(fileId, signal, connectTimeoutMs);
      }
    },

    cancel: (id, signal, connectTimeoutMs) =>
      cancelBatch(http, `${base}/batches/${encodeURIComponent(id)}`, jsonHeaders(), signal, connectTimeoutMs),
  };
}
