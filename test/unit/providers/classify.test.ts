import { describe, expect, it } from 'vitest';
import { classifyHttpError, parseRetryAfter } from '../../../engine/providers/classify.js';
import type { ErrorClass } from '../../../engine/types.js';

const openai = (message: string, code: string | null = null, type = 'invalid_request_error') =>
  JSON.stringify({ error: { message, type, code, param: null } });
const anthropic = (type: string, message: string) =>
  JSON.stringify({ type: 'error', error: { type, message } });

const CASES: ReadonlyArray<{ note: string; status: number; body: string; want: ErrorClass }> = [
  {
    note: '429',
    status: 429,
    body: openai('Rate limit reached', 'rate_limit_exceeded', 'requests'),
    want: 'rate_limited',
  },
  { note: '503', status: 503, body: 'Service Unavailable', want: 'overloaded' },
  {
    note: 'anthropic 529',
    status: 529,
    body: anthropic('overloaded_error', 'Overloaded'),
    want: 'overloaded',
  },
  {
    note: '500',
    status: 500,
    body: openai('The server had an error', null, 'server_error'),
    want: 'server_error',
  },
  { note: '502 html', status: 502, body: '<html>Bad Gateway</html>', want: 'server_error' },
  { note: '504', status: 504, body: '', want: 'server_error' },
  { note: '401', status: 401, body: openai('Incorrect API key provided', 'invalid_api_key'), want: 'auth' },
  { note: 'anthropic 403', status: 403, body: anthropic('permission_error', 'no access'), want: 'auth' },
  {
    note: 'openai context length code',
    status: 400,
    body: openai("This model's maximum context length is 8192 tokens", 'context_length_exceeded'),
    want: 'context_length',
  },
  {
    note: 'context length by message only (vLLM)',
    status: 400,
    body: openai("This model's maximum context length is 4096 tokens. However, you requested 5000 tokens"),
    want: 'context_length',
  },
  {
    note: 'anthropic prompt too long',
    status: 400,
    body: anthropic('invalid_request_error', 'prompt is too long: 208453 tokens > 200000 maximum'),
    want: 'context_length',
  },
  {
    note: 'openai content policy',
    status: 400,
    body: openai('Your request was rejected as a result of our safety system.', 'content_policy_violation'),
    want: 'content_policy',
  },
  {
    note: 'azure content filter',
    status: 400,
    body: JSON.stringify({
      error: {
        message:
          "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
        type: null,
        code: 'content_filter',
        innererror: { code: 'ResponsibleAIPolicyViolation' },
      },
    }),
    want: 'content_policy',
  },
  {
    note: 'anthropic output blocked',
    status: 400,
    body: anthropic('invalid_request_error', 'Output blocked by content filtering policy'),
    want: 'content_policy',
  },
  { note: 'plain 400', status: 400, body: openai("Invalid value for 'temperature'"), want: 'bad_request' },
  {
    note: '404 model not found',
    status: 404,
    body: openai('The model `gpt-9` does not exist', 'model_not_found'),
    want: 'bad_request',
  },
  {
    note: 'anthropic 404',
    status: 404,
    body: anthropic('not_found_error', 'model: claude-9'),
    want: 'bad_request',
  },
  { note: '422 non-json', status: 422, body: 'unprocessable', want: 'bad_request' },
  {
    note: '5xx mentioning context stays retryable',
    status: 500,
    body: openai('context window overflow'),
    want: 'server_error',
  },
];

describe('classifyHttpError', () => {
  it.each(CASES)('$note → $want', ({ status, body, want }) => {
    const error = classifyHttpError(status, body, {}, 0);
    expect(error.class).toBe(want);
    expect(error.status).toBe(status);
    expect(error.body.error.message.length).toBeGreaterThan(0);
  });

  it('keeps the upstream OpenAI error for pass-through', () => {
    const error = classifyHttpError(400, openai('bad temperature', 'invalid_value'), {}, 0);
    expect(error.body).toEqual({
      error: { message: 'bad temperature', type: 'invalid_request_error', code: 'invalid_value' },
    });
  });

  it('reports an Anthropic error in OpenAI terms', () => {
    const error = classifyHttpError(
      400,
      anthropic('invalid_request_error', 'prompt is too long: 5 > 4'),
      {},
      0,
    );
    expect(error.body.error).toEqual({
      message: 'prompt is too long: 5 > 4',
      type: 'invalid_request_error',
      code: 'context_length_exceeded',
    });
  });

  it('reads Retry-After on a 429', () => {
    expect(classifyHttpError(429, '', { 'retry-after': '3' }, 0).retryAfterMs).toBe(3000);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-22T10:00:00Z');
  it.each([
    [{ 'retry-after': '2' }, 2000],
    [{ 'retry-after': '0.5' }, 500],
    [{ 'retry-after-ms': '1234.2' }, 1235],
    [{ 'retry-after-ms': '20', 'retry-after': '1' }, 20],
    [{ 'retry-after': 'Sun, 22 Nov 2026 10:00:07 GMT' }, 7000],
    [{ 'retry-after': 'Sun, 22 Nov 2026 09:59:00 GMT' }, 0],
    [{ 'retry-after': 'soon' }, null],
    [{}, null],
  ] as const)('%o → %s', (headers, want) => {
    expect(parseRetryAfter(headers, now)).toBe(want);
  });
});
