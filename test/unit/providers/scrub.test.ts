/**
 * Upstream error bodies are scrubbed of credentials before they become a ProviderError (whose
 * body a policy may pass to the caller, and whose message is logged and recorded). The upstream
 * is a real loopback server that echoes the request's own `Authorization` / `api-key` /
 * `x-api-key` headers into its errors, in every way a misbehaving server might.
 */
import { describe, expect, it } from 'vitest';
import { createProvider } from '../../../engine/providers/index.js';
import { REDACTED, Scrubber, scrubberFor } from '../../../engine/providers/scrub.js';
import { createUndiciTransport } from '../../../engine/providers/transport.js';
import {
  type ProviderCallResult,
  type ProviderError,
  ProviderFailure,
  type ProviderSpec,
} from '../../../engine/providers/types.js';
import { systemClock } from '../../../engine/shared/clock.js';
import { callRequest, drain, failure, providerSpec } from '../../support/providers.js';
import { type RecordedRequest, sse } from '../../support/upstream.js';
import { useUpstream } from '../../support/use-upstream.js';

/** Long enough to look real; not shaped like any public key format, so only the exact match catches it. */
const KEY = 'upstream-secret-0123456789abcdef';
const HEADER_TOKEN = 'tok-9f8e7d6c5b4a3210';

const transport = createUndiciTransport();
const upstream = useUpstream({ beforeClose: () => transport.close() });

function spec(overrides: Partial<ProviderSpec> = {}): ProviderSpec {
  return providerSpec({
    name: 'leaky',
    baseUrl: upstream.url,
    apiKey: KEY,
    headers: { 'X-Gateway-Token': HEADER_TOKEN },
    ...overrides,
  });
}

async function call(s: ProviderSpec, stream = false): Promise<ProviderCallResult> {
  return createProvider(s, { transport, clock: systemClock }).call(callRequest({ stream }));
}

function header(req: RecordedRequest, name: string): string {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : (value ?? '');
}

/** Every request gets a 400 whose JSON body `body` builds from the request (to echo its headers). */
function answer400(body: (req: RecordedRequest) => Record<string, unknown>): void {
  upstream.setHandler((req) => ({ kind: 'status', status: 400, body: body(req) }));
}

/** Every credential the request carried, as the upstream saw them. */
function credentials(req: RecordedRequest): string {
  return ['authorization', 'api-key', 'x-api-key', 'x-gateway-token'].map((h) => header(req, h)).join(' | ');
}

/** Nothing of the key, the header token or a bearer credential anywhere in the error. */
function expectClean(error: ProviderError): void {
  const all = JSON.stringify(error);
  expect(all).not.toContain(KEY);
  expect(all).not.toContain(KEY.slice(0, 12));
  expect(all).not.toContain(HEADER_TOKEN);
  expect(all).not.toMatch(/Bearer [^[]/);
  expect(all).toContain(REDACTED);
}

describe('upstream error bodies are scrubbed of credentials', () => {
  it('OpenAI: a 400 echoing Authorization in message, param, code and extra fields', async () => {
    answer400((req) => ({
      error: {
        message: `Invalid 'temperature'. Request headers: ${credentials(req)}`,
        type: 'invalid_request_error',
        param: header(req, 'authorization'),
        code: `bad_key_${KEY}`,
        debug: { headers: req.headers, keys: [KEY] },
      },
    }));
    const error = failure(await call(spec()));

    expect(error.class).toBe('bad_request');
    expect(error.status).toBe(400);
    expectClean(error);
    const body = error.body as unknown as { error: Record<string, unknown> };
    expect(body.error.message).toMatch(/^Invalid 'temperature'\. Request headers: /);
    expect(body.error.param).toBe(`Bearer ${REDACTED}`);
    expect(body.error.code).toBe(`bad_key_${REDACTED}`);
    expect(body.error.type).toBe('invalid_request_error');
  });

  it('Azure: a content-policy refusal echoing the api-key header stays a content_policy error', async () => {
    answer400((req) => ({
      error: {
        message: `The response was filtered due to the prompt triggering content management policy. (api-key: ${header(req, 'api-key')})`,
        type: null,
        param: 'prompt',
        code: 'content_filter',
        innererror: {
          code: 'ResponsibleAIPolicyViolation',
          request: { 'api-key': header(req, 'api-key') },
        },
      },
    }));
    const azure = spec({ azure: { apiVersion: '2024-10-21', deployment: 'gpt' } });
    const error = failure(await call(azure));

    expect(upstream.requests[0].headers['api-key']).toBe(KEY);
    expect(error.class).toBe('content_policy');
    expectClean(error);
    expect(error.message).toContain('content management policy');
  });

  it('Anthropic: a 400 echoing x-api-key', async () => {
    answer400((req) => ({
      type: 'error',
      error: {
        type: 'invalid_request_error',
        message: `max_tokens: too large (x-api-key=${header(req, 'x-api-key')})`,
      },
    }));
    const error = failure(await call(spec({ kind: 'anthropic', baseUrl: upstream.origin })));

    expect(upstream.requests[0].headers['x-api-key']).toBe(KEY);
    expect(error.class).toBe('bad_request');
    expectClean(error);
    expect(error.message).toMatch(/^max_tokens: too large/);
  });

  it('a plain-text error body cut at 500 characters leaves no part of a key it echoed', async () => {
    // The key straddles the cut: a scrub after the cut would no longer recognise it.
    upstream.setHandler((req) => ({
      kind: 'raw',
      status: 400,
      headers: { 'content-type': 'text/plain' },
      chunks: [`${'x'.repeat(480)} ${header(req, 'authorization')} ${'y'.repeat(100)}`],
    }));
    const error = failure(await call(spec()));

    expect(error.message.length).toBeLessThanOrEqual(500);
    expectClean(error);
  });

  it('a JSON-escaped echo is caught once parsed', async () => {
    const escaped = [...KEY].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
    upstream.enqueue({
      kind: 'status',
      status: 400,
      body: `{"error":{"message":"bad key ${escaped}","type":"invalid_request_error","code":null}}`,
    });
    const error = failure(await call(spec()));

    expect(error.message).toBe(`bad key ${REDACTED}`);
    expectClean(error);
  });

  it('an in-band error event in an OpenAI stream', async () => {
    upstream.setHandler((req) => ({
      kind: 'raw',
      chunks: [
        sse({ error: { message: `server saw ${credentials(req)}`, type: 'server_error', code: null } }),
      ],
    }));
    const { error: thrown } = await drain(await call(spec(), true));

    expect(thrown).toBeInstanceOf(ProviderFailure);
    expectClean((thrown as ProviderFailure).failure);
    expect((thrown as ProviderFailure).message).not.toContain(KEY);
  });

  it('an error event in an Anthropic stream', async () => {
    upstream.setHandler((req) => ({
      kind: 'raw',
      chunks: [
        `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: `busy; key ${header(req, 'x-api-key')}` } })}\n\n`,
      ],
    }));
    const { error: thrown } = await drain(
      await call(spec({ kind: 'anthropic', baseUrl: upstream.origin }), true),
    );

    expect(thrown).toBeInstanceOf(ProviderFailure);
    const failed = (thrown as ProviderFailure).failure;
    expect(failed.class).toBe('overloaded');
    expect(failed.message).toBe(`busy; key ${REDACTED}`);
  });
});

describe('Scrubber', () => {
  const scrubber = scrubberFor(
    providerSpec({
      name: 'p',
      apiKey: KEY,
      headers: { Authorization: 'Bearer custom-token-value', Accept: 'text/plain' },
    }),
  );

  it('redacts key-shaped strings and credentials that are not the configured ones', () => {
    const foreign = [
      'sk-proj-AbCdEfGhIjKlMnOpQrStUvWx0123',
      'sk-ant-api03-AbCdEfGhIjKlMnOpQrSt-uvwx',
      'sk-abc1********************wxyz',
      'gsk_AbCdEfGhIjKlMnOpQrStUvWx',
    ];
    for (const key of foreign)
      expect(scrubber.text(`Incorrect API key provided: ${key}.`)).toBe(
        `Incorrect API key provided: ${REDACTED}.`,
      );
    expect(scrubber.text('Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig')).toBe(
      `Authorization: ${REDACTED}`,
    );
    expect(scrubber.text('got "api-key": "0123456789abcdef0123456789abcdef"')).toBe(
      `got "api-key": "${REDACTED}"`,
    );
  });

  it('keeps raw JSON text parseable', () => {
    const raw = JSON.stringify({
      error: { message: 'authorization: Bearer abcdefgh12345678"quoted" and api_key=0123456789abcdef\\x' },
    });
    const parsed = JSON.parse(scrubber.text(raw)) as { error: { message: string } };
    expect(parsed.error.message).toBe(`authorization: ${REDACTED}"quoted" and api_key=${REDACTED}\\x`);
  });

  it('redacts configured header credentials, the bare token too, but not other header values', () => {
    expect(scrubber.text('token custom-token-value rejected')).toBe(`token ${REDACTED} rejected`);
    expect(scrubber.text('accept: text/plain')).toBe('accept: text/plain');
  });

  it('leaves ordinary error prose alone', () => {
    const prose = [
      "This model's maximum context length is 128000 tokens. Please reduce the length of the messages.",
      'Your request was rejected as a result of our safety system.',
      'basic authentication is not supported; use an API key',
      'Bearer authentication failed',
      'task-force and desk-lamp are not models',
    ];
    for (const text of prose) expect(scrubber.text(text)).toBe(text);
  });

  it('walks nested bodies, keys included, and stops at a bounded depth', () => {
    const s = new Scrubber(['s3cret-value']);
    expect(s.value({ a: ['x s3cret-value y', { 's3cret-value': 1 }], n: 2, z: null })).toEqual({
      a: [`x ${REDACTED} y`, { [REDACTED]: 1 }],
      n: 2,
      z: null,
    });
    let deep: unknown = 's3cret-value';
    for (let i = 0; i < 10_000; i++) deep = [deep];
    expect(JSON.stringify(s.value(deep))).not.toContain('s3cret-value');
    const proto = s.value(JSON.parse('{"__proto__": {"polluted": true}}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
    expect(Object.keys(proto)).toEqual(['__proto__']);
  });
});
