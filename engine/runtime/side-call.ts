/**
 * A side call: the engine itself asks a model the policy declares for a chat answer or embeddings
 * (a classifier's question, an embedding of examples), through the same provider adapters and
 * transport as the attempt loop, with its own timeout on the engine's Clock. It never throws and
 * never retries: the caller decides what a failure means (a classifier takes its default label).
 *
 * Not a request of its own: no route, no limits, no recording line. What it costs is returned,
 * so the request that needed it carries the cost (and its route's budgets count it).
 */
import type { CompiledModel } from '../compile/compile.js';
import { costUsd } from '../limits/budgets.js';
import type { Provider, ResponseBody } from '../providers/types.js';
import type { Clock } from '../shared/clock.js';
import { isRecord } from '../shared/guards.js';
import type { Endpoint, Usage } from '../types.js';

export interface SideCallRequest {
  readonly model: CompiledModel;
  readonly endpoint: Endpoint;
  /** An OpenAI-shaped body (chat completions or embeddings); `model` is set from the model. */
  readonly body: Readonly<Record<string, unknown>>;
  readonly timeoutMs: number;
  /** The request's own abort signal: a caller who leaves ends the side call too. */
  readonly signal?: AbortSignal;
}

export type SideCallResult =
  | {
      readonly ok: true;
      readonly body: ResponseBody;
      readonly usage: Usage | null;
      /** Usage × the model's price; 0 when either is unknown. */
      readonly costUsd: number;
      readonly latencyMs: number;
    }
  | {
      readonly ok: false;
      readonly reason: 'timeout' | 'error' | 'aborted';
      /** For logs: never an upstream body or a key. */
      readonly message: string;
      readonly latencyMs: number;
    };

export interface SideCaller {
  call(request: SideCallRequest): Promise<SideCallResult>;
}

const TIMED_OUT: unique symbol = Symbol('timeout');

/** A side caller over `providers` (the snapshot's), timed on `clock`. */
export function createSideCaller(providers: ReadonlyMap<string, Provider>, clock: Clock): SideCaller {
  return {
    async call(request) {
      const started = clock.now();
      const elapsed = () => clock.now() - started;
      const provider = providers.get(request.model.provider);
      if (provider === undefined) {
        return {
          ok: false,
          reason: 'error',
          message: `no provider "${request.model.provider}"`,
          latencyMs: 0,
        };
      }
      if (request.signal?.aborted) return { ok: false, reason: 'aborted', message: 'aborted', latencyMs: 0 };
      const controller = new AbortController();
      const onAbort = () => controller.abort(request.signal?.reason);
      request.signal?.addEventListener('abort', onAbort, { once: true });
      const timer = new AbortController();
      const timeout = clock.sleep(request.timeoutMs, timer.signal).then(
        (): typeof TIMED_OUT => TIMED_OUT,
        () => undefined,
      );
      try {
        const call = provider.call({
          upstreamModel: request.model.upstreamModel,
          endpoint: request.endpoint,
          body: { ...request.body, model: request.model.upstreamModel },
          stream: false,
          signal: controller.signal,
          connectTimeoutMs: request.timeoutMs,
        });
        const first = await Promise.race([call, timeout]);
        if (first === TIMED_OUT || first === undefined) {
          controller.abort(new DOMException('side call timed out', 'TimeoutError'));
          call.catch(() => undefined);
          return {
            ok: false,
            reason: 'timeout',
            message: `no answer within ${request.timeoutMs}ms`,
            latencyMs: elapsed(),
          };
        }
        if (!first.ok) {
          return {
            ok: false,
            reason: 'error',
            message: `${first.error.class} (${first.error.status ?? 'no status'})`,
            latencyMs: elapsed(),
          };
        }
        if (first.kind !== 'json') {
          return { ok: false, reason: 'error', message: 'unexpected stream', latencyMs: elapsed() };
        }
        const price = request.model.price;
        return {
          ok: true,
          body: first.body,
          usage: first.usage,
          costUsd: first.usage !== null && price !== null ? costUsd(first.usage, price) : 0,
          latencyMs: elapsed(),
        };
      } catch {
        // A provider rejects only with the abort reason.
        return {
          ok: false,
          reason: request.signal?.aborted ? 'aborted' : 'error',
          message: 'aborted',
          latencyMs: elapsed(),
        };
      } finally {
        timer.abort();
        request.signal?.removeEventListener('abort', onAbort);
      }
    },
  };
}

/** The first choice's text of a chat completion body; null when it has none. */
export function answerText(body: ResponseBody): string | null {
  const choices: unknown = isRecord(body) ? body.choices : undefined;
  if (!Array.isArray(choices) || choices.length === 0) return null;
  const first: unknown = choices[0];
  if (!isRecord(first) || !isRecord(first.message)) return null;
  const content = first.message.content;
  return typeof content === 'string' ? content : null;
}

/** The vectors of an embeddings body, in input order; null when it is not one. */
export function embeddingVectors(body: ResponseBody): Float32Array[] | null {
  const data: unknown = isRecord(body) ? body.data : undefined;
  if (!Array.isArray(data)) return null;
  const out: Float32Array[] = [];
  for (const item of data) {
    if (!isRecord(item) || !Array.isArray(item.embedding)) return null;
    const v = item.embedding;
    if (!v.every((x): x is number => typeof x === 'number')) return null;
    const index = typeof item.index === 'number' ? item.index : out.length;
    out[index] = Float32Array.from(v);
  }
  return out.length === data.length && out.every((v) => v !== undefined) ? out : null;
}
