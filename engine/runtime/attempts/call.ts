/**
 * One upstream call. A JSON answer ends it; a stream is read until its first content (the commit
 * point: before it, a failure can still fall back invisibly) or its end. Reading a stream item
 * is bounded by the first-token, idle and deadline timers. The provider itself enforces only the
 * connect timeout and the abort signal.
 */

import { EngineError } from '../../errors.js';
import type { ChunkFrame } from '../../providers/openai-frames.js';
import type { ChatCompletionChunk, ResponseBody } from '../../providers/openai-types.js';
import {
  type Provider,
  type ProviderCallRequest,
  type ProviderCallResult,
  type ProviderError,
  ProviderFailure,
  type StreamItem,
} from '../../providers/types.js';
import { Cancellation, listenAbort, unlistenAbort } from '../../shared/cancellation.js';
import { fromOpenAIUsage } from '../../shared/usage.js';
import type { Endpoint, ErrorClass, PromptCacheMarks, Usage } from '../../types.js';
import type { BreakerPermit, CircuitBreaker } from '../breaker.js';
import { setResponseModel, startAttemptSpan } from '../tracing.js';
import { checkAnswer, checkBuffered } from './output.js';
import { race, timeoutFailure } from './race.js';
import { type AttemptRun, type Failure, failure, type Live, type Settle } from './run.js';

export type AttemptResult =
  | { readonly kind: 'json'; readonly live: Live; readonly body: ResponseBody; readonly usage: Usage | null }
  | { readonly kind: 'stream'; readonly live: Live }
  | { readonly kind: 'failed'; readonly failure: Failure };

export type ReadResult =
  | { readonly kind: 'chunk'; readonly chunk: ChatCompletionChunk }
  /** A chunk as its text (after `preferFrames`, once the attempt has its first content). */
  | { readonly kind: 'frame'; readonly frame: ChunkFrame }
  | { readonly kind: 'end' }
  | { readonly kind: 'aborted' }
  | { readonly kind: 'failed'; readonly failure: Failure };

/** One upstream call to `run.targets[index]`, with its permit and gate settlement. */
export async function callTarget(
  run: AttemptRun,
  index: number,
  breaker: CircuitBreaker,
  permit: BreakerPermit,
  prefill: string | undefined,
  settle: Settle,
): Promise<AttemptResult> {
  const target = run.targets[index];
  const provider = run.deps.providers.get(target.provider);
  if (provider === undefined) {
    breaker.settle(permit, 'cancelled');
    settle?.(null, false);
    throw new EngineError('internal_error', {
      route: run.decision.route,
      cause: `no provider ${target.provider}`,
    });
  }
  const signal = run.signal;
  // An AbortSignal only when the provider reads one (a network call does; replay's does not).
  const cancel = new Cancellation();
  // The caller's abort cancels the upstream call and ends the pending race (race.ts) at once.
  const onAbort = (): void => {
    cancel.abort(signal?.reason);
    live.interrupt?.();
  };
  const traced =
    run.trace === null
      ? null
      : startAttemptSpan(run.trace, {
          target,
          provider: provider.spec,
          route: run.decision.route,
          number: run.calls + 1,
          path: run.ctx.path,
          continuation: prefill !== undefined,
        });
  const startedAt = run.now;
  const attemptDeadline = Math.min(run.deadline, startedAt + Math.max(0, target.timeout.totalMs));
  const live: Live = {
    target,
    index,
    permit,
    breaker,
    cancel,
    unlink: () => {
      if (signal !== undefined) unlistenAbort(signal, onAbort);
    },
    startedAt,
    attemptDeadline,
    firstTokenAt: Math.min(attemptDeadline, startedAt + Math.max(0, target.timeout.firstTokenMs)),
    continuation: prefill !== undefined,
    status: null,
    firstByteAt: null,
    firstContentAt: null,
    lastItemAt: null,
    iterator: null,
    sawFinish: false,
    usage: null,
    buffered: [],
    complete: false,
    released: false,
    recorded: false,
    settle,
    span: traced?.span ?? null,
    interrupt: null,
  };
  if (signal !== undefined) listenAbort(signal, onAbort);
  run.calls += 1;
  const ctx = run.ctx;
  const request = new CallRequest(
    target.upstreamModel,
    // Responses and Messages requests are chat requests by now (engine/ingress/).
    ctx.endpoint === 'embeddings' ? 'embeddings' : 'chat',
    ctx.body,
    ctx.stream,
    cancel,
    // The target's own connect timeout, unchanged: transport pools are keyed by it, and the race
    // below already aborts the call at the deadline.
    Math.max(0, target.timeout.connectMs),
  );
  if (prefill !== undefined) request.prefill = prefill;
  if (traced?.headers != null) request.headers = traced.headers;
  if (target.promptCache !== undefined) request.promptCache = target.promptCache;
  const call = callSafely(provider, request);
  const raced = await race(run, live, call, live.firstTokenAt);
  if (raced.kind === 'aborted') return run.abortLive(live);
  if (raced.kind === 'timeout') return run.fail(live, timeoutFailure(run, live, live.firstTokenAt));
  if (raced.kind === 'error') return run.fail(live, classifyThrown(raced.error, 'connect'));

  const response: ProviderCallResult = raced.value;
  live.firstByteAt = run.now;
  if (!response.ok) return run.fail(live, fromProviderError(response.error));
  live.status = response.status;
  if (response.kind === 'json') {
    if (ctx.stream) return run.fail(live, failure('malformed'));
    live.firstContentAt = live.firstByteAt;
    setResponseModel(live.span, response.body.model);
    let body = response.body;
    if (run.output !== null) {
      // The answer is checked before it counts as a success: a block or fallback fails it.
      const checked = checkAnswer(run.output, body);
      live.usage = response.usage;
      if (checked.kind === 'failed') return run.fail(live, checked.failure);
      body = checked.value as ResponseBody;
    }
    run.finishLive(live, 'ok', response.usage);
    return { kind: 'json', live, body, usage: response.usage };
  }
  live.iterator = response.items[Symbol.asyncIterator]();
  if (!ctx.stream) return run.fail(live, failure('malformed'));
  // Output guardrails that need the whole answer hold the stream to its end before the commit,
  // so a block or a fallback is still invisible to the caller.
  const holdWhole = run.output !== null && (run.output.buffer || ctx.tools);
  for (;;) {
    const read = pollItem(run, live) ?? (await readItem(run, live));
    if (read.kind === 'aborted') return run.abortLive(live);
    if (read.kind === 'failed') return run.fail(live, read.failure);
    if (read.kind === 'end') {
      live.complete = true;
      live.firstContentAt ??= run.now;
    } else {
      live.buffered.push(read.kind === 'frame' ? read.frame.parse() : read.chunk);
    }
    if (holdWhole && run.output !== null) {
      if (!live.complete) continue;
      const checked = checkBuffered(run.output, live.buffered);
      if (checked.kind === 'failed') {
        live.complete = false;
        return run.fail(live, checked.failure);
      }
      live.buffered = checked.value;
    }
    if (live.firstContentAt !== null) {
      setResponseModel(live.span, live.buffered[0]?.model);
      run.deps.latency.observe(target.name, live.firstContentAt - live.startedAt);
      return { kind: 'stream', live };
    }
  }
}

/**
 * One call's request to the provider. A class, so that `signal` (the call's AbortSignal, made
 * only when read: a network call listens to `cancel`, replay's simulated upstream too) is a
 * getter on the prototype: an object literal's getter cost a closure and an accessor pair per
 * call, and the spreads of its optional fields a copy. The optional fields are set only when
 * present, as the literal had them.
 */
class CallRequest implements ProviderCallRequest {
  declare prefill?: string;
  declare headers?: Readonly<Record<string, string>>;
  declare promptCache?: PromptCacheMarks;

  constructor(
    readonly upstreamModel: string,
    readonly endpoint: Endpoint,
    readonly body: Readonly<Record<string, unknown>>,
    readonly stream: boolean,
    readonly cancel: Cancellation,
    readonly connectTimeoutMs: number,
  ) {}

  get signal(): AbortSignal {
    return this.cancel.signal;
  }
}

/** When the next item is due: first token before the first content, then idle; the deadline always. */
function readLimit(live: Live): number {
  // Before the first content only first-token applies: neither the gap after the headers nor the
  // one after a content-less role chunk is "between chunks" (docs/design.md §2: time to first content).
  if (live.firstContentAt === null) return Math.min(live.attemptDeadline, live.firstTokenAt);
  const idleAt =
    (live.lastItemAt ?? live.firstByteAt ?? live.startedAt) + Math.max(0, live.target.timeout.idleMs);
  return Math.min(live.attemptDeadline, idleAt);
}

/**
 * The next stream item when the provider has it already (`StreamItemIterator.poll`): no wait, so
 * no timer can fire first, and no race. Null when it must be awaited (`readItem`). A limit that
 * is already due times out, as a race against an unsettled read would.
 */
export function pollItem(run: AttemptRun, live: Live): ReadResult | null {
  const iterator = live.iterator;
  if (iterator === null || live.released || iterator.poll === undefined || run.signal?.aborted) return null;
  const limit = readLimit(live);
  // One reading of the clock for the check and the item: `poll` is synchronous, so no time
  // passes on a virtual clock between them (and a few µs on the system's). A second reading per
  // chunk was a clock call and a boxed number each.
  const now = run.now;
  if (now >= limit) return { kind: 'failed', failure: timeoutFailure(run, live, limit) };
  let step: IteratorResult<StreamItem> | undefined;
  try {
    step = iterator.poll();
  } catch (error) {
    return { kind: 'failed', failure: classifyThrown(error, 'stream_cut') };
  }
  return step === undefined ? null : stepResult(live, step, now);
}

/** Reads the next stream item under the first-token, idle and deadline timers. */
export async function readItem(run: AttemptRun, live: Live): Promise<ReadResult> {
  const iterator = live.iterator;
  // Never report a released stream as complete: that would turn a cancellation into [DONE].
  if (iterator === null || live.released) return { kind: 'failed', failure: failure('stream_cut') };
  const limit = readLimit(live);
  const raced = await race(run, live, iterator.next(), limit);
  if (raced.kind === 'aborted') return { kind: 'aborted' };
  if (raced.kind === 'timeout') return { kind: 'failed', failure: timeoutFailure(run, live, limit) };
  if (raced.kind === 'error') return { kind: 'failed', failure: classifyThrown(raced.error, 'stream_cut') };
  return stepResult(live, raced.value, run.now);
}

/** What one step of the provider's items, taken at `now`, means for the attempt. */
function stepResult(live: Live, step: IteratorResult<StreamItem>, now: number): ReadResult {
  live.lastItemAt = now;
  if (step.done === true) {
    return live.sawFinish ? { kind: 'end' } : { kind: 'failed', failure: failure('stream_cut') };
  }
  const item = step.value;
  if (item.type === 'done') return { kind: 'end' };
  let chunk: ChatCompletionChunk;
  if (item.type === 'frame') {
    const frame = item.frame;
    // Before the first content the chunk is parsed (below): only then does its content matter.
    if (live.firstContentAt !== null) {
      if (frame.usageStart !== -1) {
        const usage = frame.usage() as ChatCompletionChunk['usage'];
        if (usage) live.usage = fromOpenAIUsage(usage);
      }
      if (frame.finish) live.sawFinish = true;
      return { kind: 'frame', frame };
    }
    chunk = frame.parse();
  } else {
    chunk = item.chunk;
  }
  if (chunk.usage) live.usage = fromOpenAIUsage(chunk.usage);
  for (const choice of chunk.choices ?? []) {
    if (choice.finish_reason !== null && choice.finish_reason !== undefined) live.sawFinish = true;
    const delta = choice.delta;
    const hasContent = typeof delta?.content === 'string' && delta.content.length > 0;
    if (live.firstContentAt === null && (hasContent || (delta?.tool_calls?.length ?? 0) > 0)) {
      live.firstContentAt = now;
    }
  }
  return { kind: 'chunk', chunk };
}

/** A provider that throws synchronously (against its contract) yields a rejected promise instead. */
function callSafely(
  provider: Provider,
  request: Parameters<Provider['call']>[0],
): Promise<ProviderCallResult> {
  try {
    return provider.call(request);
  } catch (error) {
    return Promise.reject(error);
  }
}

function fromProviderError(error: ProviderError): Failure {
  return {
    errorClass: error.class,
    status: error.status,
    retryAfterMs: error.retryAfterMs,
    body: error.body,
    deadline: false,
  };
}

function classifyThrown(error: unknown, fallback: ErrorClass): Failure {
  if (error instanceof ProviderFailure) return fromProviderError(error.failure);
  return failure(fallback);
}
