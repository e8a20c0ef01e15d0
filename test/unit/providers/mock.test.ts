import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { createProvider } from '../../../engine/providers/index.js';
import { splitReply } from '../../../engine/providers/mock.js';
import type { Transport } from '../../../engine/providers/transport.js';
import type {
  MockSpec,
  ProviderCallRequest,
  ProviderCallResult,
  ProviderFailure,
  StreamItem,
} from '../../../engine/providers/types.js';
import type { Clock } from '../../../engine/shared/clock.js';
import { callRequest, drain, failure, providerSpec, streamedText } from '../../support/providers.js';

/** Virtual time: every sleep completes at once and advances `now`; the sleeps are recorded. */
function fakeClock(): Clock & { sleeps: number[] } {
  let now = 1_700_000_000_000;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    async sleep(ms, signal) {
      if (signal?.aborted) throw signal.reason;
      sleeps.push(ms);
      now += Math.max(0, ms);
    },
  };
}

const noNetwork: Transport = {
  request: () => Promise.reject(new Error('the mock provider must not touch the network')),
  close: async () => {},
};

function mockProvider(mock: Partial<MockSpec>, clock = fakeClock()) {
  const provider = createProvider(
    providerSpec({
      name: 'demo',
      kind: 'mock',
      mock: { reply: null, latencyMs: 0, chunkDelayMs: 0, sequence: [], ...mock },
    }),
    { transport: noNetwork, clock },
  );
  return { provider, clock };
}

function request(overrides: Partial<ProviderCallRequest> = {}): ProviderCallRequest {
  return callRequest({
    upstreamModel: 'mock-small',
    body: {
      model: 'x',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'ping pong' },
      ],
    },
    ...overrides,
  });
}

const content = streamedText;

describe('mock provider', () => {
  it('echoes the last user message with deterministic usage and the upstream model', async () => {
    const { provider, clock } = mockProvider({ latencyMs: 120 });
    const result = await provider.call(request());
    if (!result.ok || result.kind !== 'json' || result.body.object !== 'chat.completion')
      throw new Error('expected json');
    expect(result.body.choices[0].message.content).toBe('Echo: ping pong');
    expect(result.body.model).toBe('mock-small');
    // prompt: 'Be brief.' + 'ping pong' = 18 chars → 5 tokens; reply 15 chars → 4 tokens
    expect(result.usage).toEqual({ promptTokens: 5, completionTokens: 4, totalTokens: 9 });
    expect(clock.sleeps).toEqual([120]);
  });

  it('streams the reply in several chunks, chunkDelayMs apart, with usage and done', async () => {
    const { provider, clock } = mockProvider({
      reply: 'The quick brown fox jumps over the lazy dog.',
      latencyMs: 50,
      chunkDelayMs: 10,
    });
    const { items, error } = await drain(await provider.call(request({ stream: true })));
    expect(error).toBeNull();
    expect(content(items)).toBe('The quick brown fox jumps over the lazy dog.');
    const chunks = items.flatMap((i) => (i.type === 'chunk' ? [i.chunk] : []));
    const contentChunks = chunks.filter((c) => c.choices[0]?.delta.content);
    expect(contentChunks.length).toBe(9);
    expect(chunks.find((c) => c.choices[0]?.finish_reason === 'stop')).toBeDefined();
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: 11 } });
    expect(items.at(-1)).toEqual({ type: 'done' });
    // latency once, then a delay between consecutive content chunks and before the finish chunk
    expect(clock.sleeps).toEqual([50, ...Array(9).fill(10)]);
  });

  it('cycles the sequence per upstream model', async () => {
    const { provider } = mockProvider({ sequence: ['rate_limited', 'ok', 'server_error'] });
    const classes = async (model: string, n: number) => {
      const out: string[] = [];
      for (let i = 0; i < n; i++) {
        const r = await provider.call(request({ upstreamModel: model }));
        out.push(r.ok ? 'ok' : r.error.class);
      }
      return out;
    };
    expect(await classes('a', 4)).toEqual(['rate_limited', 'ok', 'server_error', 'rate_limited']);
    expect(await classes('b', 2)).toEqual(['rate_limited', 'ok']);
    expect(await classes('a', 1)).toEqual(['ok']);
  });

  it.each([
    ['rate_limited', 429, 'rate_limited'],
    ['overloaded', 503, 'overloaded'],
    ['server_error', 500, 'server_error'],
    ['bad_request', 400, 'bad_request'],
    ['context_length', 400, 'context_length'],
    ['content_policy', 400, 'content_policy'],
    ['auth', 401, 'auth'],
    ['connect', null, 'connect'],
  ] as const)('%s → HTTP %s, class %s', async (outcome, status, cls) => {
    const { provider } = mockProvider({ sequence: [outcome] });
    const result = await provider.call(request());
    if (result.ok) throw new Error('expected a failure');
    expect(result.error).toMatchObject({ class: cls, status });
    expect(result.error.retryAfterMs).toBe(outcome === 'rate_limited' ? 1000 : null);
    expect(result.error.body.error.message).toBe(result.error.message);
  });

  it('stays silent until the signal aborts', async () => {
    const { provider } = mockProvider({ sequence: ['silent'] });
    const controller = new AbortController();
    const reason = new Error('total deadline');
    const pending = provider.call(request({ signal: controller.signal }));
    let settled = false;
    void pending.then(
      () => (settled = true),
      () => (settled = true),
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(settled).toBe(false);
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
  });

  for (const { what, mock, streamed, cls } of [
    {
      what: 'cuts a stream after some content and fails a JSON answer with stream_cut',
      mock: { reply: 'one two three four', sequence: ['stream_cut'] },
      streamed: 'one two ',
      cls: 'stream_cut',
    },
    {
      what: 'sends a malformed stream before any content, and a malformed JSON answer',
      mock: { sequence: ['malformed'] },
      streamed: '',
      cls: 'malformed',
    },
  ] satisfies { what: string; mock: Partial<MockSpec>; streamed: string; cls: string }[]) {
    it(what, async () => {
      const { provider } = mockProvider(mock);
      const { items, error } = await drain(await provider.call(request({ stream: true })));
      expect(content(items)).toBe(streamed);
      expect((error as ProviderFailure).failure.class).toBe(cls);
      const json = await provider.call(request());
      expect(json.ok ? null : json.error.class).toBe(cls);
    });
  }

  it('aborts a stream between chunks with the signal reason', async () => {
    const { provider } = mockProvider({ chunkDelayMs: 5 });
    const controller = new AbortController();
    const result = await provider.call(request({ stream: true, signal: controller.signal }));
    if (!result.ok || result.kind !== 'stream') throw new Error('expected a stream');
    const reason = new Error('client went away');
    const seen: StreamItem[] = [];
    await expect(
      (async () => {
        for await (const item of result.items) {
          seen.push(item);
          if (seen.length === 2) controller.abort(reason);
        }
      })(),
    ).rejects.toBe(reason);
    expect(seen).toHaveLength(2);
  });

  it('answers embeddings deterministically', async () => {
    const { provider } = mockProvider({});
    const call = () => provider.call(request({ endpoint: 'embeddings', body: { input: ['a', 'b'] } }));
    const [first, second] = [await call(), await call()];
    if (!first.ok || first.kind !== 'json' || first.body.object !== 'list')
      throw new Error('expected a list');
    expect(first.body.data).toHaveLength(2);
    expect(first.body.data[0].embedding).toHaveLength(8);
    expect(second.ok && second.kind === 'json' ? second.body : null).toEqual(first.body);
  });

  it('splits replies on word boundaries into at most 16 pieces', () => {
    expect(splitReply('a b c')).toEqual(['a ', 'b ', 'c']);
    const long = Array.from({ length: 50 }, (_, i) => `w${i}`).join(' ');
    const pieces = splitReply(long);
    expect(pieces.length).toBeLessThanOrEqual(16);
    expect(pieces.join('')).toBe(long);
    expect(splitReply('')).toEqual([]);
  });
});

const WEATHER = {
  type: 'function',
  function: {
    name: 'get_weather',
    parameters: {
      type: 'object',
      properties: {
        city: { type: 'string' },
        unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
        days: { type: 'integer', minimum: 1, maximum: 7 },
      },
      required: ['city', 'unit', 'days'],
      additionalProperties: false,
    },
  },
};
const CLOCK_TOOL = {
  type: 'function',
  function: { name: 'get_time', parameters: { type: 'object', properties: {} } },
};
const ajv = new Ajv2020({ strict: false });

function chat(body: Record<string, unknown>, stream = false): ProviderCallRequest {
  return request({
    stream,
    body: { model: 'x', messages: [{ role: 'user', content: 'Weather in Oslo?' }], ...body },
  });
}

async function json(result: Promise<ProviderCallResult>) {
  const r = await result;
  if (!r.ok || r.kind !== 'json' || r.body.object !== 'chat.completion')
    throw new Error(`expected a completion: ${JSON.stringify(r)}`);
  return r.body;
}

/** The tool calls of a stream, reassembled from their deltas by index, as the SDKs do. */
function streamedToolCalls(items: readonly StreamItem[]) {
  const calls: { id?: string; name?: string; arguments: string }[] = [];
  for (const item of items) {
    if (item.type !== 'chunk') continue;
    for (const delta of item.chunk.choices[0]?.delta.tool_calls ?? []) {
      calls[delta.index] ??= { arguments: '' };
      const call = calls[delta.index];
      if (delta.id !== undefined) call.id = delta.id;
      if (delta.function?.name !== undefined) call.name = delta.function.name;
      call.arguments += delta.function?.arguments ?? '';
    }
  }
  return calls;
}

describe('mock provider: tools, JSON answers and embeddings', () => {
  it('calls the first tool with arguments valid for its schema, the same for the same prompt', async () => {
    const { provider } = mockProvider({});
    const body = await json(provider.call(chat({ tools: [WEATHER, CLOCK_TOOL] })));
    const message = body.choices[0].message;
    expect(body.choices[0].finish_reason).toBe('tool_calls');
    expect(message.content).toBeNull();
    expect(message.tool_calls).toHaveLength(1);
    const call = message.tool_calls?.[0];
    expect(call?.type).toBe('function');
    expect(call?.id).toMatch(/^call_mock_/);
    expect(call?.function.name).toBe('get_weather');
    const args: unknown = JSON.parse(call?.function.arguments ?? '');
    expect(ajv.validate(WEATHER.function.parameters, args)).toBe(true);
    const again = await json(provider.call(chat({ tools: [WEATHER, CLOCK_TOOL] })));
    expect(again.choices[0].message.tool_calls).toEqual(message.tool_calls);
    const other = await json(
      provider.call(chat({ tools: [WEATHER], messages: [{ role: 'user', content: 'Weather in Lima?' }] })),
    );
    expect(other.choices[0].message.tool_calls?.[0].function.arguments).not.toBe(call?.function.arguments);
  });

  it('follows tool_choice: a named function, required after a tool result, none', async () => {
    const { provider } = mockProvider({});
    const named = await json(
      provider.call(
        chat({
          tools: [WEATHER, CLOCK_TOOL],
          tool_choice: { type: 'function', function: { name: 'get_time' } },
        }),
      ),
    );
    expect(named.choices[0].message.tool_calls?.[0].function).toEqual({ name: 'get_time', arguments: '{}' });
    const afterResult = [
      { role: 'user', content: 'Weather in Oslo?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{}' } }],
      },
      { role: 'tool', tool_call_id: 'c1', content: '{"temp": 3}' },
    ];
    const text = await json(provider.call(chat({ tools: [WEATHER], messages: afterResult })));
    expect(text.choices[0]).toMatchObject({
      finish_reason: 'stop',
      message: { content: 'Echo: Weather in Oslo?' },
    });
    const forced = await json(
      provider.call(chat({ tools: [WEATHER], messages: afterResult, tool_choice: 'required' })),
    );
    expect(forced.choices[0].finish_reason).toBe('tool_calls');
    const none = await json(provider.call(chat({ tools: [WEATHER], tool_choice: 'none' })));
    expect(none.choices[0].message.content).toBe('Echo: Weather in Oslo?');
  });

  it('refuses a tool_choice naming no tool and a schema it cannot sample, as a 400', async () => {
    const { provider } = mockProvider({});
    for (const body of [
      { tools: [WEATHER], tool_choice: { type: 'function', function: { name: 'nope' } } },
      {
        tools: [
          { type: 'function', function: { name: 'big', parameters: { type: 'array', minItems: 1e9 } } },
        ],
      },
      {
        response_format: {
          type: 'json_schema',
          json_schema: { name: 'x', schema: { $ref: 'https://example.com/s.json' } },
        },
      },
    ]) {
      const error = failure(await provider.call(chat(body)));
      expect(error).toMatchObject({ class: 'bad_request', status: 400 });
      expect(error.message).toMatch(/\(mock\)$/);
    }
  });

  it('streams a tool call as OpenAI does: the header first, then argument fragments', async () => {
    const { provider } = mockProvider({});
    const { items, chunks, error } = await drain(await provider.call(chat({ tools: [WEATHER] }, true)));
    expect(error).toBeNull();
    expect(chunks[0].choices[0].delta).toMatchObject({
      role: 'assistant',
      content: null,
      tool_calls: [{ index: 0, type: 'function', function: { name: 'get_weather', arguments: '' } }],
    });
    expect(chunks.length).toBeGreaterThan(3);
    const finish = chunks.flatMap((c) => c.choices.map((ch) => ch.finish_reason)).filter((f) => f !== null);
    expect(finish).toEqual(['tool_calls']);
    const nonStreamed = await json(provider.call(chat({ tools: [WEATHER] })));
    const [call] = streamedToolCalls(items);
    expect(call).toEqual({
      id: nonStreamed.choices[0].message.tool_calls?.[0].id,
      name: 'get_weather',
      arguments: nonStreamed.choices[0].message.tool_calls?.[0].function.arguments,
    });
  });

  it('cuts a streamed tool call half way under stream_cut', async () => {
    const { provider } = mockProvider({ sequence: ['stream_cut'] });
    const { items, error } = await drain(await provider.call(chat({ tools: [WEATHER] }, true)));
    expect((error as ProviderFailure).failure.class).toBe('stream_cut');
    expect(() => JSON.parse(streamedToolCalls(items)[0].arguments)).toThrow();
  });

  it('answers response_format json_schema with JSON valid for the schema, streamed or not', async () => {
    const schema = {
      type: 'object',
      properties: {
        title: { type: 'string', minLength: 3 },
        tags: { type: 'array', items: { type: 'string' }, minItems: 2 },
        rating: { type: 'number', minimum: 0, maximum: 5 },
        when: { type: 'string', format: 'date-time' },
      },
      required: ['title', 'tags', 'rating', 'when'],
      additionalProperties: false,
    };
    const format = { type: 'json_schema', json_schema: { name: 'review', strict: true, schema } };
    const { provider } = mockProvider({});
    const body = await json(provider.call(chat({ response_format: format })));
    const value: unknown = JSON.parse(body.choices[0].message.content ?? '');
    expect(ajv.validate(schema, value)).toBe(true);
    const { items } = await drain(await provider.call(chat({ response_format: format }, true)));
    expect(content(items)).toBe(body.choices[0].message.content);
  });

  it('answers json_object mode with a JSON object: the reply wrapped, or the reply when it is one', async () => {
    const echo = mockProvider({}).provider;
    const wrapped = await json(echo.call(chat({ response_format: { type: 'json_object' } })));
    expect(JSON.parse(wrapped.choices[0].message.content ?? '')).toEqual({ reply: 'Echo: Weather in Oslo?' });
    const configured = mockProvider({ reply: '{"ok": true}' }).provider;
    const own = await json(configured.call(chat({ response_format: { type: 'json_object' } })));
    expect(own.choices[0].message.content).toBe('{"ok": true}');
  });

  it('embeddings honour dimensions and encoding_format base64 (little-endian float32)', async () => {
    const { provider } = mockProvider({});
    const embed = async (body: Record<string, unknown>) => {
      const r = await provider.call(
        request({ endpoint: 'embeddings', body: { model: 'e', input: ['a', 'b'], ...body } }),
      );
      if (!r.ok || r.kind !== 'json' || r.body.object !== 'list') throw new Error(JSON.stringify(r));
      return r.body.data.map((d) => d.embedding);
    };
    const floats = (await embed({ dimensions: 64 })) as number[][];
    expect(floats[0]).toHaveLength(64);
    expect(Math.hypot(...floats[0])).toBeCloseTo(1, 5);
    expect(floats[0]).not.toEqual(floats[1]);
    const encoded = (await embed({ dimensions: 64, encoding_format: 'base64' })) as string[];
    const bytes = Buffer.from(encoded[0], 'base64');
    expect(bytes.length).toBe(64 * 4);
    const decoded = Array.from({ length: 64 }, (_, i) => bytes.readFloatLE(i * 4));
    expect(decoded).toEqual(floats[0]);
    // Shortened vectors are the full vector's prefix, renormalised (as OpenAI's are).
    const short = ((await embed({ dimensions: 4 })) as number[][])[0];
    const norm = Math.hypot(...floats[0].slice(0, 4));
    for (const [i, v] of short.entries()) expect(v).toBeCloseTo(floats[0][i] / norm, 5);
  });

  it('refuses embeddings it cannot answer: bad format, dimensions out of range, too many components', async () => {
    const { provider } = mockProvider({});
    for (const body of [
      { input: 'a', encoding_format: 'int8' },
      { input: 'a', dimensions: 0 },
      { input: 'a', dimensions: 2.5 },
      { input: 'a', dimensions: 5000 },
      { input: Array.from({ length: 2000 }, (_, i) => `t${i}`), dimensions: 4096 },
    ]) {
      const error = failure(
        await provider.call(request({ endpoint: 'embeddings', body: { model: 'e', ...body } })),
      );
      expect(error).toMatchObject({ class: 'bad_request', status: 400 });
    }
  });
});
