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

describe('routing and hostile HTTP input', () => {
  const expectOpenAIError = (res: { status: number; body: string }, status: number, code: string) => {
    expect(res.status).toBe(status);
    const body = JSON.parse(res.body) as { error: Record<string, unknown> };
    expect(Object.keys(body)).toEqual(['error']);
    expect(body.error.code).toBe(code);
    expect(res.body).not.toMatch(/\bat \w+ \(|node:internal/);
  };
  const exchange = async (head: string) => parseResponse((await rawExchange(t.server.url, head)).text);
  const servesStill = async () => expect((await fetch(`${t.server.url}/healthz`)).status).toBe(200);

  it('unknown routes and wrong methods are 404 not_found in the OpenAI shape, naming method and path', async () => {
    for (const [method, path] of [
      ['GET', '/v1/nope'],
      ['DELETE', '/v1/chat/completions'],
      ['OPTIONS', '/v1/chat/completions'],
      ['PUT', '/v1/files/file-1'],
      ['GET', '/healthz/'],
    ]) {
      const res = await exchange(
        `${method} ${path}?key=secret HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`,
      );
      expectOpenAIError(res, 404, 'not_found');
      expect(JSON.parse(res.body).error.message).toContain(method);
      expect(res.body).not.toContain('secret');
      expect(res.headers['x-request-id']).toBeTruthy();
    }
  });

  it('JSON answers, the engine’s and the server’s own, say their charset and carry the request id', async () => {
    const answers = [
      await fetch(`${t.server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'charset-1' },
        body: JSON.stringify(chatBody({ model: 'special' })),
      }),
      await fetch(`${t.server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'charset-1' },
        body: '{"model":',
      }),
      await fetch(`${t.server.url}/v1/models`, { headers: { 'x-request-id': 'charset-1' } }),
      await fetch(`${t.server.url}/nope`, { headers: { 'x-request-id': 'charset-1' } }),
    ];
    expect(answers.map((r) => r.status)).toEqual([200, 400, 200, 404]);
    for (const r of answers) {
      expect(r.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(r.headers.get('x-request-id')).toBe('charset-1');
      // A sized answer, not chunked: the length is the body's bytes.
      const body = Buffer.from(await r.arrayBuffer());
      expect(r.headers.get('transfer-encoding')).toBeNull();
      expect(Number(r.headers.get('content-length'))).toBe(body.length);
    }
  });

  it('bounds receiving a request (headers and body: slowloris) and idle kept-alive connections, never a response', () => {
    const http = t.server.http;
    expect(http.headersTimeout).toBe(60_000);
    expect(http.requestTimeout).toBe(60_000);
    expect(http.keepAliveTimeout).toBe(72_000);
    // No socket inactivity timeout: a quiet stream is not cut.
    expect(http.timeout).toBe(0);
  });

  it('HEAD is answered by the GET route, headers only', async () => {
    const raw = await rawExchange(
      t.server.url,
      'HEAD /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n',
    );
    const res = parseResponse(raw.text);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toBe('');
  });

  it('a request target in absolute form is served as its path (RFC 9112 §3.2.2)', async () => {
    for (const target of [
      'http://t/healthz',
      'HTTP://t:8080/healthz?x=1',
      'https://elsewhere.example/healthz',
    ]) {
      const res = await exchange(`GET ${target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`);
      expect(res.status).toBe(200);
    }
    const res = await exchange('GET http://t/v1/nope HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n');
    expectOpenAIError(res, 404, 'not_found');
    // Named by its path alone.
    expect(JSON.parse(res.body).error.message).toBe('No route for GET /v1/nope.');
  });

  it('CONNECT gets an OpenAI-shaped 404 and a closed connection, not a silent drop', async () => {
    const raw = await rawExchange(
      t.server.url,
      'CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n',
    );
    const res = parseResponse(raw.text);
    expectOpenAIError(res, 404, 'not_found');
    expect(res.headers.connection).toBe('close');
    expect(JSON.parse(res.body).error.message).toBe('No route for CONNECT 127.0.0.1:22.');
    await servesStill();
  });

  it('a malformed percent escape in the path is a 400, not a crash', async () => {
    const res = await exchange('GET /v1/models/%E0%A4%A HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n');
    expectOpenAIError(res, 400, 'invalid_request');
    expect(JSON.parse(res.body).error.message).toMatch(/URL is malformed/);
    await servesStill();
  });

  it('oversized headers are 431 headers_too_large; the server keeps serving', async () => {
    const res = await exchange(`GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expectOpenAIError(res, 431, 'headers_too_large');
    await servesStill();
  });

  it.each([
    ['Content-Length twice, different', 'Content-Length: 2\r\nContent-Length: 40\r\n'],
    ['Content-Length with Transfer-Encoding', 'Content-Length: 2\r\nTransfer-Encoding: chunked\r\n'],
    ['an unknown Transfer-Encoding', 'Transfer-Encoding: gzip, identity\r\n'],
  ])(
    'request smuggling framing (%s) is 400 bad_http_request and the connection closes',
    async (_name, framing) => {
      const raw = await rawExchange(
        t.server.url,
        `POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n${framing}\r\n{}\r\n\r\nGET /healthz HTTP/1.1\r\nHost: t\r\n\r\n`,
      );
      const res = parseResponse(raw.text);
      expectOpenAIError(res, 400, 'bad_http_request');
      // The smuggled second request was never answered.
      expect(raw.text.match(/HTTP\/1\.1 /g)).toHaveLength(1);
      expect(raw.closed).toBe(true);
      await servesStill();
    },
  );

  it.each([
    ['/v1/chat/completions', 'text/plain', 'openai'],
    ['/v1/responses', 'application/x-www-form-urlencoded', 'openai'],
    ['/v1/chat/completions', 'application/json-seq', 'openai'],
    ['/v1/chat/completions', 'not a media type', 'openai'],
    ['/v1/messages', 'text/plain', 'anthropic'],
  ])('POST %s with Content-Type %s is 415 in the API shape', async (path, type, shape) => {
    const body = JSON.stringify(chatBody());
    const res = await exchange(
      `POST ${path} HTTP/1.1\r\nHost: t\r\nContent-Type: ${type}\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    expect(res.status).toBe(415);
    const json = JSON.parse(res.body);
    if (shape === 'openai') expect(json.error.code).toBe('unsupported_media_type');
    else expect(json).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
  });

  it('a body without Content-Type is 415; a body-less POST is the engine’s to refuse', async () => {
    const withBody = await exchange(
      'POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}',
    );
    expectOpenAIError(withBody, 415, 'unsupported_media_type');
    const empty = await exchange(
      'POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nConnection: close\r\n\r\n',
    );
    expectOpenAIError(empty, 400, 'invalid_request');
  });

  it('Content-Type parameters and case do not matter for JSON', async () => {
    const body = JSON.stringify(chatBody({ model: 'special' }));
    const res = await exchange(
      `POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nContent-Type: Application/JSON ; charset=UTF-8\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
    expect(res.status).toBe(200);
  });

  it('invalid UTF-8 in a JSON string is read (as U+FFFD), not an error', async () => {
    const before = Buffer.from('{"model":"special","messages":[{"role":"user","content":"a');
    const after = Buffer.from('b"}]}');
    const body = Buffer.concat([before, Buffer.from([0xff, 0xc3]), after]);
    const res = await fetch(`${t.server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(res.status).toBe(200);
    const json = (await res.json()) as { choices: { message: { content: string } }[] };
    expect(typeof json.choices[0].message.content).toBe('string');
  });

  it.each([
    ['__proto__', '{"__proto__": {"admin": true}, "model": "special", "messages": []}'],
    [
      'an escaped __proto__',
      '{"\\u005f\\u005fproto__": {"admin": true}, "model": "special", "messages": []}',
    ],
    [
      'constructor.prototype',
      '{"constructor": {"prototype": {"admin": true}}, "model": "special", "messages": []}',
    ],
  ])('%s keys are refused as invalid_json', async (_name, body) => {
    const res = await fetch(`${t.server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(res.status).toBe(400);
    const error = ((await res.json()) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('invalid_json');
    // Said as what it is, not as a syntax error.
    expect(error.message).toMatch(/"__proto__" key .* refused/);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('a client that disconnects in the middle of its body leaves the server serving', async () => {
    const raw = await rawExchange(
      t.server.url,
      'POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"model":',
      { waitMs: 200 },
    );
    expect(raw.text).toBe('');
    await servesStill();
  });
});
