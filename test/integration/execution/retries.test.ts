/**
 * The attempt loop end to end on JSON requests: `createEngine(...).handle()` with the real undici
 * transport against a misbehaving upstream on loopback. Each test checks what the upstream saw
 * (calls per model, spacing, bodies), what the caller got, and the attempts in the metadata.
 */
import { describe, expect, it } from 'vitest';
import { openAIError, DEFAULT_REPLY as REPLY } from '../../support/upstream.js';
import {
  asJson,
  BACKOFF,
  chatBody,
  engineFor,
  gaps,
  outcomes,
  PRICES,
  readStream,
  requestsFor,
  SLACK_MS,
  TIMEOUTS,
  until,
  useExecutionUpstream,
} from './helpers.js';

const upstream = useExecutionUpstream();

function contentOf(body: unknown): unknown {
  const b = body as { choices?: { message?: { content?: unknown } }[] };
  return b.choices?.[0]?.message?.content;
}

describe('429 and Retry-After', () => {
  it('honours a short Retry-After, then succeeds on the same target', async () => {
    const engine = engineFor({ url: upstream.url });
    upstream.enqueue({ kind: 'status', status: 429, retryAfter: '0.06' }, { kind: 'ok' });

    const res = asJson(await engine.handle({ body: chatBody() }));

    expect(res.status).toBe(200);
    expect(contentOf(res.body)).toBe(REPLY);
    const primary = requestsFor(upstream.requests, 'm-primary');
    expect(primary).toHaveLength(2);
    expect(requestsFor(upstream.requests, 'm-backup')).toHaveLength(0);
    // Retry-After (60 ms) beats the 10 ms backoff.
    expect(gaps(primary)[0]).toBeGreaterThanOrEqual(60 - SLACK_MS);
    expect(res.meta.route).toBe('main');
    expect(res.meta.target).toBe('primary');
    expect(outcomes(res.meta)).toEqual(['primary:rate_limited', 'primary:ok']);
    expect(res.meta.attempts[0].status).toBe(429);
  });

  it('fails over at once when Retry-After exceeds respectRetryAfter', async () => {
    const engine = engineFor({ url: upstream.url });
    upstream.enqueue({ kind: 'status', status: 429, retryAfter: '2' }, { kind: 'ok' });

    const started = Date.now();
    const res = asJson(await engine.handle({ body: chatBody() }));

    expect(res.status).toBe(200);
    const [primary, backup] = [
      requestsFor(upstream.requests, 'm-primary'),
      requestsFor(upstream.requests, 'm-backup'),
    ];
    expect(primary).toHaveLength(1);
    expect(backup).toHaveLength(1);
    // No wait at all: not the 2 s asked for, not even the backoff's order of magnitude x 10.
    expect(backup[0].at - primary[0].at).toBeLessThan(100);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(res.meta.target).toBe('backup');
    expect(outcomes(res.meta)).toEqual(['primary:rate_limited', 'backup:ok']);
  });
});

describe('429 forever without Retry-After', () => {
  it('retries each target a bounded number of times, spaced by the backoff, then answers an honest 503', async () => {
    const engine = engineFor({ url: upstream.url });
    upstream.setHandler(() => ({ kind: 'status', status: 429 }));

    const res = asJson(await engine.handle({ body: chatBody() }));

    expect(res.status).toBe(503);
    expect(res.body).toEqual({
      error: { message: expect.any(String), type: 'api_error', code: 'upstream_unavailable' },
    });
    expect(res.headers['retry-after']).toBeUndefined();
    // 1 call + 2 retries per target; 6 calls in all (also the route's maxAttempts): no tight loop.
    expect(upstream.requests).toHaveLength(6);
    for (const model of ['m-primary', 'm-backup']) {
      const calls = requestsFor(upstream.requests, model);
      expect(calls).toHaveLength(3);
      const [first, second] = gaps(calls);
      expect(first).toBeGreaterThanOrEqual(BACKOFF.initialMs - SLACK_MS); // jitter none: 10 ms
      expect(second).toBeGreaterThanOrEqual(2 * BACKOFF.initialMs - SLACK_MS); // then 20 ms
    }
    expect(res.meta.target).toBeNull();
    expect(res.meta.attempts.map((a) => a.outcome)).toEqual(Array(6).fill('rate_limited'));
    expect(res.meta.attempts.map((a) => a.target)).toEqual([
      ...Array(3).fill('primary'),
      ...Array(3).fill('backup'),
    ]);
  });

  it('falls back to a healthy secondary after the primary’s retries', async () => {
    const engine = engineFor({ url: upstream.url });
    upstream.setHandler((req) =>
      (req.body as { model: string }).model === 'm-primary'
        ? { kind: 'status', status: 429 }
        : { kind: 'ok' },
    );

    const res = asJson(await engine.handle({ body: chatBody() }));

    expect(res.status).toBe(200);
    expect(requestsFor(upstream.requests, 'm-primary')).toHaveLength(3);
    expect(requestsFor(upstream.requests, 'm-backup')).toHaveLength(1);
    expect(outcomes(res.meta)).toEqual([...Array(3).fill('primary:rate_limited'), 'backup:ok']);
  });
});

it('retries a 500 once on the same target, then succeeds', async () => {
  const engine = engineFor({ url: upstream.url });
  upstream.enqueue({ kind: 'status', status: 500 }, { kind: 'ok' });

  const res = asJson(await engine.handle({ body: chatBody() }));

  expect(res.status).toBe(200);
  expect(contentOf(res.body)).toBe(REPLY);
  const primary = requestsFor(upstream.requests, 'm-primary');
  expect(primary).toHaveLength(2);
  expect(gaps(primary)[0]).toBeGreaterThanOrEqual(BACKOFF.initialMs - SLACK_MS);
  expect(requestsFor(upstream.requests, 'm-backup')).toHaveLength(0);
  expect(res.meta.target).toBe('primary');
  expect(outcomes(res.meta)).toEqual(['primary:server_error', 'primary:ok']);
});

it('falls back to the secondary when the primary answers 503 forever', async () => {
  const engine = engineFor({ url: upstream.url });
  upstream.setHandler((req) =>
    (req.body as { model: string }).model === 'm-primary'
      ? { kind: 'status', status: 503, body: openAIError('overloaded', 'server_error', null) }
      : { kind: 'ok', reply: 'From the backup.' },
  );

  const res = asJson(await engine.handle({ body: chatBody() }));

  expect(res.status).toBe(200);
  expect(contentOf(res.body)).toBe('From the backup.');
  expect(requestsFor(upstream.requests, 'm-primary')).toHaveLength(3);
  expect(requestsFor(upstream.requests, 'm-backup')).toHaveLength(1);
  expect(res.headers['x-switchyard-target']).toBe('backup');
  expect(res.meta.target).toBe('backup');
  expect(outcomes(res.meta)).toEqual([...Array(3).fill('primary:overloaded'), 'backup:ok']);
  expect(res.meta.attempts.slice(0, 3).map((a) => a.status)).toEqual([503, 503, 503]);
});

it('classifies a reset before the headers as connect: retried, then falls back', async () => {
  const engine = engineFor({ url: upstream.url });
  upstream.setHandler((req) =>
    (req.body as { model: string }).model === 'm-primary' ? { kind: 'reset' } : { kind: 'ok' },
  );

  const res = asJson(await engine.handle({ body: chatBody() }));

  expect(res.status).toBe(200);
  const primary = requestsFor(upstream.requests, 'm-primary');
  expect(primary).toHaveLength(3);
  const [first, second] = gaps(primary);
  expect(first).toBeGreaterThanOrEqual(BACKOFF.initialMs - SLACK_MS);
  expect(second).toBeGreaterThanOrEqual(2 * BACKOFF.initialMs - SLACK_MS);
  expect(res.meta.target).toBe('backup');
  expect(outcomes(res.meta)).toEqual(['primary:connect', 'primary:connect', 'primary:connect', 'backup:ok']);
  expect(res.meta.attempts[0].status).toBeNull();
});

it('fails over promptly when the primary never answers, without re-sending to it', async () => {
  const engine = engineFor({ url: upstream.url });
  upstream.setHandler((req) =>
    (req.body as { model: string }).model === 'm-primary' ? { kind: 'hold' } : { kind: 'ok' },
  );

  const started = Date.now();
  const res = asJson(await engine.handle({ body: chatBody() }));
  const elapsed = Date.now() - started;

  expect(res.status).toBe(200);
  expect(elapsed).toBeGreaterThanOrEqual(TIMEOUTS.firstTokenMs - SLACK_MS);
  expect(elapsed).toBeLessThan(2000);
  const primary = requestsFor(upstream.requests, 'm-primary');
  expect(primary).toHaveLength(1); // never re-sent to a target that went silent
  expect(requestsFor(upstream.requests, 'm-backup')).toHaveLength(1);
  expect(outcomes(res.meta)).toEqual(['primary:first_token', 'backup:ok']);
  // The silent call was abandoned: its connection is closed, not left dangling.
  await until(() => primary[0].closedEarlyAt !== undefined);
});

it('falls over from a small-context model to a larger one, never retrying the same model', async () => {
  const engine = engineFor({
    url: upstream.url,
    models: `
  small: { provider: up, model: m-small, context: 8000 }
  small-alias: { provider: up, model: m-small, context: 8000 }
  same-size: { provider: up, model: m-same, context: 8000 }
  large: { provider: up, model: m-large, context: 128000 }`,
    routes: `
  - name: long
    targets: [small, small-alias, same-size, large]`,
  });
  upstream.setHandler((req) =>
    (req.body as { model: string }).model === 'm-small' ? { kind: 'context_length' } : { kind: 'ok' },
  );

  const res = asJson(
    await engine.handle({ body: chatBody({ content: 'A very long document. '.repeat(50) }) }),
  );

  expect(res.status).toBe(200);
  expect(requestsFor(upstream.requests, 'm-small')).toHaveLength(1);
  expect(requestsFor(upstream.requests, 'm-same')).toHaveLength(0); // not larger: skipped
  expect(requestsFor(upstream.requests, 'm-large')).toHaveLength(1);
  expect(res.meta.route).toBe('long');
  expect(res.meta.target).toBe('large');
  expect(outcomes(res.meta)).toEqual(['small:context_length', 'large:ok']);
  expect((res.body as { model: string }).model).toBe('m-large');
});

it('returns a content_policy error unchanged: no retry, no fallback', async () => {
  const engine = engineFor({ url: upstream.url });
  upstream.enqueue({ kind: 'content_policy' });

  const res = asJson(await engine.handle({ body: chatBody() }));

  expect(res.status).toBe(400);
  expect(res.body).toEqual(
    openAIError(
      'Your request was rejected as a result of our safety system.',
      'invalid_request_error',
      'content_policy_violation',
    ),
  );
  expect(upstream.requests).toHaveLength(1);
  expect(res.meta.target).toBeNull();
  expect(outcomes(res.meta)).toEqual(['primary:content_policy']);
});

describe('accounting after a fallback', () => {
  const BACKUP_REPLY = 'The backup answers at some length, so its usage differs.';
  const handler = (req: { body: unknown }) =>
    (req.body as { model: string }).model === 'm-primary'
      ? ({ kind: 'status', status: 503 } as const)
      : ({ kind: 'ok', reply: BACKUP_REPLY } as const);

  /** The upstream's deterministic usage for what the backup received (see upstream.ts). */
  function backupUsage() {
    const [backup] = requestsFor(upstream.requests, 'm-backup');
    const prompt = Math.ceil(JSON.stringify(backup.body).length / 4);
    const completion = Math.ceil(BACKUP_REPLY.length / 4);
    return { prompt, completion };
  }

  const cost = (u: { prompt: number; completion: number }, price: { input: number; output: number }) =>
    (u.prompt * price.input + u.completion * price.output) / 1e6;

  it('JSON: model, usage and cost are the fallback’s', async () => {
    const engine = engineFor({ url: upstream.url, retry: 'attempts: 0' });
    upstream.setHandler(handler);

    const res = asJson(await engine.handle({ body: chatBody() }));

    expect(res.status).toBe(200);
    const { prompt, completion } = backupUsage();
    const body = res.body as { model: string; usage: unknown };
    expect(body.model).toBe('m-backup');
    expect(body.usage).toEqual({
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion,
    });
    expect(res.meta.usage).toEqual({
      promptTokens: prompt,
      completionTokens: completion,
      totalTokens: prompt + completion,
    });
    expect(res.meta.costUsd).toBeCloseTo(cost({ prompt, completion }, PRICES.backup), 12);
    expect(res.meta.attempts.map((a) => a.usage === null)).toEqual([true, false]);
  });

  it('stream: the usage chunk, the chunks’ model and the final meta are the fallback’s', async () => {
    const engine = engineFor({ url: upstream.url, retry: 'attempts: 0' });
    upstream.setHandler(handler);

    const read = await readStream(
      await engine.handle({ body: chatBody({ stream: true, includeUsage: true }) }),
    );

    expect(read.done).toBe(true);
    expect(read.text).toBe(BACKUP_REPLY);
    const { prompt, completion } = backupUsage();
    const usageFrames = read.payloads.filter((p) => p.usage != null);
    expect(usageFrames).toHaveLength(1);
    expect(usageFrames[0].usage).toEqual({
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion,
    });
    expect(new Set(read.payloads.map((p) => p.model))).toEqual(new Set(['m-backup']));
    expect(read.meta.target).toBe('backup');
    expect(read.meta.usage).toEqual({
      promptTokens: prompt,
      completionTokens: completion,
      totalTokens: prompt + completion,
    });
    expect(read.meta.costUsd).toBeCloseTo(cost({ prompt, completion }, PRICES.backup), 12);
    expect(outcomes(read.meta)).toEqual(['primary:overloaded', 'backup:ok']);
  });
});

describe('caller abort', () => {
  it('aborts the upstream request and resolves promptly', async () => {
    const engine = engineFor({ url: upstream.url });
    upstream.setHandler(() => ({ kind: 'hold' }));
    const controller = new AbortController();

    const pending = engine.handle({ body: chatBody(), signal: controller.signal });
    await until(() => upstream.requests.length === 1);
    const abortedAt = Date.now();
    controller.abort();
    const res = asJson(await pending);

    expect(Date.now() - abortedAt).toBeLessThan(TIMEOUTS.firstTokenMs / 2); // ended by the abort, not a timer
    expect(res.status).toBe(499);
    expect((res.body as { error: { code: string } }).error.code).toBe('request_aborted');
    await until(() => upstream.requests[0].closedEarlyAt !== undefined);
    expect(upstream.requests).toHaveLength(1); // no fallback for a caller who left
  });

  it('mid-stream: the caller’s abort ends the stream and closes the upstream connection', async () => {
    const engine = engineFor({ url: upstream.url });
    upstream.enqueue({ kind: 'stall', afterChunks: 3 });
    const controller = new AbortController();

    const res = await engine.handle({ body: chatBody({ stream: true }), signal: controller.signal });
    const stream = res.kind === 'stream' ? res : null;
    if (stream === null) throw new Error('expected a stream');
    const frames: string[] = [];
    let abortedAt = 0;
    for await (const frame of stream.events) {
      frames.push(frame);
      if (frames.length === 2) {
        abortedAt = Date.now();
        controller.abort();
      }
    }

    expect(Date.now() - abortedAt).toBeLessThan(TIMEOUTS.idleMs / 2); // ended by the abort, not idle
    expect(frames).toHaveLength(2);
    expect(frames.some((f) => f.includes('[DONE]') || f.includes('"error"'))).toBe(false);
    await until(() => upstream.requests[0].closedEarlyAt !== undefined);
    expect(upstream.requests).toHaveLength(1);
    await stream.done;
  });
});
