/**
 * The simulated upstream of a replay: every provider of the replayed policies is replaced by one
 * that answers on the replay's virtual clock. The rule, call by call (a call is one attempt of
 * one request at one target, the k-th call of that request at that target):
 *
 * 1. Recorded: when the request's recorded attempts hold a k-th attempt at that target (matched
 *    by policy model name), the call answers as it did: its outcome (`ok` or the error class),
 *    status, time to first byte and first token, duration and usage. A timeout is silence until
 *    whichever deadline the replayed policy sets; a cut stream breaks at its recorded time.
 *    An attempt an output guardrail failed answers `ok` (the upstream did answer).
 * 2. Simulated from the recording: otherwise, when the recording saw the model (by name, else by
 *    upstream model name), the call answers like one of its recorded attempts drawn from a
 *    uniform sample (stats.ts) — its latency distribution and error mix. The draw is a hash of
 *    `--seed`, the request id, the target and k: reproducible, and the same for both sides of a
 *    comparison. The usage is the request's own recorded usage when it has one (the prompt does
 *    not change with the model); else its input-token estimate and the sampled completion size.
 * 3. Simulated by default: a model the recording never saw answers `ok` after
 *    {@link DEFAULT_LATENCY} (first token after {@link DEFAULT_FIRST_TOKEN_MS}), with the
 *    recording's mean completion size (else {@link DEFAULT_COMPLETION_TOKENS}, at most the
 *    request's `max_tokens`).
 * 4. Scenario: a `--scenario` event active for the call's provider or model at the call's virtual
 *    time overrides the answer: an outage answers its status (or silence, or a refused
 *    connection) after the event's added latency; a `rateLimited` share answers 429 (drawn like
 *    step 2); added latency delays the first byte, first token and end.
 *
 * Answers of step 1 untouched by a scenario are counted as *recorded*; every other one as
 * *simulated* (the report's `recordedAnswers` and `simulatedAnswers`). Retry-After is not recorded:
 * a recorded failure the recording retried on the same target carries the recorded wait as its
 * Retry-After (the engine waits the larger of it and its own backoff, so the retry happens when it
 * did, jitter aside); other failures carry none unless a scenario gives one.
 *
 * A provider learns which request calls it from a symbol-keyed property of the request body
 * ({@link REPLAY_CALL}): invisible to JSON, to `Object.keys` and so to cache keys, and carried by
 * the copies that redaction makes. A semantic cache's embedding call names the request it embeds
 * for in its own body ({@link EMBEDDING_FOR}, engine/runtime/embedder.ts).
 */

import { LRUCache } from 'lru-cache';
import { EMBEDDING_FOR } from '../cache/semantic-text.js';
import type { CompiledPolicy } from '../compile/compile.js';
import { hash32 } from '../compile/random.js';
import { contentChars } from '../context.js';
import { providerError } from '../providers/classify.js';
import {
  DEFAULT_DIMENSIONS,
  embedText,
  MAX_DIMENSIONS,
  mockEmbeddingTokens,
} from '../providers/mock-embeddings.js';
import type { ChatCompletion, ChatCompletionChunk, EmbeddingsResponse } from '../providers/openai-types.js';
import {
  type Provider,
  type ProviderCallRequest,
  type ProviderCallResult,
  type ProviderDeps,
  ProviderFailure,
  type ProviderSpec,
  type StreamItem,
} from '../providers/types.js';
import type { Clock } from '../shared/clock.js';
import { isRecord } from '../shared/guards.js';
import { toOpenAIUsage } from '../shared/usage.js';
import type { AttemptRecord, ErrorClass, Usage } from '../types.js';
import { ReplayClock } from './clock.js';
import { eventActive, type Scenario } from './scenario.js';
import { MAX_SEMANTIC_SOURCES, type RecordedSemanticHit, semanticReplayVector } from './semantic-vectors.js';
import type { AttemptSample, ModelSample, RecordingStats } from './stats.js';
import { mix32 } from './traffic.js';

/** Latency of a model the recording never saw: the whole answer. */
export const DEFAULT_LATENCY = 500;
/** ... and its time to first token, for a stream. */
export const DEFAULT_FIRST_TOKEN_MS = 200;
/** Completion tokens of an answer when the recording says nothing about its size. */
export const DEFAULT_COMPLETION_TOKENS = 200;

const REPLY = 'Replayed answer.';

/** The property of a replayed request's body that names its {@link ReplayCall}. */
export const REPLAY_CALL: unique symbol = Symbol('switchyard.replay.call');

/** One side's calls so far for one request. */
interface SideCalls {
  /** recorded attempts already answered, by index */
  consumed: boolean[] | null;
  /** targets called, in order */
  called: string[] | null;
}

/** What the simulated upstream knows of one replayed request. */
export interface ReplayCall {
  readonly requestId: string;
  /** The recorded semantic cache hit of the request, if any (lines that name its source). */
  readonly semantic: RecordedSemanticHit | null;
  /** Mixed into every draw for this request. */
  readonly hash: number;
  readonly attempts: readonly AttemptRecord[];
  /** The request's own recorded usage, if any. */
  readonly usage: Usage | null;
  /** The prompt tokens its semantic cache's embedding call reported, when recorded. */
  readonly embeddingTokens: number | null;
  /** One per side of the comparison (candidate first). */
  readonly sides: SideCalls[];
}

export function createReplayCall(
  requestId: string,
  attempts: readonly AttemptRecord[],
  usage: Usage | null,
  sides: number,
  semantic: RecordedSemanticHit | null = null,
  embeddingTokens: number | null = null,
): ReplayCall {
  const out: SideCalls[] = [];
  for (let i = 0; i < sides; i++) out.push({ consumed: null, called: null });
  return { requestId, semantic, hash: hash32(requestId), attempts, usage, embeddingTokens, sides: out };
}

/** What one call does, in time relative to its start. */
interface Answer {
  readonly outcome: 'ok' | ErrorClass;
  readonly status: number | null;
  readonly firstByteMs: number | null;
  readonly firstTokenMs: number | null;
  readonly durationMs: number;
  readonly usage: Usage | null;
  readonly retryAfterMs: number | null;
  readonly recorded: boolean;
}

export interface AnswerTally {
  recorded: number;
  simulated: number;
}

const DEFAULT_STATUS: Partial<Record<ErrorClass, number>> = {
  rate_limited: 429,
  overloaded: 503,
  server_error: 500,
  bad_request: 400,
  context_length: 400,
  content_policy: 400,
  auth: 401,
};

const MESSAGE: Partial<Record<ErrorClass, string>> = {
  rate_limited: 'Rate limit reached (replay)',
  overloaded: 'The server is overloaded (replay)',
  server_error: 'The server had an error (replay)',
  bad_request: 'Invalid request (replay)',
  context_length: "This model's maximum context length was exceeded (replay)",
  content_policy: 'Request rejected by the content policy (replay)',
  auth: 'Incorrect API key provided (replay)',
};

export interface SimulatedUpstreamOptions {
  /**
   * Reads what the recording saw of each model (stats.ts), on the first call the recording does
   * not answer; null for traffic without recorded answers. A replay in which every call is
   * recorded (a policy replaying its own recording) never reads the file twice.
   */
  readonly loadStats: (() => Promise<RecordingStats>) | null;
  readonly scenario: Scenario | null;
  readonly seed: number;
}

/** The answers of every call of a replay, shared by the sides so that both meet the same upstream. */
export class SimulatedUpstream {
  #stats: RecordingStats | null = null;
  readonly #loadStats: (() => Promise<RecordingStats>) | null;
  readonly #scenario: Scenario | null;
  readonly #seed: number;
  /** Arrival of the first replayed request (scenario offsets count from it). */
  start = 0;
  #semanticSeeds: LRUCache<string, number> | null = null;
  /**
   * Request id → the seed of its semantic cache vector, for the requests naming it as source.
   * Made on first use: lru-cache allocates for its 100,000 entries up front (7 to 10 ms), and
   * only a replay of a semantic cache on a real embedding model reads it.
   */
  get semanticSeeds(): LRUCache<string, number> {
    this.#semanticSeeds ??= new LRUCache<string, number>({ max: MAX_SEMANTIC_SOURCES });
    return this.#semanticSeeds;
  }
  /**
   * Set while the statistics are being read: the replay must not move time until it settles
   * (a call is waiting for its answer, and no timer says when it comes).
   */
  loading: Promise<void> | null = null;

  constructor(options: SimulatedUpstreamOptions) {
    this.#loadStats = options.loadStats;
    this.#scenario =
      options.scenario !== null && options.scenario.events.length > 0 ? options.scenario : null;
    this.#seed = options.seed >>> 0;
  }

  /** The answer to the `side`'s next call of `call` at `target`, at virtual time `now`. */
  async answer(
    call: ReplayCall,
    side: number,
    target: string,
    upstreamModel: string,
    provider: string,
    request: ProviderCallRequest,
    now: number,
  ): Promise<Answer> {
    const calls = call.sides[side];
    calls.called ??= [];
    let k = 0;
    for (const t of calls.called) if (t === target) k++;
    calls.called.push(target);

    let answer: Answer | null = null;
    const attempts = call.attempts;
    for (let i = 0; i < attempts.length; i++) {
      if (attempts[i].target !== target || calls.consumed?.[i] === true) continue;
      calls.consumed ??= [];
      calls.consumed[i] = true;
      answer = fromRecord(attempts[i], recordedWait(attempts, i));
      break;
    }
    if (answer === null) {
      if (this.#stats === null && this.#loadStats !== null) await this.#ensureStats();
      answer = this.#simulate(call, target, upstreamModel, request, k);
    }
    return this.#scenario === null ? answer : this.#applyScenario(answer, call, target, provider, now, k);
  }

  #ensureStats(): Promise<void> {
    const load = this.#loadStats;
    if (this.#stats !== null || load === null) return Promise.resolve();
    this.loading ??= load().then(
      (stats) => {
        this.#stats = stats;
        this.loading = null;
      },
      (error: unknown) => {
        this.loading = null;
        throw error;
      },
    );
    return this.loading;
  }

  #draw(call: ReplayCall, target: string, k: number, salt: number): number {
    return mix32(this.#seed, call.hash, hash32(target), k, salt);
  }

  #simulate(
    call: ReplayCall,
    target: string,
    upstreamModel: string,
    request: ProviderCallRequest,
    k: number,
  ): Answer {
    const stats = this.#stats;
    const model: ModelSample | undefined =
      stats?.models.get(target) ?? stats?.upstreamModels.get(upstreamModel);
    const usage = (completion: number | null): Usage => {
      if (call.usage !== null) return call.usage;
      const prompt = estimateTokens(request.body, request.endpoint === 'embeddings');
      if (request.endpoint === 'embeddings')
        return { promptTokens: prompt, completionTokens: 0, totalTokens: prompt };
      let out = completion ?? stats?.meanCompletionTokens ?? DEFAULT_COMPLETION_TOKENS;
      const max = request.body.max_completion_tokens ?? request.body.max_tokens;
      if (typeof max === 'number' && max >= 0) out = Math.min(out, max);
      return { promptTokens: prompt, completionTokens: out, totalTokens: prompt + out };
    };
    if (model !== undefined) {
      const own = request.stream ? model.stream : model.json;
      const list = own.length > 0 ? own : request.stream ? model.json : model.stream;
      if (list.length > 0) {
        const s: AttemptSample = list[this.#draw(call, target, k, 1) % list.length];
        const ok = s.outcome === 'ok' || s.outcome === 'guardrail';
        return {
          outcome: ok ? 'ok' : s.outcome,
          status: s.status,
          firstByteMs: s.firstByteMs,
          firstTokenMs: s.firstTokenMs,
          durationMs: s.durationMs,
          usage: ok ? usage(s.completionTokens) : null,
          retryAfterMs: null,
          recorded: false,
        };
      }
    }
    return {
      outcome: 'ok',
      status: 200,
      firstByteMs: request.stream ? DEFAULT_FIRST_TOKEN_MS : DEFAULT_LATENCY,
      firstTokenMs: request.stream ? DEFAULT_FIRST_TOKEN_MS : DEFAULT_LATENCY,
      durationMs: DEFAULT_LATENCY,
      usage: usage(null),
      retryAfterMs: null,
      recorded: false,
    };
  }

  #applyScenario(
    answer: Answer,
    call: ReplayCall,
    target: string,
    provider: string,
    now: number,
    k: number,
  ): Answer {
    let latency = 0;
    let outage: NonNullable<Scenario['events'][number]['outage']> | null = null;
    let retryAfterMs: number | null = null;
    let notLimited = 1;
    let applies = false;
    for (const event of (this.#scenario as Scenario).events) {
      if (event.provider !== null && event.provider !== provider) continue;
      if (event.model !== null && event.model !== target) continue;
      if (!eventActive(event, now, this.start)) continue;
      applies = true;
      latency += event.latencyMs;
      if (event.outage !== null && outage === null) outage = event.outage;
      if (event.rateLimited > 0) notLimited *= 1 - event.rateLimited;
      retryAfterMs ??= event.retryAfterMs;
    }
    if (!applies) return answer;
    if (outage !== null) {
      if (outage.kind === 'timeout') return silence(latency);
      if (outage.kind === 'connect') return failed('connect', null, latency, null);
      return failed(outage.errorClass, outage.status, latency, outage.status === 429 ? retryAfterMs : null);
    }
    const limitedShare = 1 - notLimited;
    if (limitedShare > 0 && this.#draw(call, target, k, 2) / 4294967296 < limitedShare)
      return failed('rate_limited', 429, latency, retryAfterMs);
    if (latency === 0) return answer;
    const shift = (v: number | null): number | null => (v === null ? null : v + latency);
    return {
      ...answer,
      firstByteMs: shift(answer.firstByteMs),
      firstTokenMs: shift(answer.firstTokenMs),
      durationMs: answer.durationMs + latency,
      recorded: false,
    };
  }
}

/**
 * How long the recording waited after failed attempt `i` before retrying the same target: given
 * back as the answer's Retry-After, so the retry happens when it did (the engine waits the larger
 * of it and its own backoff); null when the target was not retried.
 */
function recordedWait(attempts: readonly AttemptRecord[], i: number): number | null {
  const a = attempts[i];
  if (a.outcome === 'ok' || a.outcome === 'guardrail') return null;
  for (let j = i + 1; j < attempts.length; j++) {
    if (attempts[j].target !== a.target) continue;
    const gap = attempts[j].startedAtMs - (a.startedAtMs + a.durationMs);
    return gap > 0 ? gap : null;
  }
  return null;
}

function fromRecord(a: AttemptRecord, retryAfterMs: number | null): Answer {
  return {
    outcome: a.outcome === 'guardrail' ? 'ok' : a.outcome,
    status: a.status,
    firstByteMs: a.firstByteMs,
    firstTokenMs: a.firstTokenMs,
    durationMs: a.durationMs,
    usage: a.usage,
    retryAfterMs,
    recorded: true,
  };
}

function silence(afterMs: number): Answer {
  return {
    outcome: 'timeout',
    status: null,
    firstByteMs: null,
    firstTokenMs: null,
    durationMs: afterMs,
    usage: null,
    retryAfterMs: null,
    recorded: false,
  };
}

function failed(
  cls: ErrorClass,
  status: number | null,
  afterMs: number,
  retryAfterMs: number | null,
): Answer {
  return {
    outcome: cls,
    status,
    firstByteMs: status === null ? null : afterMs,
    firstTokenMs: null,
    durationMs: afterMs,
    usage: null,
    retryAfterMs,
    recorded: false,
  };
}

/** The gateway's estimate of input tokens (context.ts): characters / 4 plus 4 per message. */
function estimateTokens(body: Readonly<Record<string, unknown>>, embeddings: boolean): number {
  let chars = 0;
  let overhead = 0;
  if (embeddings) {
    const input = body.input;
    if (typeof input === 'string') chars = input.length;
    else if (Array.isArray(input)) for (const s of input) if (typeof s === 'string') chars += s.length;
  } else if (Array.isArray(body.messages)) {
    for (const m of body.messages) {
      overhead += 4;
      if (isRecord(m)) chars += contentChars(m.content);
    }
  }
  return Math.ceil(chars / 4) + overhead;
}

// ---------------------------------------------------------------------------------------------
// Playing an answer on the clock

function waitForAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/** A call's waits, each ended by the call's cancellation. */
interface Waits {
  sleep(ms: number): Promise<void>;
  /** Silence until the call is cancelled. */
  untilAborted(): Promise<never>;
}

/**
 * The waits of the call `req` on `clock`: through the call's {@link Cancellation} on the replay
 * clock (no AbortSignal is made), else through its signal.
 */
function waitsOf(req: ProviderCallRequest, clock: Clock): Waits {
  const cancel = req.cancel;
  if (cancel !== undefined && clock instanceof ReplayClock) {
    return {
      sleep: (ms) => clock.sleepUntil(ms, cancel),
      untilAborted: () => new Promise<never>((_, reject) => cancel.onAbort(reject)),
    };
  }
  const signal = req.signal;
  return { sleep: (ms) => clock.sleep(ms, signal), untilAborted: () => waitForAbort(signal) };
}

function errorResult(a: Answer): ProviderCallResult {
  const cls = a.outcome as ErrorClass;
  if (cls === 'connect')
    return { ok: false, error: providerError('connect', 'connect ECONNREFUSED (replay)') };
  const status = a.status ?? DEFAULT_STATUS[cls] ?? null;
  return {
    ok: false,
    error: providerError(cls, MESSAGE[cls] ?? `upstream failed: ${cls} (replay)`, {
      status,
      retryAfterMs: a.retryAfterMs,
    }),
  };
}

const SILENT: ReadonlySet<string> = new Set(['timeout', 'first_token', 'idle']);

async function play(
  a: Answer,
  req: ProviderCallRequest,
  clock: Clock,
  id: string,
  vector: number[] | null = null,
): Promise<ProviderCallResult> {
  const waits = waitsOf(req, clock);
  const outcome = a.outcome;
  const silent = SILENT.has(outcome);
  if (!req.stream || req.endpoint === 'embeddings') {
    if (silent) return waits.untilAborted();
    if (outcome === 'connect') {
      await waits.sleep(a.durationMs);
      return errorResult(a);
    }
    await waits.sleep(a.outcome === 'ok' ? a.durationMs : (a.firstByteMs ?? a.durationMs));
    if (outcome === 'malformed' || outcome === 'stream_cut') {
      return {
        ok: false,
        error: providerError(outcome, `upstream answer broke: ${outcome} (replay)`, {
          status: a.status ?? 200,
        }),
      };
    }
    if (outcome !== 'ok') return errorResult(a);
    return jsonAnswer(req, a.usage, id, clock.now(), vector);
  }
  // A stream: headers at the first byte, content at the first token, the end at the duration.
  if (outcome === 'connect') {
    await waits.sleep(a.durationMs);
    return errorResult(a);
  }
  if (a.firstByteMs === null) {
    if (silent) return waits.untilAborted();
    await waits.sleep(a.durationMs);
    if (outcome !== 'ok' && outcome !== 'stream_cut' && outcome !== 'malformed') return errorResult(a);
  } else {
    await waits.sleep(a.firstByteMs);
    if (outcome !== 'ok' && !silent && outcome !== 'stream_cut' && outcome !== 'malformed')
      return errorResult(a);
  }
  const firstByte = a.firstByteMs ?? a.durationMs;
  // An answer without a recorded first token: content at the first byte when it succeeded; none
  // when it failed (a cut or a malformed chunk before any content, or silence).
  const firstToken = a.firstTokenMs ?? (outcome === 'ok' ? firstByte : null);
  const created = Math.floor(clock.now() / 1000);
  const chunk = (delta: ChatCompletionChunk['choices'][number]['delta'], finish: string | null = null) =>
    ({
      id,
      object: 'chat.completion.chunk',
      created,
      model: req.upstreamModel,
      choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
    }) as ChatCompletionChunk;
  async function* items(): AsyncGenerator<StreamItem> {
    yield { type: 'chunk', chunk: chunk({ role: 'assistant', content: '' }) };
    let at = firstByte;
    if (firstToken !== null) {
      await waits.sleep(firstToken - at);
      at = firstToken;
      yield { type: 'chunk', chunk: chunk({ content: REPLY }) };
    }
    // Silence after what the recording saw arrive: the replayed policy's timer ends it.
    if (silent) return await waits.untilAborted();
    await waits.sleep(a.durationMs - at);
    if (outcome === 'stream_cut' || outcome === 'malformed') {
      throw new ProviderFailure(
        outcome === 'malformed'
          ? providerError('malformed', 'upstream sent a chunk that is not JSON (replay)')
          : providerError('stream_cut', 'upstream body broke: socket hang up (replay)'),
      );
    }
    yield { type: 'chunk', chunk: chunk({}, 'stop') };
    if (a.usage !== null) {
      yield {
        type: 'chunk',
        chunk: {
          id,
          object: 'chat.completion.chunk',
          created,
          model: req.upstreamModel,
          choices: [],
          usage: toOpenAIUsage(a.usage),
        },
      };
    }
    yield { type: 'done' };
  }
  return {
    ok: true,
    kind: 'stream',
    status: 200,
    headers: { 'content-type': 'text/event-stream' },
    items: items(),
  };
}

function jsonAnswer(
  req: ProviderCallRequest,
  usage: Usage | null,
  id: string,
  now: number,
  vector: number[] | null,
): ProviderCallResult {
  const headers = { 'content-type': 'application/json' };
  if (req.endpoint === 'embeddings') {
    const inputs = Array.isArray(req.body.input) ? req.body.input : [req.body.input];
    const dimensions = askedDimensions(req);
    const body: EmbeddingsResponse = {
      object: 'list',
      data: inputs.map((text, index) => ({
        object: 'embedding',
        index,
        embedding: vector ?? embed(String(text), dimensions),
      })),
      model: req.upstreamModel,
      usage: { prompt_tokens: usage?.promptTokens ?? 0, total_tokens: usage?.totalTokens ?? 0 },
    };
    return { ok: true, kind: 'json', status: 200, headers, body, usage };
  }
  const body: ChatCompletion = {
    id,
    object: 'chat.completion',
    created: Math.floor(now / 1000),
    model: req.upstreamModel,
    choices: [
      { index: 0, message: { role: 'assistant', content: REPLY }, finish_reason: 'stop', logprobs: null },
    ],
    ...(usage === null ? {} : { usage: toOpenAIUsage(usage) }),
  };
  return { ok: true, kind: 'json', status: 200, headers, body, usage };
}

/** The `dimensions` an embeddings call asks for, else the mock's default. */
function askedDimensions(req: ProviderCallRequest): number {
  const asked = req.body.dimensions;
  return typeof asked === 'number' && Number.isInteger(asked) && asked > 0 && asked <= MAX_DIMENSIONS
    ? asked
    : DEFAULT_DIMENSIONS;
}

/**
 * The replayed request a semantic cache's embedding call is for (the body it embeds for names
 * it), when the call is one; null for any other call.
 */
function semanticCallOf(req: ProviderCallRequest): ReplayCall | null {
  if (req.endpoint !== 'embeddings') return null;
  const origin = (req.body as { [EMBEDDING_FOR]?: unknown })[EMBEDDING_FOR];
  if (typeof origin !== 'object' || origin === null) return null;
  return (origin as { [REPLAY_CALL]?: ReplayCall })[REPLAY_CALL] ?? null;
}

/**
 * An embeddings answer: the mock provider's vector of the text (engine/providers/mock-embeddings.ts,
 * similar texts get similar vectors). An embedding call is never recorded with its vectors, so
 * replay answers it as the mock would: a semantic cache or an embedding classifier of a policy
 * recorded on the mock sees the same similarities again. A semantic cache's call on a real
 * embedding model is answered by {@link semanticReplayVector} instead (the recorded pairs).
 */
function embed(text: string, dimensions: number): number[] {
  return Array.from(embedText(text, dimensions));
}

/**
 * The providers of one side of a replay: each call asks `upstream` for its answer and plays it
 * on `clock`. `tally` counts recorded and simulated answers.
 */
export function simulatedProviders(
  policy: CompiledPolicy,
  upstream: SimulatedUpstream,
  side: number,
  clock: Clock,
  tally: AnswerTally,
): (spec: ProviderSpec, deps: ProviderDeps) => Provider {
  // Which policy model a call is for: providers see (provider, upstream model) only.
  const exact = new Map<string, string[]>();
  const wildcard = new Map<string, string[]>();
  for (const [name, model] of policy.models) {
    const map = model.wildcard ? wildcard : exact;
    const key = model.wildcard ? model.provider : `${model.provider}\n${model.upstreamModel}`;
    const list = map.get(key);
    if (list === undefined) map.set(key, [name]);
    else list.push(name);
  }
  let sequence = 0;
  return (spec) => ({
    spec,
    call(req: ProviderCallRequest): Promise<ProviderCallResult> {
      const call = (req.body as { [REPLAY_CALL]?: ReplayCall })[REPLAY_CALL];
      if (call === undefined) {
        // Not a replayed request (a cache's own embedding call, say): a default answer, with
        // the tokens its model reported in the recording (a semantic cache's call), else those
        // the mock would report, so its cost counts as it did.
        const owner = semanticCallOf(req);
        const tokens = owner?.embeddingTokens ?? mockEmbeddingTokens(req.body);
        const usage: Usage | null =
          req.endpoint === 'embeddings'
            ? { promptTokens: tokens, completionTokens: 0, totalTokens: tokens }
            : null;
        // A semantic cache's call for a replayed request, on a real embedding model: vectors
        // that give back the recorded similarities (the mock's own vectors are exact already).
        const semantic = spec.kind === 'mock' ? null : owner;
        const vector =
          semantic === null || typeof req.body.input !== 'string'
            ? null
            : semanticReplayVector(semantic, req.body.input, askedDimensions(req), upstream.semanticSeeds);
        return play({ ...DEFAULT_OK, usage }, req, clock, `chatcmpl-replay-${++sequence}`, vector);
      }
      const target = targetOf(
        call,
        side,
        exact.get(`${spec.name}\n${req.upstreamModel}`),
        wildcard.get(spec.name),
        req.upstreamModel,
      );
      const id = `chatcmpl-replay-${++sequence}`;
      return upstream
        .answer(call, side, target, req.upstreamModel, spec.name, req, clock.now())
        .then((answer) => {
          if (answer.recorded) tally.recorded++;
          else tally.simulated++;
          return play(answer, req, clock, id);
        });
    },
  });
}

const DEFAULT_OK: Answer = {
  outcome: 'ok',
  status: 200,
  firstByteMs: DEFAULT_FIRST_TOKEN_MS,
  firstTokenMs: DEFAULT_FIRST_TOKEN_MS,
  durationMs: DEFAULT_LATENCY,
  usage: null,
  retryAfterMs: null,
  recorded: false,
};

/**
 * The policy model a call is for. Several models may share a provider and upstream model (or a
 * wildcard may cover it): the one with a recorded attempt still to answer in this request wins,
 * else the exact one, else the wildcard.
 */
function targetOf(
  call: ReplayCall,
  side: number,
  exact: readonly string[] | undefined,
  wild: readonly string[] | undefined,
  upstreamModel: string,
): string {
  const first = exact?.[0] ?? wild?.[0] ?? upstreamModel;
  if ((exact?.length ?? 0) + (wild?.length ?? 0) <= 1) return first;
  const consumed = call.sides[side].consumed;
  for (const names of [exact, wild]) {
    for (const name of names ?? []) {
      for (let i = 0; i < call.attempts.length; i++) {
        if (call.attempts[i].target === name && consumed?.[i] !== true) return name;
      }
    }
  }
  return first;
}
