import { describe, expect, it } from 'vitest';
import { createProvider } from '../../../engine/providers/index.js';
import { callerWantsStreamUsage, isUsageOnlyChunk, openAIBody } from '../../../engine/providers/openai.js';
import { createUndiciTransport } from '../../../engine/providers/transport.js';
import {
  type ProviderCallRequest,
  type ProviderCallResult,
  ProviderFailure,
  type ProviderSpec,
} from '../../../engine/providers/types.js';
import { Cancellation } from '../../../engine/shared/cancellation.js';
import { systemClock } from '../../../engine/shared/clock.js';
import { callRequest, drain, failure, providerSpec, streamedText } from '../../support/providers.js';
import { chunkPayload, openAIError, sse, startUpstream } from '../../support/upstream.js';
import { useUpstream } from '../../support/use-upstream.js';

const transport = createUndiciTransport();
const upstream = useUpstream({ reply: 'Hello there, friend.', beforeClose: () => transport.close() });

function spec(overrides: Partial<ProviderSpec> = {}): ProviderSpec {
  return providerSpec({
    name: 'openai',
    baseUrl: upstream.url,
    apiKey: 'sk-test',
    headers: { 'OpenAI-Organization': 'org-1' },
    ...overrides,
  });
}

const provider = () => createProvider(spec(), { transport, clock: systemClock });

function call(overrides: Partial<ProviderCallRequest> = {}, p = provider()): Promise<ProviderCallResult> {
  return p.call(
    callRequest({
      upstreamModel: 'gpt-up',
      body: { model: 'alias', messages: [{ role: 'user', content: 'Hi' }], temperature: 0.2 },
      ...overrides,
    }),
  );
}

const text = streamedText;

describe('OpenAI adapter: success', () => {
  it('sends the body with the upstream model and returns the completion with usage', async () => {
    const result = await call();
    if (!result.ok || result.kind !== 'json') throw new Error('expected json');
    expect(result.status).toBe(200);
    expect(result.body.object).toBe('chat.completion');
    if (result.body.object !== 'chat.completion') return;
    expect(result.body.choices[0].message.content).toBe('Hello there, friend.');
    expect(result.body.model).toBe('gpt-up');
    expect(result.usage).toEqual({
      promptTokens: expect.any(Number),
      completionTokens: 5,
      totalTokens: expect.any(Number),
    });
    const seen = upstream.requests[0];
    expect(seen.path).toBe('/v1/chat/completions');
    expect(seen.headers.authorization).toBe('Bearer sk-test');
    expect(seen.headers['openai-organization']).toBe('org-1');
    // The transport decodes no content coding, so it asks for none.
    expect(seen.headers['accept-encoding']).toBe('identity');
    expect(seen.body).toEqual({
      model: 'gpt-up',
      messages: [{ role: 'user', content: 'Hi' }],
      temperature: 0.2,
    });
  });

  it('streams chunks, always asks upstream for usage, and ends with done', async () => {
    const result = await call({
      stream: true,
      body: { model: 'x', messages: [], stream_options: { foo: 1 } },
    });
    const { items, error } = await drain(result);
    expect(error).toBeNull();
    expect(text(items)).toBe('Hello there, friend.');
    expect(items.at(-1)).toEqual({ type: 'done' });
    const usageChunk = items.at(-2);
    if (usageChunk?.type !== 'chunk') throw new Error('expected the usage chunk');
    expect(isUsageOnlyChunk(usageChunk.chunk)).toBe(true);
    expect(upstream.requests[0].body).toMatchObject({
      stream: true,
      stream_options: { foo: 1, include_usage: true },
    });
    expect(upstream.requests[0].headers.accept).toBe('text/event-stream');
    expect(upstream.requests[0].headers['accept-encoding']).toBe('identity');
    expect(callerWantsStreamUsage({ stream_options: { include_usage: true } })).toBe(true);
    expect(callerWantsStreamUsage({})).toBe(false);
  });

  it('resolves at the headers, before a slow first token', async () => {
    upstream.enqueue({ kind: 'slow_first_token', delayMs: 300 });
    const started = performance.now();
    const result = await call({ stream: true });
    expect(performance.now() - started).toBeLessThan(250);
    const { items } = await drain(result);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect(items.at(-1)).toEqual({ type: 'done' });
  });

  it('treats a stream that ends after a finish_reason without [DONE] as complete', async () => {
    upstream.enqueue({ kind: 'no_done' });
    const { items, error } = await drain(await call({ stream: true }));
    expect(error).toBeNull();
    expect(text(items)).toBe('Hello there, friend.');
    expect(items.some((i) => i.type === 'done')).toBe(false);
  });

  it('appends the prefill as a final assistant message', async () => {
    await call({ prefill: 'Hello the' });
    expect(upstream.requests[0].body).toMatchObject({
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello the' },
      ],
    });
  });

  it('calls the embeddings endpoint', async () => {
    upstream.enqueue({
      kind: 'raw',
      headers: { 'content-type': 'application/json' },
      chunks: [
        JSON.stringify({
          object: 'list',
          data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }],
          model: 'emb',
          usage: { prompt_tokens: 3, total_tokens: 3 },
        }),
      ],
    });
    const result = await call({ endpoint: 'embeddings', body: { model: 'e', input: 'abc' }, stream: true });
    if (!result.ok || result.kind !== 'json') throw new Error('expected json');
    expect(result.body.object).toBe('list');
    expect(result.usage).toEqual({ promptTokens: 3, completionTokens: 0, totalTokens: 3 });
    expect(upstream.requests[0].path).toBe('/v1/embeddings');
    expect(upstream.requests[0].body).toEqual({ model: 'gpt-up', input: 'abc' });
  });
});

describe("OpenAI adapter: the call's signal", () => {
  it('is never made for a stream that ends well (read only on a failure)', async () => {
    const cancel = new Cancellation();
    let reads = 0;
    const req = callRequest({ upstreamModel: 'gpt-up', stream: true, cancel });
    Object.defineProperty(req, 'signal', {
      get: () => {
        reads++;
        return cancel.signal;
      },
    });
    const { items, error } = await drain(await provider().call(req));
    expect(error).toBeNull();
    expect(items.at(-1)).toEqual({ type: 'done' });
    expect(reads).toBe(0);
  });
});

describe('OpenAI adapter: failures', () => {
  it('classifies a non-2xx answer without making the signal of a cancellable call', async () => {
    upstream.enqueue({ kind: 'status', status: 503 });
    const cancel = new Cancellation();
    let reads = 0;
    const req = callRequest({
      upstreamModel: 'gpt-up',
      body: { model: 'alias', messages: [{ role: 'user', content: 'Hi' }] },
      cancel,
    });
    Object.defineProperty(req, 'signal', {
      get: () => {
        reads++;
        return cancel.signal;
      },
    });
    expect(failure(await provider().call(req)).class).toBe('overloaded');
    expect(reads).toBe(0);
  });

  it.each([
    [{ kind: 'status', status: 429, retryAfter: '2' } as const, 'rate_limited', 2000],
    [{ kind: 'status', status: 429, headers: { 'retry-after-ms': '150' } } as const, 'rate_limited', 150],
    [{ kind: 'status', status: 503 } as const, 'overloaded', null],
    [{ kind: 'status', status: 500 } as const, 'server_error', null],
    [
      {
        kind: 'status',
        status: 401,
        body: openAIError('bad key', 'invalid_request_error', 'invalid_api_key'),
      } as const,
      'auth',
      null,
    ],
    [
      {
        kind: 'status',
        status: 404,
        body: openAIError('no such model', 'invalid_request_error', 'model_not_found'),
      } as const,
      'bad_request',
      null,
    ],
    [{ kind: 'context_length' } as const, 'context_length', null],
    [{ kind: 'content_policy' } as const, 'content_policy', null],
  ])('%o → %s', async (behaviour, cls, retryAfterMs) => {
    upstream.enqueue(behaviour);
    const error = failure(await call());
    expect(error.class).toBe(cls);
    expect(error.retryAfterMs).toBe(retryAfterMs);
    expect(error.status).toBe('status' in behaviour ? behaviour.status : 400);
  });

  it('parses an HTTP-date Retry-After', async () => {
    upstream.enqueue({ kind: 'status', status: 429, retryAfter: new Date(Date.now() + 5000).toUTCString() });
    const error = failure(await call());
    expect(error.retryAfterMs).toBeGreaterThan(3000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(5000);
  });

  it('passes the upstream error body through for content policy', async () => {
    upstream.enqueue({ kind: 'content_policy' });
    expect(failure(await call()).body).toEqual({
      error: {
        message: 'Your request was rejected as a result of our safety system.',
        type: 'invalid_request_error',
        code: 'content_policy_violation',
        param: null,
      },
    });
  });

  // Regression: the body was rebuilt from the classification, dropping `param` and replacing a
  // null code with the class's code, so "returned unchanged" was not true.
  it('keeps an OpenAI-shaped error body whole, extra fields and a null code included', async () => {
    const body = {
      error: {
        message: 'Flagged by our safety system.',
        type: 'invalid_request_error',
        code: null,
        param: 'messages',
      },
      request_id: 'req_123',
    };
    upstream.enqueue({ kind: 'status', status: 400, body });
    const error = failure(await call());
    expect(error.class).toBe('content_policy');
    expect(error.body).toStrictEqual(body);
  });

  it('classifies a body that is not OpenAI-shaped into the OpenAI shape', async () => {
    upstream.enqueue({ kind: 'status', status: 502, body: '<html>Bad gateway</html>' });
    expect(failure(await call()).body).toEqual({
      error: { message: '<html>Bad gateway</html>', type: 'server_error', code: null },
    });
  });

  it('reports a refused connection (closed port) as connect', async () => {
    const closed = await startUpstream();
    const url = closed.url;
    await closed.close();
    const error = failure(
      await call({}, createProvider(spec({ baseUrl: url }), { transport, clock: systemClock })),
    );
    expect(error.class).toBe('connect');
    expect(error.status).toBeNull();
  });

  it('reports a reset before the headers as connect', async () => {
    upstream.enqueue({ kind: 'reset' });
    expect(failure(await call()).class).toBe('connect');
  });

  it('reports a JSON body cut short as stream_cut and a broken one as malformed', async () => {
    upstream.enqueue({ kind: 'cut', afterChunks: 1 }, { kind: 'malformed' });
    expect(failure(await call()).class).toBe('stream_cut');
    expect(failure(await call()).class).toBe('malformed');
  });

  it('reports an answer over maxResponseBytes as malformed', async () => {
    const small = createProvider(spec({ maxResponseBytes: 64 }), { transport, clock: systemClock });
    expect(failure(await call({}, small)).class).toBe('malformed');
  });

  it('throws stream_cut when the stream is cut after K chunks', async () => {
    upstream.enqueue({ kind: 'cut', afterChunks: 3 });
    const { items, error } = await drain(await call({ stream: true }));
    expect(items).toHaveLength(3);
    expect(error).toBeInstanceOf(ProviderFailure);
    expect((error as ProviderFailure).failure.class).toBe('stream_cut');
  });

  it('throws stream_cut when the stream ends without a finish_reason or [DONE]', async () => {
    upstream.enqueue({ kind: 'no_finish' });
    const { items, error } = await drain(await call({ stream: true }));
    expect(text(items)).toBe('Hello there, friend.');
    expect((error as ProviderFailure).failure.class).toBe('stream_cut');
  });

  it('throws malformed on a chunk that is not JSON', async () => {
    upstream.enqueue({ kind: 'malformed', atChunk: 2 });
    const { items, error } = await drain(await call({ stream: true }));
    expect(items).toHaveLength(2);
    expect((error as ProviderFailure).failure.class).toBe('malformed');
  });

  it('throws malformed on a chunk without choices', async () => {
    upstream.enqueue({ kind: 'raw', chunks: [sse({ id: 'x', object: 'chat.completion.chunk' })] });
    const { error } = await drain(await call({ stream: true }));
    expect((error as ProviderFailure).failure.class).toBe('malformed');
  });

  it('classifies an in-band stream error event', async () => {
    upstream.enqueue({
      kind: 'raw',
      chunks: [
        sse(chunkPayload({ model: 'm', delta: { role: 'assistant', content: '' } })),
        sse(openAIError('The server is overloaded', 'server_error', 'rate_limit_exceeded')),
      ],
    });
    const { items, error } = await drain(await call({ stream: true }));
    expect(items).toHaveLength(1);
    expect((error as ProviderFailure).failure.class).toBe('rate_limited');
  });

  it('rejects with the abort reason when the upstream never answers', async () => {
    upstream.enqueue({ kind: 'hold' });
    const controller = new AbortController();
    const reason = new Error('first-token deadline');
    setTimeout(() => controller.abort(reason), 50);
    await expect(call({ signal: controller.signal })).rejects.toBe(reason);
  });

  it('throws the abort reason from a stalled stream', async () => {
    upstream.enqueue({ kind: 'stall', afterChunks: 2 });
    const controller = new AbortController();
    const reason = new Error('idle deadline');
    const result = await call({ stream: true, signal: controller.signal });
    setTimeout(() => controller.abort(reason), 50);
    const { items, error } = await drain(result);
    expect(items).toHaveLength(2);
    expect(error).toBe(reason);
  });

  it('gets a 400 from an upstream that refuses assistant prefill', async () => {
    upstream.setHandler(() => ({ kind: 'reject_prefill' }));
    expect((await call()).ok).toBe(true);
    expect(failure(await call({ prefill: 'partial' })).class).toBe('bad_request');
  });
});

describe('Azure OpenAI', () => {
  it('uses the deployment URL, api-version and the api-key header', async () => {
    const azure = createProvider(
      spec({ baseUrl: upstream.origin, azure: { apiVersion: '2024-10-21', deployment: 'prod-gpt4o' } }),
      { transport, clock: systemClock },
    );
    expect((await call({}, azure)).ok).toBe(true);
    const seen = upstream.requests[0];
    expect(seen.path).toBe('/openai/deployments/prod-gpt4o/chat/completions?api-version=2024-10-21');
    expect(seen.headers['api-key']).toBe('sk-test');
    expect(seen.headers.authorization).toBeUndefined();
  });

  it('falls back to the upstream model as the deployment', async () => {
    const azure = createProvider(
      spec({ baseUrl: `${upstream.origin}/`, azure: { apiVersion: 'v1', deployment: null } }),
      {
        transport,
        clock: systemClock,
      },
    );
    await call({ endpoint: 'embeddings', body: { input: 'x' } }, azure);
    expect(upstream.requests[0].path).toBe('/openai/deployments/gpt-up/embeddings?api-version=v1');
  });
});

describe('the test upstream', () => {
  it('speaks OpenAI as the official SDK understands it (json and stream)', async () => {
    const { default: OpenAI } = await import('openai');
    const client = new OpenAI({ baseURL: upstream.url, apiKey: 'sk-test', maxRetries: 0 });
    const completion = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(completion.choices[0].message.content).toBe('Hello there, friend.');
    expect(completion.usage?.completion_tokens).toBe(5);
    const stream = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage = 0;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      usage += chunk.usage?.completion_tokens ?? 0;
    }
    expect(text).toBe('Hello there, friend.');
    expect(usage).toBe(5);
  });
});

describe('openAIBody: routing metadata', () => {
  const base = {
    upstreamModel: 'gpt-5-nano',
    endpoint: 'chat' as const,
    stream: false,
    signal: new AbortController().signal,
    connectTimeoutMs: 1000,
  };

  it('does not send the caller routing metadata upstream (OpenAI refuses it without store)', () => {
    const body = openAIBody({ ...base, body: { model: 'x', messages: [], metadata: { task: 'triage' } } });
    expect(body).not.toHaveProperty('metadata');
    expect(body.model).toBe('gpt-5-nano');
  });

  it('keeps metadata for stored completions (store: true), where OpenAI uses it', () => {
    const body = openAIBody({
      ...base,
      body: { model: 'x', messages: [], store: true, metadata: { task: 'triage' } },
    });
    expect(body.metadata).toEqual({ task: 'triage' });
  });
});
