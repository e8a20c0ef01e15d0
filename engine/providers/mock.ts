/**
 * The in-process mock provider: no network, fully deterministic, time only through the Clock.
 * Each outcome of `MockSpec.sequence` reproduces what the attempt loop would observe from a real
 * upstream misbehaving that way, so policies can be demonstrated and tested offline.
 */

import { isRecord } from '../shared/guards.js';
import { toOpenAIUsage } from '../shared/usage.js';
import type { ErrorClass, Usage } from '../types.js';
import { providerError, rethrowIfAborted } from './classify.js';
import type { ChatCompletion, ChatCompletionChunk, EmbeddingsResponse } from './openai-types.js';
import {
  type MockOutcome,
  type MockSpec,
  type Provider,
  type ProviderCallRequest,
  type ProviderCallResult,
  type ProviderDeps,
  type ProviderError,
  ProviderFailure,
  type ProviderSpec,
  type StreamItem,
} from './types.js';

export const DEFAULT_MOCK_SPEC: MockSpec = { reply: null, latencyMs: 0, chunkDelayMs: 0, sequence: [] };

/** The longest a mock stream gets, in content chunks; longer replies are grouped by words. */
const MAX_CONTENT_CHUNKS = 16;

/** Outcomes that are an HTTP error answer, as a real upstream would send it. */
const HTTP_ERRORS: Partial<
  Record<MockOutcome, { status: number; cls: ErrorClass; message: string; retryAfterMs?: number }>
> = {
  rate_limited: {
    status: 429,
    cls: 'rate_limited',
    message: 'Rate limit reached (mock)',
    retryAfterMs: 1000,
  },
  overloaded: { status: 503, cls: 'overloaded', message: 'The server is overloaded (mock)' },
  server_error: { status: 500, cls: 'server_error', message: 'The server had an error (mock)' },
  bad_request: { status: 400, cls: 'bad_request', message: 'Invalid request (mock)' },
  context_length: {
    status: 400,
    cls: 'context_length',
    message: "This model's maximum context length was exceeded (mock)",
  },
  content_policy: {
    status: 400,
    cls: 'content_policy',
    message: 'Request rejected by the content policy (mock)',
  },
  auth: { status: 401, cls: 'auth', message: 'Incorrect API key provided (mock)' },
};

function httpError(outcome: MockOutcome): ProviderError | null {
  const entry = HTTP_ERRORS[outcome];
  if (entry === undefined) return null;
  return providerError(entry.cls, entry.message, {
    status: entry.status,
    retryAfterMs: entry.retryAfterMs ?? null,
  });
}

function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part) => (isRecord(part) && typeof part.text === 'string' ? part.text : '')).join('');
}

function lastUserText(body: Readonly<Record<string, unknown>>): string {
  if (!Array.isArray(body.messages)) return '';
  for (let i = body.messages.length - 1; i >= 0; i--) {
    const message: unknown = body.messages[i];
    if (isRecord(message) && message.role === 'user') return contentText(message.content);
  }
  return '';
}

function promptChars(body: Readonly<Record<string, unknown>>): number {
  if (Array.isArray(body.messages)) {
    return body.messages.reduce(
      (sum: number, m: unknown) => sum + (isRecord(m) ? contentText(m.content).length : 0),
      0,
    );
  }
  if (typeof body.input === 'string') return body.input.length;
  if (Array.isArray(body.input))
    return body.input.reduce((sum: number, s: unknown) => sum + String(s).length, 0);
  return 0;
}

const tokens = (chars: number): number => Math.ceil(chars / 4);

/** Splits a reply into at most MAX_CONTENT_CHUNKS pieces on word boundaries; joins back exactly. */
export function splitReply(reply: string): string[] {
  const words = reply.match(/\s*\S+\s*/g) ?? (reply === '' ? [] : [reply]);
  if (words.length <= MAX_CONTENT_CHUNKS) return words;
  const per = Math.ceil(words.length / MAX_CONTENT_CHUNKS);
  const pieces: string[] = [];
  for (let i = 0; i < words.length; i += per) pieces.push(words.slice(i, i + per).join(''));
  return pieces;
}

/** A deterministic unit-length vector from the text (FNV-1a seeded), for embeddings. */
function embed(text: string, dims = 8): number[] {
  let h = 2166136261;
  const vector: number[] = [];
  for (let d = 0; d < dims; d++) {
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
    h = Math.imul(h ^ d, 16777619) >>> 0;
    vector.push((h / 0xffffffff) * 2 - 1);
  }
  const norm = Math.hypot(...vector) || 1;
  return vector.map((v) => v / norm);
}

function waitForAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/**
 * @example
 * const demo = createMockProvider({ ...spec, kind: 'mock', mock: { reply: null, latencyMs: 50, chunkDelayMs: 10, sequence: ['rate_limited', 'ok'] } }, { transport, clock });
 */
export function createMockProvider(spec: ProviderSpec, deps: ProviderDeps): Provider {
  const { clock } = deps;
  const mock = spec.mock ?? DEFAULT_MOCK_SPEC;
  const counters = new Map<string, number>();

  function nextOutcome(model: string): { outcome: MockOutcome; n: number } {
    const n = counters.get(model) ?? 0;
    counters.set(model, n + 1);
    const outcome = mock.sequence.length === 0 ? 'ok' : mock.sequence[n % mock.sequence.length];
    return { outcome, n };
  }

  return {
    spec,
    async call(req: ProviderCallRequest): Promise<ProviderCallResult> {
      rethrowIfAborted(req.signal);
      const { outcome, n } = nextOutcome(req.upstreamModel);
      if (outcome === 'connect') {
        return {
          ok: false,
          error: providerError('connect', `connect ECONNREFUSED (mock provider "${spec.name}")`),
        };
      }
      if (outcome === 'silent') return waitForAbort(req.signal);
      await clock.sleep(mock.latencyMs, req.signal);
      const error = httpError(outcome);
      if (error !== null) return { ok: false, error };

      const created = Math.floor(clock.now() / 1000);
      const id = `chatcmpl-mock-${n + 1}`;
      const headers = { 'content-type': req.stream ? 'text/event-stream' : 'application/json' };
      if (req.endpoint === 'embeddings') return embeddings(req, outcome);

      const reply = mock.reply ?? `Echo: ${lastUserText(req.body)}`;
      const usage: Usage = {
        promptTokens: tokens(promptChars(req.body)),
        completionTokens: tokens(reply.length),
        totalTokens: tokens(promptChars(req.body)) + tokens(reply.length),
      };
      if (!req.stream) {
        if (outcome === 'malformed') {
          return {
            ok: false,
            error: providerError('malformed', 'upstream answer is not JSON (mock)', { status: 200 }),
          };
        }
        if (outcome === 'stream_cut') {
          return {
            ok: false,
            error: providerError('stream_cut', 'upstream body broke: socket hang up (mock)', { status: 200 }),
          };
        }
        const body: ChatCompletion = {
          id,
          object: 'chat.completion',
          created,
          model: req.upstreamModel,
          choices: [
            {
              index: 0,
              message: { role: 'assistant', content: reply },
              finish_reason: 'stop',
              logprobs: null,
            },
          ],
          usage: toOpenAIUsage(usage),
        };
        return { ok: true, kind: 'json', status: 200, headers, body, usage };
      }
      const chunk = (
        delta: ChatCompletionChunk['choices'][number]['delta'],
        finish: string | null = null,
      ): ChatCompletionChunk => ({
        id,
        object: 'chat.completion.chunk',
        created,
        model: req.upstreamModel,
        choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
      });
      async function* items(): AsyncGenerator<StreamItem> {
        yield { type: 'chunk', chunk: chunk({ role: 'assistant', content: '' }) };
        if (outcome === 'malformed') {
          throw new ProviderFailure(
            providerError('malformed', 'upstream sent a stream chunk that is not JSON (mock)'),
          );
        }
        const pieces = splitReply(reply);
        // A cut stream delivers about half of the answer, at least one chunk, then breaks.
        const deliver = outcome === 'stream_cut' ? Math.max(1, Math.floor(pieces.length / 2)) : pieces.length;
        for (let i = 0; i < deliver; i++) {
          if (i > 0) await clock.sleep(mock.chunkDelayMs, req.signal);
          rethrowIfAborted(req.signal);
          yield { type: 'chunk', chunk: chunk({ content: pieces[i] }) };
        }
        if (outcome === 'stream_cut') {
          throw new ProviderFailure(
            providerError('stream_cut', 'upstream body broke: socket hang up (mock)'),
          );
        }
        await clock.sleep(mock.chunkDelayMs, req.signal);
        yield { type: 'chunk', chunk: chunk({}, 'stop') };
        yield {
          type: 'chunk',
          chunk: {
            id,
            object: 'chat.completion.chunk',
            created,
            model: req.upstreamModel,
            choices: [],
            usage: toOpenAIUsage(usage),
          },
        };
        yield { type: 'done' };
      }
      return { ok: true, kind: 'stream', status: 200, headers, items: items() };
    },
  };
}

function embeddings(req: ProviderCallRequest, outcome: MockOutcome): ProviderCallResult {
  if (outcome === 'malformed' || outcome === 'stream_cut') {
    const cls = outcome === 'malformed' ? 'malformed' : 'stream_cut';
    return {
      ok: false,
      error: providerError(cls, `upstream answer broke (mock ${outcome})`, { status: 200 }),
    };
  }
  const inputs = Array.isArray(req.body.input) ? req.body.input.map(String) : [String(req.body.input ?? '')];
  const prompt = tokens(promptChars(req.body));
  const body: EmbeddingsResponse = {
    object: 'list',
    data: inputs.map((text, index) => ({ object: 'embedding', index, embedding: embed(text) })),
    model: req.upstreamModel,
    usage: { prompt_tokens: prompt, total_tokens: prompt },
  };
  return {
    ok: true,
    kind: 'json',
    status: 200,
    headers: { 'content-type': 'application/json' },
    body,
    usage: { promptTokens: prompt, completionTokens: 0, totalTokens: prompt },
  };
}
