/**
 * A Provider whose behaviour is a script: per upstream model, a sequence of outcomes, each with
 * latencies on a (virtual) Clock. Every call is recorded with its virtual start time, so tests
 * and properties can check who was called, when, and with what.
 *
 * The simulation honours the provider contract: it never rejects except with the abort reason,
 * and its streams throw `ProviderFailure` when cut.
 */

import type { ChatCompletion, ChatCompletionChunk } from '../../engine/providers/openai-types.js';
import {
  type Provider,
  type ProviderCallRequest,
  type ProviderCallResult,
  type ProviderError,
  ProviderFailure,
  type ProviderSpec,
  type StreamItem,
} from '../../engine/providers/types.js';
import type { Clock } from '../../engine/shared/clock.js';
import { toOpenAIUsage } from '../../engine/shared/usage.js';
import type { ErrorClass, Usage } from '../../engine/types.js';
import { providerSpec } from './providers.js';

export interface SimChunk {
  /** Delay before this chunk, after the previous item (or after the headers). */
  readonly delayMs?: number;
  readonly text?: string;
  /** A chunk with tool-call deltas instead of text. */
  readonly toolCall?: boolean;
}

export type SimOutcome =
  /** Success: JSON after `latencyMs`, or a stream whose headers arrive after `latencyMs`. */
  | {
      readonly type: 'ok';
      readonly latencyMs?: number;
      /** Stream chunks (default: one chunk 'hello'); the JSON answer is their concatenation. */
      readonly chunks?: readonly SimChunk[];
      readonly usage?: Usage | null;
      readonly finishReason?: string;
      /** End the stream after the finish chunk without the `done` item. */
      readonly omitDone?: boolean;
      /** Send a leading `{ role: 'assistant' }` chunk without content (default true). */
      readonly roleChunk?: boolean;
    }
  /** An upstream error answer (4xx/5xx) or a connect failure, after `latencyMs`. */
  | {
      readonly type: 'error';
      readonly errorClass: ErrorClass;
      readonly status?: number | null;
      readonly latencyMs?: number;
      readonly retryAfterMs?: number | null;
      readonly message?: string;
    }
  /** Never answers: the call stays pending until aborted. */
  | { readonly type: 'hang' }
  /** A stream that sends `chunks`, then breaks with `errorClass` (default stream_cut). */
  | {
      readonly type: 'cut';
      readonly latencyMs?: number;
      readonly chunks: readonly SimChunk[];
      readonly errorClass?: ErrorClass;
      readonly cutDelayMs?: number;
    }
  /** A stream that sends `chunks`, then goes silent until aborted. */
  | { readonly type: 'stall'; readonly latencyMs?: number; readonly chunks: readonly SimChunk[] };

export interface SimCall {
  readonly upstreamModel: string;
  readonly startedAt: number;
  readonly stream: boolean;
  readonly prefill: string | undefined;
  readonly outcome: SimOutcome;
  /** Virtual time at which the attempt's signal was aborted, if it was. */
  abortedAt: number | null;
}

export interface SimulatedProviderOptions {
  readonly clock: Clock;
  readonly name?: string;
  /** Outcomes per upstream model, consumed in order; when a script runs out, `fallback` applies. */
  readonly script?: Readonly<Record<string, readonly SimOutcome[]>>;
  readonly fallback?: SimOutcome;
}

const STATUS_OF: Partial<Record<ErrorClass, number>> = {
  rate_limited: 429,
  overloaded: 503,
  server_error: 500,
  bad_request: 400,
  context_length: 400,
  content_policy: 400,
  auth: 401,
};

export class SimulatedProvider implements Provider {
  readonly spec: ProviderSpec;
  readonly calls: SimCall[] = [];
  readonly #clock: Clock;
  readonly #script: Map<string, SimOutcome[]>;
  readonly #fallback: SimOutcome;

  constructor(options: SimulatedProviderOptions) {
    this.#clock = options.clock;
    this.#script = new Map(Object.entries(options.script ?? {}).map(([k, v]) => [k, [...v]]));
    this.#fallback = options.fallback ?? { type: 'ok' };
    this.spec = providerSpec({ name: options.name ?? 'sim', kind: 'mock' });
  }

  /** Appends outcomes to a model's script. */
  push(upstreamModel: string, ...outcomes: SimOutcome[]): void {
    const list = this.#script.get(upstreamModel) ?? [];
    list.push(...outcomes);
    this.#script.set(upstreamModel, list);
  }

  callsTo(upstreamModel: string): SimCall[] {
    return this.calls.filter((c) => c.upstreamModel === upstreamModel);
  }

  async call(req: ProviderCallRequest): Promise<ProviderCallResult> {
    const outcome = this.#script.get(req.upstreamModel)?.shift() ?? this.#fallback;
    const record: SimCall = {
      upstreamModel: req.upstreamModel,
      startedAt: this.#clock.now(),
      stream: req.stream,
      prefill: req.prefill,
      outcome,
      abortedAt: null,
    };
    this.calls.push(record);
    req.signal.addEventListener('abort', () => (record.abortedAt ??= this.#clock.now()), { once: true });

    if (outcome.type === 'hang') {
      await this.#clock.sleep(Number.MAX_SAFE_INTEGER, req.signal);
      throw new Error('unreachable');
    }
    await this.#clock.sleep(outcome.latencyMs ?? 0, req.signal);
    if (outcome.type === 'error') return { ok: false, error: simError(outcome) };

    const id = `chatcmpl-sim-${this.calls.length}`;
    if (!req.stream) {
      const chunks = outcome.chunks ?? [{ text: 'hello' }];
      const usage = outcome.type === 'ok' ? (outcome.usage ?? null) : null;
      const body: ChatCompletion = {
        id,
        object: 'chat.completion',
        created: 0,
        model: `${req.upstreamModel}-snapshot`,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: chunks.map((c) => c.text ?? '').join('') },
            finish_reason: outcome.type === 'ok' ? (outcome.finishReason ?? 'stop') : 'stop',
          },
        ],
        usage: usage && toOpenAIUsage(usage),
      };
      return { ok: true, kind: 'json', status: 200, headers: {}, body, usage };
    }
    return {
      ok: true,
      kind: 'stream',
      status: 200,
      headers: { 'content-type': 'text/event-stream' },
      items: this.#items(id, req, outcome),
    };
  }

  async *#items(
    id: string,
    req: ProviderCallRequest,
    outcome: Exclude<SimOutcome, { type: 'hang' } | { type: 'error' }>,
  ): AsyncGenerator<StreamItem> {
    const model = `${req.upstreamModel}-snapshot`;
    const chunk = (delta: ChatCompletionChunk['choices'][number]['delta'], finish: string | null = null) => ({
      type: 'chunk' as const,
      chunk: {
        id,
        object: 'chat.completion.chunk' as const,
        created: 0,
        model,
        choices: [{ index: 0, delta, finish_reason: finish }],
      },
    });
    if (outcome.type !== 'ok' || outcome.roleChunk !== false) yield chunk({ role: 'assistant', content: '' });
    const chunks = outcome.type === 'ok' ? (outcome.chunks ?? [{ text: 'hello' }]) : outcome.chunks;
    for (const [i, c] of chunks.entries()) {
      await this.#clock.sleep(c.delayMs ?? 0, req.signal);
      yield c.toolCall
        ? chunk({
            tool_calls: [
              { index: 0, id: `call_${i}`, type: 'function', function: { name: 'f', arguments: '{}' } },
            ],
          })
        : chunk({ content: c.text ?? '' });
    }
    if (outcome.type === 'cut') {
      await this.#clock.sleep(outcome.cutDelayMs ?? 0, req.signal);
      throw new ProviderFailure(
        simError({ type: 'error', errorClass: outcome.errorClass ?? 'stream_cut', status: null }),
      );
    }
    if (outcome.type === 'stall') {
      await this.#clock.sleep(Number.MAX_SAFE_INTEGER, req.signal);
      return;
    }
    yield chunk({}, outcome.finishReason ?? 'stop');
    if (outcome.usage) {
      yield {
        type: 'chunk',
        chunk: {
          id,
          object: 'chat.completion.chunk',
          created: 0,
          model,
          choices: [],
          usage: toOpenAIUsage(outcome.usage),
        },
      };
    }
    if (!outcome.omitDone) yield { type: 'done' };
  }
}

function simError(outcome: Extract<SimOutcome, { type: 'error' }>): ProviderError {
  const status = outcome.status === undefined ? (STATUS_OF[outcome.errorClass] ?? null) : outcome.status;
  const message = outcome.message ?? `simulated ${outcome.errorClass}`;
  return {
    class: outcome.errorClass,
    status,
    message,
    retryAfterMs: outcome.retryAfterMs ?? null,
    body: { error: { message, type: outcome.errorClass, code: outcome.errorClass } },
  };
}
