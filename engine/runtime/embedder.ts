/**
 * The semantic cache's embedding call: one `embeddings` request to a policy model, through the
 * same provider adapter and transport a routed embeddings request uses, bounded by its own
 * timeout on the Clock and by the caller's abort signal. It never throws: every failure (no such
 * model or provider, an upstream error, a malformed answer, the timeout) is a value, and the
 * request then goes on as a cache miss. No retries and no breaker: the cache is an optimisation,
 * and a slow embedding model must not make every request slower than the upstream call it saves.
 */
import { EMBEDDING_FOR } from '../cache/semantic-text.js';
import type { CompiledModel } from '../compile/models.js';
import { costUsd } from '../limits/budgets.js';
import type { Provider } from '../providers/types.js';
import type { Clock } from '../shared/clock.js';
import { isRecord } from '../shared/guards.js';
import type { Usage } from '../types.js';

export interface EmbedRequest {
  readonly model: CompiledModel;
  readonly provider: Provider | undefined;
  readonly text: string;
  /** `dimensions` to ask for; null for the model's default. */
  readonly dimensions: number | null;
  readonly timeoutMs: number;
  readonly clock: Clock;
  readonly signal?: AbortSignal;
  /**
   * The body of the request the embedding is for, set on the call's body under
   * {@link EMBEDDING_FOR} (invisible to JSON): replay's simulated upstream learns from it which
   * replayed request a semantic cache's embedding call belongs to.
   */
  readonly for?: object;
}

export type EmbedResult =
  | {
      readonly ok: true;
      /** As the model answered it (not normalised). */
      readonly vector: Float32Array;
      readonly usage: Usage | null;
      /** The call's cost from the model's price; 0 when the model has no price or no usage came. */
      readonly costUsd: number;
    }
  | { readonly ok: false; readonly reason: string };

const TIMED_OUT: unique symbol = Symbol('timed out');

function noop(): void {}

/** The first embedding of an OpenAI embeddings list: a number array or base64 float32 (LE). */
function firstEmbedding(body: unknown): Float32Array | null {
  if (!isRecord(body) || !Array.isArray(body.data) || !isRecord(body.data[0])) return null;
  const embedding = body.data[0].embedding;
  if (Array.isArray(embedding)) {
    if (embedding.length === 0 || !embedding.every((v) => typeof v === 'number')) return null;
    return Float32Array.from(embedding as number[]);
  }
  if (typeof embedding === 'string') {
    const bytes = Buffer.from(embedding, 'base64');
    if (bytes.length === 0 || bytes.length % 4 !== 0) return null;
    const out = new Float32Array(bytes.length / 4);
    for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
    return out;
  }
  return null;
}

/**
 * @example
 * const r = await embed({ model, provider, text, dimensions: null, timeoutMs: 2000, clock });
 * if (r.ok) index.search(partition, normalizeVector(r.vector), 0.95, clock.now());
 */
export async function embed(req: EmbedRequest): Promise<EmbedResult> {
  const { model, provider, clock } = req;
  if (provider === undefined) return { ok: false, reason: `no provider ${model.provider}` };
  if (req.signal?.aborted) return { ok: false, reason: 'aborted' };
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(req.signal?.reason);
  req.signal?.addEventListener('abort', onAbort, { once: true });
  const cancelTimer = new AbortController();
  const timer = clock.sleep(req.timeoutMs, cancelTimer.signal).then(
    (): typeof TIMED_OUT => TIMED_OUT,
    () => new Promise<never>(noop),
  );
  const body: Record<string, unknown> = {
    model: model.upstreamModel,
    input: req.text,
    encoding_format: 'float',
  };
  if (req.dimensions !== null) body.dimensions = req.dimensions;
  if (req.for !== undefined) (body as { [EMBEDDING_FOR]?: object })[EMBEDDING_FOR] = req.for;
  try {
    const call = provider.call({
      upstreamModel: model.upstreamModel,
      endpoint: 'embeddings',
      body,
      stream: false,
      signal: controller.signal,
      connectTimeoutMs: req.timeoutMs,
    });
    call.catch(noop); // after a timeout its rejection (the abort) has no reader
    const result = await Promise.race([call, timer]);
    if (result === TIMED_OUT) {
      controller.abort(new Error('embedding timeout'));
      return { ok: false, reason: `timeout after ${req.timeoutMs}ms` };
    }
    if (!result.ok) return { ok: false, reason: `${result.error.class}: ${result.error.message}` };
    if (result.kind !== 'json' || result.status !== 200)
      return { ok: false, reason: 'not an embeddings answer' };
    const vector = firstEmbedding(result.body);
    if (vector === null) return { ok: false, reason: 'malformed embeddings answer' };
    const usage = result.usage;
    const cost = usage !== null && model.price !== null ? costUsd(usage, model.price) : 0;
    return { ok: true, vector, usage, costUsd: cost };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  } finally {
    cancelTimer.abort();
    req.signal?.removeEventListener('abort', onAbort);
  }
}
