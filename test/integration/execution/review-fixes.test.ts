/**
 * Regressions from the runtime review: stream clean-up, connection pools, embeddings with
 * `stream: true`, the attempts header on streams, and which upstream error bodies pass through.
 */
import { expect, it } from 'vitest';
import { createEngine, formatHuman, parsePolicy, type ResponseMeta } from '../../../engine/index.js';
import { within } from '../../support/wait.js';
import {
  asJson,
  asStream,
  chatBody,
  engineFor,
  modelOf,
  policyYaml,
  readStream,
  TIMEOUTS,
  until,
  useExecutionUpstream,
} from './helpers.js';

const upstream = useExecutionUpstream();

it('aborting between two events.next() calls ends the stream without an unhandled rejection', async () => {
  const engine = engineFor({ url: upstream.url });
  upstream.setHandler(() => ({ kind: 'ok', delayMs: 50, reply: 'one two three four five six' }));
  const controller = new AbortController();
  const res = asStream(await engine.handle({ body: chatBody({ stream: true }), signal: controller.signal }));
  const events = res.events[Symbol.asyncIterator]();
  const first = await events.next();
  expect(first.done).toBe(false);
  controller.abort(new Error('client went away'));
  // Give any stray rejection a chance to surface before the next read (vitest fails the run on one).
  await new Promise((resolve) => setTimeout(resolve, 20));
  for (let i = 0; i < 20; i++) {
    const step = await events.next();
    if (step.done === true) break;
  }
  const meta = await within(res.done, 1000);
  expect(meta).not.toBe('pending');
  await new Promise((resolve) => setTimeout(resolve, 20));
});

it('return() before the first next() releases upstream and resolves done', async () => {
  const engine = engineFor({ url: upstream.url, breaker: 'failures: 1, window: 30s, cooldown: 30s' });
  upstream.setHandler(() => ({ kind: 'ok', delayMs: 100, reply: 'a b c d e f g h' }));
  const res = asStream(await engine.handle({ body: chatBody({ stream: true }) }));
  const iterator = res.events[Symbol.asyncIterator]();
  await iterator.return?.();
  const meta = await within(res.done, 1000);
  expect(meta).not.toBe('pending');
  expect((meta as ResponseMeta).attempts.map((a) => a.outcome)).toEqual(['ok']);
  // The upstream call was cancelled, not left open.
  await until(() => upstream.requests[0]?.closedEarlyAt !== undefined, 1000);
  // The breaker permit was settled (cancelled: no verdict) and the target still serves.
  const again = await readStream(await engine.handle({ body: chatBody({ stream: true }) }));
  expect(again.done).toBe(true);
  expect(again.meta.target).toBe('primary');
});

it('requests on a route whose total is below connect reuse pooled connections', async () => {
  // connect 5s > total 3s: the remaining time used to be passed as a (fractional, per-request)
  // connect timeout, and every distinct value made a new connection pool.
  const yaml = policyYaml({ url: upstream.url }).replace(`connect: ${TIMEOUTS.connectMs}ms`, 'connect: 5s');
  expect(yaml).toContain('connect: 5s');
  const loaded = parsePolicy([{ file: 'pool.yaml', text: yaml }]);
  if (!loaded.ok) throw new Error(formatHuman(loaded.diagnostics, loaded.sources));
  const engine = createEngine(loaded.policy);
  try {
    for (let i = 0; i < 50; i++) {
      const res = await engine.handle({ body: chatBody() });
      expect(res.status).toBe(200);
    }
  } finally {
    await engine.close();
  }
  expect(upstream.requests).toHaveLength(50);
  const ports = new Set(upstream.requests.map((r) => r.remotePort));
  expect(ports.size).toBeLessThanOrEqual(2);
});

it('embeddings with stream: true are answered as JSON, without stream_options upstream', async () => {
  const engine = engineFor({ url: upstream.url, breaker: 'failures: 1, window: 30s, cooldown: 30s' });
  const embedding = {
    object: 'list',
    data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }],
    model: 'm-primary',
    usage: { prompt_tokens: 2, total_tokens: 2 },
  };
  upstream.setHandler(() => ({
    kind: 'raw',
    status: 200,
    headers: { 'content-type': 'application/json' },
    chunks: [JSON.stringify(embedding)],
  }));
  const body = {
    model: 'text-embedding',
    input: 'hello',
    stream: true,
    stream_options: { include_usage: true },
  };
  for (let i = 0; i < 2; i++) {
    const res = asJson(await engine.handle({ path: '/v1/embeddings', body }));
    expect(res.status).toBe(200);
    expect(res.meta.attempts.map((a) => `${a.target}:${a.outcome}`)).toEqual(['primary:ok']);
  }
  for (const r of upstream.requests) {
    expect(r.path).toMatch(/\/embeddings$/);
    expect(r.body).not.toHaveProperty('stream');
    expect(r.body).not.toHaveProperty('stream_options');
  }
});

it('x-switchyard-attempts counts the committed attempt on a stream, as on JSON', async () => {
  const engine = engineFor({ url: upstream.url });
  // The primary fails once with a 500; the backup answers.
  upstream.setHandler((req) =>
    modelOf(req) === 'm-primary' ? { kind: 'status', status: 500 } : { kind: 'ok' },
  );
  const json = asJson(await engine.handle({ body: chatBody() }));
  const stream = await engine.handle({ body: chatBody({ stream: true }) });
  const read = await readStream(stream);
  expect(json.meta.attempts.length).toBeGreaterThanOrEqual(2);
  expect(json.headers['x-switchyard-attempts']).toBe(String(json.meta.attempts.length));
  expect(stream.headers['x-switchyard-attempts']).toBe(String(read.meta.attempts.length));
  expect(stream.headers['x-switchyard-attempts']).toBe(json.headers['x-switchyard-attempts']);
});

it('a terminal upstream 5xx or auth error is not passed through; a caller fault still is', async () => {
  // Nothing falls back or retries: every upstream error ends the request (terminal).
  const engine = engineFor({
    url: upstream.url,
    retry: 'attempts: 0, fallbackOn: [connect]',
    routes: `
  - name: main
    targets: [primary]`,
  });
  const secret = 'internal stack trace at db-7; gateway key sk-gw-****abcd';
  upstream.enqueue({
    kind: 'status',
    status: 500,
    body: { error: { message: secret, type: 'server_error' } },
  });
  const five = asJson(await engine.handle({ body: chatBody() }));
  expect(five.status).toBe(502);
  expect(JSON.stringify(five.body)).not.toContain('db-7');
  expect(JSON.stringify(five.body)).not.toContain('sk-gw');

  upstream.enqueue({
    kind: 'status',
    status: 401,
    body: { error: { message: `Incorrect API key provided: ${secret}`, type: 'invalid_request_error' } },
  });
  const auth = asJson(await engine.handle({ body: chatBody() }));
  expect(auth.status).toBeGreaterThanOrEqual(500);
  expect(JSON.stringify(auth.body)).not.toContain('sk-gw');

  const fault = { error: { message: 'messages: must not be empty', type: 'invalid_request_error' } };
  upstream.enqueue({ kind: 'status', status: 400, body: fault });
  const bad = asJson(await engine.handle({ body: chatBody() }));
  expect(bad.status).toBe(400);
  expect(bad.body).toMatchObject(fault);
});
