/**
 * A shutdown that cuts `/v1/messages` and `/v1/responses` requests tells each client in its own
 * API's shape: an in-band Anthropic `error` event (an OpenAI-shaped frame would be skipped by the
 * Anthropic SDKs, leaving a cut answer looking complete), a 503 `overloaded_error` for a request
 * still waiting, and the OpenAI error frame on a Responses stream.
 */
import { afterEach, expect, it } from 'vitest';
import { policyYaml, startServer, type TestServer } from './helpers.js';

const servers: TestServer[] = [];
afterEach(async () => {
  for (const t of servers.splice(0)) await t.close().catch(() => undefined);
});

async function start(demo: string): Promise<TestServer> {
  const t = await startServer(policyYaml({ demo }), { gracePeriodMs: 150 });
  servers.push(t);
  return t;
}

function post(t: TestServer, path: string, body: unknown): Promise<Response> {
  return fetch(`${t.server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

it('a Messages stream cut by the shutdown ends with an Anthropic error event, no message_stop', async () => {
  const t = await start('reply: "a b c d e f g h i j", chunkDelay: 400ms');
  const res = await post(t, '/v1/messages', {
    model: 'special',
    max_tokens: 50,
    stream: true,
    messages: [{ role: 'user', content: 'x' }],
  });
  expect(res.status).toBe(200);
  const [body] = await Promise.all([res.text(), t.server.close()]);
  expect(body).toContain('event: message_start');
  expect(body).not.toContain('message_stop');
  const last = body.trim().split('\n\n').at(-1) ?? '';
  const [event, data] = last.split('\n');
  expect(event).toBe('event: error');
  expect(JSON.parse(data.replace(/^data: /, ''))).toEqual({
    type: 'error',
    error: { type: 'overloaded_error', message: expect.stringContaining('shutting down') },
  });
});

it('a Messages request still waiting when the grace period ends is a 503 in the Anthropic shape', async () => {
  const t = await start('latency: 3s');
  const pending = post(t, '/v1/messages', {
    model: 'special',
    max_tokens: 5,
    messages: [{ role: 'user', content: 'x' }],
  });
  await new Promise((r) => setTimeout(r, 50));
  const [res] = await Promise.all([pending, t.server.close()]);
  expect(res.status).toBe(503);
  expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
});

it('a Responses stream cut by the shutdown ends with the OpenAI error frame, no response.completed', async () => {
  const t = await start('reply: "a b c d e f g h i j", chunkDelay: 400ms');
  const res = await post(t, '/v1/responses', { model: 'special', stream: true, input: 'x' });
  const [body] = await Promise.all([res.text(), t.server.close()]);
  expect(body).toContain('event: response.created');
  expect(body).not.toContain('response.completed');
  const last = body.trim().split('\n\n').at(-1) ?? '';
  expect(JSON.parse(last.replace(/^data: /, ''))).toMatchObject({ error: { code: 'shutting_down' } });
});
