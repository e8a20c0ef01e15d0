/**
 * `POST /v1/responses` with the real `openai` SDK against the server on a real port: translated
 * to chat completions for the in-process mock and for an OpenAI-compatible chat upstream (the
 * tool calls come from there: the mock's own tool calls are another change's), passed through
 * to a provider that serves the Responses API, and refused (400 `unsupported_feature`) when
 * what only that API carries meets a route without such a provider. Also `GET /v1/models/{id}`.
 */

import OpenAI from 'openai';
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatAnswer, type FakeToolCall, responsesAnswer } from '../../support/fake-apis.js';
import { useUpstream } from '../../support/use-upstream.js';
import { startServer, type TestServer } from './helpers.js';

const upstream = useUpstream();

function policy(url: string): string {
  return `switchyard: v1
policy: { name: responses, version: "1" }
providers:
  demo: { kind: mock }
  chatty: { kind: openai, baseUrl: "${url}", apiKey: sk-upstream }
  native: { kind: openai, baseUrl: "${url}", apiKey: sk-upstream, responses: true }
models:
  echo: { provider: demo, model: echo-1 }
  tooler: { provider: chatty, model: tool-model }
  gpt: { provider: native, model: gpt-native }
routes:
  - name: tools
    when: { model: tooler }
    targets: [tooler]
  - name: native
    when: { model: native }
    targets: [gpt]
  - name: chat
    when: { model: { glob: "gpt-*" } }
    targets: [echo]
`;
}

const weather: FakeToolCall = { id: 'call_w1', name: 'get_weather', args: { city: 'Paris', unit: 'c' } };
const weatherTool = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'Current weather',
  parameters: {
    type: 'object',
    properties: { city: { type: 'string' }, unit: { type: 'string' } },
    required: ['city', 'unit'],
    additionalProperties: false,
  },
  strict: true,
};

let t: TestServer;
let client: OpenAI;

beforeAll(async () => {
  t = await startServer(policy(upstream.url));
  client = new OpenAI({ baseURL: `${t.server.url}/v1`, apiKey: 'x', maxRetries: 0 });
});

afterAll(async () => {
  await t?.close();
});

async function collect(stream: AsyncIterable<ResponseStreamEvent>): Promise<ResponseStreamEvent[]> {
  const events: ResponseStreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

describe('translated to chat completions (the mock)', () => {
  it('JSON: instructions and input in, a Response with output_text and usage out', async () => {
    const { data, response } = await client.responses
      .create({ model: 'gpt-test', instructions: 'Be brief.', input: 'hello gateway' })
      .withResponse();
    expect(data.object).toBe('response');
    expect(data.id).toMatch(/^resp_/);
    expect(data.status).toBe('completed');
    expect(data.output_text).toBe('Echo: hello gateway');
    expect(data.instructions).toBe('Be brief.');
    expect(data.output).toEqual([
      expect.objectContaining({ type: 'message', role: 'assistant', status: 'completed' }),
    ]);
    expect(data.usage?.input_tokens).toBeGreaterThan(0);
    expect(data.usage?.total_tokens).toBe((data.usage?.input_tokens ?? 0) + (data.usage?.output_tokens ?? 0));
    expect(response.headers.get('x-switchyard-route')).toBe('chat');
    expect(response.headers.get('x-switchyard-target')).toBe('echo');
  });

  it('stream: the typed events in order, deltas adding up to the final Response', async () => {
    const stream = client.responses.stream({
      model: 'gpt-test',
      input: [{ role: 'user', content: 'stream me' }],
    });
    const events = await collect(stream);
    const final = await stream.finalResponse();
    const types = events.map((e) => e.type);
    expect(types.slice(0, 4)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
    ]);
    expect(types.at(-1)).toBe('response.completed');
    expect(types).toContain('response.output_text.done');
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const text = events.flatMap((e) => (e.type === 'response.output_text.delta' ? [e.delta] : [])).join('');
    expect(text).toBe('Echo: stream me');
    expect(final.output_text).toBe(text);
    expect(final.usage?.output_tokens).toBeGreaterThan(0);
  });

  it('a hosted tool on a route without a Responses API provider is a 400 naming it', async () => {
    const error = await client.responses
      .create({ model: 'gpt-test', input: 'search', tools: [{ type: 'web_search' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    const e = error as InstanceType<typeof OpenAI.BadRequestError>;
    expect(e.code).toBe('unsupported_feature');
    expect(e.message).toContain('tools[0] (web_search)');
  });

  it('previous_response_id without storage is a 400 too, never dropped', async () => {
    const error = await client.responses
      .create({ model: 'gpt-test', input: 'and then?', previous_response_id: 'resp_abc' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as { code?: string }).code).toBe('unsupported_feature');
    expect((error as Error).message).toContain('previous_response_id');
  });

  it('a malformed body is a 400 with the offending param', async () => {
    const error = await client.responses
      .create({ model: 'gpt-test', input: [{ role: 'robot', content: 'x' }] } as never)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as { param?: string }).param).toBe('input[0].role');
  });
});

describe('tools and JSON mode through a chat completions upstream', () => {
  it('JSON: a function tool call comes back as a function_call item, and its output goes back as a tool message', async () => {
    upstream.setHandler(() => chatAnswer({ model: 'tool-model', stream: false, calls: [weather] }));
    const first = await client.responses.create({
      model: 'tooler',
      instructions: 'Use tools.',
      input: 'Weather in Paris?',
      tools: [weatherTool],
      tool_choice: 'required',
    });
    expect(first.output).toEqual([
      expect.objectContaining({
        type: 'function_call',
        call_id: 'call_w1',
        name: 'get_weather',
        arguments: JSON.stringify(weather.args),
        status: 'completed',
      }),
    ]);
    const sent = upstream.requests[0];
    expect(sent.path).toBe('/v1/chat/completions');
    expect(sent.body).toMatchObject({
      model: 'tool-model',
      messages: [
        { role: 'system', content: 'Use tools.' },
        { role: 'user', content: 'Weather in Paris?' },
      ],
      tools: [
        {
          type: 'function',
          function: { name: 'get_weather', parameters: weatherTool.parameters, strict: true },
        },
      ],
      tool_choice: 'required',
    });
    expect(sent.body).not.toHaveProperty('switchyard_responses_only');

    upstream.setHandler(() => chatAnswer({ model: 'tool-model', stream: false, text: 'It is 21 C.' }));
    const call = first.output[0];
    if (call.type !== 'function_call') throw new Error('expected a function call');
    const second = await client.responses.create({
      model: 'tooler',
      input: [
        { role: 'user', content: 'Weather in Paris?' },
        call,
        { type: 'function_call_output', call_id: call.call_id, output: '{"temp":21}' },
      ],
      tools: [weatherTool],
    });
    expect(second.output_text).toBe('It is 21 C.');
    expect(upstream.requests[1].body).toMatchObject({
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_w1', type: 'function', function: { name: 'get_weather', arguments: call.arguments } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_w1', content: '{"temp":21}' },
      ],
    });
  });

  it('stream: function_call_arguments deltas add up to the arguments of the final item', async () => {
    upstream.setHandler(() =>
      chatAnswer({ model: 'tool-model', stream: true, text: 'Checking.', calls: [weather] }),
    );
    const stream = client.responses.stream({ model: 'tooler', input: 'Weather?', tools: [weatherTool] });
    const events = await collect(stream);
    const final = await stream.finalResponse();
    const args = events
      .flatMap((e) => (e.type === 'response.function_call_arguments.delta' ? [e.delta] : []))
      .join('');
    expect(args).toBe(JSON.stringify(weather.args));
    expect(events.filter((e) => e.type === 'response.function_call_arguments.delta').length).toBeGreaterThan(
      1,
    );
    expect(final.output_text).toBe('Checking.');
    expect(final.output.map((o) => o.type)).toEqual(['message', 'function_call']);
    expect(final.output[1]).toMatchObject({ name: 'get_weather', call_id: 'call_w1', arguments: args });
    expect(upstream.requests[0].body).toMatchObject({
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it('JSON mode: text.format json_schema becomes response_format, and cached tokens are reported', async () => {
    upstream.setHandler(() =>
      chatAnswer({
        model: 'tool-model',
        stream: false,
        text: '{"ok":true}',
        usage: { prompt: 50, completion: 5, cached: 32 },
      }),
    );
    const schema = {
      type: 'object',
      properties: { ok: { type: 'boolean' } },
      required: ['ok'],
      additionalProperties: false,
    };
    const res = await client.responses.create({
      model: 'tooler',
      input: 'ok?',
      text: { format: { type: 'json_schema', name: 'answer', schema, strict: true } },
    });
    expect(JSON.parse(res.output_text)).toEqual({ ok: true });
    expect(res.text?.format).toMatchObject({ type: 'json_schema', name: 'answer' });
    expect(res.usage).toMatchObject({
      input_tokens: 50,
      input_tokens_details: { cached_tokens: 32 },
      output_tokens: 5,
    });
    expect(upstream.requests[0].body).toMatchObject({
      response_format: { type: 'json_schema', json_schema: { name: 'answer', schema, strict: true } },
    });
  });
});

describe('passed through to a provider serving the Responses API', () => {
  it('JSON: the request goes to POST /responses as sent, the Response comes back whole', async () => {
    upstream.setHandler(() =>
      responsesAnswer({ model: 'gpt-native-2026', stream: false, text: 'Found it.' }),
    );
    const res = await client.responses.create({
      model: 'native',
      input: 'search the web',
      tools: [{ type: 'web_search' }],
      previous_response_id: 'resp_prev',
      store: true,
      include: ['reasoning.encrypted_content'],
    });
    const sent = upstream.requests[0];
    expect(sent.path).toBe('/v1/responses');
    expect(sent.headers.authorization).toBe('Bearer sk-upstream');
    expect(sent.body).toEqual({
      model: 'gpt-native',
      input: 'search the web',
      tools: [{ type: 'web_search' }],
      previous_response_id: 'resp_prev',
      store: true,
      include: ['reasoning.encrypted_content'],
    });
    // The upstream's own object: its id and its reasoning item are kept.
    expect(res.id).toBe('resp_upstream01');
    expect(res.output.map((o) => o.type)).toEqual(['reasoning', 'message']);
    expect(res.output_text).toBe('Found it.');
    expect(res.usage).toMatchObject({ input_tokens: 40, input_tokens_details: { cached_tokens: 8 } });
  });

  it('stream: the upstream events are relayed as Responses events, tool calls included', async () => {
    upstream.setHandler(() =>
      responsesAnswer({ model: 'gpt-native', stream: true, text: 'On it.', calls: [weather] }),
    );
    const stream = client.responses.stream({ model: 'native', input: 'weather', tools: [weatherTool] });
    const events = await collect(stream);
    const final = await stream.finalResponse();
    expect(upstream.requests[0].path).toBe('/v1/responses');
    expect(upstream.requests[0].body).toMatchObject({ model: 'gpt-native', stream: true });
    expect(final.id).toBe('resp_upstream01');
    expect(final.output_text).toBe('On it.');
    expect(final.output.find((o) => o.type === 'function_call')).toMatchObject({
      name: 'get_weather',
      arguments: JSON.stringify(weather.args),
    });
    expect(events.at(-1)?.type).toBe('response.completed');
    expect(final.usage).toMatchObject({
      input_tokens: 40,
      output_tokens: 16,
      input_tokens_details: { cached_tokens: 8 },
    });
  });
});

describe('GET /v1/models/{id}', () => {
  it('answers a routed model in the OpenAI shape, and 404 model_not_found for an unknown one', async () => {
    const model = await client.models.retrieve('gpt-anything');
    expect(model).toMatchObject({ id: 'gpt-anything', object: 'model', owned_by: 'switchyard' });
    expect((await client.models.retrieve('tooler')).id).toBe('tooler');
    const error = await client.models.retrieve('claude-nope').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect(error).toMatchObject({ code: 'model_not_found', param: 'model' });
  });

  it('takes ids with a slash', async () => {
    const res = await fetch(`${t.server.url}/v1/models/gpt-org/variant`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: 'gpt-org/variant' });
  });
});
