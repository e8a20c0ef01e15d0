/**
 * The stream relay: hands a committed upstream stream to the caller as SSE frames, under the idle
 * and deadline timers, and applies the mid-stream policy when it fails after content reached the
 * caller: `error` ends it with an in-band error event and no `[DONE]`; `continue` resumes on a
 * later prefill-capable target with the text so far. A failure is never presented as success.
 */

import { wantsUsage } from '../../cache/stream.js';
import { errorBody } from '../../errors.js';
import {
  type ChunkFrame,
  editedFrame,
  editedHead,
  headMatches,
  withHead,
} from '../../providers/openai-frames.js';
import type { ChatCompletionChunk } from '../../providers/openai-types.js';
import { sseFrame } from '../../providers/sse.js';
import type { AbortSource } from '../../shared/cancellation.js';
import { sumUsage, toOpenAIUsage } from '../../shared/usage.js';
import type { EngineResponse, FrameBatches, ResponseMeta } from '../../types.js';
import { pollItem, readItem } from './call.js';
import { AnswerScanner } from './output.js';
import { runHeaders, runMeta } from './responses.js';
import { Aborted, type AttemptRun, type Live } from './run.js';
import { walk } from './walk.js';

const DONE = sseFrame('[DONE]');

interface Identity {
  readonly id: string;
  readonly created: number;
}

/** One frame of JSON: `JSON.stringify` escapes every line break, so it is one `data:` line as is. */
function sse(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}

export function streamResponse(run: AttemptRun, first: Live): EngineResponse {
  const overheadMs = run.overhead();
  // The committed attempt is recorded only when the stream ends; the header counts it already,
  // as a JSON answer's does.
  const headers = runHeaders(run, first.target, {
    'x-switchyard-attempts': String(run.attempts.length + (first.recorded ? 0 : 1)),
  });
  const initialMeta = runMeta(run, first.target, null, overheadMs);
  let resolveDone: (meta: ResponseMeta) => void = () => undefined;
  const done = new Promise<ResponseMeta>((resolve) => {
    resolveDone = resolve;
  });
  const firstChunk = first.buffered[0];
  const identity: Identity = {
    id: firstChunk?.id ?? 'chatcmpl-switchyard',
    created: firstChunk?.created ?? 0,
  };
  const served: Live[] = [first];
  const onEnd = (): void => {
    const last = served[served.length - 1];
    resolveDone(runMeta(run, last.target, sumUsage(served.map((l) => l.usage)), overheadMs));
  };
  const generator = relay(run, first, identity, served, onEnd);
  const events = guardedEvents(
    generator,
    () => {
      // The generator never started, so its `finally` will not run: the same clean-up here.
      run.release(first, true);
      if (!first.recorded) run.finishLive(first, 'ok', null, first.status, 'cancelled');
      onEnd();
    },
    run.signal,
  );
  return { kind: 'stream', status: first.status ?? 200, headers, events, done, meta: initialMeta };
}

/**
 * The caller's iterator over `generator`'s batches of frames: `next` hands them out one by one,
 * `nextFrames` a batch at a time (FrameBatches). `return()` (or `throw()`) before the first step
 * would end a generator without running its `finally`, leaving upstream open, the breaker permit
 * and the gate unsettled and `done` pending: `beforeStart` does that clean-up instead.
 */
function guardedEvents(
  generator: AsyncGenerator<string[], void>,
  beforeStart: () => void,
  signal: AbortSource | undefined,
): AsyncGenerator<string> & FrameBatches {
  let started = false;
  let ended = false;
  /** The batch `next` is handing out, from `at`. */
  let batch: string[] = [];
  let at = 0;
  const endUnstarted = (): void => {
    batch = [];
    at = 0;
    if (started || ended) return;
    ended = true;
    beforeStart();
  };
  const firstOf = (step: IteratorResult<string[], void>): IteratorResult<string> => {
    if (step.done === true) return { done: true, value: undefined };
    batch = step.value;
    at = 1;
    return { done: false, value: batch[0] };
  };
  /** Frames of the batch still to hand out; none once the caller aborted (the relay stops then too). */
  const held = (): boolean => {
    if (at === batch.length) return false;
    if (signal?.aborted !== true) return true;
    batch = [];
    at = 0;
    return false;
  };
  const iterator: AsyncGenerator<string> & FrameBatches = {
    next: () => {
      if (held()) return Promise.resolve({ done: false, value: batch[at++] });
      if (ended) return Promise.resolve({ done: true, value: undefined });
      started = true;
      return generator.next().then(firstOf);
    },
    nextFrames: () => {
      if (held()) {
        const rest = at === 0 ? batch : batch.slice(at);
        batch = [];
        at = 0;
        return Promise.resolve({ done: false, value: rest });
      }
      if (ended) return Promise.resolve({ done: true, value: undefined });
      started = true;
      return generator.next() as Promise<IteratorResult<string[], undefined>>;
    },
    return: (value: unknown) => {
      endUnstarted();
      return generator.return().then(() => ({ done: true, value }));
    },
    throw: (error: unknown) => {
      endUnstarted();
      return generator.throw(error).then(firstOf);
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

/**
 * Turns the upstream's chunks into the caller's frames: the stream's own id and created time, the
 * serving target's model, no usage (reported once, at the end), and the streaming output
 * guardrails applied. It keeps the text so far (for a `continue` after a mid-stream failure).
 * A class rather than a closure per stream.
 */
class Framer {
  text = '';
  toolCalls = false;
  /** The streaming guardrail that blocked the answer; nothing more is framed after it. */
  blockedBy: string | null = null;

  constructor(
    private readonly identity: Identity,
    private readonly scanner: AnswerScanner | null,
    /** Keep the text so far: only a `continue` after a mid-stream failure needs it. */
    private readonly keepText: boolean,
  ) {}

  /** The stream's `id` and `created`, and the model of `jsonFor`, as JSON: made once. */
  private idJson: string | null = null;
  private createdJson = '';
  private modelJson = '';
  private jsonFor: Live | null = null;
  /**
   * The prefix of the template whose `id`, `created` and `model` are the ones this framer sets
   * (`headMatches`): a frame with that prefix and no `usage` goes out as it is, without comparing
   * the three again (three `startsWith` per chunk, 2 % of a stream's busy time).
   */
  private matchedHead: string | null = null;
  /**
   * The prefix of the template last edited by `editedHead`, and the edited prefix: frames with
   * that prefix are made from it with two slices (OpenAI's chunks all carry `usage: null`, so
   * none goes out as it is; editing each in full was 2 % of a stream's busy time).
   */
  private editedFor: string | null = null;
  private editedPrefix = '';

  /**
   * The frame of a chunk taken as its text (`preferFrames`): the text with the members this
   * framer sets edited in place, the same bytes as `frame(chunk)` gives for the parsed chunk.
   * Only when nothing needs the chunk's content: no scanner, no text kept, not a continuation.
   */
  forward(chunk: ChunkFrame, from: Live): string | null {
    if (chunk.choices === 0) return null; // usage-only chunk: reported once, at the end
    if (from !== this.jsonFor) {
      if (this.idJson === null) {
        this.idJson = JSON.stringify(this.identity.id);
        this.createdJson = JSON.stringify(this.identity.created);
      }
      this.modelJson = JSON.stringify(from.target.upstreamModel);
      this.jsonFor = from;
      this.matchedHead = null;
      this.editedFor = null;
    }
    const prefix = chunk.prefix;
    if (prefix !== null) {
      if (chunk.usageStart === -1) {
        if (prefix === this.matchedHead) return `data: ${chunk.data}\n\n`;
        if (headMatches(chunk, this.idJson as string, this.createdJson, this.modelJson)) {
          this.matchedHead = prefix;
          return `data: ${chunk.data}\n\n`;
        }
      }
      if (prefix === this.editedFor) return withHead(chunk, this.editedPrefix);
      const head = editedHead(chunk, this.idJson as string, this.createdJson, this.modelJson);
      if (head !== null) {
        this.editedFor = prefix;
        this.editedPrefix = head;
        return withHead(chunk, head);
      }
    }
    return (
      editedFrame(chunk, this.idJson as string, this.createdJson, this.modelJson) ??
      this.frame(chunk.parse(), from)
    );
  }

  /** The frame of `chunk` from the attempt `from`, or null when nothing is sent for it. */
  frame(chunk: ChatCompletionChunk, from: Live): string | null {
    let choices = chunk.choices ?? [];
    for (let i = 0; i < choices.length; i++) {
      const delta = choices[i].delta;
      // Not kept unless needed: an open stream's memory does not grow with its answer.
      if (this.keepText && typeof delta?.content === 'string') this.text += delta.content;
      if ((delta?.tool_calls?.length ?? 0) > 0) this.toolCalls = true;
    }
    if (choices.length === 0) return null; // usage-only chunk: reported once, at the end
    if (from.continuation && choices.every(isEmptyChoice)) return null; // the resumed answer's role chunk
    const scanner = this.scanner;
    if (scanner !== null) {
      const checked: typeof choices = [];
      for (const c of choices) {
        let out = typeof c.delta?.content === 'string' ? scanner.push(c.index, c.delta.content) : null;
        if (out?.blocked == null && c.finish_reason != null) {
          const rest = scanner.flush(c.index);
          out = { text: (out?.text ?? '') + rest.text, blocked: rest.blocked };
        }
        if (out?.blocked != null) {
          this.blockedBy = out.blocked.name;
          return null;
        }
        checked.push(out === null ? c : { ...c, delta: { ...c.delta, content: out.text } });
      }
      choices = checked;
    }
    const out = {
      ...chunk,
      choices,
      id: this.identity.id,
      created: this.identity.created,
      model: from.target.upstreamModel,
    };
    // Dropped from the JSON by storing undefined in the copy: a rest copy (`{ usage, ...rest }`)
    // costs a second copy, and adding a `usage` key the chunk lacks (a spread with
    // `usage: undefined`) gives each copy a map of its own: 2 µs to build, 3 µs to serialise.
    if (out.usage !== undefined) out.usage = undefined;
    return sse(out);
  }
}

/**
 * The relay proper. It yields the frames in batches: all those the upstream's items already
 * received make (one upstream read's worth, taken with `pollItem`), handed out before it waits
 * for the network, for a resume or at the end. A frame is never held back while the relay waits.
 */
async function* relay(
  run: AttemptRun,
  first: Live,
  identity: Identity,
  served: Live[],
  onEnd: () => void,
): AsyncGenerator<string[], void> {
  let live = first;
  // Output guardrails that check content as it streams (a held-whole answer was checked already).
  const scanner =
    run.output !== null && !run.output.buffer && !run.ctx.tools ? new AnswerScanner(run.output) : null;
  const keepText = run.decision.stream.midStream === 'continue';
  const framer = new Framer(identity, scanner, keepText);
  // Nothing reads the chunks' content: the provider may hand them out as their text.
  const forward = scanner === null && !keepText;
  if (forward) live.iterator?.preferFrames?.();
  /** The frames not yet handed out. */
  let out: string[] = [];
  try {
    for (;;) {
      // Indexed and cleared after, rather than spliced: no array per chunk (nothing else adds to
      // it while the relay yields).
      const buffered = live.buffered;
      for (let i = 0; i < buffered.length; i++) {
        const f = framer.frame(buffered[i], live);
        if (framer.blockedBy !== null) {
          // The held-back text is never sent: the answer ends with the guardrail's error, no [DONE].
          out.push(sse(errorBody('guardrail_blocked', { guardrail: framer.blockedBy })));
          yield out;
          return;
        }
        if (f !== null) out.push(f);
      }
      buffered.length = 0;
      if (live.complete) {
        scanner?.finish();
        run.finishLive(live, 'ok', null);
        const usage = sumUsage(served.map((l) => l.usage));
        if (wantsUsage(run.ctx.body) && usage !== null) {
          out.push(
            sse({
              id: identity.id,
              object: 'chat.completion.chunk',
              created: identity.created,
              model: live.target.upstreamModel,
              choices: [],
              usage: toOpenAIUsage(usage),
            }),
          );
        }
        out.push(DONE);
        yield out;
        return;
      }
      let read = pollItem(run, live);
      if (read === null) {
        // The next item must come from the network: what is ready goes out first.
        if (out.length > 0) {
          yield out;
          out = [];
        }
        read = await readItem(run, live);
      }
      if (read.kind === 'aborted') return; // the caller aborted: `finally` cancels upstream
      if (read.kind === 'frame') {
        const f = live.continuation
          ? framer.frame(read.frame.parse(), live)
          : framer.forward(read.frame, live);
        if (f !== null) out.push(f);
      } else if (read.kind === 'chunk') live.buffered.push(read.chunk);
      else if (read.kind === 'end') live.complete = true;
      else {
        // Content already reached the caller: the failure is never presented as success.
        const original = read.failure;
        run.fail(live, original);
        const resumes = run.decision.stream.midStream === 'continue' && !framer.toolCalls;
        if (resumes && out.length > 0) {
          yield out;
          out = [];
        }
        const resumed = resumes ? await resume(run, live, framer.text) : null;
        if (resumed === null) {
          out.push(sse(errorBody('stream_interrupted', { lastClass: original.errorClass })));
          yield out;
          return;
        }
        live = resumed;
        served.push(live);
        if (forward) live.iterator?.preferFrames?.();
      }
    }
  } catch (error) {
    // Only an abort while resuming lands here; anything else is a bug worth surfacing.
    if (!(error instanceof Aborted)) throw error;
  } finally {
    // Client disconnect or abort: cancel upstream; the upstream did not fail, so the attempt is
    // recorded as 'ok' and the breaker gets no verdict.
    run.release(live, true);
    if (!live.recorded) run.finishLive(live, 'ok', null, live.status, 'cancelled');
    onEnd();
  }
}

/** Continues a broken stream on a later prefill-capable target; null when none takes over. */
async function resume(run: AttemptRun, broken: Live, partial: string): Promise<Live | null> {
  const result = await walk(run, broken.index + 1, partial);
  if (result.kind !== 'success' || result.result.kind !== 'stream') return null;
  return result.result.live;
}

function isEmptyChoice(c: ChatCompletionChunk['choices'][number]): boolean {
  const hasContent = typeof c.delta?.content === 'string' && c.delta.content.length > 0;
  return !hasContent && (c.delta?.tool_calls?.length ?? 0) === 0 && c.finish_reason == null;
}
