/**
 * A stream from an upstream whose chunks look as OpenAI's do today (`service_tier`,
 * `system_fingerprint`, `logprobs`, `usage: null` on every chunk, and an `obfuscation` string
 * that differs on every chunk), relayed by the server to a raw HTTP client and to the OpenAI SDK:
 * each frame is the upstream's chunk with the gateway's `id`, `created` and `model`, `usage`
 * dropped when the caller did not ask for it, and every other member (the padding included) kept.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../../support/upstream.js';
import { startServer, type TestServer } from './helpers.js';

const REPLY = 'one two three four five six seven eight nine ten';
let upstream: Upstream;
let t: TestServer;

beforeAll(async () => {
  upstream = await startUpstream({ reply: REPLY, chunks: 'openai' });
  t = await startServer(`switchyard: v1
policy: { name: chunks, version: "1" }
providers:
  up: { kind: openai, baseUrl: "${upstream.url}", apiKey: sk-upstream-test }
models:
  main: { provider: up, model: m-up }
routes:
  - name: chat
    targets: [main]
`);
});

afterAll(async () => {
  await t?.close();
  await upstream?.close();
});

async function frames(body: Record<string, unknown>): Promise<string[]> {
  const res = await fetch(`${t.server.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      ...body,
    }),
  });
  expect(res.status).toBe(200);
  const text = await res.text();
  return text
    .split('\n\n')
    .filter((f) => f !== '')
    .map((f) => {
      expect(f.startsWith('data: ')).toBe(true);
      return f.slice(6);
    });
}

describe('OpenAI-shaped chunks (obfuscation padding) through the relay', () => {
  it('keeps every member but usage, sets id/created/model, and the text arrives whole', async () => {
    const data = await frames({});
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d) as Record<string, unknown>);
    const paddings = new Set<string>();
    let content = '';
    for (const [i, chunk] of chunks.entries()) {
      // Written as JSON.stringify writes the parsed chunk: nothing reordered or re-spaced.
      expect(data[i]).toBe(JSON.stringify(chunk));
      expect(Object.keys(chunk)).toEqual([
        'id',
        'object',
        'created',
        'model',
        'service_tier',
        'system_fingerprint',
        'choices',
        'obfuscation',
      ]);
      expect(chunk.id).toBe(chunks[0].id);
      expect(chunk.model).toBe('m-up');
      expect(typeof chunk.obfuscation).toBe('string');
      paddings.add(chunk.obfuscation as string);
      const choice = (chunk.choices as { delta: { content?: string }; logprobs: null }[])[0];
      expect(choice.logprobs).toBeNull();
      content += choice.delta.content ?? '';
    }
    expect(content).toBe(REPLY);
    // The padding differs from chunk to chunk, as OpenAI's does.
    expect(paddings.size).toBeGreaterThan(chunks.length / 2);
  });

  it('with include_usage: no usage on the content chunks, then the usage chunk', async () => {
    const data = await frames({ stream_options: { include_usage: true } });
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d) as Record<string, unknown>);
    // OpenAI writes `usage: null` on them; the relay drops the member (the SDKs read both alike).
    for (const chunk of chunks.slice(0, -1)) expect(chunk.usage ?? null).toBeNull();
    expect(chunks.at(-1)?.usage).toMatchObject({ completion_tokens: expect.any(Number) });
    expect(chunks.at(-1)?.choices).toEqual([]);
  });

  it('the OpenAI SDK reads the stream', async () => {
    const client = new OpenAI({ baseURL: `${t.server.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toBe(REPLY);
  });
});
