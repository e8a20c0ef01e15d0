/**
 * The per-request log line written by hand (server/request-line.ts) is byte for byte the line
 * pino writes for the same request: over generated requests (arbitrary strings with quotes,
 * backslashes, control characters, non-ASCII text and lone surrogates, long and short; any
 * numbers, NaN and infinities included; absent answers, usage, costs and similarities), at info
 * and at debug. And with anything configured beyond the level and a plain stream, the line goes
 * through pino, so the caller's redaction, formatters and mixins still apply.
 */
import { fc, test } from '@fast-check/vitest';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ResponseMeta } from '../../engine/index.js';
import { createLogger, requestLog, type ServerLoggerOptions } from '../../server/logging.js';
import { requestLineObject } from '../../server/request-line.js';

function capture(options: Omit<ServerLoggerOptions, 'stream'> = {}) {
  const lines: string[] = [];
  const logger: ServerLoggerOptions = { level: 'debug', ...options, stream: { write: (l) => lines.push(l) } };
  const log = requestLog(createLogger(logger), logger);
  return { lines, log };
}

/** Any UTF-16 text: lone surrogates and control characters included. */
const units = fc.string({
  unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  maxLength: 12,
});
const text = fc.oneof(
  units,
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.constantFrom('', '"', '\\', '\\"', 'a"b\\c', '\u2028', '\ud800', '\udc00x', '\n', '\u007f', 'chat'),
  // pino escapes strings over 100 units with JSON.stringify: both sides of that bound.
  fc
    .tuple(units, fc.integer({ min: 95, max: 105 }))
    .map(([s, n]) => (s.length === 0 ? 'x' : s).repeat(n).slice(0, n)),
);
const number = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(0, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e21, 5e-324),
);
const meta: fc.Arbitrary<ResponseMeta | null> = fc.option(
  fc.record(
    {
      policy: fc.record({ name: text, version: text }),
      route: fc.option(text),
      tenant: fc.constant(null),
      target: fc.option(text),
      attempts: fc.array(fc.record({ target: text, outcome: text }), { maxLength: 4 }),
      cache: fc.option(fc.constantFrom('hit', 'miss', 'bypass')),
      cacheSimilarity: number,
      usage: fc.option(fc.record({ promptTokens: number, completionTokens: number })),
      costUsd: fc.option(number),
      overheadMs: number,
    },
    {
      requiredKeys: [
        'policy',
        'route',
        'tenant',
        'target',
        'attempts',
        'cache',
        'usage',
        'costUsd',
        'overheadMs',
      ],
    },
  ) as unknown as fc.Arbitrary<ResponseMeta>,
);
const request = fc.record({
  quiet: fc.boolean(),
  reqId: text,
  method: text,
  path: text,
  status: fc.oneof(fc.integer({ min: 100, max: 599 }), number),
  latencyMs: number,
  meta,
  guardrails: fc.option(text),
});

describe('the request line', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  test.prop([request], { numRuns: 500 })('is the line pino writes for the same fields', (r) => {
    vi.spyOn(Date, 'now').mockReturnValue(1_796_000_000_123);
    const { lines, log } = capture();
    expect(log.fast).toBe(true);
    log.write(r.quiet, r.reqId, r.method, r.path, r.status, r.latencyMs, r.meta, r.guardrails);
    const line = requestLineObject(r.reqId, r.method, r.path, r.status, r.latencyMs, r.meta, r.guardrails);
    if (r.quiet) log.logger.debug(line, 'request');
    else log.logger.info(line, 'request');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(lines[1]);
  });

  it('goes through pino when anything beyond the level and a plain stream is configured', () => {
    const configs: Omit<ServerLoggerOptions, 'stream'>[] = [
      { redact: ['path'] },
      { formatters: { log: (o) => ({ ...o, extra: 1 }) } },
      { mixin: () => ({ mixed: true }) },
      { timestamp: pino.stdTimeFunctions.isoTime },
      { messageKey: 'message' },
      { base: { service: 'gw' } },
      { serializers: { path: () => 'serialized' } },
      { hooks: { logMethod: (args, method) => method.apply(undefined, args) } },
    ];
    for (const config of configs) expect(capture(config).log.fast).toBe(false);
    const { lines, log } = capture({ redact: ['path', 'policy'] });
    log.write(false, 'r1', 'POST', '/v1/chat/completions', 200, 1.5, null, null);
    expect(JSON.parse(lines[0])).toMatchObject({ reqId: 'r1', path: '[redacted]', policy: '[redacted]' });
  });

  it('goes through pino for a stream that wants its metadata, or a subscriber to its asJson channel', async () => {
    const metadata = pino.multistream([{ stream: { write: () => undefined } }]);
    const log = requestLog(createLogger({ level: 'info', stream: metadata }), {
      level: 'info',
      stream: metadata,
    });
    expect(log.fast).toBe(false);

    const { tracingChannel } = await import('node:diagnostics_channel');
    const channel = tracingChannel('pino_asJson');
    const seen: unknown[] = [];
    const handlers = {
      start: (m: unknown) => seen.push(m),
      end: () => {},
      asyncStart: () => {},
      asyncEnd: () => {},
      error: () => {},
    };
    channel.subscribe(handlers);
    try {
      const { lines, log: fast } = capture();
      fast.write(false, 'r2', 'GET', '/v1/models', 200, 0.25, null, null);
      expect(lines).toHaveLength(1);
      expect(seen).toHaveLength(1);
    } finally {
      channel.unsubscribe(handlers);
    }
  });
});
