/**
 * Provider fixtures shared by the provider tests and the simulated provider: a spec and a call
 * with test defaults, and readers for what a call returned.
 */
import { expect } from 'vitest';
import type { ChatCompletionChunk } from '../../engine/providers/openai-types.js';
import type { HttpRequest } from '../../engine/providers/transport.js';
import type {
  ProviderCallRequest,
  ProviderCallResult,
  ProviderError,
  ProviderSpec,
  StreamItem,
} from '../../engine/providers/types.js';
import type { RecordedRequest } from './upstream.js';

/** A provider spec: an OpenAI-kind provider with no URL, key or headers, unless overridden. */
export function providerSpec(overrides: Partial<ProviderSpec> = {}): ProviderSpec {
  return {
    name: 'test',
    kind: 'openai',
    baseUrl: null,
    apiKey: null,
    headers: {},
    azure: null,
    anthropicVersion: '2023-06-01',
    mock: null,
    maxResponseBytes: 1 << 20,
    ...overrides,
  };
}

/** A non-streamed chat call to upstream model `m` with one user message, unless overridden. */
export function callRequest(overrides: Partial<ProviderCallRequest> = {}): ProviderCallRequest {
  return {
    upstreamModel: 'm',
    endpoint: 'chat',
    body: { model: 'm', messages: [{ role: 'user', content: 'Hi' }] },
    stream: false,
    signal: new AbortController().signal,
    connectTimeoutMs: 1000,
    ...overrides,
  };
}

/** The error of a failed call; throws when the call succeeded. */
export function failure(result: ProviderCallResult): ProviderError {
  if (result.ok) throw new Error(`expected a failure, got ${result.kind}`);
  return result.error;
}

export interface Drained {
  items: StreamItem[];
  /** The chunks among `items`. */
  chunks: ChatCompletionChunk[];
  /** What the iteration threw; null when it ended normally. */
  error: unknown;
}

/** Reads a streamed result to its end (or its failure); throws when the result is not a stream. */
export async function drain(result: ProviderCallResult): Promise<Drained> {
  if (!result.ok || result.kind !== 'stream')
    throw new Error(`expected a stream, got ${JSON.stringify(result)}`);
  const items: StreamItem[] = [];
  let error: unknown = null;
  try {
    for await (const item of result.items) items.push(item);
  } catch (err) {
    error = err;
  }
  const chunks = items.flatMap((i) => (i.type === 'chunk' ? [i.chunk] : []));
  return { items, chunks, error };
}

/** The concatenated `delta.content` of the chunks among `items`. */
export function streamedText(items: readonly StreamItem[]): string {
  return items.map((i) => (i.type === 'chunk' ? (i.chunk.choices[0]?.delta.content ?? '') : '')).join('');
}

/** A transport request: a small chat completion POSTed to `<baseUrl>/chat/completions`, unless overridden. */
export function chatPost(baseUrl: string, overrides: Partial<HttpRequest> = {}): HttpRequest {
  return {
    url: `${baseUrl}/chat/completions`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
    signal: new AbortController().signal,
    connectTimeoutMs: 1000,
    maxResponseBytes: 1 << 20,
    ...overrides,
  };
}

/** The upstream saw a Messages API call with Anthropic's credentials header (`apiKey`), not OpenAI's. */
export function expectAnthropicCall(req: RecordedRequest, apiKey: string): void {
  expect(req.path).toBe('/v1/messages');
  expect(req.headers['x-api-key']).toBe(apiKey);
  expect(req.headers['anthropic-version']).toBe('2023-06-01');
  expect(req.headers.authorization).toBeUndefined();
}
