import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  createUndiciTransport,
  type HttpRequest,
  TransportError,
} from '../../../engine/providers/transport.js';
import { Cancellation } from '../../../engine/shared/cancellation.js';
import { chatPost } from '../../support/providers.js';
import { startSilentListener } from '../../support/silent-listener.js';
import { useUpstream } from '../../support/use-upstream.js';

const transport = createUndiciTransport({ connections: 4 });
const upstream = useUpstream({ beforeClose: () => transport.close() });

const request = (overrides: Partial<HttpRequest> = {}): HttpRequest => chatPost(upstream.url, overrides);

async function rejection(promise: Promise<unknown>): Promise<TransportError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TransportError);
  return err as TransportError;
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('undici transport', () => {
  it('posts and reads a JSON answer, reusing the keep-alive connection', async () => {
    const first = await transport.request(request());
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toBe('application/json');
    expect(JSON.parse(await first.text()).model).toBe('m');
    // undici frees the socket for reuse a tick after the body completes.
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = await transport.request(request());
    await second.text();
    expect(upstream.requests).toHaveLength(2);
    expect(upstream.requests[1].remotePort).toBe(upstream.requests[0].remotePort);
    expect(upstream.requests[0].path).toBe('/v1/chat/completions');
  });

  it('returns at the headers and streams the body without waiting for its end', async () => {
    upstream.enqueue({ kind: 'raw', chunks: ['first', 'second'], delayMs: 0, end: 'hold' });
    const res = await transport.request(request());
    const iterator = res.body[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(new TextDecoder().decode(first.value)).toContain('first');
    await iterator.return?.();
  });

  it('reports a refused connection as connect', async () => {
    const port = await closedPort();
    const err = await rejection(
      transport.request(request({ url: `http://127.0.0.1:${port}/v1/chat/completions` })),
    );
    expect(err.code).toBe('connect');
  });

  it('reports a reset before the headers as connect', async () => {
    upstream.enqueue({ kind: 'reset' });
    expect((await rejection(transport.request(request()))).code).toBe('connect');
  });

  it('honours the connect timeout precisely', async () => {
    // A listener that never accepts: its backlog is filled first, so the next SYN goes unanswered.
    const silent = await startSilentListener();
    silent.fill(6);
    try {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const started = performance.now();
      const err = await rejection(
        transport.request(
          request({ url: `http://127.0.0.1:${silent.port}/v1/chat/completions`, connectTimeoutMs: 150 }),
        ),
      );
      const elapsed = performance.now() - started;
      expect(err.code).toBe('connect');
      expect(err.message).toMatch(/timeout/i);
      expect(elapsed).toBeGreaterThanOrEqual(140);
      expect(elapsed).toBeLessThan(800);
    } finally {
      silent.close();
    }
  });

  it('aborts a request that never answers', async () => {
    upstream.enqueue({ kind: 'hold' });
    const controller = new AbortController();
    const pending = transport.request(request({ signal: controller.signal }));
    setTimeout(() => controller.abort(new Error('deadline')), 50);
    const err = await rejection(pending);
    expect(err.code).toBe('aborted');
    expect((err.cause as Error).message).toBe('deadline');
  });

  it('aborts the body mid-stream', async () => {
    upstream.enqueue({ kind: 'raw', chunks: ['data: 1\n\n'], end: 'hold' });
    const controller = new AbortController();
    const res = await transport.request(request({ signal: controller.signal }));
    const seen: string[] = [];
    const reading = (async () => {
      for await (const bytes of res.body) {
        seen.push(new TextDecoder().decode(bytes));
        controller.abort();
      }
    })();
    expect((await rejection(reading)).code).toBe('aborted');
    expect(seen).toEqual(['data: 1\n\n']);
  });

  describe('cancelled through a Cancellation (no AbortSignal made)', () => {
    /** A request whose `signal` counts its reads: the transport must listen to `cancel` instead. */
    function cancellable(cancel: Cancellation): { req: HttpRequest; reads: () => number } {
      let reads = 0;
      const req = request({ cancel });
      Object.defineProperty(req, 'signal', {
        get: () => {
          reads++;
          return cancel.signal;
        },
      });
      return { req, reads: () => reads };
    }

    it('reads a JSON answer without ever reading the signal', async () => {
      const cancel = new Cancellation();
      const { req, reads } = cancellable(cancel);
      const res = await transport.request(req);
      expect(JSON.parse(await res.text()).model).toBe('m');
      expect(reads()).toBe(0);
    });

    it('aborts a request that never answers', async () => {
      upstream.enqueue({ kind: 'hold' });
      const cancel = new Cancellation();
      const { req } = cancellable(cancel);
      const pending = transport.request(req);
      setTimeout(() => cancel.abort(new Error('deadline')), 50);
      const err = await rejection(pending);
      expect(err.code).toBe('aborted');
      expect((err.cause as Error).message).toBe('deadline');
    });

    it('aborts the body mid-stream', async () => {
      upstream.enqueue({ kind: 'raw', chunks: ['data: 1\n\n'], end: 'hold' });
      const cancel = new Cancellation();
      const res = await transport.request(cancellable(cancel).req);
      const reading = (async () => {
        for await (const _ of res.body) cancel.abort();
      })();
      expect((await rejection(reading)).code).toBe('aborted');
    });

    it('refuses a call cancelled before it starts', async () => {
      const cancel = new Cancellation();
      cancel.abort(new Error('gone'));
      const err = await rejection(transport.request(cancellable(cancel).req));
      expect(err.code).toBe('aborted');
      expect((err.cause as Error).message).toBe('gone');
    });
  });

  it('fails a body over maxResponseBytes with too_large', async () => {
    upstream.enqueue({
      kind: 'raw',
      chunks: ['x'.repeat(600), 'y'.repeat(600)],
      headers: { 'content-type': 'text/plain' },
    });
    const res = await transport.request(request({ maxResponseBytes: 1000 }));
    expect((await rejection(res.text())).code).toBe('too_large');
  });

  it('reports a connection reset while reading the body as body', async () => {
    upstream.enqueue({ kind: 'cut', afterChunks: 2 });
    const res = await transport.request(request());
    expect((await rejection(res.text())).code).toBe('body');
  });

  it('is usable for GET and refuses work after close', async () => {
    const own = createUndiciTransport();
    const res = await own.request(request({ method: 'GET', body: undefined, url: `${upstream.url}/models` }));
    expect(res.status).toBe(200);
    await res.text();
    await own.close();
    expect((await rejection(own.request(request()))).code).toBe('connect');
  });
});
