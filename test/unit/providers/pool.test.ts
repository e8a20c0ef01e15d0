/**
 * The transport's connection pool against a real loopback upstream: the `connections` cap and
 * the wait for a free connection under the connect timeout (never past it, never deaf to an
 * abort), keep-alive settings per request, and the Slots queue on its own.
 */
import { describe, expect, it } from 'vitest';
import { Slots } from '../../../engine/providers/pool.js';
import {
  createUndiciTransport,
  type HttpRequest,
  type HttpResponse,
  type Transport,
  TransportError,
} from '../../../engine/providers/transport.js';
import { chatPost } from '../../support/providers.js';
import { startSilentListener } from '../../support/silent-listener.js';
import { useUpstream } from '../../support/use-upstream.js';

const transports: Transport[] = [];
const upstream = useUpstream({ beforeClose: () => Promise.all(transports.map((t) => t.close())) });

function transport(options: Parameters<typeof createUndiciTransport>[0] = {}): Transport {
  const t = createUndiciTransport(options);
  transports.push(t);
  return t;
}

const request = (overrides: Partial<HttpRequest> = {}): HttpRequest => chatPost(upstream.url, overrides);

/** How a promise settled, or `pending` after `ms`: a request stuck in a queue must not hang the test. */
async function settle<T>(
  promise: Promise<T>,
  ms = 2000,
): Promise<{ value?: T; error?: unknown } | 'pending'> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<'pending'>((resolve) => {
    timer = setTimeout(() => resolve('pending'), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function transportError(outcome: Awaited<ReturnType<typeof settle>>): TransportError {
  expect(outcome).not.toBe('pending');
  const error = outcome === 'pending' ? undefined : outcome.error;
  expect(error).toBeInstanceOf(TransportError);
  return error as TransportError;
}

/** Streams that send one piece and then hold their connection open. */
function holdStreams(): void {
  upstream.setHandler(() => ({ kind: 'raw', chunks: ['data: 1\n\n'], end: 'hold' }));
}

async function drop(responses: HttpResponse[]): Promise<void> {
  for (const res of responses) {
    const iterator = res.body[Symbol.asyncIterator]();
    await iterator.return?.();
  }
}

describe('connection cap', () => {
  it('fails a request that gets no connection within the connect timeout as connect', async () => {
    holdStreams();
    const t = transport({ connections: 2 });
    const held = await Promise.all([t.request(request()), t.request(request())]);

    const started = performance.now();
    const err = transportError(await settle(t.request(request({ connectTimeoutMs: 150 }))));
    const elapsed = performance.now() - started;

    expect(err.code).toBe('connect');
    expect(err.message).toMatch(/no free connection .* within the connect timeout of 150 ms/);
    expect(elapsed).toBeGreaterThanOrEqual(145);
    expect(elapsed).toBeLessThan(600);
    expect(upstream.requests).toHaveLength(2);
    await drop(held);
  });

  it('fails a request waiting for a connection at once when its signal aborts', async () => {
    holdStreams();
    const t = transport({ connections: 1 });
    const held = await t.request(request());
    const controller = new AbortController();
    const waiting = t.request(request({ signal: controller.signal, connectTimeoutMs: 0 }));
    setTimeout(() => controller.abort(new Error('first-token deadline')), 50);

    const err = transportError(await settle(waiting, 1000));

    expect(err.code).toBe('aborted');
    expect((err.cause as Error).message).toBe('first-token deadline');
    expect(upstream.requests).toHaveLength(1);
    await drop([held]);
  });

  it('fails a request waiting for a connection when the transport closes', async () => {
    holdStreams();
    const t = transport({ connections: 1 });
    await t.request(request());
    const waiting = settle(t.request(request({ connectTimeoutMs: 0 })), 1000);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await t.close();

    const err = transportError(await waiting);
    expect(err.code).toBe('connect');
    expect(err.message).toBe('transport is closed');
  });

  it("takes each request's own pool settings over the transport's defaults", async () => {
    upstream.enqueue({ kind: 'raw', chunks: ['first', ' rest'], delayMs: 300 });
    // The transport's default would let both run at once; the requests ask for one connection.
    const t = transport({ connections: 8 });
    const pool = { connections: 1, keepAliveMs: 30_000 };
    const first = await t.request(request({ pool }));
    const second = t.request(request({ pool }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(upstream.requests).toHaveLength(1);

    // The first response ends and frees its connection: the waiting request goes out on it.
    expect(await first.text()).toBe('first rest');
    const outcome = await settle(second, 1500);
    expect(outcome).not.toBe('pending');
    const res = (outcome as { value: HttpResponse }).value;
    expect(res.status).toBe(200);
    await res.text();
    expect(upstream.requests).toHaveLength(2);
    expect(upstream.requests[1].remotePort).toBe(upstream.requests[0].remotePort);
  });

  it('reuses the connection the waiting request was handed', async () => {
    upstream.enqueue({ kind: 'slow_first_token', delayMs: 100 });
    const t = transport();
    const pool = { connections: 1, keepAliveMs: 30_000 };
    const first = t.request(request({ pool }));
    const second = t.request(request({ pool }));
    await (await first).text();
    await (await second).text();
    expect(upstream.requests).toHaveLength(2);
    expect(upstream.requests[1].remotePort).toBe(upstream.requests[0].remotePort);
  });

  it('counts the wait against the connect timeout, leaving only the rest for the handshake', async () => {
    // A listener that never accepts: its accept queue (backlog 1) is filled, so new SYNs go
    // unanswered. The first request's connection got in before the queue was full and holds the
    // only slot; the second waits for it, then needs a new socket that never connects.
    const silent = await startSilentListener();
    try {
      const t = transport({ connections: 1 });
      const url = `http://127.0.0.1:${silent.port}/v1/chat/completions`;
      const holder = new AbortController();
      const first = t.request(request({ url, signal: holder.signal, connectTimeoutMs: 400 }));
      first.catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 100));
      silent.fill(6);
      await new Promise((resolve) => setTimeout(resolve, 100));

      const started = performance.now();
      const second = t.request(request({ url, connectTimeoutMs: 400 }));
      setTimeout(() => holder.abort(new Error('caller left')), 200);
      const err = transportError(await settle(second));
      const elapsed = performance.now() - started;

      // 200 ms waiting for the slot + at most the 200 ms left for the handshake: the whole call
      // is bounded by the connect timeout, not by the wait plus a fresh 400 ms.
      expect(err.code).toBe('connect');
      expect(elapsed).toBeGreaterThanOrEqual(380);
      expect(elapsed).toBeLessThan(560);
    } finally {
      silent.close();
    }
  });
});

describe('keep-alive', () => {
  it('closes the connection after every response with keepAliveMs 0', async () => {
    const t = transport();
    const pool = { connections: 4, keepAliveMs: 0 };
    await (await t.request(request({ pool }))).text();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await (await t.request(request({ pool }))).text();

    expect(upstream.requests.map((r) => r.headers.connection)).toEqual(['close', 'close']);
    expect(upstream.requests[1].remotePort).not.toBe(upstream.requests[0].remotePort);
  });

  it('closes an idle connection after keepAliveMs', async () => {
    const t = transport();
    const short = { connections: 4, keepAliveMs: 100 };
    await (await t.request(request({ pool: short }))).text();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await (await t.request(request({ pool: short }))).text();
    await new Promise((resolve) => setTimeout(resolve, 400));
    await (await t.request(request({ pool: short }))).text();

    const [a, b, c] = upstream.requests.map((r) => r.remotePort);
    expect(upstream.requests[0].headers.connection).toBe('keep-alive');
    expect(b).toBe(a);
    expect(c).not.toBe(a);
  });
});

describe('Slots', () => {
  it('admits up to the limit, then queues first come, first served', async () => {
    const slots = new Slots(1);
    const signal = new AbortController().signal;
    expect(slots.tryTake()).toBe(true);
    const order: string[] = [];
    const a = slots.take(0, signal).then((o) => order.push(`a:${o}`));
    const b = slots.take(0, signal).then((o) => order.push(`b:${o}`));
    // A newcomer does not overtake the queue even when a slot is handed over.
    expect(slots.tryTake()).toBe(false);
    slots.release();
    await a;
    slots.release();
    await b;
    expect(order).toEqual(['a:taken', 'b:taken']);
    slots.release();
    expect(slots.active).toBe(0);
  });

  it('times out and aborts waiters without losing the slot count', async () => {
    const slots = new Slots(1);
    expect(slots.tryTake()).toBe(true);
    const controller = new AbortController();
    const timedOut = slots.take(30, new AbortController().signal);
    const aborted = slots.take(0, controller.signal);
    controller.abort();
    expect(await aborted).toBe('aborted');
    expect(await timedOut).toBe('timeout');
    expect(slots.waiting).toBe(0);
    slots.release();
    expect(slots.active).toBe(0);
    expect(slots.tryTake()).toBe(true);
  });
});
