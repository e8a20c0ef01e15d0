/**
 * `switchyard serve` as a real process: oversized bodies answered before the connection closes
 * and never buffered, and the shutdown on SIGTERM (streams cut in-band when the grace period ends,
 * a second signal exits at once). The client runs in this process, the server in its own, as in
 * production: timing between the two is real.
 */

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_NODE_ARGS, ROOT } from '../../support/cli-process.js';
import { type ServeProcess, startServe } from './child.js';
import { chatBody, policyYaml, waitFor } from './helpers.js';
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

  it('a request refused before its body is read (no Host) gets its 400 before the connection closes', async () => {
    for (let round = 0; round < 3; round++) {
      const exchange = await rawExchange(
        server.url,
        'POST /v1/chat/completions HTTP/1.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n',
        { send: pumpBody(HUNDRED_MB, true), waitMs: 15_000 },
      );
      const res = parseResponse(exchange.text);
      expect(res.status, `round ${round}: got ${JSON.stringify(exchange)}`).toBe(400);
      expect(JSON.parse(res.body).error.code).toBe('missing_host_header');
    }
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

describe('shutdown on SIGTERM', () => {
  const words = (n: number): string => Array.from({ length: n }, (_, i) => `w${i}`).join(' ');

  /** Starts a stream and resolves once its first content arrived; `rest` resolves with the whole body. */
  async function openStream(p: ServeProcess): Promise<{ first: string; rest: Promise<string> }> {
    const res = await fetch(`${p.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(chatBody({ model: 'special', stream: true })),
    });
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes('"content":"w')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    const first = text;
    const rest = (async () => {
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return text;
        text += decoder.decode(value, { stream: true });
      }
    })();
    return { first, rest };
  }

  function events(body: string): string[] {
    return body
      .split('\n\n')
      .map((e) => e.trim())
      .filter((e) => e !== '');
  }

  const SHUTDOWN_EVENT = {
    error: { message: expect.any(String), type: 'api_error', code: 'shutting_down' },
  };

  it('a stream still running when the grace period ends gets an in-band error event, no [DONE]; logged and exit 0', async () => {
    const p = await serve(policyYaml({ demo: `reply: "${words(60)}", chunkDelay: 150ms` }), [
      '--shutdown-grace',
      '600ms',
    ]);
    const stream = await openStream(p);
    expect(stream.first).toContain('data: ');
    const signalled = Date.now();
    process.kill(p.pid, 'SIGTERM');
    const body = await stream.rest;
    const endedAfter = Date.now() - signalled;
    const all = events(body);
    expect(body).not.toContain('[DONE]');
    expect(JSON.parse(all.at(-1)?.replace(/^data: /, '') ?? 'null')).toEqual(SHUTDOWN_EVENT);
    // Content went on during the grace period, then the cut came (not before 600 ms, not much later).
    expect(all.length).toBeGreaterThan(3);
    expect(endedAfter).toBeGreaterThanOrEqual(500);
    expect(endedAfter).toBeLessThan(3000);
    expect(await p.exited).toEqual({ code: 0, signal: null });
    const warn = p.logLines().find((l) => typeof l.msg === 'string' && l.msg.startsWith('grace period over'));
    expect(warn).toMatchObject({ level: 40, streamsCut: 1, requestsCut: 0 });
  });

  it('a stream that ends within the grace period ends normally, with [DONE]; exit 0', async () => {
    const p = await serve(policyYaml({ demo: `reply: "${words(8)}", chunkDelay: 100ms` }), [
      '--shutdown-grace',
      '10s',
    ]);
    const stream = await openStream(p);
    process.kill(p.pid, 'SIGTERM');
    const body = await stream.rest;
    expect(body.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(body).not.toContain('shutting_down');
    expect(await p.exited).toEqual({ code: 0, signal: null });
  });

  it('a signal repeated at once (npm forwarding a Ctrl-C the server got too) is one signal: the drain goes on', async () => {
    const p = await serve(policyYaml({ demo: `reply: "${words(8)}", chunkDelay: 100ms` }), [
      '--shutdown-grace',
      '10s',
    ]);
    const stream = await openStream(p);
    process.kill(p.pid, 'SIGINT');
    process.kill(p.pid, 'SIGINT');
    const body = await stream.rest;
    expect(body.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(await p.exited).toEqual({ code: 0, signal: null });
    expect(p.logLines().some((l) => typeof l.msg === 'string' && l.msg.startsWith('second signal'))).toBe(
      false,
    );
  });

  it('a second SIGTERM during the drain cuts the stream in-band and exits 1 at once, and says so', async () => {
    // The default grace period (30 s) would let this stream run for 9 s.
    const p = await serve(policyYaml({ demo: `reply: "${words(60)}", chunkDelay: 150ms` }));
    const stream = await openStream(p);
    process.kill(p.pid, 'SIGTERM');
    // Later than REPEATED_SIGNAL_MS (500 ms): a repeat within it is the same signal (see below).
    await new Promise((r) => setTimeout(r, 1000));
    const second = Date.now();
    process.kill(p.pid, 'SIGTERM');
    const exit = await p.exited;
    expect(Date.now() - second).toBeLessThan(2000);
    expect(exit).toEqual({ code: 1, signal: null });
    const body = await stream.rest;
    expect(body).not.toContain('[DONE]');
    expect(
      JSON.parse(
        events(body)
          .at(-1)
          ?.replace(/^data: /, '') ?? 'null',
      ),
    ).toEqual(SHUTDOWN_EVENT);
    const lines = p.logLines();
    expect(lines.find((l) => typeof l.msg === 'string' && l.msg.startsWith('second signal'))).toMatchObject({
      level: 40,
      signal: 'SIGTERM',
    });
    expect(
      lines.find((l) => typeof l.msg === 'string' && l.msg.startsWith('grace period over')),
    ).toMatchObject({
      streamsCut: 1,
      ended: 'early',
    });
  });

  it('the recording block: SIGHUP moves the file, and every line, the last stream’s too, is on disk at exit 0', async () => {
    const policy = (version: string, file: string): string =>
      policyYaml({
        version,
        demo: `reply: "${words(8)}", chunkDelay: 100ms`,
        extra: `recording: { path: ${file}, content: drop }\n`,
      });
    const policyFile = join(dir, `policy-${started.length}.yaml`);
    const p = await serve(policy('1', 'proc-a.jsonl'), ['--shutdown-grace', '10s']);
    const first = await fetch(`${p.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'json-1' },
      body: JSON.stringify(chatBody()),
    });
    await first.arrayBuffer();
    writeFileSync(policyFile, policy('2', 'proc-b.jsonl'));
    process.kill(p.pid, 'SIGHUP');
    await waitFor(
      () => p.logLines().some((l) => typeof l.msg === 'string' && /policy demo@2 .* is serving/.test(l.msg)),
      'the reloaded policy',
    );
    const stream = await openStream(p);
    process.kill(p.pid, 'SIGTERM');
    expect((await stream.rest).trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(await p.exited).toEqual({ code: 0, signal: null });
    const lines = (name: string) =>
      readFileSync(join(dir, name), 'utf8')
        .trim()
        .split('\n')
        .map(
          (l) =>
            JSON.parse(l) as { requestId: string; policy: { version: string }; outcome: { kind: string } },
        );
    expect(lines('proc-a.jsonl').map((l) => [l.requestId, l.policy.version])).toEqual([['json-1', '1']]);
    const [streamed] = lines('proc-b.jsonl');
    expect(streamed).toMatchObject({ policy: { version: '2' }, outcome: { kind: 'stream' } });
  });
});

describe('a first policy that does not load', () => {
  it('exits 1 with the diagnostics and never listens (no listening line, no drain)', async () => {
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, 'version: 1\nroutes: [\n');
    const proc = spawn(process.execPath, [...CLI_NODE_ARGS, 'serve', '--port', '0', '--policy', file], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => {
      stdout += d.toString('utf8');
    });
    proc.stderr.on('data', (d: Buffer) => {
      stderr += d.toString('utf8');
    });
    const code = await new Promise<number | null>((resolve) => proc.once('close', (c) => resolve(c)));
    expect(code).toBe(1);
    expect(stderr).toContain('is not valid; not serving');
    expect(stderr).toMatch(/broken\.yaml:3:1: error PARSE_YAML_SYNTAX/);
    // The operator's log says the load failed, and nothing about listening or draining.
    expect(stdout).toContain('policy load failed; no policy is serving');
    expect(stdout).not.toMatch(/listening|shutting down|draining/i);
  });
});
