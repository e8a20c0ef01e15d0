import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  AnthropicStreamTranslator,
  DEFAULT_MAX_TOKENS,
  fromAnthropicMessage,
  toAnthropicRequest,
} from '../../../engine/providers/anthropic.js';
import { JSON_PREFILL, jsonPrefill } from '../../../engine/providers/anthropic-request.js';
import { createProvider } from '../../../engine/providers/index.js';
import { createUndiciTransport } from '../../../engine/providers/transport.js';
import {
  type ProviderCallRequest,
  type ProviderCallResult,
  ProviderFailure,
  type ProviderSpec,
} from '../../../engine/providers/types.js';
import { Cancellation } from '../../../engine/shared/cancellation.js';
import { systemClock } from '../../../engine/shared/clock.js';
import { callRequest, drain, expectAnthropicCall, providerSpec } from '../../support/providers.js';
import { useUpstream } from '../../support/use-upstream.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

/** Splits a transcript into small pieces so events straddle network reads. */
const pieces = (text: string, size = 37) =>
  Array.from({ length: Math.ceil(text.length / size) }, (_, i) => text.slice(i * size, (i + 1) * size));

const transport = createUndiciTransport();
const upstream = useUpstream({ beforeClose: () => transport.close() });

function spec(overrides: Partial<ProviderSpec> = {}): ProviderSpec {
  return providerSpec({
    name: 'anthropic',
    kind: 'anthropic',
    baseUrl: upstream.origin,
    apiKey: 'sk-ant-test',
    ...overrides,
  });
}

function call(overrides: Partial<ProviderCallRequest> = {}): Promise<ProviderCallResult> {
  return createProvider(spec(), { transport, clock: systemClock }).call(
    callRequest({
      upstreamModel: 'claude-sonnet-4-5',
      body: { model: 'strong', messages: [{ role: 'user', content: 'Hello' }] },
      ...overrides,
    }),
  );
}

const SSE = { 'content-type': 'text/event-stream; charset=utf-8' };
const JSON_HEADERS = { 'content-type': 'application/json' };

describe('chat completions → Anthropic Messages', () => {
  it('maps system, content parts, tool calls, tool results and parameters', () => {
    const request = toAnthropicRequest(
      {
        model: 'alias',
        messages: [
          { role: 'system', content: 'You are terse.' },
          { role: 'developer', content: [{ type: 'text', text: 'Use metric units.' }] },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Weather here?' },
              { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
              { type: 'image_url', image_url: { url: 'https://example.com/a.jpg' } },
            ],
          },
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              {
                id: 'call_1',
                type: 'function',
                function: { name: 'get_weather', arguments: '{"location":"Paris"}' },
              },
              { id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '' } },
            ],
          },
          { role: 'tool', tool_call_id: 'call_1', content: '18°C' },
          { role: 'tool', tool_call_id: 'call_2', content: '10:00' },
          { role: 'user', content: 'Thanks' },
        ],
        tools: [
          {
            type: 'function',
            function: {
              name: 'get_weather',
              description: 'Weather at a place',
              parameters: {
                type: 'object',
                properties: { location: { type: 'string' } },
                required: ['location'],
              },
            },
          },
          { type: 'function', function: { name: 'get_time' } },
        ],
        tool_choice: 'required',
        parallel_tool_calls: false,
        temperature: 1.4,
        top_p: 0.9,
        stop: 'END',
        user: 'user-42',
        frequency_penalty: 0.5,
      },
      'claude-sonnet-4-5',
      true,
    );
    expect(request).toEqual({
      model: 'claude-sonnet-4-5',
      max_tokens: DEFAULT_MAX_TOKENS,
      system: 'You are terse.\n\nUse metric units.',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Weather here?' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/a.jpg' } },
          ],
        },
        {
          role: 'assistant',
          content: [
            { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { location: 'Paris' } },
            { type: 'tool_use', id: 'call_2', name: 'get_time', input: {} },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'call_1', content: '18°C' },
            { type: 'tool_result', tool_use_id: 'call_2', content: '10:00' },
            { type: 'text', text: 'Thanks' },
          ],
        },
      ],
      tools: [
        {
          name: 'get_weather',
          description: 'Weather at a place',
          input_schema: {
            type: 'object',
            properties: { location: { type: 'string' } },
            required: ['location'],
          },
        },
        { name: 'get_time', input_schema: { type: 'object', properties: {} } },
      ],
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
      temperature: 1,
      top_p: 0.9,
      stop_sequences: ['END'],
      metadata: { user_id: 'user-42' },
      stream: true,
    });
  });

  it('takes max_completion_tokens or max_tokens, and a stop list', () => {
    const a = toAnthropicRequest(
      { messages: [{ role: 'user', content: 'x' }], max_tokens: 100, stop: ['a', 'b'] },
      'm',
      false,
    );
    expect(a).toMatchObject({ max_tokens: 100, stop_sequences: ['a', 'b'] });
    expect(a.stream).toBeUndefined();
    const b = toAnthropicRequest(
      { messages: [{ role: 'user', content: 'x' }], max_completion_tokens: 7, max_tokens: 100 },
      'm',
      false,
    );
    expect(b.max_tokens).toBe(7);
    const c = toAnthropicRequest(
      {
        messages: [{ role: 'user', content: 'x' }],
        tools: [{ type: 'function', function: { name: 'f' } }],
        tool_choice: { type: 'function', function: { name: 'f' } },
      },
      'm',
      false,
    );
    expect(c.tool_choice).toEqual({ type: 'tool', name: 'f' });
  });

  it('uses a final assistant message, or the prefill, as native prefill without trailing whitespace', () => {
    const native = toAnthropicRequest(
      {
        messages: [
          { role: 'user', content: 'Count' },
          { role: 'assistant', content: 'One, two, ' },
        ],
      },
      'm',
      false,
    );
    expect(native.messages.at(-1)).toEqual({ role: 'assistant', content: 'One, two,' });
    const continued = toAnthropicRequest(
      { messages: [{ role: 'user', content: 'Count' }] },
      'm',
      true,
      'One, two',
    );
    expect(continued.messages).toEqual([
      { role: 'user', content: 'Count' },
      { role: 'assistant', content: 'One, two' },
    ]);
  });
});

describe('Anthropic Messages → chat completions', () => {
  it('maps a text message with usage', () => {
    expect(fromAnthropicMessage(JSON.parse(fixture('anthropic-message.json')), 'm', 1_700_000_000)).toEqual({
      id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
      object: 'chat.completion',
      created: 1_700_000_000,
      model: 'claude-sonnet-4-5-20250929',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Hello! How can I help you today?' },
          finish_reason: 'stop',
          logprobs: null,
        },
      ],
      usage: {
        prompt_tokens: 12,
        completion_tokens: 11,
        total_tokens: 23,
        prompt_tokens_details: { cached_tokens: 0 },
      },
    });
  });

  it('maps tool_use to tool_calls, counting cached input as prompt tokens', () => {
    const completion = fromAnthropicMessage(JSON.parse(fixture('anthropic-tool-use.json')), 'm', 0);
    expect(completion.choices[0]).toMatchObject({
      finish_reason: 'tool_calls',
      message: {
        content: "I'll check the weather in San Francisco for you.",
        tool_calls: [
          {
            id: 'toolu_01A09q90qw90lq917835lq9',
            type: 'function',
            function: { name: 'get_weather', arguments: '{"location":"San Francisco, CA","unit":"celsius"}' },
          },
        ],
      },
    });
    // Tokens read from the cache are reported as OpenAI reports them, in the prompt's details.
    expect(completion.usage).toEqual({
      prompt_tokens: 512,
      completion_tokens: 87,
      total_tokens: 599,
      prompt_tokens_details: { cached_tokens: 100 },
    });
  });

  it.each([
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['max_tokens', 'length'],
    ['tool_use', 'tool_calls'],
    ['refusal', 'content_filter'],
  ])('stop_reason %s → finish_reason %s', (stop, finish) => {
    const message = { ...JSON.parse(fixture('anthropic-message.json')), stop_reason: stop };
    expect(fromAnthropicMessage(message, 'm', 0).choices[0].finish_reason).toBe(finish);
  });
});

describe('Anthropic adapter over HTTP', () => {
  it('posts to /v1/messages with x-api-key and anthropic-version and returns an OpenAI completion', async () => {
    upstream.enqueue({ kind: 'raw', headers: JSON_HEADERS, chunks: [fixture('anthropic-message.json')] });
    const result = await call({
      body: {
        messages: [
          { role: 'system', content: 'Be kind.' },
          { role: 'user', content: 'Hello' },
        ],
      },
    });
    if (!result.ok || result.kind !== 'json') throw new Error('expected json');
    expect(result.usage).toEqual({
      promptTokens: 12,
      completionTokens: 11,
      totalTokens: 23,
      cachedTokens: 0,
    });
    const seen = upstream.requests[0];
    expectAnthropicCall(seen, 'sk-ant-test');
    expect(seen.body).toEqual({
      model: 'claude-sonnet-4-5',
      max_tokens: 4096,
      system: 'Be kind.',
      messages: [{ role: 'user', content: 'Hello' }],
    });
  });

  it('never makes the signal of a cancellable call whose stream ends well', async () => {
    upstream.enqueue({ kind: 'raw', headers: SSE, chunks: pieces(fixture('anthropic-stream-text.sse')) });
    const cancel = new Cancellation();
    let reads = 0;
    const req = callRequest({
      upstreamModel: 'claude-sonnet-4-5',
      body: { model: 'strong', messages: [{ role: 'user', content: 'Hello' }] },
      stream: true,
      cancel,
    });
    Object.defineProperty(req, 'signal', {
      get: () => {
        reads++;
        return cancel.signal;
      },
    });
    const { items, error } = await drain(
      await createProvider(spec(), { transport, clock: systemClock }).call(req),
    );
    expect(error).toBeNull();
    expect(items.at(-1)).toEqual({ type: 'done' });
    expect(reads).toBe(0);
  });

  it('translates a streamed text transcript, split across reads', async () => {
    upstream.enqueue({ kind: 'raw', headers: SSE, chunks: pieces(fixture('anthropic-stream-text.sse')) });
    const { chunks, items, error } = await drain(await call({ stream: true }));
    expect(error).toBeNull();
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('Hello! How can I help?');
    expect(
      chunks.every(
        (c) => c.object === 'chat.completion.chunk' && c.id === 'msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY',
      ),
    ).toBe(true);
    expect(chunks.at(-2)?.choices[0].finish_reason).toBe('stop');
    expect(chunks.at(-1)).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 25, completion_tokens: 15, total_tokens: 40 },
    });
    expect(items.at(-1)).toEqual({ type: 'done' });
    expect(upstream.requests[0].body).toMatchObject({ stream: true });
  });

  it('translates streamed tool use with input_json_delta', async () => {
    upstream.enqueue({ kind: 'raw', headers: SSE, chunks: pieces(fixture('anthropic-stream-tool.sse'), 64) });
    const { chunks, error } = await drain(await call({ stream: true }));
    expect(error).toBeNull();
    const calls = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    expect(calls[0]).toEqual({
      index: 0,
      id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6',
      type: 'function',
      function: { name: 'get_weather', arguments: '' },
    });
    expect(calls.every((c) => c.index === 0)).toBe(true);
    expect(calls.map((c) => c.function?.arguments ?? '').join('')).toBe('{"location": "San Francisco, CA"}');
    expect(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0].finish_reason).toBe('tool_calls');
    expect(chunks.at(-1)?.usage).toEqual({ prompt_tokens: 472, completion_tokens: 89, total_tokens: 561 });
  });

  it('throws the class of an error event (overloaded_error → overloaded)', async () => {
    upstream.enqueue({ kind: 'raw', headers: SSE, chunks: [fixture('anthropic-stream-error.sse')] });
    const { chunks, error } = await drain(await call({ stream: true }));
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('Once upon');
    expect(error).toBeInstanceOf(ProviderFailure);
    expect((error as ProviderFailure).failure.class).toBe('overloaded');
  });

  it('is complete after a stop_reason even without message_stop, and cut without one', async () => {
    const transcript = fixture('anthropic-stream-text.sse');
    const withoutStop = transcript.slice(0, transcript.indexOf('event: message_stop'));
    const beforeDelta = transcript.slice(0, transcript.indexOf('event: message_delta'));
    upstream.enqueue(
      { kind: 'raw', headers: SSE, chunks: [withoutStop] },
      { kind: 'raw', headers: SSE, chunks: [beforeDelta] },
    );
    const complete = await drain(await call({ stream: true }));
    expect(complete.error).toBeNull();
    expect(complete.items.some((i) => i.type === 'done')).toBe(false);
    expect(complete.chunks.at(-1)?.usage).toMatchObject({ completion_tokens: 15 });
    const cut = await drain(await call({ stream: true }));
    expect((cut.error as ProviderFailure).failure.class).toBe('stream_cut');
  });

  it('classifies HTTP errors from Anthropic bodies', async () => {
    upstream.enqueue(
      {
        kind: 'raw',
        status: 529,
        headers: JSON_HEADERS,
        chunks: [fixture('anthropic-error-overloaded.json')],
      },
      {
        kind: 'raw',
        status: 400,
        headers: JSON_HEADERS,
        chunks: [fixture('anthropic-error-prompt-too-long.json')],
      },
      {
        kind: 'raw',
        status: 429,
        headers: { ...JSON_HEADERS, 'retry-after': '7' },
        chunks: ['{"type":"error","error":{"type":"rate_limit_error","message":"slow"}}'],
      },
    );
    const errors = [await call(), await call({ stream: true }), await call()].map((r) =>
      r.ok ? null : r.error,
    );
    expect(errors.map((e) => e?.class)).toEqual(['overloaded', 'context_length', 'rate_limited']);
    expect(errors[2]?.retryAfterMs).toBe(7000);
  });

  it('refuses what Anthropic cannot do without calling upstream', async () => {
    const embeddings = await call({ endpoint: 'embeddings', body: { input: 'x' } });
    const badRole = await call({ body: { messages: [{ role: 'function', name: 'f', content: 'x' }] } });
    expect([embeddings, badRole].map((r) => (r.ok ? null : r.error.class))).toEqual([
      'bad_request',
      'bad_request',
    ]);
    expect(upstream.requests).toHaveLength(0);
  });

  it('ignores pings and unknown events in the translator', () => {
    const translator = new AnthropicStreamTranslator('m', 0);
    expect(translator.translate({ event: 'ping', data: '{"type":"ping"}', id: null }).chunks).toEqual([]);
    expect(
      translator.translate({ event: 'future', data: '{"type":"future_event"}', id: null }).chunks,
    ).toEqual([]);
    expect(() => translator.translate({ event: 'message_start', data: '{oops', id: null })).toThrow(
      ProviderFailure,
    );
  });
});

describe('JSON modes on Anthropic', () => {
  const ask = { model: 'x', messages: [{ role: 'user', content: 'List two colours as JSON.' }] };

  it('a JSON schema is output_config.format', () => {
    const schema = {
      type: 'object',
      properties: { c: { type: 'array' } },
      required: ['c'],
      additionalProperties: false,
    };
    const out = toAnthropicRequest(
      {
        ...ask,
        response_format: { type: 'json_schema', json_schema: { name: 'colours', schema, strict: true } },
      },
      'claude',
      false,
    );
    expect(out.output_config).toEqual({ format: { type: 'json_schema', schema } });
  });

  it('JSON mode is a { prefill, given back at the head of the answer, JSON and streamed', () => {
    const body = { ...ask, response_format: { type: 'json_object' } };
    const out = toAnthropicRequest(body, 'claude', false);
    expect(out.messages.at(-1)).toEqual({ role: 'assistant', content: '{' });
    expect(jsonPrefill(body, undefined)).toBe(true);
    // A continuation already starts inside the object.
    expect(jsonPrefill(body, '{"a"')).toBe(false);
    const message = {
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      content: [{ type: 'text', text: '"c": ["red", "blue"]}' }],
      stop_reason: 'end_turn',
      usage: { input_tokens: 1, output_tokens: 1 },
    };
    const completion = fromAnthropicMessage(message, 'claude', 0, JSON_PREFILL);
    expect(JSON.parse(String(completion.choices[0].message.content))).toEqual({ c: ['red', 'blue'] });
    const translator = new AnthropicStreamTranslator('claude', 0, JSON_PREFILL);
    const first = translator.translate({
      event: 'message_start',
      data: JSON.stringify({ type: 'message_start', message: { id: 'm', usage: {} } }),
      id: null,
    });
    expect(first.chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '{' });
  });

  it('refuses what it cannot carry rather than ignore it', () => {
    const tools = [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }];
    expect(() =>
      toAnthropicRequest({ ...ask, tools, response_format: { type: 'json_object' } }, 'c', false),
    ).toThrow(/json_object together with tools/);
    expect(() => toAnthropicRequest({ ...ask, response_format: { type: 'yaml' } }, 'c', false)).toThrow(
      /not supported/,
    );
    expect(() =>
      toAnthropicRequest({ ...ask, response_format: { type: 'json_schema' } }, 'c', false),
    ).toThrow(/needs/);
  });
});

describe('prompt caching (route promptCache → cache_control)', () => {
  const body = {
    model: 'alias',
    messages: [
      { role: 'system', content: 'You are terse.' },
      { role: 'developer', content: 'Answer in French.' },
      { role: 'user', content: 'Hi' },
    ],
    tools: [
      { type: 'function', function: { name: 'a', parameters: { type: 'object' } } },
      { type: 'function', function: { name: 'b', parameters: { type: 'object' } } },
    ],
  };
  const EPHEMERAL = { type: 'ephemeral' };

  /** Every `cache_control` in a request, by where it sits. */
  function markers(value: unknown, path = '$'): string[] {
    if (Array.isArray(value)) return value.flatMap((v, i) => markers(v, `${path}[${i}]`));
    if (typeof value !== 'object' || value === null) return [];
    return Object.entries(value).flatMap(([k, v]) =>
      k === 'cache_control' ? [path] : markers(v, `${path}.${k}`),
    );
  }

  it('marks the system prompt as one text block and the last tool, and nothing else', () => {
    const request = toAnthropicRequest(body, 'm', false, undefined, { system: true, tools: true });
    expect(request.system).toEqual([
      { type: 'text', text: 'You are terse.\n\nAnswer in French.', cache_control: EPHEMERAL },
    ]);
    expect(request.tools).toEqual([
      { name: 'a', input_schema: { type: 'object' } },
      { name: 'b', input_schema: { type: 'object' }, cache_control: EPHEMERAL },
    ]);
    expect(markers(request)).toEqual(['$.system[0]', '$.tools[1]']);
  });

  it('marks only what is declared', () => {
    const system = toAnthropicRequest(body, 'm', false, undefined, { system: true, tools: false });
    expect(markers(system)).toEqual(['$.system[0]']);
    const tools = toAnthropicRequest(body, 'm', false, undefined, { system: false, tools: true });
    expect(markers(tools)).toEqual(['$.tools[1]']);
    expect(tools.system).toBe('You are terse.\n\nAnswer in French.');
  });

  it('never marks when not declared, nor what the request does not have', () => {
    expect(markers(toAnthropicRequest(body, 'm', false))).toEqual([]);
    const bare = { model: 'alias', messages: [{ role: 'user', content: 'Hi' }] };
    const request = toAnthropicRequest(bare, 'm', true, undefined, { system: true, tools: true });
    expect(markers(request)).toEqual([]);
    expect(request).not.toHaveProperty('system');
    expect(request).not.toHaveProperty('tools');
  });

  it('sends the markers on the wire and reports cache reads and writes in the usage', async () => {
    const answer = JSON.parse(fixture('anthropic-message.json'));
    answer.usage = {
      input_tokens: 12,
      cache_creation_input_tokens: 2000,
      cache_read_input_tokens: 3000,
      output_tokens: 11,
    };
    upstream.enqueue({ kind: 'raw', headers: JSON_HEADERS, chunks: [JSON.stringify(answer)] });
    const result = await call({ body, promptCache: { system: true, tools: true } });
    if (!result.ok || result.kind !== 'json') throw new Error('expected json');
    expect(markers(upstream.requests[0].body)).toEqual(['$.system[0]', '$.tools[1]']);
    expect(result.usage).toEqual({
      promptTokens: 5012,
      completionTokens: 11,
      totalTokens: 5023,
      cachedTokens: 3000,
      cacheWriteTokens: 2000,
    });
    expect(result.body).toMatchObject({
      usage: { prompt_tokens_details: { cached_tokens: 3000, cache_write_tokens: 2000 } },
    });
  });

  it('reports cache writes of a stream from message_start', () => {
    const t = new AnthropicStreamTranslator('m', 0);
    t.translate({
      id: null,
      event: 'message_start',
      data: JSON.stringify({
        type: 'message_start',
        message: {
          id: 'msg_1',
          model: 'm',
          usage: {
            input_tokens: 5,
            cache_creation_input_tokens: 700,
            cache_read_input_tokens: 0,
            output_tokens: 1,
          },
        },
      }),
    });
    expect(t.usageChunk().usage).toEqual({
      prompt_tokens: 705,
      completion_tokens: 1,
      total_tokens: 706,
      prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 700 },
    });
  });
});
