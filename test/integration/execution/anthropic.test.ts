/**
 * An Anthropic provider end to end: the upstream replays recorded Messages API answers (JSON and
 * an SSE transcript, from the provider unit fixtures) byte for byte, and the caller gets OpenAI
 * shapes. Also a 529 from Anthropic falling back to an OpenAI-compatible model.
 */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { expectAnthropicCall } from '../../support/providers.js';
import { asJson, chatBody, engineFor, outcomes, readStream, useExecutionUpstream } from './helpers.js';

const fixture = (name: string) =>
  readFileSync(new URL(`../../unit/providers/fixtures/${name}`, import.meta.url), 'utf8');

const upstream = useExecutionUpstream();

function anthropicEngine() {
  return engineFor({
    url: upstream.url,
    providers: `
  claude: { kind: anthropic, baseUrl: "${upstream.url}", apiKey: sk-ant-test }`,
    models: `
  sonnet: { provider: claude, model: claude-sonnet-4-5, price: { input: 3, output: 15 } }
  backup: { provider: up, model: m-backup }`,
    routes: `
  - name: claude
    targets: [sonnet, backup]`,
  });
}

function expectAnthropicRequest(stream: boolean): void {
  expect(upstream.requests).toHaveLength(1);
  const [req] = upstream.requests;
  expectAnthropicCall(req, 'sk-ant-test');
  expect(req.body).toMatchObject({
    model: 'claude-sonnet-4-5',
    max_tokens: expect.any(Number),
    messages: [{ role: 'user', content: 'Say hello.' }],
    ...(stream ? { stream: true } : {}),
  });
}

it('JSON: a Messages API answer comes back as an OpenAI chat completion', async () => {
  const engine = anthropicEngine();
  upstream.enqueue({
    kind: 'raw',
    status: 200,
    headers: { 'content-type': 'application/json', 'request-id': 'req_1' },
    chunks: [fixture('anthropic-message.json')],
  });

  const res = asJson(await engine.handle({ body: chatBody() }));

  expectAnthropicRequest(false);
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({
    object: 'chat.completion',
    model: 'claude-sonnet-4-5',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: 'Hello! How can I help you today?' },
        finish_reason: 'stop',
      },
    ],
    usage: { prompt_tokens: 12, completion_tokens: 11, total_tokens: 23 },
  });
  expect(res.meta.target).toBe('sonnet');
  // Anthropic reports its cache reads (0 here): they are the usage's cached tokens.
  expect(res.meta.usage).toEqual({
    promptTokens: 12,
    completionTokens: 11,
    totalTokens: 23,
    cachedTokens: 0,
  });
  expect(res.meta.costUsd).toBeCloseTo((12 * 3 + 11 * 15) / 1e6, 12);
  expect(outcomes(res.meta)).toEqual(['sonnet:ok']);
});

it('stream: an Anthropic SSE transcript comes back as OpenAI chunks ending in [DONE]', async () => {
  const engine = anthropicEngine();
  // Replayed one event per write, a few ms apart, as the API sends them.
  const events = fixture('anthropic-stream-text.sse')
    .split(/\n\n/)
    .filter((e) => e.trim() !== '')
    .map((e) => `${e}\n\n`);
  upstream.enqueue({ kind: 'raw', status: 200, chunks: events, delayMs: 2 });

  const read = await readStream(
    await engine.handle({ body: chatBody({ stream: true, includeUsage: true }) }),
  );

  expectAnthropicRequest(true);
  expect(read.text).toBe('Hello! How can I help?');
  expect(read.finishReasons).toEqual(['stop']);
  expect(read.done).toBe(true);
  expect(read.errors).toEqual([]);
  const chunks = read.payloads.filter((p) => Array.isArray(p.choices) && p.choices.length > 0);
  expect(chunks.every((p) => p.object === 'chat.completion.chunk' && p.model === 'claude-sonnet-4-5')).toBe(
    true,
  );
  const usage = read.payloads.filter((p) => p.usage != null);
  expect(usage).toHaveLength(1);
  expect(usage[0].usage).toEqual({
    prompt_tokens: 25,
    completion_tokens: 15,
    total_tokens: 40,
    prompt_tokens_details: { cached_tokens: 0 },
  });
  expect(read.meta.usage).toEqual({
    promptTokens: 25,
    completionTokens: 15,
    totalTokens: 40,
    cachedTokens: 0,
  });
  expect(outcomes(read.meta)).toEqual(['sonnet:ok']);
});

it('a 529 overloaded_error from Anthropic falls back to the OpenAI-compatible model', async () => {
  const engine = anthropicEngine();
  const overloaded = {
    kind: 'raw',
    status: 529,
    headers: { 'content-type': 'application/json' },
    chunks: [fixture('anthropic-error-overloaded.json')],
  } as const;
  upstream.setHandler((req) => (req.path === '/v1/messages' ? overloaded : { kind: 'ok' }));

  const res = asJson(await engine.handle({ body: chatBody() }));

  expect(res.status).toBe(200);
  expect(upstream.requests.map((r) => r.path)).toEqual([
    ...Array(3).fill('/v1/messages'),
    '/v1/chat/completions',
  ]);
  expect(res.meta.target).toBe('backup');
  expect(outcomes(res.meta)).toEqual([...Array(3).fill('sonnet:overloaded'), 'backup:ok']);
  expect(res.meta.attempts[0].status).toBe(529);
});

it('route promptCache: the system prompt and tools are marked on the wire, and cache reads and writes are priced at their rates', async () => {
  const engine = engineFor({
    url: upstream.url,
    providers: `
  claude: { kind: anthropic, baseUrl: "${upstream.url}", apiKey: sk-ant-test }`,
    models: `
  sonnet: { provider: claude, model: claude-sonnet-4-5, price: { input: 3, output: 15, cachedInput: 0.3, cacheWrite: 3.75 } }`,
    routes: `
  - name: cached
    when: { header.x-cache: "yes" }
    promptCache: true
    targets: [sonnet]
  - name: plain
    targets: [sonnet]`,
  });
  const answer = JSON.parse(fixture('anthropic-message.json'));
  answer.usage = {
    input_tokens: 12,
    cache_creation_input_tokens: 100,
    cache_read_input_tokens: 4000,
    output_tokens: 11,
  };
  const body = {
    model: 'sonnet',
    messages: [
      { role: 'system', content: 'A long, stable system prompt.' },
      { role: 'user', content: 'Say hello.' },
    ],
    tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }],
  };
  for (let i = 0; i < 2; i++) {
    upstream.enqueue({
      kind: 'raw',
      status: 200,
      headers: { 'content-type': 'application/json' },
      chunks: [JSON.stringify(answer)],
    });
  }

  const cached = asJson(await engine.handle({ body, headers: { 'x-cache': 'yes' } }));
  const plain = asJson(await engine.handle({ body }));

  expect(cached.meta.route).toBe('cached');
  expect(upstream.requests[0].body).toMatchObject({
    system: [{ type: 'text', text: 'A long, stable system prompt.', cache_control: { type: 'ephemeral' } }],
    tools: [{ name: 'lookup', cache_control: { type: 'ephemeral' } }],
  });
  expect(plain.meta.route).toBe('plain');
  expect(upstream.requests[1].body).toMatchObject({ system: 'A long, stable system prompt.' });
  expect(JSON.stringify(upstream.requests[1].body)).not.toContain('cache_control');

  expect(cached.meta.usage).toEqual({
    promptTokens: 4112,
    completionTokens: 11,
    totalTokens: 4123,
    cachedTokens: 4000,
    cacheWriteTokens: 100,
  });
  expect(cached.meta.costUsd).toBeCloseTo((12 * 3 + 4000 * 0.3 + 100 * 3.75 + 11 * 15) / 1e6, 12);
  expect(cached.body).toMatchObject({
    usage: { prompt_tokens_details: { cached_tokens: 4000, cache_write_tokens: 100 } },
  });
});
