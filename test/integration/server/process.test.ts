/**
 * `switchyard serve` as a real process: oversized bodies answered before the connection closes
 * and never buffered, and the shutdown on SIGTERM (streams cut in-band when the grace period ends,
 * a second signal exits at once). The client runs in this process, the server in its own, as in
 * production: timing between the two is real.
 */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServeProcess, startServe } from './child.js';
import { policyYaml } from './helpers.js';
import { parseResponse, rawExchange } from './raw-http.js';

let dir: string;
const started: ServeProcess[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'switchyard-process-'));
});

afterAll(async () => {
  await Promise.all(started.splice(0).map((p) => p.stop()));
  rmSync(dir, { recursive: true, force: true });
});

async function serve(yaml: string, args: string[] = []): Promise<ServeProcess> {
  const file = join(dir, `policy-${started.length}.yaml`);
  writeFileSync(file, yaml);
  const p = await startServe(['--policy', file, '--no-watch', ...args]);
  started.push(p);
  return p;
}

/** Writes `total` bytes of body in 64 KiB pieces, with backpressure, until done or the socket closes. */
function pumpBody(total: number, chunked: boolean): (socket: Socket) => void {
  return (socket) => {
    const piece = Buffer.alloc(64 * 1024, 0x20);
    const framed = chunked ? Buffer.concat([Buffer.from('10000\r\n'), piece, Buffer.from('\r\n')]) : piece;
    let sent = 0;
    const pump = (): void => {
      while (sent < total && !socket.destroyed) {
        sent += piece.length;
        if (!socket.write(framed)) {
          socket.once('drain', pump);
          return;
        }
      }
      if (chunked && !socket.destroyed) socket.write('0\r\n\r\n');
    };
    pump();
  };
}

describe('bodies over the limit', () => {
  let server: ServeProcess;
  beforeAll(async () => {
    server = await serve(policyYaml(), ['--log-level', 'warn']);
  });

  const HUNDRED_MB = 100 * 1024 * 1024;
  const head = (framing: string): string =>
    `POST /v1/chat/completions HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n${framing}\r\n`;

  it.each([
    ['a large Content-Length', `Content-Length: ${HUNDRED_MB}\r\n`, false],
    ['chunked transfer-encoding without Content-Length', 'Transfer-Encoding: chunked\r\n', true],
  ])('%s: the 413 reaches the client before the connection closes', async (_name, framing, chunked) => {
    for (let round = 0; round < 3; round++) {
      // The client keeps sending after the answer, as a naive uploader does.
      const exchange = await rawExchange(server.url, head(framing), {
        send: pumpBody(HUNDRED_MB, chunked),
        waitMs: 15_000,
      });
      const res = parseResponse(exchange.text);
      expect(res.status, `round ${round}: got ${JSON.stringify(exchange)}`).toBe(413);
      expect(res.headers.connection).toBe('close');
      expect(JSON.parse(res.body).error).toMatchObject({
        code: 'body_too_large',
        type: 'invalid_request_error',
      });
      expect(exchange.closed).toBe(true);
    }
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('a client that stops sending once it has the 413 gets a clean close', async () => {
    let socketRef: Socket | null = null;
    const exchange = await rawExchange(server.url, head('Transfer-Encoding: chunked\r\n'), {
      send: (socket) => {
        socketRef = socket;
        pumpBody(HUNDRED_MB, true)(socket);
      },
      until: (text) => {
        if (text.includes('body_too_large')) (socketRef as Socket | null)?.end();
        return false;
      },
      waitMs: 10_000,
    });
    expect(parseResponse(exchange.text).status).toBe(413);
    expect(exchange.closed).toBe(true);
  });

  it('a 100 MB body is not held in memory (either framing)', async () => {
    const before = server.memory();
    for (const [framing, chunked] of [
      [`Content-Length: ${HUNDRED_MB}\r\n`, false],
      ['Transfer-Encoding: chunked\r\n', true],
    ] as const) {
      const exchange = await rawExchange(server.url, head(framing), {
        send: pumpBody(HUNDRED_MB, chunked),
        waitMs: 15_000,
      });
      expect(parseResponse(exchange.text).status).toBe(413);
    }
    const after = server.memory();
    // Buffering the body would raise the peak by at least 100 MB.
    expect(after.peak - before.peak).toBeLessThan(48 * 1024 * 1024);
    expect(after.rss - before.rss).toBeLessThan(48 * 1024 * 1024);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});
