import { describe, expect, it } from 'vitest';
import { EngineError } from '../../../engine/errors.js';
import { createExecutor } from '../../../engine/runtime/attempts/index.js';
import type { Clock } from '../../../engine/shared/clock.js';
import { VirtualClock } from '../../../engine/shared/virtual-clock.js';
import type { EngineResponse } from '../../../engine/types.js';
import {
  createHarness,
  makeContext,
  makeDecision,
  makeTarget,
  readEvents,
  streamedText,
} from '../../support/decision-fixtures.js';
import { SimulatedProvider } from '../../support/simulated-provider.js';

function json(response: EngineResponse): Extract<EngineResponse, { kind: 'json' }> {
  if (response.kind !== 'json') throw new Error(`expected json, got ${response.kind}`);
  return response;
}

function stream(response: EngineResponse): Extract<EngineResponse, { kind: 'stream' }> {
  if (response.kind !== 'stream') throw new Error(`expected stream, got ${response.kind}`);
  return response;
}

const noRetry = { retry: { attempts: 0 } };

describe('execute: JSON', () => {
  it('answers from the first target with the serving model, headers, usage and cost', async () => {
    const h = createHarness({
      script: {
        a: [
          {
            type: 'ok',
            latencyMs: 40,
            usage: { promptTokens: 1000, completionTokens: 500, totalTokens: 1500 },
          },
        ],
      },
    });
    const a = makeTarget('a', { upstreamModel: 'a', price: { input: 2, output: 10 } });
    const res = json(await h.executor.execute(makeDecision([a, makeTarget('b')]), makeContext()));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ model: 'a', choices: [{ message: { content: 'hello' } }] });
    expect(res.headers).toEqual({
      'x-switchyard-route': 'r',
      'x-switchyard-target': 'a',
      'x-switchyard-attempts': '1',
      'x-switchyard-policy': 'test@1+abcdef012345',
    });
    expect(res.meta.target).toBe('a');
    expect(res.meta.usage).toEqual({ promptTokens: 1000, completionTokens: 500, totalTokens: 1500 });
    expect(res.meta.costUsd).toBeCloseTo((1000 * 2 + 500 * 10) / 1e6, 12);
    expect(res.meta.attempts).toEqual([
      {
        target: 'a',
        upstreamModel: 'a',
        outcome: 'ok',
        status: 200,
        startedAtMs: 0,
        durationMs: 40,
        firstByteMs: 40,
        firstTokenMs: 40,
        usage: { promptTokens: 1000, completionTokens: 500, totalTokens: 1500 },
      },
    ]);
    expect(res.meta.overheadMs).toBe(0);
    expect(h.sim.callsTo('b')).toHaveLength(0);
  });

  it('retries a 503 with backoff, then falls back to the next target', async () => {
    const overloaded = { type: 'error', errorClass: 'overloaded' } as const;
    const h = createHarness({ script: { a: [overloaded, overloaded, overloaded] } });
    const res = json(
      await h.executor.execute(makeDecision([makeTarget('a'), makeTarget('b')]), makeContext()),
    );
    expect(res.status).toBe(200);
    expect(res.meta.target).toBe('b');
    // random = 0.5, full jitter: 125 ms then 250 ms.
    expect(h.sim.calls.map((c) => [c.upstreamModel, c.startedAt])).toEqual([
      ['a', 0],
      ['a', 125],
      ['a', 375],
      ['b', 375],
    ]);
    expect(res.meta.attempts.map((a) => a.outcome)).toEqual(['overloaded', 'overloaded', 'overloaded', 'ok']);
    expect(res.headers['x-switchyard-attempts']).toBe('4');
  });

  for (const { what, retryAfterMs, target, calls } of [
    {
      what: 'honours a Retry-After within the cap',
      retryAfterMs: 5_000,
      target: 'a',
      calls: [
        ['a', 0],
        ['a', 5_000],
      ],
    },
    {
      what: 'fails over at once when Retry-After exceeds respectRetryAfter',
      retryAfterMs: 60_000,
      target: 'b',
      calls: [
        ['a', 0],
        ['b', 0],
      ],
    },
  ]) {
    it(what, async () => {
      const h = createHarness({
        script: { a: [{ type: 'error', errorClass: 'rate_limited', retryAfterMs }] },
      });
      const res = json(
        await h.executor.execute(makeDecision([makeTarget('a'), makeTarget('b')]), makeContext()),
      );
      expect(res.meta.target).toBe(target);
      expect(h.sim.calls.map((c) => [c.upstreamModel, c.startedAt])).toEqual(calls);
    });
  }

  it('fails over on a first-token timeout and never re-sends to that target', async () => {
    const h = createHarness({ script: { a: [{ type: 'hang' }] } });
    const a = makeTarget('a', {
      timeout: { firstTokenMs: 1_000 },
      retry: { retryOn: ['first_token', 'timeout'] },
    });
    const res = json(await h.executor.execute(makeDecision([a, makeTarget('b')]), makeContext()));
    expect(res.meta.target).toBe('b');
    expect(h.sim.calls.map((c) => [c.upstreamModel, c.startedAt, c.abortedAt])).toEqual([
      ['a', 0, 1_000],
      ['b', 1_000, null],
    ]);
    expect(res.meta.attempts[0]).toMatchObject({ outcome: 'first_token', durationMs: 1_000 });
  });

  it('answers 504 when the route deadline passes, and starts nothing after it', async () => {
    const h = createHarness({ script: { a: [{ type: 'hang' }], b: [{ type: 'hang' }] } });
    const decision = makeDecision([makeTarget('a'), makeTarget('b')], { timeout: { totalMs: 3_000 } });
    const res = json(await h.executor.execute(decision, makeContext()));
    expect(res.status).toBe(504);
    expect(res.body).toMatchObject({ error: { code: 'upstream_timeout', type: 'api_error' } });
    expect(h.clock.now()).toBe(3_000);
    expect(h.sim.calls.map((c) => c.upstreamModel)).toEqual(['a']);
    expect(h.clock.pending).toBe(0);
  });

  it('does not start a backoff that would cross the deadline: it fails over instead', async () => {
    const h = createHarness({
      script: { a: [{ type: 'error', errorClass: 'rate_limited', latencyMs: 900, retryAfterMs: 500 }] },
    });
    const decision = makeDecision([makeTarget('a'), makeTarget('b')], { timeout: { totalMs: 1_200 } });
    const res = json(await h.executor.execute(decision, makeContext()));
    expect(res.meta.target).toBe('b');
    expect(h.sim.calls.map((c) => [c.upstreamModel, c.startedAt])).toEqual([
      ['a', 0],
      ['b', 900],
    ]);
  });

  it('falls over on context_length to the next target with a larger context only', async () => {
    const h = createHarness({ script: { a: [{ type: 'error', errorClass: 'context_length' }] } });
    const targets = [
      makeTarget('a', { context: 8_000 }),
      makeTarget('small', { context: 4_000 }),
      makeTarget('unknown', { context: null }),
      makeTarget('big', { context: 32_000 }),
    ];
    const res = json(await h.executor.execute(makeDecision(targets), makeContext()));
    expect(res.meta.target).toBe('big');
    expect(h.sim.calls.map((c) => c.upstreamModel)).toEqual(['a', 'big']);
  });

  it('returns content_policy unchanged, with its status, and calls nothing else', async () => {
    const h = createHarness({
      script: {
        a: [{ type: 'error', errorClass: 'content_policy', status: 400, message: 'flagged by upstream' }],
      },
    });
    const res = json(
      await h.executor.execute(makeDecision([makeTarget('a'), makeTarget('b')]), makeContext()),
    );
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: { message: 'flagged by upstream', type: 'content_policy', code: 'content_policy' },
    });
    expect(h.sim.calls).toHaveLength(1);
    expect(res.headers['x-switchyard-target']).toBeUndefined();
  });

  it('falls back on content_policy when the policy lists it in fallbackOn', async () => {
    const h = createHarness({ script: { a: [{ type: 'error', errorClass: 'content_policy' }] } });
    const a = makeTarget('a', { retry: { fallbackOn: ['content_policy'] } });
    const res = json(await h.executor.execute(makeDecision([a, makeTarget('b')]), makeContext()));
    expect(res.meta.target).toBe('b');
  });

  it('answers 503 with retry-after when every target is rate limited', async () => {
    const limited = { type: 'error', errorClass: 'rate_limited', retryAfterMs: 60_000 } as const;
    const h = createHarness({ script: { a: [limited], b: [limited] } });
    const res = json(
      await h.executor.execute(makeDecision([makeTarget('a'), makeTarget('b')]), makeContext()),
    );
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('60');
    expect(res.body).toMatchObject({ error: { code: 'upstream_unavailable' } });
  });

  it('answers 502 after server errors, or the route onExhausted response', async () => {
    const h = createHarness({ script: { a: [{ type: 'error', errorClass: 'server_error' }] } });
    const res = json(await h.executor.execute(makeDecision([makeTarget('a', noRetry)]), makeContext()));
    expect(res.status).toBe(502);
    expect(res.body).toMatchObject({ error: { code: 'upstream_failed' } });
    expect(JSON.stringify(res.body)).not.toContain('simulated');

    h.sim.push('a', { type: 'error', errorClass: 'server_error' });
    const custom = makeDecision([makeTarget('a', noRetry)], {
      onExhausted: { status: 503, message: 'Try later.' },
    });
    const res2 = json(await h.executor.execute(custom, makeContext()));
    expect(res2.status).toBe(503);
    expect(res2.body).toEqual({
      error: { message: 'Try later.', type: 'api_error', code: 'upstream_failed' },
    });
  });

  it('caps the total number of calls at maxAttempts', async () => {
    const err = { type: 'error', errorClass: 'server_error' } as const;
    const h = createHarness({ script: { a: [err, err, err], b: [err, err, err] } });
    const res = json(
      await h.executor.execute(
        makeDecision([makeTarget('a'), makeTarget('b')], { maxAttempts: 4 }),
        makeContext(),
      ),
    );
    expect(res.status).toBe(502);
    expect(h.sim.calls.map((c) => c.upstreamModel)).toEqual(['a', 'a', 'a', 'b']);
  });

  it('stops retrying when the route retry budget is spent, but still fails over', async () => {
    const err = { type: 'error', errorClass: 'server_error' } as const;
    const h = createHarness({
      retryBudget: { minRetries: 1, ratio: 0 },
      script: { a: [err, err, err, err] },
    });
    const decision = makeDecision([makeTarget('a'), makeTarget('b')]);
    await h.executor.execute(decision, makeContext());
    expect(h.sim.calls.map((c) => c.upstreamModel)).toEqual(['a', 'a', 'b']);
    await h.executor.execute(decision, makeContext());
    expect(h.sim.calls.map((c) => c.upstreamModel)).toEqual(['a', 'a', 'b', 'a', 'b']);
  });

  it('orders a latency group by EWMA, unmeasured targets first', async () => {
    const h = createHarness({
      script: { a: [{ type: 'ok', latencyMs: 500 }], b: [{ type: 'ok', latencyMs: 100 }] },
    });
    const [a, b] = [makeTarget('a'), makeTarget('b')];
    const decision = makeDecision([a, b], {
      plan: {
        kind: 'group',
        strategy: 'latency',
        children: [
          { kind: 'target', target: a },
          { kind: 'target', target: b },
        ],
      },
    });
    h.executor.latency.observe('b', 100);
    expect(json(await h.executor.execute(decision, makeContext())).meta.target).toBe('a'); // a unmeasured
    expect(json(await h.executor.execute(decision, makeContext())).meta.target).toBe('b'); // 100 < 500
  });

  it('stops everything when the caller aborts', async () => {
    const h = createHarness({ script: { a: [{ type: 'hang' }] } });
    const controller = new AbortController();
    const pending = h.executor.execute(
      makeDecision([makeTarget('a'), makeTarget('b')]),
      makeContext(),
      controller.signal,
    );
    await h.clock.sleep(500);
    controller.abort();
    const error = await pending.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(EngineError);
    expect((error as EngineError).code).toBe('request_aborted');
    expect(h.sim.calls.map((c) => [c.upstreamModel, c.abortedAt])).toEqual([['a', 500]]);
    await h.clock.sleep(100_000);
    expect(h.sim.calls).toHaveLength(1);
    expect(h.executor.breakers.get(makeTarget('a')).snapshot().recentFailures).toBe(0);
  });

  it('rejects with request_aborted during a backoff', async () => {
    const h = createHarness({
      script: { a: [{ type: 'error', errorClass: 'rate_limited', retryAfterMs: 10_000 }] },
    });
    const controller = new AbortController();
    const pending = h.executor.execute(makeDecision([makeTarget('a')]), makeContext(), controller.signal);
    await h.clock.sleep(1_000);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'request_aborted' });
    expect(h.sim.calls).toHaveLength(1);
  });
});

describe('execute: circuit breaker', () => {
  const breaker = { failures: 2, windowMs: 10_000, cooldownMs: 5_000 };
  const fail = { type: 'error', errorClass: 'server_error' } as const;

  it('opens after repeated failures, and the route then uses the next target', async () => {
    const h = createHarness({ script: { a: [fail, fail] } });
    const decision = makeDecision([makeTarget('a', { ...noRetry, breaker }), makeTarget('b')]);
    for (let i = 0; i < 3; i++)
      expect(json(await h.executor.execute(decision, makeContext())).meta.target).toBe('b');
    expect(h.sim.calls.map((c) => c.upstreamModel)).toEqual(['a', 'b', 'a', 'b', 'b']);
    expect(h.executor.breakers.get(makeTarget('a', { breaker })).state).toBe('open');
  });

  it('half-opens after the cooldown with one probe, then serves from the primary again', async () => {
    const h = createHarness({ script: { a: [fail, fail] } });
    const decision = makeDecision([makeTarget('a', { ...noRetry, breaker }), makeTarget('b')]);
    await h.executor.execute(decision, makeContext());
    await h.executor.execute(decision, makeContext());
    await h.clock.sleep(5_000);
    const state = h.executor.breakers.get(makeTarget('a', { breaker }));
    expect(state.state).toBe('half_open');
    expect(json(await h.executor.execute(decision, makeContext())).meta.target).toBe('a');
    expect(state.state).toBe('closed');
    expect(json(await h.executor.execute(decision, makeContext())).meta.target).toBe('a');
  });

  it('half-open admits a single probe: a concurrent request skips the target', async () => {
    const h = createHarness({ script: { a: [fail, fail, { type: 'ok', latencyMs: 1_000 }] } });
    const decision = makeDecision([makeTarget('a', { ...noRetry, breaker }), makeTarget('b')]);
    await h.executor.execute(decision, makeContext());
    await h.executor.execute(decision, makeContext());
    await h.clock.sleep(5_000);
    const [probe, other] = await Promise.all([
      h.executor.execute(decision, makeContext()),
      h.executor.execute(decision, makeContext()),
    ]);
    expect([json(probe).meta.target, json(other).meta.target]).toEqual(['a', 'b']);
  });

  it('when every target is open, calls the one whose cooldown ends first', async () => {
    const h = createHarness({ script: { a: [fail], b: [fail] } });
    const one = { failures: 1, windowMs: 10_000, cooldownMs: 5_000 };
    const a = makeTarget('a', { ...noRetry, breaker: one });
    const b = makeTarget('b', { ...noRetry, breaker: one });
    await h.executor.execute(makeDecision([b]), makeContext()); // b opens at t = 0
    await h.clock.sleep(1_000);
    await h.executor.execute(makeDecision([a]), makeContext()); // a opens at t = 1000
    const res = json(await h.executor.execute(makeDecision([a, b]), makeContext()));
    expect(res.meta.target).toBe('b');
    expect(h.sim.calls.map((c) => c.upstreamModel)).toEqual(['b', 'a', 'b']);
  });
});

describe('execute: streaming', () => {
  it('streams chunks with the serving model and ends with [DONE]', async () => {
    const h = createHarness({
      script: {
        a: [
          {
            type: 'ok',
            chunks: [
              { text: 'hel', delayMs: 10 },
              { text: 'lo', delayMs: 10 },
            ],
          },
        ],
      },
    });
    const res = stream(
      await h.executor.execute(makeDecision([makeTarget('a')]), makeContext({ stream: true })),
    );
    expect(res.headers['x-switchyard-target']).toBe('a');
    const frames = await readEvents(res.events);
    expect(streamedText(frames)).toBe('hello');
    expect(frames.at(-1)).toBe('data: [DONE]\n\n');
    for (const f of frames.slice(0, -1)) expect(JSON.parse(f.slice(6))).toMatchObject({ model: 'a' });
    const meta = await res.done;
    expect(meta.attempts).toMatchObject([{ target: 'a', outcome: 'ok', firstTokenMs: 10, durationMs: 20 }]);
  });

  it('falls back invisibly when a stream fails before its first content', async () => {
    const h = createHarness({
      script: { a: [{ type: 'cut', chunks: [] }], b: [{ type: 'ok', chunks: [{ text: 'from b' }] }] },
    });
    const res = stream(
      await h.executor.execute(
        makeDecision([makeTarget('a', noRetry), makeTarget('b')]),
        makeContext({ stream: true }),
      ),
    );
    const frames = await readEvents(res.events);
    expect(streamedText(frames)).toBe('from b');
    expect(frames.join('')).not.toContain('error');
    expect(frames.at(-1)).toBe('data: [DONE]\n\n');
    expect((await res.done).attempts.map((a) => a.outcome)).toEqual(['stream_cut', 'ok']);
  });

  it('falls back invisibly on a first-token timeout while the stream is silent', async () => {
    const h = createHarness({ script: { a: [{ type: 'stall', chunks: [] }] } });
    const a = makeTarget('a', { timeout: { firstTokenMs: 2_000 } });
    const res = stream(
      await h.executor.execute(makeDecision([a, makeTarget('b')]), makeContext({ stream: true })),
    );
    expect(streamedText(await readEvents(res.events))).toBe('hello');
    expect((await res.done).attempts.map((x) => [x.target, x.outcome, x.durationMs])).toEqual([
      ['a', 'first_token', 2_000],
      ['b', 'ok', 0],
    ]);
  });

  it('midStream error: ends with an in-band error event and no [DONE]', async () => {
    const h = createHarness({ script: { a: [{ type: 'cut', chunks: [{ text: 'hel' }] }] } });
    const res = stream(
      await h.executor.execute(
        makeDecision([makeTarget('a'), makeTarget('b', { prefill: true })]),
        makeContext({ stream: true }),
      ),
    );
    const frames = await readEvents(res.events);
    expect(streamedText(frames)).toBe('hel');
    expect(frames).not.toContain('data: [DONE]\n\n');
    expect(JSON.parse(frames.at(-1)?.slice(6) ?? '')).toEqual({
      error: {
        message: expect.stringContaining('stream_cut'),
        type: 'api_error',
        code: 'stream_interrupted',
      },
    });
    expect(h.sim.callsTo('b')).toHaveLength(0);
    expect((await res.done).attempts.map((a) => a.outcome)).toEqual(['stream_cut']);
  });

  it('midStream idle timeout is an in-band error too', async () => {
    const h = createHarness({ script: { a: [{ type: 'stall', chunks: [{ text: 'hel' }] }] } });
    const a = makeTarget('a', { timeout: { idleMs: 3_000 } });
    const res = stream(await h.executor.execute(makeDecision([a]), makeContext({ stream: true })));
    const frames = await readEvents(res.events);
    expect(frames.at(-1)).toContain('"code":"stream_interrupted"');
    expect(h.clock.now()).toBe(3_000);
    expect(h.sim.calls[0].abortedAt).toBe(3_000);
    expect((await res.done).attempts.map((x) => x.outcome)).toEqual(['idle']);
  });

  it('midStream continue: resumes with a prefill on the next prefill-capable target only', async () => {
    const h = createHarness({
      script: {
        a: [{ type: 'cut', chunks: [{ text: 'hel' }] }],
        c: [{ type: 'ok', chunks: [{ text: 'lo' }] }],
      },
    });
    const targets = [makeTarget('a'), makeTarget('b'), makeTarget('c', { prefill: true })];
    const res = stream(
      await h.executor.execute(
        makeDecision(targets, { midStream: 'continue' }),
        makeContext({ stream: true }),
      ),
    );
    const frames = await readEvents(res.events);
    expect(streamedText(frames)).toBe('hello');
    expect(frames.at(-1)).toBe('data: [DONE]\n\n');
    expect(h.sim.calls.map((c) => [c.upstreamModel, c.prefill])).toEqual([
      ['a', undefined],
      ['c', 'hel'],
    ]);
    const ids = new Set(frames.slice(0, -1).map((f) => (JSON.parse(f.slice(6)) as { id: string }).id));
    expect(ids.size).toBe(1);
    const meta = await res.done;
    expect(meta.target).toBe('c');
    expect(meta.attempts.map((x) => x.outcome)).toEqual(['stream_cut', 'ok']);
  });

  it('midStream continue: keeps the ORIGINAL error when the fallback rejects the prefill', async () => {
    const h = createHarness({
      script: {
        a: [{ type: 'cut', chunks: [{ text: 'hel' }], errorClass: 'malformed' }],
        c: [{ type: 'error', errorClass: 'bad_request', message: 'prefill not supported' }],
      },
    });
    const targets = [makeTarget('a'), makeTarget('c', { prefill: true })];
    const res = stream(
      await h.executor.execute(
        makeDecision(targets, { midStream: 'continue' }),
        makeContext({ stream: true }),
      ),
    );
    const frames = await readEvents(res.events);
    expect(frames).not.toContain('data: [DONE]\n\n');
    expect(frames.at(-1)).toContain('malformed');
    expect(frames.at(-1)).not.toContain('prefill not supported');
    expect(h.sim.calls.map((c) => c.upstreamModel)).toEqual(['a', 'c']);
  });

  it('midStream continue with no prefill target ends with the original error', async () => {
    const h = createHarness({ script: { a: [{ type: 'cut', chunks: [{ text: 'hel' }] }] } });
    const res = stream(
      await h.executor.execute(
        makeDecision([makeTarget('a'), makeTarget('b')], { midStream: 'continue' }),
        makeContext({ stream: true }),
      ),
    );
    const frames = await readEvents(res.events);
    expect(frames.at(-1)).toContain('stream_interrupted');
    expect(h.sim.calls).toHaveLength(1);
  });

  it('a stream with a finish_reason but no [DONE] is complete: [DONE] is added', async () => {
    const h = createHarness({ script: { a: [{ type: 'ok', omitDone: true }] } });
    const res = stream(
      await h.executor.execute(makeDecision([makeTarget('a')]), makeContext({ stream: true })),
    );
    const frames = await readEvents(res.events);
    expect(frames.at(-1)).toBe('data: [DONE]\n\n');
    expect((await res.done).attempts[0].outcome).toBe('ok');
  });

  it('forwards usage only when the caller asked for it', async () => {
    const usage = { promptTokens: 3, completionTokens: 4, totalTokens: 7 };
    const h = createHarness({
      script: {
        a: [
          { type: 'ok', usage },
          { type: 'ok', usage },
        ],
      },
    });
    const decision = makeDecision([makeTarget('a')]);
    const without = stream(await h.executor.execute(decision, makeContext({ stream: true })));
    expect((await readEvents(without.events)).join('')).not.toContain('usage');
    expect((await without.done).usage).toEqual(usage);
    const withUsage = stream(
      await h.executor.execute(decision, makeContext({ stream: true, includeUsage: true })),
    );
    const frames = await readEvents(withUsage.events);
    expect(JSON.parse(frames.at(-2)?.slice(6) ?? '')).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
    });
  });

  it('aborts upstream when the consumer stops iterating', async () => {
    const h = createHarness({
      script: {
        a: [
          { type: 'ok', chunks: [{ text: 'a' }, { text: 'b', delayMs: 100 }, { text: 'c', delayMs: 100 }] },
        ],
      },
    });
    const res = stream(
      await h.executor.execute(makeDecision([makeTarget('a')]), makeContext({ stream: true })),
    );
    for await (const frame of res.events) {
      if (frame.includes('"content":"a"')) break;
    }
    expect(h.sim.calls[0].abortedAt).toBe(0);
    const meta = await res.done;
    expect(meta.attempts.map((a) => a.outcome)).toEqual(['ok']);
    expect(h.executor.breakers.get(makeTarget('a')).snapshot().recentFailures).toBe(0);
  });

  it('the caller aborting a committed stream cancels upstream and ends the events', async () => {
    const h = createHarness({
      script: { a: [{ type: 'ok', chunks: [{ text: 'a' }, { text: 'b', delayMs: 1_000 }] }] },
    });
    const controller = new AbortController();
    const res = stream(
      await h.executor.execute(
        makeDecision([makeTarget('a')]),
        makeContext({ stream: true }),
        controller.signal,
      ),
    );
    void h.clock.sleep(500).then(() => controller.abort());
    const frames = await readEvents(res.events);
    expect(streamedText(frames)).toBe('a');
    expect(frames).not.toContain('data: [DONE]\n\n');
    expect(h.sim.calls[0].abortedAt).toBe(500);
    expect((await res.done).attempts.map((x) => [x.outcome, x.durationMs])).toEqual([['ok', 500]]);
    expect(h.executor.breakers.get(makeTarget('a')).state).toBe('closed');
  });

  it('the total deadline bounds a committed stream', async () => {
    const h = createHarness({
      script: {
        a: [
          {
            type: 'ok',
            chunks: [{ text: 'a' }, { text: 'b', delayMs: 4_000 }, { text: 'c', delayMs: 4_000 }],
          },
        ],
      },
    });
    const decision = makeDecision([makeTarget('a')], { timeout: { totalMs: 6_000 } });
    const res = stream(await h.executor.execute(decision, makeContext({ stream: true })));
    const frames = await readEvents(res.events);
    expect(streamedText(frames)).toBe('ab');
    expect(frames.at(-1)).toContain('stream_interrupted');
    expect(h.clock.now()).toBe(6_000);
  });
});

describe('execute: first token vs idle', () => {
  // Regression: the idle timer ran from a content-less role chunk, so a model that sends its role
  // at once and thinks before the first token was cut at `idle` instead of `firstToken`.
  it('a role chunk does not start the idle timer: only first-token bounds the wait for content', async () => {
    const h = createHarness({ script: { a: [{ type: 'ok', chunks: [{ delayMs: 2_500, text: 'hello' }] }] } });
    const a = makeTarget('a', { timeout: { idleMs: 2_000, firstTokenMs: 5_000 } });
    const res = stream(
      await h.executor.execute(makeDecision([a, makeTarget('b')]), makeContext({ stream: true })),
    );
    expect(streamedText(await readEvents(res.events))).toBe('hello');
    expect((await res.done).attempts.map((x) => [x.target, x.outcome, x.firstTokenMs])).toEqual([
      ['a', 'ok', 2_500],
    ]);
    expect(h.sim.callsTo('b')).toHaveLength(0);
  });
});

describe('execute: real timers', () => {
  // Real timers run on libuv's cached loop time and can fire a millisecond before the clock reads
  // the deadline. Regression: a first-token timeout was then reported as `idle`.
  it('classifies a timer that fires slightly early by the limit it was waiting for', async () => {
    const virtual = new VirtualClock({ auto: true });
    const early: Clock = {
      now: () => virtual.now(),
      sleep: (ms, signal) => virtual.sleep(Math.max(0, ms - 1), signal),
    };
    const sim = new SimulatedProvider({ clock: virtual, script: { a: [{ type: 'hang' }] } });
    const executor = createExecutor({ providers: new Map([['sim', sim]]), clock: early, random: () => 0.5 });
    const a = makeTarget('a', { timeout: { firstTokenMs: 1_000 } });
    const res = json(await executor.execute(makeDecision([a, makeTarget('b')]), makeContext()));
    expect(res.meta.attempts.map((x) => [x.target, x.outcome])).toEqual([
      ['a', 'first_token'],
      ['b', 'ok'],
    ]);
  });
});
