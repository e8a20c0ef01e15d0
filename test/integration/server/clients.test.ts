/**
 * Real client libraries against the server on port 0, serving the built-in quickstart policy
 * (`policies/quickstart.yaml`: mock providers only, the primary failing every other call): the
 * `openai` SDK, the Vercel AI SDK (`ai` + `@ai-sdk/openai`) and LangChain JS (`@langchain/openai`).
 * What a new user does first must work offline: chat, streams, embeddings in each client's default
 * encoding (base64 for the `openai` SDK and LangChain), tool calls and structured answers.
 */
import { readFileSync } from 'node:fs';
import { createOpenAI } from '@ai-sdk/openai';
import { tool as langchainTool } from '@langchain/core/tools';
import { ChatOpenAI, OpenAIEmbeddings } from '@langchain/openai';
import { embed, embedMany, generateObject, generateText, stepCountIs, streamText, tool } from 'ai';
import { Ajv2020 } from 'ajv/dist/2020.js';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startServer, type TestServer } from './helpers.js';

const QUICKSTART = readFileSync(new URL('../../../policies/quickstart.yaml', import.meta.url), 'utf8');
const MODEL = 'gpt-5';
const ajv = new Ajv2020({ strict: false });

let t: TestServer;
let baseURL: string;

beforeAll(async () => {
  t = await startServer(QUICKSTART);
  baseURL = `${t.server.url}/v1`;
});

afterAll(async () => {
  await t?.close();
});

const WEATHER_PARAMETERS = {
  type: 'object',
  properties: {
    city: { type: 'string', description: 'The city' },
    unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
  },
  required: ['city', 'unit'],
  additionalProperties: false,
} as const;

const REVIEW_SCHEMA = {
  type: 'object',
  properties: {
    title: { type: 'string' },
    stars: { type: 'integer', minimum: 1, maximum: 5 },
    tags: { type: 'array', items: { type: 'string' } },
  },
  required: ['title', 'stars', 'tags'],
  additionalProperties: false,
} as const;

function expectUnitVector(vector: readonly number[], length: number): void {
  expect(vector).toHaveLength(length);
  expect(vector.every((v) => Number.isFinite(v))).toBe(true);
  expect(Math.hypot(...vector)).toBeCloseTo(1, 4);
}

describe('the openai SDK', () => {
  const client = (): OpenAI => new OpenAI({ baseURL, apiKey: 'sk-not-needed', maxRetries: 0 });

  it('chat and a stream, falling back past the flaky primary', async () => {
    const { data, response } = await client()
      .chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hello' }] })
      .withResponse();
    expect(data.choices[0].message.content).toBe('Echo: hello');
    expect(response.headers.get('x-switchyard-route')).toBe('chat');
    const stream = await client().chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'stream me please' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      usage = chunk.usage ?? usage;
    }
    expect(text).toBe('Echo: stream me please');
    expect(usage?.completion_tokens).toBeGreaterThan(0);
  });

  it('embeddings in the default encoding (base64, decoded by the SDK), with dimensions, and as floats', async () => {
    const byDefault = await client().embeddings.create({ model: MODEL, input: ['first', 'second'] });
    expect(byDefault.data).toHaveLength(2);
    expectUnitVector(byDefault.data[0].embedding, 8);
    expect(byDefault.data[0].embedding).not.toEqual(byDefault.data[1].embedding);
    const sized = await client().embeddings.create({ model: MODEL, input: 'first', dimensions: 256 });
    expectUnitVector(sized.data[0].embedding, 256);
    const floats = await client().embeddings.create({
      model: MODEL,
      input: 'first',
      encoding_format: 'float',
    });
    // The same vector whichever the encoding (float32 values either way).
    expect(floats.data[0].embedding).toEqual(byDefault.data[0].embedding);
  });

  it('tools: a call with valid arguments, then text after the tool result', async () => {
    const tools: OpenAI.ChatCompletionTool[] = [
      { type: 'function', function: { name: 'get_weather', parameters: WEATHER_PARAMETERS, strict: true } },
    ];
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Weather in Oslo?' }];
    const first = await client().chat.completions.create({ model: MODEL, messages, tools });
    const call = first.choices[0].message.tool_calls?.[0];
    expect(first.choices[0].finish_reason).toBe('tool_calls');
    if (call?.type !== 'function') throw new Error('expected a function call');
    expect(call.function.name).toBe('get_weather');
    expect(ajv.validate(WEATHER_PARAMETERS, JSON.parse(call.function.arguments))).toBe(true);
    messages.push(first.choices[0].message, { role: 'tool', tool_call_id: call.id, content: '{"temp": 3}' });
    const second = await client().chat.completions.create({ model: MODEL, messages, tools });
    expect(second.choices[0].finish_reason).toBe('stop');
    expect(second.choices[0].message.content).toBe('Echo: Weather in Oslo?');
  });

  it('tools streamed: the SDK assembles the call from its deltas', async () => {
    const stream = client().chat.completions.stream({
      model: MODEL,
      messages: [{ role: 'user', content: 'Weather in Lima?' }],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: WEATHER_PARAMETERS } }],
    });
    const final = await stream.finalChatCompletion();
    const call = final.choices[0].message.tool_calls?.[0];
    if (call?.type !== 'function') throw new Error('expected a function call');
    expect(call.id).toMatch(/^call_mock_/);
    expect(ajv.validate(WEATHER_PARAMETERS, JSON.parse(call.function.arguments))).toBe(true);
  });

  it('a json_schema response format, streamed or not', async () => {
    const response_format = {
      type: 'json_schema' as const,
      json_schema: { name: 'review', strict: true, schema: REVIEW_SCHEMA },
    };
    const messages = [{ role: 'user' as const, content: 'Review the quickstart' }];
    const answer = await client().chat.completions.create({ model: MODEL, messages, response_format });
    const value: unknown = JSON.parse(answer.choices[0].message.content ?? '');
    expect(ajv.validate(REVIEW_SCHEMA, value)).toBe(true);
    const stream = client().chat.completions.stream({ model: MODEL, messages, response_format });
    const final = await stream.finalChatCompletion();
    expect(JSON.parse(final.choices[0].message.content ?? '')).toEqual(value);
  });
});

describe('the Vercel AI SDK (chat completions model)', () => {
  const provider = () => createOpenAI({ baseURL, apiKey: 'sk-not-needed' });

  it('generateText and streamText', async () => {
    const { text, usage } = await generateText({
      model: provider().chat(MODEL),
      prompt: 'hi there',
      maxRetries: 0,
    });
    expect(text).toBe('Echo: hi there');
    expect(usage.outputTokens).toBeGreaterThan(0);
    const streamed = streamText({ model: provider().chat(MODEL), prompt: 'streaming now', maxRetries: 0 });
    let joined = '';
    for await (const part of streamed.textStream) joined += part;
    expect(joined).toBe('Echo: streaming now');
    expect((await streamed.usage).outputTokens).toBeGreaterThan(0);
  });

  it('a tool loop: the model calls the tool, gets its result and answers', async () => {
    const seen: unknown[] = [];
    const result = await generateText({
      model: provider().chat(MODEL),
      prompt: 'What is the weather in Oslo?',
      maxRetries: 0,
      tools: {
        get_weather: tool({
          description: 'The weather in a city',
          inputSchema: z.object({ city: z.string(), unit: z.enum(['celsius', 'fahrenheit']) }),
          execute: async (input) => {
            seen.push(input);
            return { temperature: 3 };
          },
        }),
      },
      stopWhen: stepCountIs(4),
    });
    expect(seen).toHaveLength(1);
    expect(result.steps).toHaveLength(2);
    expect(result.steps[0].toolCalls[0].toolName).toBe('get_weather');
    expect(result.text).toBe('Echo: What is the weather in Oslo?');
  });

  it('a streamed tool call', async () => {
    const result = streamText({
      model: provider().chat(MODEL),
      prompt: 'Weather in Lima?',
      maxRetries: 0,
      tools: {
        get_weather: tool({ inputSchema: z.object({ city: z.string() }) }),
      },
    });
    const calls = await result.toolCalls;
    expect(calls).toHaveLength(1);
    expect(calls[0].toolName).toBe('get_weather');
    expect(typeof (calls[0].input as { city: unknown }).city).toBe('string');
  });

  it('generateObject through response_format json_schema', async () => {
    const { object } = await generateObject({
      model: provider().chat(MODEL),
      schema: z.object({
        title: z.string(),
        stars: z.number().int().min(1).max(5),
        tags: z.array(z.string()),
      }),
      prompt: 'Review the quickstart',
      maxRetries: 0,
    });
    expect(ajv.validate(REVIEW_SCHEMA, object)).toBe(true);
  });

  it('embed and embedMany', async () => {
    const model = provider().embedding('text-embedding-3-small');
    const one = await embed({ model, value: 'sunny day', maxRetries: 0 });
    expectUnitVector(one.embedding, 8);
    const many = await embedMany({ model, values: ['a', 'b', 'c'], maxRetries: 0 });
    expect(many.embeddings).toHaveLength(3);
    expect(many.embeddings[0]).not.toEqual(many.embeddings[1]);
  });

  // The default factory, `openai(model)`, speaks the Responses API (`POST /v1/responses`), which
  // the gateway does not serve yet (issue 13, the ingress work). Enable when it lands.
  it.skip('the default model factory (Responses API): needs POST /v1/responses', async () => {
    const { text } = await generateText({ model: provider()(MODEL), prompt: 'hi there', maxRetries: 0 });
    expect(text).toBe('Echo: hi there');
  });
});

describe('LangChain JS', () => {
  const chat = (): ChatOpenAI =>
    new ChatOpenAI({ model: MODEL, apiKey: 'sk-not-needed', maxRetries: 0, configuration: { baseURL } });

  it('invoke and stream', async () => {
    const answer = await chat().invoke('hello langchain');
    expect(answer.content).toBe('Echo: hello langchain');
    let text = '';
    for await (const chunk of await chat().stream('stream it')) text += String(chunk.content);
    expect(text).toBe('Echo: stream it');
  });

  it('bindTools: a parsed tool call, streamed too', async () => {
    const weather = langchainTool(async () => 'sunny', {
      name: 'get_weather',
      description: 'The weather in a city',
      schema: z.object({ city: z.string(), unit: z.enum(['celsius', 'fahrenheit']) }),
    });
    const model = chat().bindTools([weather]);
    const answer = await model.invoke('Weather in Oslo?');
    expect(answer.tool_calls).toHaveLength(1);
    expect(answer.tool_calls?.[0].name).toBe('get_weather');
    expect(ajv.validate(WEATHER_PARAMETERS, answer.tool_calls?.[0].args)).toBe(true);
    let gathered: Awaited<ReturnType<typeof model.invoke>> | undefined;
    for await (const chunk of await model.stream('Weather in Oslo?')) {
      gathered = gathered === undefined ? chunk : gathered.concat(chunk);
    }
    expect(gathered?.tool_calls?.[0].args).toEqual(answer.tool_calls?.[0].args);
  });

  it('withStructuredOutput', async () => {
    const structured = chat().withStructuredOutput(
      z.object({ title: z.string(), stars: z.number().int().min(1).max(5), tags: z.array(z.string()) }),
    );
    const object = await structured.invoke('Review the quickstart');
    expect(ajv.validate(REVIEW_SCHEMA, object)).toBe(true);
  });

  it('OpenAIEmbeddings (base64 by default, through the openai SDK)', async () => {
    const embeddings = new OpenAIEmbeddings({
      model: 'text-embedding-3-small',
      apiKey: 'sk-not-needed',
      maxRetries: 0,
      configuration: { baseURL },
    });
    expectUnitVector(await embeddings.embedQuery('sunny day'), 8);
    const docs = await embeddings.embedDocuments(['a', 'b']);
    expect(docs).toHaveLength(2);
    expect(docs[0]).not.toEqual(docs[1]);
    const sized = new OpenAIEmbeddings({
      model: 'text-embedding-3-small',
      dimensions: 32,
      apiKey: 'sk-not-needed',
      configuration: { baseURL },
    });
    expectUnitVector(await sized.embedQuery('sunny day'), 32);
  });
});
