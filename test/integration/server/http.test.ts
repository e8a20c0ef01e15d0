/**
 * The HTTP layer over real requests (`inject`): request validation, error shapes, auth, health,
 * models, metrics, admin. The real engine with the in-process mock provider answers.
 */

import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NoPolicyError } from '../../../server/app.js';
import {
  chatBody,
  inject,
  invalidPolicyYaml,
  policyYaml,
  postChat,
  startServer,
  type TestServer,
} from './helpers.js';

const TOKEN = 'admin-secret-token';
const TENANT_KEY = 'sk-acme-123456';

let plain: TestServer;
let tenants: TestServer;
let broken: TestServer;
let small: TestServer;
const logLines: Record<string, unknown>[] = [];

beforeAll(async () => {
  const logStream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line.trim() !== '') logLines.push(JSON.parse(line));
      done();
    },
  });
  plain = await startServer(policyYaml(), {
    adminToken: TOKEN,
    logger: { level: 'info', stream: logStream },
  });
  tenants = await startServer(
    policyYaml({ extra: `tenants:\n  acme: { keys: ["${TENANT_KEY}"], labels: { tier: paid } }` }),
    { adminToken: TOKEN },
  );
  broken = await startServer(invalidPolicyYaml(), { adminToken: TOKEN });
  small = await startServer(policyYaml(), { bodyLimit: 1024 });
});

afterAll(async () => {
  await Promise.all([plain?.close(), tenants?.close(), broken?.close(), small?.close()]);
});

interface BadCase {
  name: string;
  url?: string;
  method?: 'POST' | 'GET';
  contentType?: string;
  payload: string;
  status: number;
  code: string;
  message?: RegExp;
}

const BAD_INPUTS: BadCase[] = [
  { name: 'malformed JSON', payload: '{"model": "x", ', status: 400, code: 'invalid_json' },
  { name: 'empty JSON body', payload: '', status: 400, code: 'invalid_json' },
  {
    name: 'prototype poisoning',
    payload: '{"__proto__": {"x": 1}, "messages": []}',
    status: 400,
    code: 'invalid_json',
  },
  { name: 'body is an array', payload: '[]', status: 400, code: 'invalid_request', message: /JSON object/ },
  {
    name: 'body is a string',
    payload: '"hello"',
    status: 400,
    code: 'invalid_request',
    message: /JSON object/,
  },
  { name: 'body is null', payload: 'null', status: 400, code: 'invalid_request', message: /JSON object/ },
  {
    name: 'messages missing',
    payload: '{"model":"x"}',
    status: 400,
    code: 'invalid_request',
    message: /'messages' is required/,
  },
  {
    name: 'messages empty',
    payload: '{"model":"x","messages":[]}',
    status: 400,
    code: 'invalid_request',
    message: /at least one/,
  },
  {
    name: 'messages not an array',
    payload: '{"messages":"hi"}',
    status: 400,
    code: 'invalid_request',
    message: /must be an array/,
  },
  {
    name: 'message not an object',
    payload: '{"messages":["hi"]}',
    status: 400,
    code: 'invalid_request',
    message: /messages\[0\]/,
  },
  {
    name: 'message without role',
    payload: '{"messages":[{"content":"hi"}]}',
    status: 400,
    code: 'invalid_request',
    message: /messages\[0\]\.role/,
  },
  {
    name: 'content of a wrong type',
    payload: '{"messages":[{"role":"user","content":42}]}',
    status: 400,
    code: 'invalid_request',
    message: /content/,
  },
  {
    name: 'model not a string',
    payload: '{"model":5,"messages":[{"role":"user","content":"hi"}]}',
    status: 400,
    code: 'invalid_request',
    message: /'model' must be a string/,
  },
  {
    name: 'stream not a boolean',
    payload: '{"stream":"yes","messages":[{"role":"user","content":"hi"}]}',
    status: 400,
    code: 'invalid_request',
    message: /'stream'/,
  },
  {
    name: 'metadata not an object',
    payload: '{"metadata":[1],"messages":[{"role":"user","content":"hi"}]}',
    status: 400,
    code: 'invalid_request',
    message: /'metadata'/,
  },
  {
    name: 'text/plain body',
    contentType: 'text/plain',
    payload: 'hello',
    status: 415,
    code: 'unsupported_media_type',
  },
  {
    name: 'embeddings without input',
    url: '/v1/embeddings',
    payload: '{"model":"x"}',
    status: 400,
    code: 'invalid_request',
    message: /'input' is required/,
  },
  {
    name: 'embeddings with an object input',
    url: '/v1/embeddings',
    payload: '{"input":{}}',
    status: 400,
    code: 'invalid_request',
    message: /'input'/,
  },
  { name: 'unknown path', url: '/v1/completions', payload: '{}', status: 404, code: 'not_found' },
  {
    name: 'wrong method',
    url: '/v1/chat/completions',
    method: 'GET',
    payload: '',
    status: 404,
    code: 'not_found',
  },
];

describe('request validation', () => {
  it.each(BAD_INPUTS)('$name → $status $code', async (c) => {
    const res = await inject(plain.server, {
      method: c.method ?? 'POST',
      url: c.url ?? '/v1/chat/completions',
      headers: c.method === 'GET' ? {} : { 'content-type': c.contentType ?? 'application/json' },
      payload: c.method === 'GET' ? undefined : c.payload,
    });
    expect(res.statusCode).toBe(c.status);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['x-request-id']).toBeTruthy();
    const body = res.json();
    expect(Object.keys(body)).toEqual(['error']);
    expect(body.error.code).toBe(c.code);
    expect(typeof body.error.type).toBe('string');
    expect(typeof body.error.message).toBe('string');
    if (c.message) expect(body.error.message).toMatch(c.message);
    expect(res.body).not.toMatch(/statusCode|FST_|\bat \w+ \(/);
  });

  it('an oversized body is 413 body_too_large with the configured limit', async () => {
    const res = await inject(small.server, {
      method: 'POST',
      url: '/v1/chat/completions',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify(chatBody({ messages: [{ role: 'user', content: 'x'.repeat(4000) }] })),
    });
    expect(res.statusCode).toBe(413);
    expect(res.json().error).toMatchObject({ code: 'body_too_large', type: 'invalid_request_error' });
    expect(res.json().error.message).toMatch(/1024 bytes/);
  });

  it('a body under the limit passes', async () => {
    const res = await postChat(small.server);
    expect(res.statusCode).toBe(200);
  });
});

describe('serving', () => {
  it('answers through the engine with the switchyard headers', async () => {
    const res = await postChat(plain.server, { model: 'special' });
    expect(res.statusCode).toBe(200);
    expect(res.json().choices[0].message.content).toBe('Echo: hello there');
    expect(res.headers['x-switchyard-route']).toBe('special');
    expect(res.headers['x-switchyard-target']).toBe('backup');
    expect(res.headers['x-switchyard-attempts']).toBe('1');
    expect(res.headers['x-switchyard-policy']).toMatch(/^demo@1/);
    expect(Number(res.headers['x-switchyard-overhead-ms'])).toBeGreaterThanOrEqual(0);
  });

  it('echoes a sane x-request-id and replaces an unsafe one', async () => {
    const ok = await inject(plain.server, {
      method: 'GET',
      url: '/healthz',
      headers: { 'x-request-id': 'req-123.abc' },
    });
    expect(ok.headers['x-request-id']).toBe('req-123.abc');
    for (const bad of ['has spaces in it', 'x'.repeat(129), 'semi;colon', '']) {
      const res = await inject(plain.server, {
        method: 'GET',
        url: '/healthz',
        headers: { 'x-request-id': bad },
      });
      expect(res.headers['x-request-id']).not.toBe(bad);
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('routes embeddings through the engine', async () => {
    const res = await inject(plain.server, {
      method: 'POST',
      url: '/v1/embeddings',
      payload: { model: 'special', input: ['a', 'b'] },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toHaveLength(2);
    expect(res.headers['x-switchyard-route']).toBe('special');
  });

  it('streams SSE with the right headers', async () => {
    const res = await postChat(
      plain.server,
      { model: 'special', stream: true },
      { 'x-request-id': 'stream-1' },
    );
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream');
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers['x-request-id']).toBe('stream-1');
    expect(res.headers['x-switchyard-route']).toBe('special');
    expect(res.body).toMatch(/^data: /);
    expect(res.body.trimEnd().endsWith('data: [DONE]')).toBe(true);
  });

  it('GET /v1/models lists the accepted models in the OpenAI shape', async () => {
    const res = await inject(plain.server, { method: 'GET', url: '/v1/models' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.object).toBe('list');
    const policy = plain.server.manager.engine?.policy;
    expect(body.data.map((m: { id: string }) => m.id)).toEqual(policy?.acceptedModels);
    expect(body.data[0]).toMatchObject({ object: 'model', owned_by: 'switchyard' });
    expect(typeof body.data[0].created).toBe('number');
  });
});

describe('auth when the policy declares tenants', () => {
  it.each([
    ['no Authorization header', undefined],
    ['an unknown key', 'Bearer sk-nope'],
    ['a malformed header', 'Basic abc'],
  ])('%s → 401 invalid_api_key', async (_name, authorization) => {
    const res = await postChat(tenants.server, {}, authorization === undefined ? {} : { authorization });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('invalid_api_key');
  });

  it('a known key is served', async () => {
    const res = await postChat(
      tenants.server,
      { model: 'special' },
      { authorization: `Bearer ${TENANT_KEY}` },
    );
    expect(res.statusCode).toBe(200);
  });

  it('validation still comes first (400 before 401)', async () => {
    const res = await inject(tenants.server, { method: 'POST', url: '/v1/chat/completions', payload: {} });
    expect(res.statusCode).toBe(400);
  });
});

describe('health and readiness', () => {
  it('/healthz is 200 even without a policy', async () => {
    for (const s of [plain, broken]) {
      const res = await inject(s.server, { method: 'GET', url: '/healthz' });
      expect(res.statusCode).toBe(200);
    }
  });

  it('/readyz is 200 with a policy and names it', async () => {
    const res = await inject(plain.server, { method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json().policy).toMatchObject({ name: 'demo', version: '1' });
  });

  it('a failed first load: not ready, API 503, diagnostics in /admin/status', async () => {
    expect(broken.server.manager.ready).toBe(false);
    const ready = await inject(broken.server, { method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    const chat = await postChat(broken.server);
    expect(chat.statusCode).toBe(503);
    expect(chat.json().error.code).toBe('policy_not_loaded');
    const models = await inject(broken.server, { method: 'GET', url: '/v1/models' });
    expect(models.statusCode).toBe(503);
    const status = await inject(broken.server, {
      method: 'GET',
      url: '/admin/status',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(status.statusCode).toBe(200);
    const body = status.json();
    expect(body.ready).toBe(false);
    expect(body.active).toBeNull();
    expect(body.lastError.ok).toBe(false);
    const error = body.lastError.diagnostics.find((d: { severity: string }) => d.severity === 'error');
    expect(error.location).toMatch(/policy\.yaml:13:\d+$/);
    expect(error.code).toMatch(/^[A-Z_]+$/);
  });

  it('requirePolicy: a failed first load never listens and rejects with the diagnostics', async () => {
    // A port that was free a moment ago: the server must not take it.
    const probe = createNetServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const lines: string[] = [];
    const started = startServer(invalidPolicyYaml(), {
      requirePolicy: true,
      port,
      logger: { level: 'info', stream: { write: (line: string) => void lines.push(line) } },
    });
    const err = await started.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NoPolicyError);
    const failure = (err as NoPolicyError).failure;
    expect(failure?.ok).toBe(false);
    expect(
      failure?.diagnostics.some(
        (d) => d.severity === 'error' && d.file.endsWith('policy.yaml') && d.line === 13,
      ),
    ).toBe(true);
    expect(lines.join('')).toContain('policy load failed');
    expect(lines.join('')).not.toContain('Server listening');
    // Nothing holds the port.
    const again = createNetServer();
    await new Promise<void>((resolve, reject) => {
      again.once('error', reject);
      again.listen(port, '127.0.0.1', resolve);
    });
    await new Promise<void>((resolve) => again.close(() => resolve()));
  });

  it('requirePolicy with a policy that loads: listens as usual', async () => {
    const s = await startServer(policyYaml(), { requirePolicy: true });
    try {
      expect(s.server.manager.ready).toBe(true);
      expect((await postChat(s.server)).statusCode).toBe(200);
    } finally {
      await s.close();
    }
  });
});

describe('metrics', () => {
  it('exposes request, attempt, reload and policy metrics of this instance only', async () => {
    await postChat(plain.server, { model: 'special' });
    const res = await inject(plain.server, { method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const text = res.body;
    expect(text).toMatch(/switchyard_requests_total\{route="special",target="backup",status="200"\} \d+/);
    expect(text).toMatch(/switchyard_request_duration_seconds_bucket\{le="0\.005",route="special"/);
    expect(text).toMatch(/switchyard_upstream_attempts_total\{target="backup",outcome="ok"\} \d+/);
    expect(text).toMatch(/switchyard_policy_reloads_total\{result="success"\} 1/);
    expect(text).toMatch(/switchyard_policy_reloads_total\{result="failure"\} 0/);
    const hash = plain.server.manager.current?.identity.hash;
    expect(text).toContain(`switchyard_policy_info{name="demo",version="1",hash="${hash}"} 1`);
    expect(text).toMatch(/process_cpu_user_seconds_total/);
    expect(text).toMatch(/switchyard_requests_total\{route="none",target="none",status="400"\}/);

    // Another instance has its own registry: no request of `plain` shows up there.
    const other = await inject(broken.server, { method: 'GET', url: '/metrics' });
    expect(other.body).not.toMatch(/switchyard_requests_total\{route="special"/);
    expect(other.body).toMatch(/switchyard_policy_reloads_total\{result="failure"\} 1/);
    expect(other.body).not.toMatch(/switchyard_policy_info\{/);
  });
});

describe('admin', () => {
  const auth = { authorization: `Bearer ${TOKEN}` };

  it('answers 404 everywhere when no token is configured', async () => {
    for (const [method, url] of [
      ['GET', '/admin/policy'],
      ['GET', '/admin/status'],
      ['POST', '/admin/reload'],
    ] as const) {
      const res = await inject(small.server, { method, url, headers: auth });
      expect(res.statusCode).toBe(404);
      expect(res.json().error.code).toBe('not_found');
    }
  });

  it.each([
    ['no header', {}],
    ['a wrong token', { authorization: 'Bearer nope' }],
    ['a token prefix', { authorization: `Bearer ${TOKEN.slice(0, 5)}` }],
    ['another scheme', { authorization: `Basic ${TOKEN}` }],
  ])('%s → 401', async (_name, headers) => {
    const res = await inject(plain.server, { method: 'GET', url: '/admin/policy', headers });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(res.json().error.code).toBe('invalid_admin_token');
  });

  it('GET /admin/policy, /admin/status, /admin/history', async () => {
    const policy = await inject(plain.server, { method: 'GET', url: '/admin/policy', headers: auth });
    expect(policy.statusCode).toBe(200);
    expect(policy.json()).toMatchObject({ name: 'demo', version: '1', files: [plain.policyFile] });
    expect(Date.parse(policy.json().loadedAt)).not.toBeNaN();

    const status = await inject(plain.server, { method: 'GET', url: '/admin/status', headers: auth });
    expect(status.json()).toMatchObject({
      ready: true,
      lastReload: { ok: true, trigger: 'initial' },
      lastError: null,
    });

    const history = await inject(plain.server, { method: 'GET', url: '/admin/history', headers: auth });
    expect(history.json().versions).toHaveLength(1);
    expect(history.json().versions[0]).toMatchObject({ name: 'demo', active: true });
  });

  it('POST /admin/reload of unchanged content is a no-op; rollback without history is 409', async () => {
    const reload = await inject(plain.server, { method: 'POST', url: '/admin/reload', headers: auth });
    expect(reload.statusCode).toBe(200);
    expect(reload.json()).toMatchObject({ ok: true, changed: false, trigger: 'admin' });
    const rollback = await inject(plain.server, { method: 'POST', url: '/admin/rollback', headers: auth });
    expect(rollback.statusCode).toBe(409);
    expect(rollback.json().ok).toBe(false);
  });

  it('POST /admin/explain decides without calling upstream and ignores the admin token as a tenant key', async () => {
    const res = await inject(tenants.server, {
      method: 'POST',
      url: '/admin/explain',
      headers: auth,
      payload: { body: chatBody(), headers: { Authorization: `Bearer ${TENANT_KEY}` } },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ route: 'chat', targets: ['primary', 'backup'], refused: null });
    expect(res.json().skipped[0].route).toBe('special');

    const anonymous = await inject(tenants.server, {
      method: 'POST',
      url: '/admin/explain',
      headers: auth,
      payload: { body: chatBody() },
    });
    expect(anonymous.json().refused).toMatchObject({ status: 401, code: 'invalid_api_key' });

    const bad = await inject(tenants.server, {
      method: 'POST',
      url: '/admin/explain',
      headers: auth,
      payload: chatBody(),
    });
    expect(bad.statusCode).toBe(400);
  });
});

describe('logs', () => {
  it('one line per request with the routing outcome, and no secrets', async () => {
    await postChat(
      plain.server,
      { model: 'special' },
      { authorization: 'Bearer sk-super-secret-key', 'x-request-id': 'log-test-1' },
    );
    const line = logLines.find((l) => l.reqId === 'log-test-1');
    expect(line).toMatchObject({
      msg: 'request',
      method: 'POST',
      path: '/v1/chat/completions',
      status: 200,
      route: 'special',
      target: 'backup',
      attempts: 1,
      policy: 'demo@1',
    });
    expect(typeof line?.latencyMs).toBe('number');
    expect(line?.tokens).toMatchObject({ prompt: expect.any(Number), completion: expect.any(Number) });
    expect(JSON.stringify(logLines)).not.toContain('sk-super-secret-key');
  });
});
