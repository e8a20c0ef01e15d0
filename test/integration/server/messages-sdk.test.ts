/**
 * `POST /v1/messages` with the real `@anthropic-ai/sdk` against the server on a real port: the
 * in-process mock, a fake Anthropic upstream (so Messages → chat → Messages both ways, tool use
 * included) and an OpenAI-compatible chat upstream that calls tools. Errors come in Anthropic's
 * shape, and the caller's `x-api-key` is its tenant key.
 */

import Anthropic from '@anthropic-ai/sdk';
import type { RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anthropicAnswer, chatAnswer, type FakeToolCall } from '../../support/fake-apis.js';
import { useUpstream } from '../../support/use-upstream.js';
import { startServer, type TestServer } from './helpers.js';

const upstream = useUpstream();

function policy(url: string): string {
  return `switchyard: v1
policy: { name: messages, version: "1" }
providers:
  demo: { kind: mock }
  down: { kind: mock, sequence: [overloaded] }
  claude: { kind: anthropic, baseUrl: "${url.replace(/\/v1$/, '')}", apiKey: sk-ant-upstream }
  chatty: { kind: openai, baseUrl: "${url}", apiKey: sk-upstream }
tenants:
  team: { keys: [sk-team-key] }
models:
  echo: { provider: demo, model: echo-1 }
  dead: { provider: down, model: dead-1, retry: { attempts: 0 } }
  sonnet: { provider: claude, model: claude-sonnet-upstream }
  tooler: { provider: chatty, model: tool-model }
routes:
  - name: claude
    when: { model: { glob: "claude-*" } }
    targets: [sonnet]
  - name: tools
    when: { model: tooler }
    targets: [tooler]
  - name: outage
    when: { model: outage }
    targets: [dead]
  - name: chat
    targets: [echo]
`;
}

const weather: FakeToolCall = { id: 'toolu_w1', name: 'get_weather', args: { city: 'Paris' } };
const weatherTool = {
  name: 'get_weather',
  description: 'Current weather',
  input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] },
};

let t: TestServer;
let client: Anthropic;

beforeAll(async () => {
  t = await startServer(policy(upstream.url));
  client = new Anthropic({ baseURL: t.server.url, apiKey: 'sk-team-key', maxRetries: 0 });
});

afterAll(async () => {
  await t?.close();
});

async function collect(stream: AsyncIterable<RawMessageStreamEvent>): Promise<RawMessageStreamEvent[]> {
  const events: RawMessageStreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

describe('the mock, through the Anthropic SDK', () => {
  it('JSON: system and messages in, a Message with text, stop_reason and usage out', async () => {
    const { data, response } = await client.messages
      .create({
        model: 'echo-model',
        max_tokens: 256,
        system: 'Be brief.',
        messages: [{ role: 'user', content: 'hello claude' }],
      })
      .withResponse();
    expect(data.type).toBe('message');
    expect(data.role).toBe('assistant');
    expect(data.id).toMatch(/^msg_/);
    expect(data.content).toEqual([{ type: 'text', text: 'Echo: hello claude', citations: null }]);
    expect(data.stop_reason).toBe('end_turn');
    expect(data.usage.input_tokens).toBeGreaterThan(0);
    expect(data.usage.output_tokens).toBeGreaterThan(0);
    expect(response.headers.get('x-switchyard-route')).toBe('chat');
    expect(response.headers.get('request-id')).toBeTruthy();
  });

  it('stream: message_start, ping, one text block, message_delta, message_stop', async () => {
    const stream = client.messages.stream({
      model: 'echo-model',
      max_tokens: 256,
      messages: [{ role: 'user', content: 'stream me' }],
    });
    const events = await collect(stream);
    const final = await stream.finalMessage();
    expect(events.map((e) => e.type)).toEqual([
      'message_start',
      'content_block_start',
      ...events.filter((e) => e.type === 'content_block_delta').map(() => 'content_block_delta'),
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    const text = events
      .flatMap((e) =>
        e.type === 'content_block_delta' && e.delta.type === 'text_delta' ? [e.delta.text] : [],
      )
      .join('');
    expect(text).toBe('Echo: stream me');
    expect(final.content).toEqual([expect.objectContaining({ type: 'text', text })]);
    expect(final.stop_reason).toBe('end_turn');
    expect(final.usage.input_tokens).toBeGreaterThan(0);
    // The ping the SDK skips is on the wire, right after message_start.
    const raw = await fetch(`${t.server.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'sk-team-key' },
      body: JSON.stringify({
        model: 'echo',
        max_tokens: 10,
        stream: true,
        messages: [{ role: 'user', content: 'x' }],
      }),
    });
    const wire = await raw.text();
    expect(wire.match(/^event: \w+/gm)?.slice(0, 3)).toEqual([
      'event: message_start',
      'event: ping',
      'event: content_block_start',
    ]);
  });

  it('tool use with the mock: a tool_use block with schema-valid input, then text after the result', async () => {
    const tools = [
      {
        name: 'get_weather',
        description: 'The weather in a city',
        input_schema: {
          type: 'object' as const,
          properties: { city: { type: 'string' } },
          required: ['city'],
        },
      },
    ];
    const first = await client.messages.create({
      model: 'echo-model',
      max_tokens: 256,
      tools,
      messages: [{ role: 'user', content: 'weather in Oslo?' }],
    });
    expect(first.stop_reason).toBe('tool_use');
    const use = first.content.find((b) => b.type === 'tool_use');
    expect(use?.type === 'tool_use' && use.name).toBe('get_weather');
    expect(use?.type === 'tool_use' && typeof (use.input as { city?: unknown }).city).toBe('string');
    if (use?.type !== 'tool_use') return;
    // The same turn streamed: input_json_delta pieces add up to the same input.
    const streamed = await client.messages
      .stream({
        model: 'echo-model',
        max_tokens: 256,
        tools,
        messages: [{ role: 'user', content: 'weather in Oslo?' }],
      })
      .finalMessage();
    expect(streamed.content.find((b) => b.type === 'tool_use')).toMatchObject({
      name: 'get_weather',
      input: use.input,
    });
    const second = await client.messages.create({
      model: 'echo-model',
      max_tokens: 256,
      tools,
      messages: [
        { role: 'user', content: 'weather in Oslo?' },
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '3 degrees' }] },
      ],
    });
    expect(second.stop_reason).toBe('end_turn');
    expect(second.content[0]?.type).toBe('text');
  });

  it('max_tokens is required, as Anthropic requires it: 400 invalid_request_error in its shape', async () => {
    const error = await client.messages
      .create({ model: 'echo-model', messages: [{ role: 'user', content: 'x' }] } as never)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    const e = error as InstanceType<typeof Anthropic.BadRequestError>;
    expect(e.error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    expect(e.message).toContain('max_tokens');
  });

  it('a server tool is 400 unsupported, never dropped', async () => {
    const error = await client.messages
      .create({
        model: 'echo-model',
        max_tokens: 10,
        messages: [{ role: 'user', content: 'search' }],
        tools: [{ type: 'web_search_20250305', name: 'web_search' }],
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect((error as Error).message).toContain('web_search_20250305');
  });

  it('an upstream outage is a 503 with overloaded_error, in the Anthropic shape', async () => {
    const error = await client.messages
      .create({ model: 'outage', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.APIError);
    const e = error as InstanceType<typeof Anthropic.APIError>;
    expect(e.status).toBe(503);
    expect(e.error).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
  });

  it('the key is the tenant key whether sent as x-api-key or bearer; an unknown one is 401', async () => {
    const stranger = new Anthropic({ baseURL: t.server.url, apiKey: 'sk-unknown', maxRetries: 0 });
    const error = await stranger.messages
      .create({ model: 'echo-model', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((error as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      error: { type: 'authentication_error' },
    });
    const bearer = new Anthropic({
      baseURL: t.server.url,
      authToken: 'sk-team-key',
      apiKey: null,
      maxRetries: 0,
    });
    const ok = await bearer.messages.create({
      model: 'echo-model',
      max_tokens: 10,
      messages: [{ role: 'user', content: 'y' }],
    });
    expect(ok.content[0]).toMatchObject({ text: 'Echo: y' });
  });

  it('a body that is not JSON is answered in the Anthropic shape', async () => {
    const res = await fetch(`${t.server.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'sk-team-key' },
      body: '{"model": ',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
  });
});

describe('a fake Anthropic upstream: Messages → chat → Messages', () => {
  it('JSON with tool use, then the tool result back', async () => {
    upstream.setHandler(() =>
      anthropicAnswer({
        model: 'claude-sonnet-upstream',
        stream: false,
        text: 'Let me check.',
        calls: [weather],
        usage: { input: 30, output: 9, cacheRead: 12 },
      }),
    );
    const first = await client.messages.create({
      model: 'claude-sonnet',
      max_tokens: 300,
      system: [{ type: 'text', text: 'You are terse.', cache_control: { type: 'ephemeral' } }],
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools: [weatherTool],
      tool_choice: { type: 'auto', disable_parallel_tool_use: true },
    });
    expect(first.stop_reason).toBe('tool_use');
    expect(first.content).toEqual([
      expect.objectContaining({ type: 'text', text: 'Let me check.' }),
      expect.objectContaining({
        type: 'tool_use',
        id: 'toolu_w1',
        name: 'get_weather',
        input: { city: 'Paris' },
      }),
    ]);
    // Cached tokens survive Anthropic → chat → Anthropic.
    expect(first.usage).toMatchObject({ input_tokens: 30, cache_read_input_tokens: 12, output_tokens: 9 });
    const sent = upstream.requests[0];
    expect(sent.path).toBe('/v1/messages');
    expect(sent.headers['x-api-key']).toBe('sk-ant-upstream');
    expect(sent.body).toMatchObject({
      model: 'claude-sonnet-upstream',
      max_tokens: 300,
      system: 'You are terse.',
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools: [
        { name: 'get_weather', description: 'Current weather', input_schema: weatherTool.input_schema },
      ],
      tool_choice: { type: 'auto', disable_parallel_tool_use: true },
    });

    upstream.setHandler(() =>
      anthropicAnswer({ model: 'claude-sonnet-upstream', stream: false, text: 'It is sunny.' }),
    );
    const second = await client.messages.create({
      model: 'claude-sonnet',
      max_tokens: 300,
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_w1', content: 'sunny, 24C' }] },
      ],
      tools: [weatherTool],
    });
    expect(second.content).toEqual([expect.objectContaining({ type: 'text', text: 'It is sunny.' })]);
    expect(upstream.requests[1].body).toMatchObject({
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'Let me check.' },
            { type: 'tool_use', id: 'toolu_w1', name: 'get_weather', input: { city: 'Paris' } },
          ],
        },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_w1', content: 'sunny, 24C' }] },
      ],
    });
  });

  it('stream with tool use: input_json_delta pieces add up to the tool input', async () => {
    upstream.setHandler(() =>
      anthropicAnswer({ model: 'claude-sonnet-upstream', stream: true, text: 'Checking.', calls: [weather] }),
    );
    const stream = client.messages.stream({
      model: 'claude-sonnet',
      max_tokens: 300,
      messages: [{ role: 'user', content: 'Weather?' }],
      tools: [weatherTool],
    });
    const events = await collect(stream);
    const final = await stream.finalMessage();
    const json = events
      .flatMap((e) =>
        e.type === 'content_block_delta' && e.delta.type === 'input_json_delta' ? [e.delta.partial_json] : [],
      )
      .join('');
    expect(JSON.parse(json)).toEqual(weather.args);
    expect(final.content).toEqual([
      expect.objectContaining({ type: 'text', text: 'Checking.' }),
      expect.objectContaining({ type: 'tool_use', id: 'toolu_w1', name: 'get_weather', input: weather.args }),
    ]);
    expect(final.stop_reason).toBe('tool_use');
    expect(final.usage).toMatchObject({ input_tokens: 25, output_tokens: 12 });
    expect(upstream.requests[0].body).toMatchObject({ stream: true });
  });
});

describe('observability', () => {
  it('counts /v1/messages requests and their tokens like any other', async () => {
    await client.messages.create({
      model: 'metrics-model',
      max_tokens: 10,
      messages: [{ role: 'user', content: 'count me' }],
    });
    const text = await (await fetch(`${t.server.url}/metrics`)).text();
    expect(text).toMatch(/switchyard_requests_total\{route="chat",target="echo",status="200"\} [1-9]/);
    expect(text).toMatch(/switchyard_tokens_total\{target="echo",tenant="team",kind="prompt"\} [1-9]/);
  });
});

describe('JSON mode', () => {
  it('output_config.format reaches an Anthropic upstream as it was sent, through the chat request', async () => {
    upstream.setHandler(() =>
      anthropicAnswer({ model: 'claude-sonnet-upstream', stream: false, text: '{"city":"Paris"}' }),
    );
    const schema = {
      type: 'object',
      properties: { city: { type: 'string' } },
      required: ['city'],
      additionalProperties: false,
    };
    const res = await client.messages.create({
      model: 'claude-sonnet',
      max_tokens: 50,
      messages: [{ role: 'user', content: 'Where?' }],
      output_config: { format: { type: 'json_schema', schema } },
    });
    expect(res.content).toEqual([expect.objectContaining({ type: 'text', text: '{"city":"Paris"}' })]);
    expect(upstream.requests[0].body).toMatchObject({
      output_config: { format: { type: 'json_schema', schema } },
    });
  });
});

describe('tools through an OpenAI-compatible chat upstream', () => {
  it('JSON and stream: chat tool calls become tool_use blocks', async () => {
    upstream.setHandler((req) =>
      chatAnswer({
        model: 'tool-model',
        stream: (req.body as { stream?: boolean }).stream === true,
        calls: [{ ...weather, id: 'call_9' }],
      }),
    );
    const json = await client.messages.create({
      model: 'tooler',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'Weather?' }],
      tools: [weatherTool],
      tool_choice: { type: 'tool', name: 'get_weather' },
    });
    expect(json.content).toEqual([
      expect.objectContaining({
        type: 'tool_use',
        id: 'call_9',
        name: 'get_weather',
        input: { city: 'Paris' },
      }),
    ]);
    expect(json.stop_reason).toBe('tool_use');
    expect(upstream.requests[0].body).toMatchObject({
      max_completion_tokens: 100,
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: weatherTool.input_schema } }],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
    });

    const stream = client.messages.stream({
      model: 'tooler',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'Weather?' }],
      tools: [weatherTool],
    });
    const final = await stream.finalMessage();
    expect(final.content).toEqual([
      expect.objectContaining({ type: 'tool_use', name: 'get_weather', input: { city: 'Paris' } }),
    ]);
    expect(final.stop_reason).toBe('tool_use');
  });
});
