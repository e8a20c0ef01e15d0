/**
 * Rate limits through `engine.handle()`: a refused request is a 429 `rate_limited` with
 * `Retry-After` and `x-ratelimit-*`; token limits reserve an estimate and reconcile with the
 * usage the answer reported (JSON at once, streams at their end); a limit keyed on `target` makes
 * the route skip a target at its limit. Virtual time: nothing refills unless the test says so.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../engine/shared/virtual-clock.js';
import { asJson, asStream, closeEngines, harness, readStream, request, T0 } from './helpers.js';

afterEach(closeEngines);

const ROUTE = (rules: string) => `
  - name: main
    targets: [primary, backup]
${rules}`;

/** A harness on virtual time whose route `main` applies one limit, `name`, defined as `definition`. */
function limitedHarness(name: string, definition: string, mock?: string) {
  const clock = new VirtualClock({ start: T0 });
  const policy = {
    sections: `limits:\n  ${name}: ${definition}\n`,
    routes: ROUTE(`    limits: [${name}]`),
    mock,
  };
  return { clock, h: harness(policy, { clock }) };
}

describe('request limits', () => {
  it('refuses over the limit with 429, Retry-After and x-ratelimit-* headers, and admits after the wait', async () => {
    const { clock, h } = limitedHarness('rpm', '{ key: [tenant], requests: 2/min }');
    const first = asJson(await h.engine.handle(request()));
    expect(first.status).toBe(200);
    expect(first.headers).toMatchObject({
      'x-ratelimit-limit-requests': '2',
      'x-ratelimit-remaining-requests': '1',
      'x-ratelimit-reset-requests': '30s',
    });
    expect(first.headers['retry-after']).toBeUndefined();
    expect(asJson(await h.engine.handle(request())).status).toBe(200);

    const refused = asJson(await h.engine.handle(request()));
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({
      error: { message: expect.any(String), type: 'rate_limit_error', code: 'rate_limited' },
    });
    expect(refused.headers).toMatchObject({
      'retry-after': '30',
      'x-ratelimit-limit-requests': '2',
      'x-ratelimit-remaining-requests': '0',
      'x-ratelimit-reset-requests': '1m0s',
      'x-switchyard-route': 'main',
    });
    expect(h.calls).toHaveLength(2); // the refused request never went upstream
    expect(h.limits).toEqual([
      expect.objectContaining({ kind: 'rate_limited', route: 'main', rules: ['rpm'], retryAfterMs: 30_000 }),
    ]);

    // Another tenant has its own counter.
    expect(asJson(await h.engine.handle(request({ tenant: 'globex' }))).status).toBe(200);

    await clock.advance(30_000);
    expect(asJson(await h.engine.handle(request())).status).toBe(200);
  });

  it('applies only when its `when` matches', async () => {
    const { h } = limitedHarness('free', '{ key: [tenant], requests: 1/min, when: { label.tier: free } }');
    for (let i = 0; i < 3; i++) expect(asJson(await h.engine.handle(request())).status).toBe(200);
    expect(asJson(await h.engine.handle(request({ tenant: 'globex' }))).status).toBe(200);
    expect(asJson(await h.engine.handle(request({ tenant: 'globex' }))).status).toBe(429);
  });
});

describe('token limits', () => {
  // The mock answers "Echo: <prompt>": usage = ceil(chars/4) prompt + ceil(reply/4) completion.
  const content = 'x'.repeat(40); // 10 prompt tokens upstream; the estimate adds 4 per message
  const estimate = 10 + 4 + 500; // input estimate + max_tokens
  const actual = 10 + Math.ceil(`Echo: ${content}`.length / 4); // 10 + 12

  it('reserves input + max_tokens at admission and reconciles with the real usage (JSON)', async () => {
    const { h } = limitedHarness('tpm', '{ key: [tenant], tokens: 1000/min }');
    const first = asJson(await h.engine.handle(request({ content, maxTokens: 500 })));
    expect(first.status).toBe(200);
    expect(first.headers['x-ratelimit-limit-tokens']).toBe('1000');
    expect(first.headers['x-ratelimit-remaining-tokens']).toBe(String(1000 - estimate));
    // The second sees the first reconciled to its real usage, plus its own reservation.
    const second = asJson(await h.engine.handle(request({ content, maxTokens: 500 })));
    expect(second.headers['x-ratelimit-remaining-tokens']).toBe(String(1000 - actual - estimate));
    // A request that cannot fit now is refused with the wait until it does.
    const third = asJson(await h.engine.handle(request({ content, maxTokens: 950 })));
    expect(third.status).toBe(429);
    expect(third.headers['x-ratelimit-remaining-tokens']).toBe(String(1000 - 2 * actual));
    expect(Number(third.headers['retry-after'])).toBeGreaterThan(0);
    // One larger than the whole capacity can never fit: refused, and says so.
    const huge = asJson(await h.engine.handle(request({ content, maxTokens: 5000 })));
    expect(huge.status).toBe(429);
    expect(JSON.stringify(huge.body)).toContain('can ever admit');
  });

  it('reconciles a stream when it ends, with the usage reported at the end of the stream', async () => {
    const { h } = limitedHarness('tpm', '{ key: [tenant], tokens: 1000/min }');
    const stream = asStream(await h.engine.handle(request({ content, maxTokens: 500, stream: true })));
    expect(stream.headers['x-ratelimit-remaining-tokens']).toBe(String(1000 - estimate));
    // While the stream runs, the reservation is held.
    const during = asJson(await h.engine.handle(request({ content, maxTokens: 100 })));
    expect(during.headers['x-ratelimit-remaining-tokens']).toBe(String(1000 - estimate - (14 + 100)));
    const read = await readStream(stream);
    expect(read.done).toBe(true);
    // After the end: the stream's real usage and the JSON request's real usage.
    const after = asJson(await h.engine.handle(request({ content, maxTokens: 100 })));
    expect(after.headers['x-ratelimit-remaining-tokens']).toBe(String(1000 - 2 * actual - (14 + 100)));
  });

  it('gives back the reservation of a request that failed without usage', async () => {
    const { h } = limitedHarness('tpm', '{ key: [tenant], tokens: 1000/min }', 'sequence: [server_error]');
    const failed = asJson(await h.engine.handle(request({ content, maxTokens: 500 })));
    expect(failed.status).toBe(502);
    const next = asJson(await h.engine.handle(request({ content, maxTokens: 500 })));
    expect(next.headers['x-ratelimit-remaining-tokens']).toBe(String(1000 - estimate));
  });
});

describe('limits keyed on target', () => {
  it('skip a target at its limit instead of calling it, and refuse with 429 when every target is', async () => {
    const { clock, h } = limitedHarness('provider-rpm', '{ key: [target], requests: 1/min }');
    const first = asJson(await h.engine.handle(request()));
    expect(first.headers['x-switchyard-target']).toBe('primary');
    const second = asJson(await h.engine.handle(request({ tenant: 'globex' })));
    expect(second.status).toBe(200);
    expect(second.headers['x-switchyard-target']).toBe('backup');
    expect(second.headers['x-switchyard-attempts']).toBe('1'); // primary was skipped, not called
    const third = asJson(await h.engine.handle(request()));
    expect(third.status).toBe(429);
    expect(third.body).toMatchObject({ error: { code: 'rate_limited' } });
    expect(third.headers['retry-after']).toBe('60');
    expect(h.calls).toEqual(['primary', 'backup']);
    expect(h.limits.map((e) => [e.kind, e.target])).toEqual([
      ['target_rate_limited', 'primary'],
      ['target_rate_limited', 'primary'],
      ['target_rate_limited', 'backup'],
    ]);
    await clock.advance(60_000);
    expect(asJson(await h.engine.handle(request())).headers['x-switchyard-target']).toBe('primary');
  });

  it('count retries of the same target as calls', async () => {
    const clock = new VirtualClock({ start: T0, auto: true });
    const h = harness(
      {
        sections: 'limits:\n  provider-rpm: { key: [target], requests: 2/min }\n',
        routes: `
  - name: main
    targets: [primary, backup]
    limits: [provider-rpm]
    retry: { attempts: 3, backoff: { initial: 10ms, max: 10ms, jitter: none } }`,
        mock: 'sequence: [server_error, server_error, server_error, ok]',
      },
      { clock },
    );
    // Each target: two calls (both 500, the mock's sequence is per upstream model), then its
    // limit refuses the third; the request fails over, and ends when both are spent.
    const res = asJson(await h.engine.handle(request()));
    expect(h.calls).toEqual(['primary', 'primary', 'backup', 'backup']);
    expect(res.status).toBe(502);
  });
});
