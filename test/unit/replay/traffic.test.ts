import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../../engine/compile/load-policy.js';
import { createContext } from '../../../engine/context.js';
import { recordBody } from '../../../engine/replay/content.js';
import type { RecordedLine } from '../../../engine/replay/record.js';
import {
  createTrafficParser,
  DEFAULT_START,
  detectFormat,
  type ParsedLine,
  parseTime,
  parseTimeBytes,
  type TrafficRequest,
} from '../../../engine/replay/traffic.js';
import { mockPolicyYaml } from '../../support/policies.js';

const loaded = parsePolicy([
  {
    file: 'p.yaml',
    text: mockPolicyYaml({
      name: 'p',
      models: '  m: { provider: demo, model: m }',
      routes: '  - name: r\n    targets: [m]',
    }),
  },
]);
if (!loaded.ok) throw new Error('policy');
const policy = loaded.policy;

function ok(parsed: ParsedLine): TrafficRequest {
  if (!parsed.ok) throw new Error(`expected a request, got: ${parsed.message}`);
  return parsed.request;
}

const options = { seed: 7, ratePerSecond: 4, tenant: null };

function recorded(
  body: Record<string, unknown>,
  content: 'keep' | 'hash' | 'drop',
  extra: Partial<RecordedLine> = {},
) {
  const ctx = createContext(policy, { body }, () => 0);
  if (!ctx.ok) throw new Error('context');
  const line: RecordedLine = {
    v: 1,
    time: '2026-12-07T10:00:00.250Z',
    requestId: 'req-1',
    policy: { name: 'p', version: '1', hash: 'h' },
    tenant: null,
    request: {
      path: '/v1/chat/completions',
      endpoint: ctx.context.endpoint,
      model: ctx.context.model,
      stream: false,
      tools: false,
      headers: { 'x-request-id': 'req-1' },
      metadata: {},
      seed: 42,
      inputTokens: ctx.context.inputTokens,
      inputChars: ctx.context.inputChars,
      content,
      body: recordBody(body, content),
    },
    decision: { route: 'r', targets: ['m'] },
    attempts: [],
    outcome: { status: 200, kind: 'json', target: 'm', usage: null, costUsd: null, cache: null },
    durationMs: 10,
    overheadMs: 0,
    ...extra,
  };
  return { line, inputTokens: ctx.context.inputTokens, inputChars: ctx.context.inputChars };
}

describe('parseTime', () => {
  it('keeps the fraction below the millisecond that Date.parse drops', () => {
    expect(parseTime('2026-12-07T09:00:00.123456Z')).toBe(Date.UTC(2026, 11, 7, 9) + 123.456);
    expect(parseTime('2026-12-07T09:00:00.5Z')).toBe(Date.UTC(2026, 11, 7, 9) + 500);
    expect(parseTime('2026-12-07T09:00:00Z')).toBe(Date.UTC(2026, 11, 7, 9));
    expect(parseTime('yesterday')).toBeNaN();
  });

  it('parseTimeBytes reads any text, in any part of a buffer, as parseTime does', () => {
    const two = (max: number) => fc.integer({ min: 0, max }).map((v) => String(v).padStart(2, '0'));
    const iso = fc
      .tuple(
        fc.integer({ min: 0, max: 9999 }).map((v) => String(v).padStart(4, '0')),
        two(13),
        two(32),
        two(25),
        two(60),
        two(61),
        fc.oneof(fc.constant(''), fc.constant('.'), fc.stringMatching(/^\.[0-9]{1,12}$/)),
        fc.constantFrom('Z', 'z', '+00:00', ''),
      )
      .map(([y, mo, d, h, mi, s, f, z]) => `${y}-${mo}-${d}T${h}:${mi}:${s}${f}${z}`);
    const text = fc.oneof(
      iso,
      fc.string({ maxLength: 30 }),
      iso.map((t) => t.replace('T', ' ')),
    );
    fc.assert(
      fc.property(text, fc.string({ maxLength: 3 }), (t, pad) => {
        const bytes = Buffer.from(`${pad}${t}"`, 'latin1');
        const start = Buffer.byteLength(pad, 'latin1');
        expect(parseTimeBytes(bytes, start, bytes.length - 1)).toBe(parseTime(t));
      }),
      { numRuns: 3000 },
    );
    const at = Buffer.from('2024-02-29T23:59:59.999999Z');
    expect(parseTimeBytes(at, 0, at.length)).toBe(Date.UTC(2024, 1, 29, 23, 59, 59, 999) + 0.999);
  });
});

describe('detectFormat', () => {
  it('tells the three formats apart, and nothing else', () => {
    expect(detectFormat({ v: 1, requestId: 'a', request: {} })).toBe('switchyard');
    expect(detectFormat({ custom_id: 'a', method: 'POST', url: '/v1/chat/completions', body: {} })).toBe(
      'batch',
    );
    expect(detectFormat({ model: 'gpt-5', messages: [] })).toBe('plain');
    expect(detectFormat({ input: 'x' })).toBe('plain');
    expect(detectFormat({ hello: 'world' })).toBeNull();
    expect(detectFormat([1, 2])).toBeNull();
  });
});

describe('batch lines', () => {
  const parse = createTrafficParser({ ...options, format: 'batch' });
  it('custom_id is the request id; lines without a timestamp arrive 1/rate apart from the default start', () => {
    const a = ok(
      parse(
        JSON.stringify({
          custom_id: 'job-1',
          method: 'POST',
          url: '/v1/chat/completions?x=1',
          body: { model: 'm', messages: [] },
        }),
        1,
      ),
    );
    const b = ok(
      parse(
        JSON.stringify({
          custom_id: 'job-2',
          method: 'POST',
          url: '/v1/embeddings',
          body: { model: 'm', input: 'x' },
        }),
        2,
      ),
    );
    expect(a).toMatchObject({
      requestId: 'job-1',
      at: DEFAULT_START,
      input: { path: '/v1/chat/completions' },
      recorded: null,
    });
    expect(b).toMatchObject({
      requestId: 'job-2',
      at: DEFAULT_START + 250,
      input: { path: '/v1/embeddings' },
    });
    // A seed per line, reproducible.
    expect(a.input.headers['x-switchyard-seed']).not.toBe(b.input.headers['x-switchyard-seed']);
    const again = createTrafficParser({ ...options, format: 'batch' });
    expect(
      ok(again(JSON.stringify({ custom_id: 'job-1', url: '/v1/chat/completions', body: {} }), 1)).input
        .headers,
    ).toEqual(a.input.headers);
  });

  it('a timestamp (ISO or epoch seconds) sets the arrival, and the lines after it follow from there', () => {
    const p = createTrafficParser({ ...options, format: 'batch' });
    const line = (extra: object, n: number) =>
      ok(p(JSON.stringify({ custom_id: `j${n}`, url: '/v1/chat/completions', body: {}, ...extra }), n));
    expect(line({ timestamp: '2026-01-02T03:04:05Z' }, 1).at).toBe(Date.UTC(2026, 0, 2, 3, 4, 5));
    expect(line({}, 2).at).toBe(Date.UTC(2026, 0, 2, 3, 4, 5) + 250);
    expect(line({ timestamp: 1_700_000_000 }, 3).at).toBe(1_700_000_000_000);
  });

  it('other APIs and methods are unreplayable; lines without custom_id, url or body are malformed', () => {
    expect(
      ok(parse(JSON.stringify({ custom_id: 'a', url: '/v1/responses', body: {} }), 1)).unreplayable,
    ).toBe('unsupported_endpoint');
    expect(
      ok(parse(JSON.stringify({ custom_id: 'a', method: 'GET', url: '/v1/chat/completions', body: {} }), 1))
        .unreplayable,
    ).toBe('unsupported_method');
    expect(parse(JSON.stringify({ url: '/v1/chat/completions', body: {} }), 1)).toEqual({
      ok: false,
      message: 'a batch line needs a "custom_id" string',
    });
    expect(parse('{"custom_id": "a", "url": "/v1/chat/completions", "body": []}', 1)).toMatchObject({
      ok: false,
    });
    expect(
      parse('{"custom_id": "a", "url": "/v1/chat/completions", "body": {}, "timestamp": "soon"}', 1),
    ).toMatchObject({
      ok: false,
      message: expect.stringContaining('timestamp'),
    });
    expect(parse('{"custom_id": ', 1)).toMatchObject({
      ok: false,
      message: expect.stringMatching(/^not JSON/),
    });
  });
});

describe('plain lines', () => {
  it('a body per line: id line-<n>, the timestamp taken out of the body, embeddings by their input', () => {
    const parse = createTrafficParser({ ...options, format: 'plain', tenant: 'acme' });
    const chat = ok(
      parse(
        JSON.stringify({
          model: 'm',
          messages: [{ role: 'user', content: 'hi' }],
          stream: true,
          timestamp: '2026-01-01T00:00:00Z',
        }),
        3,
      ),
    );
    expect(chat).toMatchObject({
      requestId: 'line-3',
      tenant: 'acme',
      stream: true,
      at: Date.UTC(2026, 0, 1),
    });
    expect(chat.input.body).toEqual({
      model: 'm',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    const emb = ok(parse(JSON.stringify({ model: 'e', input: ['a', 'b'], stream: true }), 4));
    expect(emb).toMatchObject({ input: { path: '/v1/embeddings' }, stream: false });
    expect(parse('[1]', 5)).toEqual({ ok: false, message: 'a request body must be a JSON object' });
  });
});

describe('recording lines', () => {
  const parse = createTrafficParser({ ...options, format: 'switchyard' });
  const body = {
    model: 'm',
    messages: [
      { role: 'system', content: 'You are terse.' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Describe this picture in a few words' },
          { type: 'image_url', image_url: { url: 'https://x/y.png' } },
        ],
      },
      { role: 'user', content: 'and again, please, with feeling' },
    ],
  };

  it('hashed text comes back as stand-ins of the recorded length: the input-token estimate is the recorded one', () => {
    const { line, inputTokens, inputChars } = recorded(body, 'hash');
    const request = ok(parse(JSON.stringify(line), 1));
    const ctx = createContext(policy, { body: request.input.body, headers: request.input.headers }, () => 0);
    if (!ctx.ok) throw new Error('context');
    expect(ctx.context.inputTokens).toBe(inputTokens);
    expect(ctx.context.inputChars).toBe(inputChars);
    expect(ctx.context.seed).toBe(42);
    const messages = (request.input.body as typeof body).messages;
    expect(messages[0].content).toMatch(/^[\u4e00-\u9fff]{14}$/u);
    expect(messages[0]).not.toHaveProperty('contentChars');
    // Equal texts give equal stand-ins (cache keys repeat as they did), different texts differ.
    const again = ok(parse(JSON.stringify(recorded(body, 'hash').line), 2));
    expect((again.input.body as typeof body).messages).toEqual(messages);
    const other = recorded({ ...body, messages: [{ role: 'system', content: 'You are chatty.' }] }, 'hash');
    expect((ok(parse(JSON.stringify(other.line), 3)).input.body as typeof body).messages[0].content).not.toBe(
      messages[0].content,
    );
  });

  it('dropped text comes back as one filler of the recorded size, unique to the request', () => {
    const { line, inputTokens } = recorded(body, 'drop');
    const request = ok(parse(JSON.stringify(line), 1));
    const ctx = createContext(policy, { body: request.input.body }, () => 0);
    expect(ctx.ok && ctx.context.inputTokens).toBe(inputTokens);
  });

  it('what the line alone makes unreplayable, and refusals before routing replayed as refusals', () => {
    const blockedOut = recorded(body, 'keep', {
      guardrails: [
        { guardrail: 'pii', stage: 'output', outcome: 'block', enforced: true, found: ['email'], ms: 0 },
      ],
    }).line;
    expect(ok(parse(JSON.stringify(blockedOut), 1)).unreplayable).toBe('output_guardrail_acted');
    const blockedIn = recorded(body, 'hash', {
      guardrails: [
        { guardrail: 'pii', stage: 'input', outcome: 'block', enforced: true, found: ['email'], ms: 0 },
      ],
    }).line;
    expect(ok(parse(JSON.stringify(blockedIn), 1)).unreplayable).toBe('input_guardrail_content_unavailable');
    const shadow = recorded(body, 'hash', {
      guardrails: [
        { guardrail: 'pii', stage: 'input', outcome: 'block', enforced: false, found: ['email'], ms: 0 },
      ],
    }).line;
    expect(ok(parse(JSON.stringify(shadow), 1)).unreplayable).toBeNull();

    const refused = (errorCode: string) =>
      recorded(body, 'hash', {
        decision: { route: null, targets: [] },
        outcome: {
          status: 400,
          kind: 'json',
          target: null,
          errorCode,
          usage: null,
          costUsd: null,
          cache: null,
        },
      }).line;
    expect(ok(parse(JSON.stringify(refused('invalid_json')), 1)).input.refused).toEqual({
      code: 'invalid_json',
      detail: '',
    });
    expect(ok(parse(JSON.stringify(refused('invalid_request')), 1)).input.body).toBeNull();
  });

  it('a line that is JSON but not a recording line is malformed, with the schema problem', () => {
    const { line } = recorded(body, 'keep');
    const parsed = parse(JSON.stringify({ ...line, v: 2 }), 9);
    expect(parsed).toMatchObject({ ok: false, message: expect.stringContaining('/v') });
  });
});
