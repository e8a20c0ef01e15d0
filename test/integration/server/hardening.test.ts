/**
 * The HTTP layer against hostile or unusual clients, on a real port with raw sockets: what a
 * client asked about its connection is honoured, requests the HTTP layer refuses get the OpenAI
 * error shape, pathological JSON is refused before any work, and oversized bodies get their 413.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_JSON_CONTAINERS, MAX_JSON_DEPTH } from '../../../server/json-body.js';
import { chatBody, policyYaml, startServer, type TestServer } from './helpers.js';
import { parseResponse, rawExchange } from './raw-http.js';

let t: TestServer;

beforeAll(async () => {
  t = await startServer(policyYaml({ demo: 'reply: "a b c", chunkDelay: 20ms' }));
});

afterAll(async () => {
  await t?.close();
});

function post(path: string, body: string, extraHeaders = ''): string {
  return `POST ${path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extraHeaders}\r\n${body}`;
}

describe('connections', () => {
  it('a stream requested with Connection: close answers connection: close and closes the socket after [DONE]', async () => {
    const body = JSON.stringify(chatBody({ model: 'special', stream: true }));
    const started = Date.now();
    const exchange = await rawExchange(
      t.server.url,
      post('/v1/chat/completions', body, 'Connection: close\r\n'),
      {
        waitMs: 3000,
      },
    );
    const res = parseResponse(exchange.text);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream');
    expect(res.headers.connection).toBe('close');
    expect(res.body.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(exchange.closed).toBe(true);
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it('a stream on a kept-alive connection stays kept alive', async () => {
    const body = JSON.stringify(chatBody({ model: 'special', stream: true }));
    const exchange = await rawExchange(t.server.url, post('/v1/chat/completions', body), {
      waitMs: 3000,
      until: (text) => text.includes('data: [DONE]') && text.endsWith('0\r\n\r\n'),
    });
    const res = parseResponse(exchange.text);
    expect(res.headers.connection).toBe('keep-alive');
    expect(exchange.closed).toBe(false);
  });
});

describe('requests the HTTP layer refuses', () => {
  it('an HTTP/1.1 request without a Host header gets an OpenAI-shaped 400, and the server keeps serving', async () => {
    for (const head of [
      'GET /healthz HTTP/1.1\r\n\r\n',
      post('/v1/chat/completions', '{}').replace('Host: test\r\n', ''),
    ]) {
      const exchange = await rawExchange(t.server.url, head, { waitMs: 3000 });
      const res = parseResponse(exchange.text);
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.headers.connection).toBe('close');
      expect(JSON.parse(res.body)).toEqual({
        error: {
          message: expect.stringMatching(/Host/),
          type: 'invalid_request_error',
          code: 'missing_host_header',
        },
      });
      expect(exchange.closed).toBe(true);
    }
    // HTTP/1.0 does not require Host.
    const old = parseResponse((await rawExchange(t.server.url, 'GET /healthz HTTP/1.0\r\n\r\n')).text);
    expect(old.status).toBe(200);
    expect((await fetch(`${t.server.url}/healthz`)).status).toBe(200);
  });
});

describe('pathological JSON', () => {
  const N = 20_000;
  const hello = '"messages":[{"role":"user","content":"hello"}]';
  const deepArrays = (n: number): string => '['.repeat(n) + ']'.repeat(n);
  const deepObjects = (n: number): string => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
  const tinyObjects = (n: number): string => `[${Array.from({ length: n }, () => '{}').join(',')}]`;

  async function send(body: string): Promise<{ status: number; json: { error?: Record<string, unknown> } }> {
    const res = await fetch(`${t.server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    return { status: res.status, json: (await res.json()) as { error?: Record<string, unknown> } };
  }

  it.each([
    ['20,000 nested arrays', 'body_too_deep', deepArrays(N)],
    ['20,000 nested objects', 'body_too_deep', deepObjects(N)],
    [
      'deep metadata in a valid request',
      'body_too_deep',
      `{"model":"x","metadata":${deepObjects(N)},${hello}}`,
    ],
    [
      'deep content in a valid request',
      'body_too_deep',
      `{"model":"x","messages":[{"role":"user","content":${deepArrays(N)}}]}`,
    ],
    ['deep tools in a valid request', 'body_too_deep', `{"model":"x","tools":[${deepObjects(N)}],${hello}}`],
    [
      'one level too deep',
      'body_too_deep',
      `{"model":"x","metadata":${deepObjects(MAX_JSON_DEPTH)},${hello}}`,
    ],
    [
      'a huge array of tiny objects',
      'body_too_complex',
      `{"model":"x","extra":${tinyObjects(150_000)},${hello}}`,
    ],
    [
      'one object too many',
      'body_too_complex',
      `{"model":"x","extra":${tinyObjects(MAX_JSON_CONTAINERS - 3)},${hello}}`,
    ],
  ])('%s → 400 %s, and the server keeps serving', async (_name, code, body) => {
    const { status, json } = await send(body);
    expect(status).toBe(400);
    expect(json.error).toMatchObject({ type: 'invalid_request_error', code });
    const ok = await send(JSON.stringify(chatBody({ model: 'special' })));
    expect(ok.status).toBe(200);
  });

  it.each([
    ['depth at the limit', `{"model":"special","metadata":${deepObjects(MAX_JSON_DEPTH - 1)},${hello}}`],
    ['objects at the limit', `{"model":"special","extra":${tinyObjects(MAX_JSON_CONTAINERS - 4)},${hello}}`],
    [
      'brackets, quotes and escapes inside strings',
      JSON.stringify(
        chatBody({ model: 'special', messages: [{ role: 'user', content: `\\"${'[{'.repeat(N)}\\"` }] }),
      ),
    ],
  ])('%s is served', async (_name, body) => {
    const { status } = await send(body);
    expect(status).toBe(200);
  });
});
