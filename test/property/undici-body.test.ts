/**
 * The undici call (engine/providers/undici-call.ts, a dispatch handler that is also the response)
 * against what the transport promised when it was built on `pool.request()` and a Readable:
 *
 * - a body read whole (`text()`) or chunk by chunk gives exactly the bytes sent, decoded as
 *   undici's `text()` and a streaming `TextDecoder` did, or fails; it never succeeds truncated
 *   (a connection cut mid-body, with or without a Content-Length);
 * - past `maxResponseBytes` it fails as `too_large`, after handing out only chunks within it;
 * - a reader that stops or aborts part-way gets nothing more, and aborting fails as `aborted`;
 * - whatever happens, the pool slot is released exactly once, after undici is done.
 *
 * A real `node:http` server sends each generated body (in pieces, some past the 64 KiB at which
 * the call pauses the socket) to a real undici Pool.
 */
import { createServer, type Server } from 'node:http';
import { fc, test } from '@fast-check/vitest';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { type HttpRequest, readText, TransportError } from '../../engine/providers/http.js';
import type { Slots } from '../../engine/providers/pool.js';
import { decodeBody } from '../../engine/providers/undici-body.js';
import { UndiciCall } from '../../engine/providers/undici-call.js';
import { Cancellation } from '../../engine/shared/cancellation.js';

describe('decodeBody', () => {
  const piece = fc.oneof(
    fc.uint8Array({ maxLength: 12 }),
    fc.string({ unit: 'grapheme', maxLength: 6 }).map((s) => new Uint8Array(Buffer.from(s))),
    fc.constant(new Uint8Array([0xef, 0xbb, 0xbf])),
    fc.constant(new Uint8Array([0xe2, 0x82])),
    fc.constant(new Uint8Array([0xac, 0xf0, 0x9f])),
  );

  test.prop([fc.array(piece, { maxLength: 8 })])(
    'decodes as undici text() and a streaming TextDecoder did',
    async (pieces) => {
      const chunks = pieces.map((p) => Buffer.from(p));
      const length = chunks.reduce((n, c) => n + c.byteLength, 0);
      const decoded = decodeBody(chunks, length);
      expect(decoded).toBe(
        await readText(
          (async function* () {
            yield* pieces;
          })(),
        ),
      );
      expect(decoded).toBe(new TextDecoder().decode(Buffer.concat(chunks)));
    },
  );
});

interface Scenario {
  pieces: Uint8Array[];
  contentLength: boolean;
  /** Destroy the socket after the pieces instead of ending the response. */
  cut: boolean;
  /** Wait this long before the last piece (the reader is then ahead of the body). */
  lastPieceDelayMs?: number;
  maxResponseBytes: number;
  read:
    | { kind: 'text' }
    | { kind: 'iterate'; slow: boolean; stopAfter: number | null; abortAfter: number | null };
}

let current: Scenario | null = null;
let server: Server;
let origin = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    const scenario = current;
    req.resume();
    req.on('end', async () => {
      if (scenario === null) return void res.end();
      const total = scenario.pieces.reduce((n, p) => n + p.byteLength, 0);
      res.writeHead(200, scenario.contentLength ? { 'content-length': String(total) } : {});
      res.flushHeaders();
      for (const [i, p] of scenario.pieces.entries()) {
        if (i === scenario.pieces.length - 1 && scenario.lastPieceDelayMs !== undefined)
          await new Promise((resolve) => setTimeout(resolve, scenario.lastPieceDelayMs));
        res.write(p);
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (scenario.cut) res.socket?.destroy();
      else res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  origin = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const scenario: fc.Arbitrary<Scenario> = fc
  .record({
    pieces: fc.array(
      fc.oneof(
        { weight: 5, arbitrary: fc.uint8Array({ maxLength: 2_000 }) },
        {
          weight: 1,
          arbitrary: fc.integer({ min: 20_000, max: 90_000 }).map((n) => new Uint8Array(n).fill(97)),
        },
      ),
      { maxLength: 5 },
    ),
    contentLength: fc.boolean(),
    cut: fc.boolean(),
    bound: fc.oneof(fc.constantFrom(-1, 0, 1), fc.integer({ min: 0, max: 200_000 })),
    read: fc.oneof(
      fc.constant({ kind: 'text' as const }),
      fc.record({
        kind: fc.constant('iterate' as const),
        slow: fc.boolean(),
        stopAfter: fc.option(fc.nat(4)),
        abortAfter: fc.option(fc.nat(4)),
      }),
    ),
  })
  .map(({ bound, pieces, ...rest }) => {
    const total = pieces.reduce((n, p) => n + p.byteLength, 0);
    return { ...rest, pieces, maxResponseBytes: bound <= 1 ? Math.max(0, total + bound) : bound };
  });

/** A Slots stand-in that counts releases. */
function countingSlots(): { slots: Slots; released: () => number } {
  let released = 0;
  const slots = { release: () => void released++ } as unknown as Slots;
  return { slots, released: () => released };
}

async function until(check: () => boolean, ms = 3_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 2));
}

describe('UndiciCall', () => {
  test.prop([scenario], { numRuns: 60 })(
    'gives the exact body or fails, bounds it, and releases the slot once',
    async (s) => {
      current = s;
      const pool = new Pool(origin, { connections: 1 });
      try {
        const cancel = new Cancellation();
        const { slots, released } = countingSlots();
        const req = {
          url: `${origin}/`,
          method: 'POST',
          headers: {},
          body: 'x',
          cancel,
          get signal() {
            return cancel.signal;
          },
          connectTimeoutMs: 0,
          maxResponseBytes: s.maxResponseBytes,
        } as HttpRequest;
        const call = new UndiciCall(req, cancel, slots, undefined);
        pool.dispatch({ path: '/', method: 'POST', body: 'x' }, call);
        const res = await call.response;
        const sent = Buffer.concat(s.pieces);
        const fits = sent.byteLength <= s.maxResponseBytes;

        if (s.read.kind === 'text') {
          const outcome = await res.text().then(
            (text) => ({ text }),
            (err: unknown) => ({ err }),
          );
          if ('text' in outcome) {
            // A success is the whole body within the bound: a cut one only if its length said so.
            expect(fits && (!s.cut || s.contentLength)).toBe(true);
            expect(outcome.text).toBe(decodeBody([sent], sent.byteLength));
          } else {
            expect(outcome.err).toBeInstanceOf(TransportError);
            const code = (outcome.err as TransportError).code;
            if (!fits) expect(['too_large', 'body']).toContain(code);
            else expect(code).toBe('body');
            expect(!fits || s.cut).toBe(true);
          }
        } else {
          const { slow, stopAfter, abortAfter } = s.read;
          const got: Buffer[] = [];
          let error: unknown = null;
          let stopped = false;
          let aborted = false;
          try {
            for await (const chunk of res.body) {
              got.push(Buffer.from(chunk));
              if (slow) await new Promise((resolve) => setImmediate(resolve));
              if (abortAfter !== null && got.length >= abortAfter + 1) {
                aborted = true;
                cancel.abort(new Error('gone'));
              }
              if (stopAfter !== null && got.length >= stopAfter + 1) {
                stopped = true;
                break;
              }
            }
          } catch (err) {
            error = err;
          }
          const received = Buffer.concat(got);
          // Whatever the end, what was handed out is the start of the body, within the bound.
          expect(sent.subarray(0, received.byteLength).equals(received)).toBe(true);
          expect(received.byteLength).toBeLessThanOrEqual(s.maxResponseBytes);
          if (error !== null) {
            expect(error).toBeInstanceOf(TransportError);
            const code = (error as TransportError).code;
            if (aborted) expect(code).toBe('aborted');
            else if (!fits) expect(['too_large', 'body']).toContain(code);
            else expect(code).toBe('body');
          } else if (aborted) {
            // Aborted with the loop's last step: only a stop in the same step ends it quietly.
            expect(stopped).toBe(true);
          } else if (!stopped) {
            // A quiet end is the whole body, sent in full.
            expect(received.equals(sent)).toBe(true);
            expect(s.cut && !s.contentLength).toBe(false);
          }
        }
        await until(() => released() > 0);
        await new Promise((resolve) => setTimeout(resolve, 5));
        expect(released()).toBe(1);
      } finally {
        await pool.destroy();
      }
    },
  );

  test.prop([fc.nat(3), fc.integer({ min: 0, max: 30_000 })], { numRuns: 15 })(
    'a reader that stops early leaves the connection to the pool when the rest is small',
    async (stopAfter, rest) => {
      const pieces = [
        ...Array.from({ length: stopAfter + 1 }, () => new Uint8Array(100).fill(98)),
        new Uint8Array(rest),
      ];
      current = {
        pieces,
        contentLength: true,
        cut: false,
        lastPieceDelayMs: 20,
        maxResponseBytes: 1 << 20,
        read: { kind: 'text' },
      };
      let connections = 0;
      const count = (): void => void connections++;
      server.on('connection', count);
      const pool = new Pool(origin, { connections: 1 });
      try {
        for (let i = 0; i < 2; i++) {
          const cancel = new Cancellation();
          const { slots, released } = countingSlots();
          const req = { maxResponseBytes: 1 << 20, cancel } as unknown as HttpRequest;
          const call = new UndiciCall(req, cancel, slots, undefined);
          pool.dispatch({ path: '/', method: 'POST', body: 'x' }, call);
          const res = await call.response;
          let seen = 0;
          for await (const _ of res.body) if (++seen > stopAfter) break;
          await until(() => released() > 0);
          expect(released()).toBe(1);
        }
        expect(connections).toBe(1);
      } finally {
        server.off('connection', count);
        await pool.destroy();
      }
    },
  );
});
