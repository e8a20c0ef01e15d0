/**
 * The upstream connection pool end to end: `createEngine(...).handle()` with the real undici
 * transport against long streams on a loopback upstream. With the default pool every concurrent
 * stream starts at once; with a small `connections` the request that finds no free connection
 * fails as `connect` at the connect timeout, never as a first-token timeout.
 */
import { describe, expect, it } from 'vitest';
import { chunkPayload, sse } from '../../support/upstream.js';
import {
  asJson,
  chatBody,
  engineFor,
  outcomes,
  readStream,
  TIMEOUTS,
  useExecutionUpstream,
} from './helpers.js';

const upstream = useExecutionUpstream();

/** A stream that sends its first content at once, then holds the connection `holdMs` before finishing. */
function longStream(holdMs: number) {
  return {
    kind: 'raw' as const,
    chunks: [
      sse(chunkPayload({ model: 'm', delta: { role: 'assistant', content: 'hi' } })),
      sse(chunkPayload({ model: 'm', finishReason: 'stop' })) + sse('[DONE]'),
    ],
    delayMs: holdMs,
  };
}

/**
 * One route on `model`, with first-token and idle bounds far above the streams' hold; `connect`
 * (the policy's 200 ms unless given) is the bound on opening a connection or waiting for one.
 */
function longRoutes(model: string, connect = `${TIMEOUTS.connectMs}ms`): string {
  return `
  - name: main
    targets: [${model}]
    timeout: { connect: ${connect}, firstToken: 20s, idle: 20s, total: 30s }
    retry: { attempts: 0 }`;
}

describe('upstream connection pool', () => {
  it('starts 300 concurrent long streams to one provider at once with the default pool', async () => {
    const HOLD_MS = 4000;
    const COUNT = 300;
    // 300 connections opened at once on a loaded CI machine can take longer than 200 ms.
    const engine = engineFor({ url: upstream.url, routes: longRoutes('primary', '10s') });
    upstream.setHandler(() => longStream(HOLD_MS));

    const firstContentAt: number[] = [];
    const responses = await Promise.all(
      Array.from({ length: COUNT }, async () => {
        // handle() resolves once the first content has arrived (or the attempt failed).
        const res = await engine.handle({ body: chatBody({ stream: true }) });
        firstContentAt.push(Date.now());
        return res;
      }),
    );

    // Every stream reached the upstream, and had its first content, before the first of them
    // could end: none queued behind another (with undici's former cap of 128 per pool, the 129th
    // only started once a stream ended).
    expect(upstream.requests).toHaveLength(COUNT);
    const arrivals = upstream.requests.map((r) => r.at);
    const firstEnd = Math.min(...arrivals) + HOLD_MS;
    expect(Math.max(...arrivals)).toBeLessThan(firstEnd);
    expect(Math.max(...firstContentAt)).toBeLessThan(firstEnd);

    const read = await Promise.all(responses.map((res) => readStream(res)));
    for (const stream of read) {
      expect(stream.text).toBe('hi');
      expect(stream.done).toBe(true);
      expect(outcomes(stream.meta)).toEqual(['primary:ok']);
    }
  }, 30_000);

  it('fails the call that finds every connection busy as connect at the connect timeout', async () => {
    const HOLD_MS = 1500;
    const engine = engineFor({
      url: upstream.url,
      providers: `\n  pooled: { kind: openai, baseUrl: "${upstream.url}", apiKey: sk-upstream-test, connections: 2 }`,
      models: '\n  small: { provider: pooled, model: m-small }',
      routes: longRoutes('small'),
    });
    upstream.setHandler(() => longStream(HOLD_MS));

    const held = await Promise.all([
      engine.handle({ body: chatBody({ stream: true }) }),
      engine.handle({ body: chatBody({ stream: true }) }),
    ]);
    const started = Date.now();
    const third = asJson(await engine.handle({ body: chatBody({ stream: true }) }));
    const elapsed = Date.now() - started;

    // The third never reached the upstream: it waited for a connection for the connect timeout
    // (200 ms), not for the first-token timeout (20 s) or for a held stream to end (1.5 s).
    expect(upstream.requests).toHaveLength(2);
    expect(third.status).toBeGreaterThanOrEqual(500);
    expect(outcomes(third.meta)).toEqual(['small:connect']);
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUTS.connectMs - 5);
    expect(elapsed).toBeLessThan(TIMEOUTS.connectMs + 400);

    // The held streams are unaffected, and their connections serve the next call once free.
    for (const stream of await Promise.all(held.map((res) => readStream(res)))) {
      expect(stream.text).toBe('hi');
      expect(stream.done).toBe(true);
    }
    upstream.setHandler(null);
    const after = asJson(await engine.handle({ body: chatBody() }));
    expect(after.status).toBe(200);
    expect(outcomes(after.meta)).toEqual(['small:ok']);
    const ports = new Set(upstream.requests.slice(0, 2).map((r) => r.remotePort));
    expect(ports.has(upstream.requests[2].remotePort)).toBe(true);
  });
});
