/**
 * Anthropic's Message Batches as a native batch (see batch.ts): `POST /v1/messages/batches` with
 * `{"requests": [{"custom_id", "params"}]}` (each request translated as an ordinary call is, by
 * `toAnthropicRequest`; the body is streamed from the runner's file), polled with
 * `GET /v1/messages/batches/{id}` until `processing_status` is `ended`, then the results JSONL read
 * from `results_url` (only on the provider's own origin: the key is never sent elsewhere) and
 * each `succeeded` message translated back to a chat completion.
 */
import { isRecord } from '../shared/guards.js';
import { anthropicHeaders, anthropicUrl } from './anthropic.js';
import { JSON_PREFILL, jsonPrefill, TranslationError, toAnthropicRequest } from './anthropic-request.js';
import { fromAnthropicMessage } from './anthropic-response.js';
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
  type NativeBatchApi,
  utf8,
  withoutContentType,
} from './batch.js';
import { usageFromOpenAI } from './openai.js';
import { ProviderFailure } from './types.js';

/** Suffix of a custom_id whose request put `{` in the answer's mouth (JSON mode). */
const JSON_MARK = '-j';

/** The custom_id the runner gave, and whether the answer gets the JSON prefill back. */
function splitCustomId(raw: string): { customId: string; prefix: string } {
  return raw.endsWith(JSON_MARK)
    ? { customId: raw.slice(0, -JSON_MARK.length), prefix: JSON_PREFILL }
    : { customId: raw, prefix: '' };
}

/** One line of the results as a result; `created` is the answer's timestamp. */
export function anthropicBatchItem(line: unknown, created: number): BatchItem | null {
  if (!isRecord(line) || typeof line.custom_id !== 'string' || !isRecord(line.result)) return null;
  const { customId, prefix } = splitCustomId(line.custom_id);
  const result = line.result;
  if (result.type === 'succeeded') {
    try {
      const model =
        isRecord(result.message) && typeof result.message.model === 'string' ? result.message.model : '';
      const body = fromAnthropicMessage(result.message, model, created, prefix);
      return { customId, ok: true, body, usage: usageFromOpenAI(body.usage) };
    } catch (err) {
      if (!(err instanceof TranslationError)) throw err;
      return { customId, ok: false, reason: err.message };
    }
  }
  const error = isRecord(result.error) && isRecord(result.error.error) ? result.error.error : null;
  const message = typeof error?.message === 'string' ? `: ${error.message.slice(0, 500)}` : '';
  return { customId, ok: false, reason: `${String(result.type)}${message}` };
}

export function createAnthropicBatchApi(http: BatchHttp): NativeBatchApi {
  const batches = `${anthropicUrl(http.spec)}/batches`;
  const origin = new URL(batches).origin;
  const jsonHeaders = (): Record<string, string> => anthropicHeaders(http.spec, false);
  const getHeaders = (): Record<string, string> => withoutContentType(anthropicHeaders(http.spec, false));

  const retrieve = (id: string, signal: AbortSignal, connectTimeoutMs: number) =>
    batchJson(http, {
      url: `${batches}/${encodeURIComponent(id)}`,
      method: 'GET',
      headers: getHeaders(),
      signal,
      connectTimeoutMs,
    });

  return {
    encode(customId, body, upstreamModel) {
      try {
        const params = toAnthropicRequest(body, upstreamModel, false);
        const id = jsonPrefill(body, undefined) ? `${customId}${JSON_MARK}` : customId;
        return { ok: true, line: JSON.stringify({ custom_id: id, params }) };
      } catch (err) {
        if (!(err instanceof TranslationError)) throw err;
        return { ok: false, message: err.message };
      }
    },

    async submit(s) {
      // The runner's lines, each ending with `\n`, become the elements of `requests`: every
      // newline but the last turns into a comma; the byte count is known in advance.
      const head = utf8('{"requests":[');
      const tail = utf8(']}');
      async function* body(): AsyncGenerator<Uint8Array> {
        yield head;
        let seen = 0;
        for await (const chunk of s.open()) {
          const out = Buffer.from(chunk);
          for (let i = 0; i < out.length; i++) if (out[i] === 0x0a) out[i] = 0x2c;
          seen += out.length;
          // The last byte of the file is its final newline: dropped.
          yield seen === s.bytes ? out.subarray(0, out.length - 1) : out;
        }
        yield tail;
      }
      const created = await batchJson(http, {
        url: batches,
        method: 'POST',
        headers: { ...jsonHeaders(), 'content-length': String(head.length + s.bytes - 1 + tail.length) },
        upload: body(),
        signal: s.signal,
        connectTimeoutMs: s.connectTimeoutMs,
      });
      return answeredId(created, 'the message batch creation');
    },

    async poll(id, signal, connectTimeoutMs): Promise<BatchResult<BatchState>> {
      const got = await retrieve(id, signal, connectTimeoutMs);
      if (!got.ok) return got;
      const status =
        typeof got.value.processing_status === 'string' ? got.value.processing_status : 'unknown';
      return {
        ok: true,
        value: status === 'ended' ? { ended: true, status, message: null } : { ended: false, status },
      };
    },

    async *results(id, signal, connectTimeoutMs) {
      const got = await retrieve(id, signal, connectTimeoutMs);
      if (!got.ok) throw new ProviderFailure(got.error);
      let url = `${batches}/${encodeURIComponent(id)}/results`;
      if (typeof got.value.results_url === 'string') {
        let given: URL | null = null;
        try {
          given = new URL(got.value.results_url);
        } catch {
          given = null;
        }
        // The key goes only to the provider's own origin.
        if (given !== null && given.origin === origin) url = given.href;
      }
      const sent = await batchSend(http, {
        url,
        method: 'GET',
        headers: getHeaders(),
        signal,
        connectTimeoutMs,
        maxBytes: MAX_RESULTS_BYTES,
      });
      if (!sent.ok) throw new ProviderFailure(sent.error);
      const created = Math.floor(http.clock.now() / 1000);
      for await (const text of bodyLines(sent.value.body)) {
        let parsed: unknown = null;
        if (text !== null) {
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = null;
          }
        }
        const item = anthropicBatchItem(parsed, created);
        if (item !== null) yield item;
      }
    },

    cancel: (id, signal, connectTimeoutMs) =>
      cancelBatch(http, `${batches}/${encodeURIComponent(id)}`, jsonHeaders(), signal, connectTimeoutMs),
  };
}
