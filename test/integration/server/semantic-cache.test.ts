/**
 * The semantic cache through the real server (127.0.0.1, port 0) and the `openai` SDK: a
 * near-duplicate question is a hit with `x-switchyard-cache-similarity`, a streamed request is
 * served the hit as a stream, and the recording line carries the similarity (and validates).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateRecordedLine } from '../../../engine/replay/record.js';
import { startServer, type TestServer } from './helpers.js';

const POLICY = `switchyard: v1
policy: { name: semantic, version: "1" }
providers:
  demo: { kind: mock }
models:
  chat: { provider: demo, model: chat-1 }
  embed: { provider: demo, model: embed-1, price: { input: 0.02, output: 0 } }
caches:
  faq: { mode: exact, ttl: 1h, key: [model, messages] }
  similar: { mode: semantic, ttl: 1h, embedding: embed, dimensions: 256, threshold: 0.85 }
recording: { path: traffic.jsonl }
routes:
  - name: chat
    targets: [chat]
    cache: [faq, similar]
`;

let t: TestServer;
let client: OpenAI;
const logs: string[] = [];

beforeAll(async () => {
  t = await startServer(POLICY, {
    logger: { level: 'info', stream: { write: (line: string) => void logs.push(line) } },
  });
  client = new OpenAI({ baseURL: `${t.server.url}/v1`, apiKey: 'x', maxRetries: 0 });
});

afterAll(async () => {
  await t.close();
});

const ask = (content: string) => ({ model: 'gpt-test', messages: [{ role: 'user' as const, content }] });

describe('semantic cache through the server', () => {
  it('answers a near-duplicate question from the cache, JSON and stream, and records the similarity', async () => {
    const first = await client.chat.completions.create(ask('What is the capital of France?')).withResponse();
    expect(first.response.headers.get('x-switchyard-cache')).toBe('miss');
    const near = await client.chat.completions
      .create(ask('What is the capital of France, please?'))
      .withResponse();
    expect(near.response.headers.get('x-switchyard-cache')).toBe('hit');
    const similarity = Number(near.response.headers.get('x-switchyard-cache-similarity'));
    expect(similarity).toBeGreaterThanOrEqual(0.85);
    expect(similarity).toBeLessThan(1);
    expect(near.data.choices[0].message.content).toBe(first.data.choices[0].message.content);
    expect(near.data.id).toBe(first.data.id);

    const stream = await client.chat.completions
      .create({ ...ask('what is the capital of France, please'), stream: true })
      .withResponse();
    expect(stream.response.headers.get('x-switchyard-cache')).toBe('hit');
    expect(stream.response.headers.get('content-type')).toContain('text/event-stream');
    let text = '';
    for await (const chunk of stream.data) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toBe(first.data.choices[0].message.content);

    const other = await client.chat.completions.create(ask('How do I bake sourdough bread?')).withResponse();
    expect(other.response.headers.get('x-switchyard-cache')).toBe('miss');

    await t.server.close(); // flushes the recording
    const lines = readFileSync(join(t.dir, 'traffic.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { outcome: { cache: string; cacheSimilarity?: number; costUsd: number } });
    for (const line of lines) expect(validateRecordedLine(line).ok).toBe(true);
    expect(lines.map((l) => l.outcome.cache)).toEqual(['miss', 'hit', 'hit', 'miss']);
    expect(lines[0].outcome.cacheSimilarity).toBeUndefined();
    expect(lines[1].outcome.cacheSimilarity).toBeCloseTo(similarity, 4);
    expect(lines[2].outcome.cacheSimilarity).toBeGreaterThanOrEqual(0.85);
    // The request log line carries the similarity of a semantic hit (to tune thresholds by).
    const requestLines = logs
      .map((l) => JSON.parse(l) as { msg?: string; cache?: string; cacheSimilarity?: number })
      .filter((l) => l.msg === 'request');
    expect(requestLines.map((l) => l.cache)).toEqual(['miss', 'hit', 'hit', 'miss']);
    expect(requestLines[1].cacheSimilarity).toBeCloseTo(similarity, 4);
    expect(requestLines[0].cacheSimilarity).toBeUndefined();
    // The embedding is priced into each request's cost, hits included.
    for (const line of lines) expect(line.outcome.costUsd).toBeGreaterThan(0);
  });
});
