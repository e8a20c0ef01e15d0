/**
 * The skeleton both event-stream providers read their upstream with (stream-translator.ts), on
 * a translator of its own: events parsed and dispatched by type, the reading loop's end (a
 * terminal event, the translator's verdict on a stream without one, a body that breaks) and the
 * reading of a successful answer as a stream or as JSON. The providers' own event tables are
 * tested in anthropic.test.ts and openai-responses.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { providerError } from '../../../engine/providers/classify.js';
import type { HttpResponse } from '../../../engine/providers/http.js';
import type { ChatCompletion, ChatCompletionChunk } from '../../../engine/providers/openai-types.js';
import type { SseEvent } from '../../../engine/providers/sse.js';
import {
  StreamTranslator,
  type Translated,
  translatedAnswer,
  translatedStreamItems,
} from '../../../engine/providers/stream-translator.js';
import { ProviderFailure, type StreamItem } from '../../../engine/providers/types.js';
import { callRequest, drain, failure } from '../../support/providers.js';

/** `start` sets the id, `say` is content, `stop` ends the answer; `[DONE]` is passed over. */
class ToyTranslator extends StreamTranslator {
  readonly types: string[] = [];

  constructor(private readonly cutIsComplete = false) {
    super('toy_unknown', 'toy-model', 7);
  }

  override skips(event: SseEvent): boolean {
    return event.data === '[DONE]';
  }

  atEnd(): ChatCompletionChunk[] {
    if (!this.cutIsComplete) throw new ProviderFailure(providerError('stream_cut', 'no stop event'));
    return [this.usageChunkOf({ prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 })];
  }

  protected translateEvent(type: string, data: Record<string, unknown>): Translated {
    this.types.push(type);
    if (type === 'start') {
      this.id = String(data.id);
      return { chunks: [this.chunk({ role: 'assistant', content: '' })], done: false };
    }
    if (type === 'say') return { chunks: [this.chunk({ content: String(data.text) })], done: false };
    if (type === 'stop') {
      this.finished = true;
      return { chunks: [this.chunk({}, 'stop')], done: true };
    }
    return { chunks: [], done: false };
  }
}

const encoder = new TextEncoder();

async function* bodyOf(text: string, breakAfter = false): AsyncGenerator<Uint8Array> {
  // Two reads, so events straddle them.
  const half = Math.floor(text.length / 2);
  yield encoder.encode(text.slice(0, half));
  yield encoder.encode(text.slice(half));
  if (breakAfter) throw new Error('socket hang up');
}

const frame = (data: string, event?: string) =>
  `${event === undefined ? '' : `event: ${event}\n`}data: ${data}\n\n`;

async function items(text: string, translator: StreamTranslator, breakAfter = false) {
  const out: StreamItem[] = [];
  let error: unknown = null;
  try {
    for await (const item of translatedStreamItems(
      bodyOf(text, breakAfter),
      translator,
      new AbortController(),
    )) {
      out.push(item);
    }
  } catch (err) {
    error = err;
  }
  return { out, error };
}

const contentOf = (list: readonly StreamItem[]) =>
  list.map((i) => (i.type === 'chunk' ? (i.chunk.choices[0]?.delta.content ?? '') : '|done')).join('');

describe('StreamTranslator and the reading loop', () => {
  it('translates events in order, by their `type` (else the SSE event name), up to the terminal one', async () => {
    const t = new ToyTranslator();
    const { out, error } = await items(
      frame('{"type":"start","id":"toy_1"}') +
        frame('{"text":"Hel"}', 'say') +
        frame('{"type":"say","text":"lo"}') +
        frame('{"type":"stop"}') +
        frame('{"type":"say","text":"never read"}'),
      t,
    );
    expect(error).toBeNull();
    expect(contentOf(out)).toBe('Hello|done');
    expect(t.types).toEqual(['start', 'say', 'say', 'stop']);
    const first = out[0];
    expect(first?.type === 'chunk' && first.chunk).toMatchObject({
      id: 'toy_1',
      object: 'chat.completion.chunk',
      created: 7,
      model: 'toy-model',
    });
  });

  it('passes over the events the translator skips, before parsing them', async () => {
    const { out, error } = await items(frame('[DONE]') + frame('{"type":"stop"}'), new ToyTranslator());
    expect(error).toBeNull();
    expect(contentOf(out)).toBe('|done');
  });

  it('an event that is not a JSON object is malformed', async () => {
    for (const data of ['{oops', '[1,2]', '"text"']) {
      const { error } = await items(frame(data, 'say'), new ToyTranslator());
      expect(error).toBeInstanceOf(ProviderFailure);
      expect((error as ProviderFailure).failure.class).toBe('malformed');
    }
  });

  it('a stream without its terminal event ends as the translator says: complete, or cut', async () => {
    const complete = await items(frame('{"type":"say","text":"x"}'), new ToyTranslator(true));
    expect(complete.error).toBeNull();
    expect(complete.out.map((i) => i.type)).toEqual(['chunk', 'chunk']);
    const last = complete.out.at(-1);
    expect(last?.type === 'chunk' && last.chunk).toMatchObject({ choices: [], usage: { total_tokens: 3 } });

    const cut = await items(frame('{"type":"say","text":"x"}'), new ToyTranslator());
    expect((cut.error as ProviderFailure).failure).toMatchObject({
      class: 'stream_cut',
      message: 'no stop event',
    });
  });

  it('a body that breaks while it is read is a classified stream_cut', async () => {
    const { out, error } = await items(frame('{"type":"say","text":"x"}'), new ToyTranslator(true), true);
    expect(contentOf(out)).toBe('x');
    expect(error).toBeInstanceOf(ProviderFailure);
    expect((error as ProviderFailure).failure).toMatchObject({ class: 'stream_cut' });
    expect((error as ProviderFailure).failure.message).toMatch(/socket hang up/);
  });
});

describe('translatedAnswer', () => {
  const completion: ChatCompletion = {
    id: 'c',
    object: 'chat.completion',
    created: 1,
    model: 'toy-model',
    choices: [
      { index: 0, message: { role: 'assistant', content: 'Hi' }, finish_reason: 'stop', logprobs: null },
    ],
    usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
  };
  const reader = {
    translator: () => new ToyTranslator(),
    parse: (value: unknown): ChatCompletion => {
      if (value === null || typeof value !== 'object' || !('toy' in value)) throw new Error('not a toy');
      return completion;
    },
    what: 'a toy answer',
  };
  const response = (contentType: string, text: string): HttpResponse => ({
    status: 200,
    headers: { 'content-type': contentType },
    body: bodyOf(text),
    text: async () => text,
  });

  it('a stream asked for and sent is read through the translator', async () => {
    const result = await translatedAnswer(
      response('text/event-stream', frame('{"type":"say","text":"yo"}') + frame('{"type":"stop"}')),
      callRequest({ stream: true }),
      reader,
    );
    expect(contentOf((await drain(result)).items)).toBe('yo|done');
  });

  it('a JSON answer goes through the parser, with its usage', async () => {
    const result = await translatedAnswer(
      response('application/json', '{"toy":true}'),
      callRequest(),
      reader,
    );
    expect(result).toMatchObject({ ok: true, kind: 'json', status: 200, body: completion });
    expect(result.ok && result.kind === 'json' && result.usage).toMatchObject({ totalTokens: 4 });
  });

  it('JSON instead of a stream, and a body that is not the upstream shape, are malformed', async () => {
    const json = response('application/json', '{"toy":true}');
    expect(failure(await translatedAnswer(json, callRequest({ stream: true }), reader))).toMatchObject({
      class: 'malformed',
      message: 'upstream sent JSON instead of an event stream',
    });
    for (const text of ['{"other":1}', 'not json']) {
      const error = failure(
        await translatedAnswer(response('application/json', text), callRequest(), reader),
      );
      expect(error).toMatchObject({ class: 'malformed', message: 'upstream answer is not a toy answer' });
    }
  });
});
