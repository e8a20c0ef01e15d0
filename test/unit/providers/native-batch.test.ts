/**
 * The providers' native batch APIs (engine/providers/batch.ts): the wire shapes of OpenAI's Batch
 * API and Anthropic's Message Batches against a fake upstream on a real socket (the upload is
 * streamed, its content-length exact, the provider's key in its usual header), the translation of
 * result lines, and the mock's offline batches on a virtual clock.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { anthropicBatchItem } from '../../../engine/providers/anthropic-batch.js';
import type { BatchItem, NativeBatchApi } from '../../../engine/providers/batch.js';
import { bodyLines } from '../../../engine/providers/batch.js';
import { createProvider } from '../../../engine/providers/index.js';
import { openAIBatchItem } from '../../../engine/providers/openai-batch.js';
import { createUndiciTransport, type Transport } from '../../../engine/providers/transport.js';
import { systemClock } from '../../../engine/shared/clock.js';
import { VirtualClock } from '../../../engine/shared/virtual-clock.js';
import { type FakeBatchApi, startFakeBatchApi } from '../../support/fake-batch-api.js';
import { providerSpec } from '../../support/providers.js';

const KEY = 'sk-native-batch-secret';
const signal = () => new AbortController().signal;

function submission(lines: readonly string[]) {
  const text = lines.map((l) => `${l}\n`).join('');
  const bytes = Buffer.from(text);
  return {
    open: async function* () {
      // In two pieces, to cross a chunk boundary.
      yield bytes.subarray(0, Math.floor(bytes.length / 2));
      yield bytes.subarray(Math.floor(bytes.length / 2));
    },
    bytes: bytes.length,
    count: lines.length,
    signal: signal(),
    connectTimeoutMs: 2000,
  };
}

async function collect(items: AsyncIterable<BatchItem>): Promise<BatchItem[]> {
  const out: BatchItem[] = [];
  for await (const item of items) out.push(item);
  return out;
}

const body = (text: string) => ({ model: 'client-model', messages: [{ role: 'user', content: text }] });

describe('native batch APIs against a fake upstream', () => {
  let api: FakeBatchApi;
  let transport: Transport;
  beforeEach(async () => {
    api = await startFakeBatchApi({ pollsToEnd: 1, fail: (id) => id === 'l1' });
    transport = createUndiciTransport();
  });
  afterEach(async () => {
    await transport.close();
    await api.close();
  });

  it('OpenAI: uploads the file (multipart, purpose batch), creates, polls, reads output and error files, cancels', async () => {
    const provider = createProvider(providerSpec({ baseUrl: `${api.origin}/v1`, apiKey: KEY }), {
      transport,
      clock: systemClock,
    });
    const batch = provider.batch as NativeBatchApi;
    const lines = ['l0', 'l1', 'l2'].map((id, i) => {
      const encoded = batch.encode(id, { ...body(`q${i}`), stream: false, metadata: { a: 'b' } }, 'gpt-up');
      if (!encoded.ok) throw new Error(encoded.message);
      return encoded.line;
    });
    expect(JSON.parse(lines[0])).toEqual({
      custom_id: 'l0',
      method: 'POST',
      url: '/v1/chat/completions',
      body: { model: 'gpt-up', messages: [{ role: 'user', content: 'q0' }] },
    });
    const created = await batch.submit(submission(lines));
    expect(created.ok).toBe(true);
    const id = created.ok ? created.value.id : '';
    const [upload, create] = api.requests;
    expect(upload.path).toBe('/v1/files');
    expect(upload.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(String(upload.headers['content-type'])).toMatch(/^multipart\/form-data; boundary=/);
    expect(create.json).toEqual({
      input_file_id: 'file-1',
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });

    expect(await batch.poll(id, signal(), 2000)).toEqual({
      ok: true,
      value: { ended: false, status: 'in_progress' },
    });
    expect(await batch.poll(id, signal(), 2000)).toEqual({
      ok: true,
      value: { ended: true, status: 'completed', message: null },
    });
    const items = await collect(batch.results(id, signal(), 2000));
    expect(items.map((i) => [i.customId, i.ok]).sort()).toEqual([
      ['l0', true],
      ['l1', false],
      ['l2', true],
    ]);
    const first = items.find((i) => i.customId === 'l0');
    expect(first?.ok && first.usage).toEqual({
      promptTokens: 1000,
      completionTokens: 500,
      totalTokens: 1500,
    });
    expect(await batch.cancel(id, signal(), 2000)).toEqual({ ok: true, value: undefined });
    expect(api.requests.at(-1)?.path).toBe(`/v1/batches/${id}/cancel`);
  });

  it('Anthropic: creates a message batch from translated requests, polls to ended, reads results_url', async () => {
    const provider = createProvider(
      providerSpec({ kind: 'anthropic', baseUrl: api.origin, apiKey: KEY, anthropicVersion: '2023-06-01' }),
      { transport, clock: systemClock },
    );
    const batch = provider.batch as NativeBatchApi;
    const json = { ...body('q1'), response_format: { type: 'json_object' } };
    const lines = [
      batch.encode('l0', body('q0'), 'claude-up'),
      batch.encode('l1', json, 'claude-up'),
      batch.encode('l2', body('q2'), 'claude-up'),
    ].map((e) => (e.ok ? e.line : ''));
    // JSON mode puts `{` in the answer's mouth: its custom_id says so.
    expect(JSON.parse(lines[1]).custom_id).toBe('l1-j');
    expect(JSON.parse(lines[0]).params).toMatchObject({ model: 'claude-up', messages: [{ role: 'user' }] });
    const created = await batch.submit(submission(lines));
    expect(created.ok).toBe(true);
    const id = created.ok ? created.value.id : '';
    const post = api.requests[0];
    expect(post.headers['x-api-key']).toBe(KEY);
    expect(post.headers['anthropic-version']).toBe('2023-06-01');
    expect((post.json as { requests: unknown[] }).requests).toHaveLength(3);

    expect((await batch.poll(id, signal(), 2000)).ok).toBe(true);
    expect(await batch.poll(id, signal(), 2000)).toEqual({
      ok: true,
      value: { ended: true, status: 'ended', message: null },
    });
    const items = await collect(batch.results(id, signal(), 2000));
    expect(items.map((i) => [i.customId, i.ok])).toEqual([
      ['l0', true],
      ['l1', true],
      ['l2', true],
    ]);
    const answer = items[1].ok ? items[1].body : null;
    expect(answer).toMatchObject({
      object: 'chat.completion',
      choices: [{ message: { content: '{Batch answer to: q1' } }],
    });
    expect(api.requests.at(-1)?.headers['x-api-key']).toBe(KEY);
  });

  it('an upstream error is a classified value without the key', async () => {
    const provider = createProvider(providerSpec({ baseUrl: `${api.origin}/v1`, apiKey: KEY }), {
      transport,
      clock: systemClock,
    });
    const polled = await (provider.batch as NativeBatchApi).poll('batch_missing', signal(), 2000);
    expect(polled.ok).toBe(false);
    expect(JSON.stringify(polled)).not.toContain(KEY);
  });
});

describe('Anthropic results_url', () => {
  it("is read only on the provider's own origin: the key never goes elsewhere", async () => {
    const seen: { url: string; key: string | undefined }[] = [];
    const transport: Transport = {
      async request(req) {
        seen.push({ url: req.url, key: req.headers['x-api-key'] });
        const text = req.url.endsWith('/results')
          ? ''
          : JSON.stringify({
              id: 'b1',
              processing_status: 'ended',
              results_url: 'https://elsewhere.example/steal',
            });
        return {
          status: 200,
          headers: { 'content-type': 'application/json' },
          body: (async function* () {
            yield Buffer.from(text);
          })(),
          text: async () => text,
        };
      },
      async close() {},
    };
    const provider = createProvider(
      providerSpec({ kind: 'anthropic', baseUrl: 'https://api.anthropic.test', apiKey: KEY }),
      { transport, clock: systemClock },
    );
    expect(await collect((provider.batch as NativeBatchApi).results('b1', signal(), 1000))).toEqual([]);
    expect(seen.map((s) => s.url)).toEqual([
      'https://api.anthropic.test/v1/messages/batches/b1',
      'https://api.anthropic.test/v1/messages/batches/b1/results',
    ]);
    expect(seen.every((s) => s.key === KEY)).toBe(true);
  });
});

describe('result lines', () => {
  it('OpenAI: a 2xx response is an answer with usage; anything else a reason', () => {
    expect(
      openAIBatchItem({
        custom_id: 'l3',
        response: {
          status_code: 200,
          body: { object: 'chat.completion', usage: { prompt_tokens: 3, completion_tokens: 4 } },
        },
      }),
    ).toMatchObject({
      customId: 'l3',
      ok: true,
      usage: { promptTokens: 3, completionTokens: 4, totalTokens: 7 },
    });
    expect(
      openAIBatchItem({
        custom_id: 'l4',
        response: { status_code: 429, body: { error: { message: 'slow' } } },
      }),
    ).toEqual({ customId: 'l4', ok: false, reason: 'slow' });
    expect(
      openAIBatchItem({
        custom_id: 'l5',
        response: null,
        error: { code: 'batch_expired', message: 'expired' },
      }),
    ).toEqual({
      customId: 'l5',
      ok: false,
      reason: 'expired',
    });
    expect(openAIBatchItem({ nope: 1 })).toBeNull();
  });

  it('Anthropic: succeeded is translated, errored/canceled/expired are reasons', () => {
    const ok = anthropicBatchItem(
      {
        custom_id: 'l0',
        result: {
          type: 'succeeded',
          message: {
            id: 'msg',
            model: 'c',
            content: [{ type: 'text', text: 'hi' }],
            usage: { input_tokens: 2, output_tokens: 1 },
          },
        },
      },
      7,
    );
    expect(ok).toMatchObject({ customId: 'l0', ok: true, usage: { promptTokens: 2, completionTokens: 1 } });
    expect(anthropicBatchItem({ custom_id: 'l1', result: { type: 'expired' } }, 7)).toEqual({
      customId: 'l1',
      ok: false,
      reason: 'expired',
    });
    expect(
      anthropicBatchItem(
        {
          custom_id: 'l2',
          result: { type: 'errored', error: { type: 'error', error: { type: 'api_error', message: 'x' } } },
        },
        7,
      ),
    ).toEqual({ customId: 'l2', ok: false, reason: 'errored: x' });
  });

  it('bodyLines splits across chunks, drops empty lines and skips a line over the limit', async () => {
    async function* chunks() {
      yield Buffer.from('{"a":1}\n\n{"b"');
      yield Buffer.from(':2}\r\n0123456789abcdef\nlast');
    }
    const out: (string | null)[] = [];
    for await (const line of bodyLines(chunks(), 10)) out.push(line);
    expect(out).toEqual(['{"a":1}', '{"b":2}', null, 'last']);
  });
});

describe('the mock native batch', () => {
  it('ends after batchLatency on the clock and answers each request as its calls do', async () => {
    const clock = new VirtualClock();
    const provider = createProvider(
      providerSpec({
        kind: 'mock',
        mock: {
          reply: null,
          latencyMs: 0,
          chunkDelayMs: 0,
          batchLatencyMs: 5000,
          sequence: ['ok', 'server_error'],
        },
      }),
      { transport: createUndiciTransport(), clock },
    );
    const batch = provider.batch as NativeBatchApi;
    const lines = ['l0', 'l1', 'l2'].map((id) => {
      const e = batch.encode(id, body(`q-${id}`), 'm');
      return e.ok ? e.line : '';
    });
    const created = await batch.submit(submission(lines));
    const id = created.ok ? created.value.id : '';
    expect(await batch.poll(id, signal(), 0)).toEqual({
      ok: true,
      value: { ended: false, status: 'in_progress' },
    });
    await clock.advance(5000);
    expect(await batch.poll(id, signal(), 0)).toMatchObject({
      ok: true,
      value: { ended: true, status: 'completed' },
    });
    const items = await collect(batch.results(id, signal(), 0));
    expect(items.map((i) => [i.customId, i.ok])).toEqual([
      ['l0', true],
      ['l1', false],
      ['l2', true],
    ]);
    expect(items[0].ok && items[0].body).toMatchObject({ choices: [{ message: { content: 'Echo: q-l0' } }] });
    // Results are read once: the batch is gone, as after a restart.
    expect((await batch.poll(id, signal(), 0)).ok).toBe(false);
  });
});
