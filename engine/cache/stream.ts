/**
 * Streams and the cache, both ways:
 * - `replayStream` serves a cached chat completion to a streaming caller as OpenAI SSE frames: per
 *   choice a role chunk, the content in a few chunks, the tool calls, a finish chunk; then, when
 *   the caller asked for `stream_options.include_usage`, a usage chunk with no choices; then
 *   `data: [DONE]`.
 * - `StreamAssembler` rebuilds the `chat.completion` body from the chunks of a live stream, so a
 *   streamed answer can be stored. It yields a body only when every choice ended with a
 *   `finish_reason` and no error arrived in band: a partial answer is never stored.
 *
 * `replayStream` then `StreamAssembler` gives back the body (role, content, refusal, tool calls,
 * logprobs, finish reasons, usage, id, created, model, system_fingerprint); other message fields
 * (audio, annotations) are not streamed.
 */
import type {
  ChatCompletion,
  ChatCompletionChoice,
  ChatCompletionChunk,
  ChatCompletionChunkChoice,
  ChatDelta,
  ChatMessage,
  ChatToolCall,
  OpenAIUsage,
} from '../providers/openai-types.js';
import { sseFrame } from '../providers/sse.js';
import { isRecord } from '../shared/guards.js';
import { toOpenAIUsage } from '../shared/usage.js';
import { isCompleteChatCompletion } from './answer.js';
import type { CachedAnswer } from './store.js';

export const DONE_FRAME = sseFrame('[DONE]');

export interface ReplayOptions {
  /** The caller's `stream_options.include_usage`. */
  readonly includeUsage?: boolean;
  /** How many content chunks per choice, at most; default 4. */
  readonly contentChunks?: number;
}

/** Whether the request asked for a usage chunk (`stream_options.include_usage: true`). */
export function wantsUsage(body: Readonly<Record<string, unknown>>): boolean {
  const options = body.stream_options;
  return isRecord(options) && options.include_usage === true;
}

/** Splits `text` into at most `parts` pieces of near-equal length, never inside a surrogate pair. */
export function splitText(text: string, parts: number): string[] {
  if (text === '') return [];
  const n = Math.max(1, Math.min(Math.floor(parts), text.length));
  const size = Math.ceil(text.length / n);
  const out: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(text.length, start + size);
    // Do not end a piece between a high and a low surrogate.
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end++;
    out.push(text.slice(start, end));
    start = end;
  }
  return out;
}

function openAiUsage(answer: CachedAnswer, body: ChatCompletion): OpenAIUsage | null {
  if (isRecord(body.usage)) return body.usage;
  return answer.usage === null ? null : toOpenAIUsage(answer.usage);
}

/**
 * The SSE frames that replay a cached chat completion, `data: [DONE]` last; null when the entry is
 * not a complete chat completion (serve it as a miss).
 *
 * @example
 * const frames = replayStream(hit, { includeUsage: wantsUsage(ctx.body) });
 * if (frames !== null) return { kind: 'stream', events: fromArray(frames), ... };
 */
export function replayStream(answer: CachedAnswer, options: ReplayOptions = {}): string[] | null {
  const body = answer.body;
  if (!isCompleteChatCompletion(body)) return null;
  const parts = options.contentChunks ?? 4;
  const includeUsage = options.includeUsage === true;
  const fingerprint = body.system_fingerprint;
  const frames: string[] = [];
  const emit = (choices: ChatCompletionChunkChoice[], usage?: OpenAIUsage | null): void => {
    // Spelled out rather than spread from a shared head: the same keys in the same order.
    const chunk: Record<string, unknown> = {
      id: body.id,
      object: 'chat.completion.chunk',
      created: body.created,
      model: body.model,
    };
    if (fingerprint !== undefined) chunk.system_fingerprint = fingerprint;
    chunk.choices = choices;
    if (includeUsage) chunk.usage = usage ?? null;
    frames.push(sseFrame(JSON.stringify(chunk)));
  };
  for (const choice of body.choices) {
    const { index, message } = choice;
    const delta = (d: ChatDelta, finish: string | null = null): ChatCompletionChunkChoice => ({
      index,
      delta: d,
      finish_reason: finish,
    });
    const content = typeof message.content === 'string' ? message.content : null;
    const first: ChatDelta = { role: message.role, content: content === null ? null : '' };
    if ('refusal' in message) first.refusal = typeof message.refusal === 'string' ? '' : null;
    emit([delta(first)]);
    for (const piece of content === null ? [] : splitText(content, parts)) emit([delta({ content: piece })]);
    if (typeof message.refusal === 'string') {
      for (const piece of splitText(message.refusal, parts)) emit([delta({ refusal: piece })]);
    }
    const calls = message.tool_calls ?? [];
    calls.forEach((call, i) => {
      emit([
        delta({ tool_calls: [{ index: i, id: call.id, type: call.type, function: { ...call.function } }] }),
      ]);
    });
    const last = delta({}, choice.finish_reason);
    if ('logprobs' in choice) last.logprobs = choice.logprobs;
    emit([last]);
  }
  if (includeUsage) {
    const usage = openAiUsage(answer, body);
    if (usage !== null) emit([], usage);
  }
  frames.push(DONE_FRAME);
  return frames;
}

/** Bound on tool calls per choice, so a hostile `index` cannot allocate a huge array. */
const MAX_TOOL_CALLS = 1024;

interface ChoiceState {
  index: number;
  role: string;
  content: string | null;
  refusal?: string | null;
  calls: ChatToolCall[];
  logprobs?: unknown;
  finishReason: string | null;
}

function mergeLogprobs(current: unknown, incoming: unknown): unknown {
  if (!isRecord(incoming)) return current === undefined ? incoming : current;
  if (!isRecord(current)) return structuredClone(incoming);
  const merged: Record<string, unknown> = { ...current };
  for (const field of ['content', 'refusal']) {
    const add = incoming[field];
    if (!Array.isArray(add)) continue;
    const have = merged[field];
    merged[field] = Array.isArray(have) ? [...have, ...add] : [...add];
  }
  return merged;
}

/**
 * Rebuilds a `chat.completion` from stream chunks. Feed it every chunk (parsed) or every SSE
 * `data` payload as the stream passes; ask for `result()` at the end.
 *
 * @example
 * const assembler = new StreamAssembler();
 * for await (const event of upstream) { assembler.pushData(event.data); yield event; }
 * const body = assembler.result(); // null when the stream was cut or failed
 */
export class StreamAssembler {
  #head: ChatCompletionChunk | null = null;
  readonly #choices = new Map<number, ChoiceState>();
  #usage: OpenAIUsage | null = null;
  #failed = false;
  #done = false;

  /** True once the stream carried an error or a malformed chunk. */
  get failed(): boolean {
    return this.#failed;
  }

  /** True once `[DONE]` arrived. */
  get done(): boolean {
    return this.#done;
  }

  /** Marks the stream failed (cut, timed out, guardrail stop): `result()` will be null. */
  fail(): void {
    this.#failed = true;
  }

  /** One SSE `data` payload: a chunk's JSON, or `[DONE]`. */
  pushData(data: string): void {
    if (data.trim() === '[DONE]') {
      this.#done = true;
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      this.#failed = true;
      return;
    }
    this.push(parsed);
  }

  /** One parsed chunk. An in-band `{ error }` or a chunk of the wrong shape fails the stream. */
  push(chunk: unknown): void {
    if (!isRecord(chunk) || 'error' in chunk || !Array.isArray(chunk.choices)) {
      this.#failed = true;
      return;
    }
    const typed = chunk as ChatCompletionChunk;
    this.#head ??= typed;
    if (isRecord(typed.usage)) this.#usage = typed.usage;
    for (const raw of typed.choices as unknown[]) {
      if (!isRecord(raw) || typeof raw.index !== 'number') {
        this.#failed = true;
        return;
      }
      this.#pushChoice(raw as ChatCompletionChunkChoice);
    }
  }

  #pushChoice(choice: ChatCompletionChunkChoice): void {
    let state = this.#choices.get(choice.index);
    if (state === undefined) {
      state = { index: choice.index, role: 'assistant', content: null, calls: [], finishReason: null };
      this.#choices.set(choice.index, state);
    }
    const delta: unknown = choice.delta;
    if (isRecord(delta)) {
      if (typeof delta.role === 'string') state.role = delta.role;
      if (typeof delta.content === 'string') state.content = (state.content ?? '') + delta.content;
      if ('refusal' in delta) {
        if (typeof delta.refusal === 'string') state.refusal = (state.refusal ?? '') + delta.refusal;
        else state.refusal ??= null;
      }
      if (Array.isArray(delta.tool_calls)) {
        for (const part of delta.tool_calls as unknown[]) this.#pushToolCall(state, part);
      }
    }
    if ('logprobs' in choice) state.logprobs = mergeLogprobs(state.logprobs, choice.logprobs);
    if (typeof choice.finish_reason === 'string' && choice.finish_reason !== '') {
      state.finishReason = choice.finish_reason;
    }
  }

  #pushToolCall(state: ChoiceState, part: unknown): void {
    if (
      !isRecord(part) ||
      !Number.isInteger(part.index) ||
      (part.index as number) < 0 ||
      (part.index as number) >= MAX_TOOL_CALLS
    ) {
      this.#failed = true;
      return;
    }
    const index = part.index as number;
    let call = state.calls[index];
    if (call === undefined) {
      call = { id: '', type: 'function', function: { name: '', arguments: '' } };
      state.calls[index] = call;
    }
    if (typeof part.id === 'string') call.id = part.id;
    const fn = part.function;
    if (isRecord(fn)) {
      if (typeof fn.name === 'string') call.function.name += fn.name;
      if (typeof fn.arguments === 'string') call.function.arguments += fn.arguments;
    }
  }

  /**
   * The assembled completion, or null when the stream failed, carried no choice, or a choice has
   * no finish reason (a cut stream). A missing `[DONE]` after every finish reason is complete.
   */
  result(): ChatCompletion | null {
    const head = this.#head;
    if (this.#failed || head === null || this.#choices.size === 0) return null;
    const states = [...this.#choices.values()].sort((a, b) => a.index - b.index);
    const choices: ChatCompletionChoice[] = [];
    for (const s of states) {
      if (s.finishReason === null) return null;
      // A gap in the tool-call indexes (a sparse array) means fragments went missing.
      for (let i = 0; i < s.calls.length; i++) if (s.calls[i] === undefined) return null;
      const message: ChatMessage = { role: s.role, content: s.content };
      if (s.refusal !== undefined) message.refusal = s.refusal;
      if (s.calls.length > 0) message.tool_calls = s.calls;
      const choice: ChatCompletionChoice = { index: s.index, message, finish_reason: s.finishReason };
      if (s.logprobs !== undefined) choice.logprobs = s.logprobs;
      choices.push(choice);
    }
    const body: ChatCompletion = {
      id: head.id,
      object: 'chat.completion',
      created: head.created,
      model: head.model,
      choices,
    };
    if (head.system_fingerprint !== undefined) body.system_fingerprint = head.system_fingerprint;
    if (this.#usage !== null) body.usage = this.#usage;
    return body;
  }
}

/** Assembles a whole list of chunks (parsed objects or SSE `data` strings). */
export function assembleStream(chunks: Iterable<unknown>): ChatCompletion | null {
  const assembler = new StreamAssembler();
  for (const chunk of chunks) {
    if (typeof chunk === 'string') assembler.pushData(chunk);
    else assembler.push(chunk);
  }
  return assembler.result();
}
