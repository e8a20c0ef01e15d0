/**
 * The HTTP layer against hostile or unusual clients, on a real port with raw sockets: what a
 * client asked about its connection is honoured, requests the HTTP layer refuses get the OpenAI
 * error shape, pathological JSON is refused before any work, and oversized bodies get their 413.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
