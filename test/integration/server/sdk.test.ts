/**
 * The real `openai` SDK against the server on a real port, with the in-process mock provider:
 * what application code sees.
 */

import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from './helpers.js';

const POLICY = `switchyard: v1
policy: { name: sdk, version: "7" }
providers:
  demo: { kind: mock }
  flaky: { kind: mock, sequence: [overloaded] }
  down: { kind: mock, sequence: [overloaded] }
  strict: { kind: mock, sequence: [content_policy] }
  wordy: { kind: mock, reply: "one two three four five six seven eight nine ten" }
models:
  primary: { provider: flaky, model: primary-1, retry: { attempts: 0 } }
  backup: { provider: demo, model: backup-1 }
  dead: { provider: down, model: dead-1, retry: { attempts: 0 } }
  moderated: { provider: strict, model: moderated-1 }
  long: { provider: wordy, model: long-1 }
routes:
  - name: outage
    when: { model: outage }
    targets: [dead]
  - name: moderated
    when: { model: moderated }
    targets: [moderated]
  - name: long
    when: { model: long }
    targets: [long]
  - name: chat
    targets: [primary, backup]
`;

let t: TestServer;
let client: OpenAI;

beforeAll(async () => {
  t = await startServer(POLICY);
  client = new OpenAI({ baseURL: `${t.server.url}/v1`, apiKey: 'x', maxRetries: 0 });
});

afterAll(async () => {
  await t?.close();
});

const messages = [{ role: 'user' as const, content: 'hello gateway' }];

describe('openai SDK against the server', () => {
  it('non-streaming chat, with the fallback visible in the headers', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'gpt-test', messages })
      .withResponse();
    expect(data.choices[0].message.content).toBe('Echo: hello gateway');
    expect(data.usage?.total_tokens).toBeGreaterThan(0);
    // `primary` answers 503 (overloaded) every time; the chain falls back to `backup`.
    expect(response.headers.get('x-switchyard-route')).toBe('chat');
    expect(response.headers.get('x-switchyard-target')).toBe('backup');
    expect(response.headers.get('x-switchyard-attempts')).toBe('2');
    expect(response.headers.get('x-switchyard-policy')).toMatch(/^sdk@7/);
    expect(response.headers.get('x-request-id')).toBeTruthy();
  });

  it('streaming chat: the deltas join to the full answer', async () => {
    const stream = await client.chat.completions.create({ model: 'long', messages, stream: true });
    let text = '';
    let chunks = 0;
    let finish: string | null = null;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(text).toBe('one two three four five six seven eight nine ten');
    expect(chunks).toBeGreaterThan(2);
    expect(finish).toBe('stop');
  });

  it('streaming with a fallback before the first token is invisible to the client', async () => {
    const { data: stream, response } = await client.chat.completions
      .create({ model: 'gpt-test', messages, stream: true })
      .withResponse();
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toBe('Echo: hello gateway');
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(response.headers.get('x-switchyard-target')).toBe('backup');
  });

  it('embeddings and models', async () => {
    const embeddings = await client.embeddings.create({ model: 'gpt-test', input: ['a', 'b'] });
    expect(embeddings.data).toHaveLength(2);
    expect(embeddings.data[0].embedding.length).toBeGreaterThan(0);
    const models = await client.models.list();
    const ids = models.data.map((m) => m.id);
    expect(ids).toEqual(t.server.manager.engine?.policy.acceptedModels);
  });

  it.each([
    [
      'a request the gateway refuses',
      { model: 'gpt-test', messages: [] },
      400,
      'invalid_request',
      OpenAI.BadRequestError,
    ],
    [
      'an outage (every target overloaded)',
      { model: 'outage', messages },
      503,
      null,
      OpenAI.InternalServerError,
    ],
    [
      'an upstream content-policy refusal, passed through',
      { model: 'moderated', messages },
      400,
      null,
      OpenAI.BadRequestError,
    ],
  ])('errors surface in the SDK: %s', async (_name, body, status, code, ErrorClass) => {
    const error = await client.chat.completions.create(body).then(
      () => null,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(ErrorClass);
    const apiError = error as InstanceType<typeof OpenAI.APIError>;
    expect(apiError.status).toBe(status);
    if (code !== null) expect(apiError.code).toBe(code);
    expect(typeof apiError.message).toBe('string');
    expect(apiError.headers?.get('x-request-id')).toBeTruthy();
  });

  it('401 from a policy with tenants is an AuthenticationError', async () => {
    const secured = await startServer(
      POLICY.replace('routes:', 'tenants:\n  acme: { keys: ["sk-acme-1"] }\nroutes:'),
    );
    try {
      const anonymous = new OpenAI({
        baseURL: `${secured.server.url}/v1`,
        apiKey: 'sk-wrong',
        maxRetries: 0,
      });
      const error = await anonymous.chat.completions
        .create({ model: 'long', messages })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
      expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('invalid_api_key');
      const known = new OpenAI({ baseURL: `${secured.server.url}/v1`, apiKey: 'sk-acme-1', maxRetries: 0 });
      const ok = await known.chat.completions.create({ model: 'long', messages });
      expect(ok.choices[0].message.content).toMatch(/^one two/);
    } finally {
      await secured.close();
    }
  });
});
