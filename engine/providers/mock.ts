/**
 * The in-process mock provider: no network, fully deterministic, time only through the Clock.
 * Each outcome of `MockSpec.sequence` reproduces what the attempt loop would observe from a real
 * upstream misbehaving that way, so policies can be demonstrated and tested offline.
 */

import { isRecord } from '../shared/guards.js';
import { toOpenAIUsage } from '../shared/usage.js';
import type { ErrorClass, Usage } from '../types.js';
import { providerError, rethrowIfAborted } from './classify.js';
import { contentText, type MockAnswer, mockAnswer, splitEvenly, splitReply } from './mock-answer.js';
import { mockEmbeddings, mockEmbeddingTokens } from './mock-embeddings.js';
import { MockSchemaError } from './mock-schema.js';
import type { ChatCompletion, ChatCompletionChunk, ChatDelta, ChatMessage } from './openai-types.js';
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
      rethrowIfAborted(req.cancel ?? req.signal);
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
      if (req.endpoint === 'embeddings') return mockEmbeddings(req, outcome, mockEmbeddingTokens(req.body));

      let answer: MockAnswer;
      try {
        answer = mockAnswer(req.body, mock.reply);
      } catch (err) {
        if (!(err instanceof MockSchemaError)) throw err;
        return { ok: false, error: providerError('bad_request', `${err.message} (mock)`, { status: 400 }) };
      }
      const output = answer.kind === 'text' ? answer.content : answer.arguments;
      const prompt = tokens(promptChars(req.body));
      const usage: Usage = {
        promptTokens: prompt,
        completionTokens: tokens(output.length),
        totalTokens: prompt + tokens(output.length),
      };
      const finishReason = answer.kind === 'text' ? 'stop' : 'tool_calls';
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
        const message: ChatMessage =
          answer.kind === 'text'
            ? { role: 'assistant', content: answer.content }
            : {
                role: 'assistant',
                content: null,
                tool_calls: [
                  {
                    id: answer.id,
                    type: 'function',
                    function: { name: answer.name, arguments: answer.arguments },
                  },
                ],
              };
        const body: ChatCompletion = {
          id,
          object: 'chat.completion',
          created,
          model: req.upstreamModel,
          choices: [{ index: 0, message, finish_reason: finishReason, logprobs: null }],
          usage: toOpenAIUsage(usage),
        };
        return { ok: true, kind: 'json', status: 200, headers, body, usage };
      }
      const chunk = (delta: ChatDelta, finish: string | null = null): ChatCompletionChunk => ({
        id,
        object: 'chat.completion.chunk',
        created,
        model: req.upstreamModel,
        choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
      });
      // The deltas after the leading role chunk, as OpenAI streams them: content in pieces, or a
      // tool call's header (role, id, name) followed by its argument fragments.
      const deltas: ChatDelta[] =
        answer.kind === 'text'
          ? (answer.json ? splitEvenly(answer.content) : splitReply(answer.content)).map((content) => ({
              content,
            }))
          : [
              {
                role: 'assistant',
                content: null,
                tool_calls: [
                  {
                    index: 0,
                    id: answer.id,
                    type: 'function',
                    function: { name: answer.name, arguments: '' },
                  },
                ],
              },
              ...splitEvenly(answer.arguments).map((args) => ({
                tool_calls: [{ index: 0, function: { arguments: args } }],
              })),
            ];
      async function* items(): AsyncGenerator<StreamItem> {
        // A tool call's first delta carries the role itself.
        if (answer.kind === 'text' || outcome === 'malformed') {
          yield {
            type: 'chunk',
            chunk: chunk({ role: 'assistant', content: answer.kind === 'text' ? '' : null }),
          };
        }
        if (outcome === 'malformed') {
          throw new ProviderFailure(
            providerError('malformed', 'upstream sent a stream chunk that is not JSON (mock)'),
          );
        }
        // A cut stream delivers `cutAfter` chunks (default: about half of the answer, at least one), then breaks.
        const deliver =
          outcome !== 'stream_cut'
            ? deltas.length
            : Math.min(deltas.length, mock.cutAfter ?? Math.max(1, Math.floor(deltas.length / 2)));
        for (let i = 0; i < deliver; i++) {
          if (i > 0) await clock.sleep(mock.chunkDelayMs, req.signal);
          rethrowIfAborted(req.signal);
          yield { type: 'chunk', chunk: chunk(deltas[i]) };
        }
        if (outcome === 'stream_cut') {
          throw new ProviderFailure(
            providerError('stream_cut', 'upstream body broke: socket hang up (mock)'),
          );
        }
        await clock.sleep(mock.chunkDelayMs, req.signal);
        yield { type: 'chunk', chunk: chunk({}, finishReason) };
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

export { splitReply } from './mock-answer.js';
