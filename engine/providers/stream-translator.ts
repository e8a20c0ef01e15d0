/**
 * What the two providers whose upstream streams typed events (Anthropic Messages:
 * anthropic-stream.ts; OpenAI Responses: openai-responses-stream.ts) share in reading them: each
 * SSE event parsed as one JSON object and handed by its type to the provider's translator, which
 * gives the chat completion chunks the rest of the engine works on; and the loop that turns an
 * upstream body into the stream items of the attempt loop, read failures classified, the stream's
 * end without a terminal event judged by the translator; and the reading of their successful
 * answers, an event stream or a JSON body. The chat-chunk passthrough of OpenAI's chat API has no
 * events to translate (openai.ts).
 */
import { isRecord } from '../shared/guards.js';
import { fromOpenAIUsage } from '../shared/usage.js';
import { providerError } from './classify.js';
import type { ChatCompletion, ChatCompletionChunk, ChatDelta, OpenAIUsage } from './openai-types.js';
import type { Scrubber } from './scrub.js';
import { parseSse, type SseEvent } from './sse.js';
import type { HttpResponse } from './transport.js';
import {
  type ProviderCallRequest,
  type ProviderCallResult,
  ProviderFailure,
  type StreamItem,
} from './types.js';
import { streamFailure, successText } from './upstream.js';

/** The chunks one event gives, and whether it ended the answer. */
export interface Translated {
  readonly chunks: ChatCompletionChunk[];
  readonly done: boolean;
}

/**
 * One upstream event stream → chat chunks, one event at a time. Subclasses translate each event
 * by its type ({@link translateEvent}) and say what the stream's end without a terminal event
 * means ({@link atEnd}); this class parses the events and builds the chunks with the answer's
 * id, model and creation time as they are known so far.
 */
export abstract class StreamTranslator {
  /** The answer is complete (a stop reason or a terminal event arrived). */
  finished = false;

  constructor(
    protected id: string,
    protected model: string,
    protected created: number,
  ) {}

  /** Events that carry nothing, passed over before parsing (none unless a subclass says so). */
  skips(_event: SseEvent): boolean {
    return false;
  }

  /** Translates one event. Throws ProviderFailure on one that is no JSON object or reports an error. */
  translate(event: SseEvent): Translated {
    let data: unknown;
    try {
      data = JSON.parse(event.data);
    } catch {
      throw new ProviderFailure(providerError('malformed', `upstream sent a non-JSON ${event.event} event`));
    }
    if (!isRecord(data))
      throw new ProviderFailure(providerError('malformed', 'upstream event is not an object'));
    return this.translateEvent(typeof data.type === 'string' ? data.type : event.event, data);
  }

  /** One parsed event of `type` (its `type` field, else the SSE event name). */
  protected abstract translateEvent(type: string, data: Record<string, unknown>): Translated;

  /** The chunks that close a stream that ended without a terminal event; throws when it was cut. */
  abstract atEnd(): ChatCompletionChunk[];

  protected chunk(delta: ChatDelta, finishReason: string | null = null): ChatCompletionChunk {
    return {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }],
    };
  }

  /** The chunk that opens tool call `index` (its id and name; the arguments come as deltas). */
  protected toolCallStart(index: number, id: unknown, name: unknown): ChatCompletionChunk {
    return this.chunk({
      tool_calls: [
        { index, id: String(id), type: 'function', function: { name: String(name), arguments: '' } },
      ],
    });
  }

  /** The closing usage chunk, as OpenAI sends it with `include_usage`. */
  protected usageChunkOf(usage: OpenAIUsage): ChatCompletionChunk {
    return {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      choices: [],
      usage,
    };
  }
}

/**
 * An upstream SSE body → StreamItems through `translator`: its chunks in order, `done` after the
 * terminal event, else what {@link StreamTranslator.atEnd} says. A read failure is classified,
 * its text through `scrubber` when one is given.
 */
export async function* translatedStreamItems(
  body: AsyncIterable<Uint8Array>,
  translator: StreamTranslator,
  /** The call (or an AbortController): its `signal` is read only on a failure. */
  call: { readonly signal: AbortSignal },
  scrubber?: Scrubber,
): AsyncGenerator<StreamItem> {
  try {
    for await (const event of parseSse(body)) {
      if (translator.skips(event)) continue;
      const { chunks, done } = translator.translate(event);
      for (const chunk of chunks) yield { type: 'chunk', chunk };
      if (done) {
        yield { type: 'done' };
        return;
      }
    }
  } catch (err) {
    throw streamFailure(err, call, scrubber);
  }
  for (const chunk of translator.atEnd()) yield { type: 'chunk', chunk };
}

/** How a provider reads its upstream's successful answer in chat shapes. */
export interface AnswerReader {
  /** The translator of an event stream (a new one per answer). */
  readonly translator: () => StreamTranslator;
  /** The parsed JSON answer → a chat completion; throws when it is not the upstream's shape. */
  readonly parse: (value: unknown) => ChatCompletion;
  /** What the JSON answer must be, for the error when it is not (`an Anthropic message`). */
  readonly what: string;
}

/**
 * A successful upstream answer in chat shapes: when a stream was asked for and came, its items
 * through the reader's translator; else the JSON body through `parse`. A stream asked for that
 * came as JSON, and a body that is not the upstream's shape, are `malformed`.
 */
export async function translatedAnswer(
  res: HttpResponse,
  req: ProviderCallRequest,
  reader: AnswerReader,
  scrubber?: Scrubber,
): Promise<ProviderCallResult> {
  if (req.stream && (res.headers['content-type'] ?? '').includes('event-stream')) {
    return {
      ok: true,
      kind: 'stream',
      status: res.status,
      headers: res.headers,
      items: translatedStreamItems(res.body, reader.translator(), req, scrubber),
    };
  }
  const read = await successText(res, req);
  if (!read.ok) return read;
  if (req.stream) {
    return {
      ok: false,
      error: providerError('malformed', 'upstream sent JSON instead of an event stream', {
        status: res.status,
      }),
    };
  }
  let body: ChatCompletion;
  try {
    body = reader.parse(JSON.parse(read.text));
  } catch {
    return {
      ok: false,
      error: providerError('malformed', `upstream answer is not ${reader.what}`, { status: res.status }),
    };
  }
  return {
    ok: true,
    kind: 'json',
    status: res.status,
    headers: res.headers,
    body,
    usage: body.usage ? fromOpenAIUsage(body.usage) : null,
  };
}
