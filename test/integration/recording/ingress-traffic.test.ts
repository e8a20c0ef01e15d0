/**
 * The ingress APIs get what chat completions get, through `engine.handle()`: routes by metadata,
 * input guardrails reading the text of Responses items and Messages blocks, token limits counting
 * their input, and a recording that says which API was addressed (`endpoint`), keeps the
 * translated request (content hashed), and replays to the same decisions.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine, type EngineResponse, parsePolicy, replayRecording } from '../../../engine/index.js';
import { createRecorder, readRecording, validateRecordedLine } from '../../../engine/replay/record.js';

const POLICY = `
switchyard: v1
policy: { name: ingress, version: "1" }
providers:
  demo: { kind: mock }
models:
  fast: { provider: demo, model: mock-fast }
  deep: { provider: demo, model: mock-deep }
tenants:
  acme: { keys: ["sk-acme"] }
limits:
  tokens: { key: [tenant], tokens: 400/min }
guardrails:
  no-secrets: { stage: input, kind: regex, deny: ["(?i)forbidden"], action: block, scope: conversation }
routes:
  - name: deep
    when: { metadata.task: analysis }
    targets: [deep]
    guardrails: [no-secrets]
  - name: chat
    targets: [fast]
    limits: [tokens]
    guardrails: [no-secrets]
`;

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

function compiled() {
  const loaded = parsePolicy([{ file: 'p.yaml', text: POLICY }]);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.diagnostics));
  return loaded.policy;
}

const auth = { authorization: 'Bearer sk-acme' };

async function drain(response: EngineResponse): Promise<string> {
  if (response.kind !== 'stream') throw new Error('expected a stream');
  let text = '';
  for await (const frame of response.events) text += frame;
  await response.done;
  return text;
}

describe('routes, guardrails and limits on /v1/responses and /v1/messages', () => {
  it('routes by the metadata of either API', async () => {
    const engine = createEngine(compiled());
    const responses = await engine.handle({
      path: '/v1/responses',
      headers: auth,
      body: { model: 'any', input: 'hi', metadata: { task: 'analysis' } },
    });
    expect(responses.meta.route).toBe('deep');
    const messages = await engine.handle({
      path: '/v1/messages',
      headers: { 'x-api-key': 'sk-acme', 'x-switchyard-metadata': '{"task":"analysis"}' },
      body: { model: 'any', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] },
    });
    expect(messages.meta.route).toBe('deep');
    expect(messages.meta.tenant).toBe('acme');
  });

  it('input guardrails read function-call outputs and tool results, and block in each API’s shape', async () => {
    const engine = createEngine(compiled());
    const responses = await engine.handle({
      path: '/v1/responses',
      headers: auth,
      body: {
        model: 'any',
        input: [
          { role: 'user', content: 'look it up' },
          { type: 'function_call', call_id: 'c1', name: 'lookup', arguments: '{}' },
          { type: 'function_call_output', call_id: 'c1', output: 'the FORBIDDEN word' },
        ],
      },
    });
    expect(responses.status).toBe(400);
    expect(responses.kind === 'json' && responses.body).toMatchObject({
      error: { code: 'guardrail_blocked' },
    });
    const messages = await engine.handle({
      path: '/v1/messages',
      headers: auth,
      body: {
        model: 'any',
        max_tokens: 5,
        messages: [
          { role: 'user', content: 'look it up' },
          { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'lookup', input: {} }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'forbidden stuff' }] },
        ],
      },
    });
    expect(messages.status).toBe(400);
    expect(messages.kind === 'json' && messages.body).toEqual({
      type: 'error',
      error: { type: 'invalid_request_error', message: 'Blocked by guardrail "no-secrets".' },
      request_id: null,
    });
  });

  it('token limits count the translated input: a long Messages request is refused 429 in the Anthropic shape', async () => {
    const engine = createEngine(compiled());
    const long = 'word '.repeat(400);
    const refused = await engine.handle({
      path: '/v1/messages',
      headers: auth,
      requestId: 'r-9',
      body: { model: 'any', max_tokens: 10, messages: [{ role: 'user', content: long }] },
    });
    expect(refused.status).toBe(429);
    expect(refused.kind === 'json' && refused.body).toMatchObject({
      type: 'error',
      error: {
        type: 'rate_limit_error',
        message: expect.stringContaining('more tokens than rate limit "tokens"'),
      },
      request_id: 'r-9',
    });
    const responses = await engine.handle({
      path: '/v1/responses',
      headers: auth,
      body: { model: 'any', input: long, max_output_tokens: 10 },
    });
    expect(responses.status).toBe(429);
    expect(responses.kind === 'json' && responses.body).toMatchObject({ error: { code: 'rate_limited' } });
  });
});

describe('recording and replay', () => {
  it('records the API addressed and the translated request, and replays to the same decisions', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sy-ingress-'));
    dirs.push(dir);
    const path = join(dir, 'traffic.jsonl');
    const policy = compiled();
    const recorder = createRecorder({ path, content: 'hash' });
    const engine = createEngine(policy, { recorder });

    await engine.handle({
      path: '/v1/responses',
      headers: auth,
      requestId: 'a',
      body: { model: 'any', instructions: 'very private rules', input: 'very private words' },
    });
    await drain(
      await engine.handle({
        path: '/v1/messages',
        headers: auth,
        requestId: 'b',
        body: {
          model: 'any',
          max_tokens: 20,
          stream: true,
          messages: [{ role: 'user', content: 'very private too' }],
        },
      }),
    );
    const refused = await engine.handle({
      path: '/v1/messages',
      headers: auth,
      requestId: 'c',
      body: { model: 'any', messages: [{ role: 'user', content: 'no max_tokens' }] },
    });
    expect(refused.status).toBe(400);
    await engine.handle({
      path: '/v1/responses',
      headers: auth,
      requestId: 'd',
      body: { model: 'any', input: 'deep one', metadata: { task: 'analysis' } },
    });
    // JSON answers are recorded just after they are returned.
    await new Promise((r) => setImmediate(r));
    await recorder.close();

    const text = await readFile(path, 'utf8');
    expect(text).not.toContain('very private');
    const lines = [];
    for await (const line of readRecording(path)) lines.push(line);
    expect(lines.map((l) => validateRecordedLine(l).ok)).toEqual([true, true, true, true]);
    const byId = new Map(lines.map((l) => [l.requestId, l]));
    expect(byId.get('a')?.request).toMatchObject({
      path: '/v1/responses',
      endpoint: 'responses',
      body: { messages: [{ role: 'system' }, { role: 'user' }] },
    });
    expect(byId.get('b')?.request).toMatchObject({
      path: '/v1/messages',
      endpoint: 'messages',
      stream: true,
    });
    expect(byId.get('b')?.outcome).toMatchObject({ kind: 'stream', status: 200 });
    expect(byId.get('c')?.outcome).toMatchObject({ status: 400, errorCode: 'invalid_request' });
    expect(byId.get('c')?.request.endpoint).toBe('messages');
    expect(byId.get('d')?.decision.route).toBe('deep');

    const report = await replayRecording(policy, path);
    expect(report.total).toBe(4);
    expect(report.changes).toEqual([]);
    expect(report.unchanged).toBe(4);
  });
});
