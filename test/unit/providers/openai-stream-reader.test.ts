/**
 * The OpenAI stream reader (`openAIStreamItems`): what `poll` hands out synchronously and what
 * `next` awaits, in order, with the same failures and clean-up as an iteration with for-await.
 */
import { describe, expect, it } from 'vitest';
import { openAIStreamItems } from '../../../engine/providers/openai.js';
import { ProviderFailure, type StreamItem } from '../../../engine/providers/types.js';
import { chunkPayload, sse } from '../../support/upstream.js';

const encoder = new TextEncoder();
const content = (text: string): string => sse(chunkPayload({ model: 'm', delta: { content: text } }));
const finish = sse(chunkPayload({ model: 'm', finishReason: 'stop' }));
const done = sse('[DONE]');

/** A body of `reads` (each one upstream read), recording whether it was returned early. */
function body(reads: readonly string[]): { source: AsyncIterable<Uint8Array>; returned: () => boolean } {
  let returned = false;
  async function* gen(): AsyncGenerator<Uint8Array> {
    try {
      for (const r of reads) yield encoder.encode(r);
    } finally {
      returned = true;
    }
  }
  return { source: gen(), returned: () => returned };
}

const text = (item: IteratorResult<StreamItem> | undefined): string | undefined =>
  item === undefined || item.done === true
    ? undefined
    : item.value.type === 'done'
      ? '[DONE]'
      : ((item.value.type === 'frame' ? item.value.frame.parse() : item.value.chunk).choices[0]?.delta
          .content ?? '');

describe('openAIStreamItems: poll and next', () => {
  it('hands out the events of one read synchronously, then needs the network again', async () => {
    const { source } = body([content('a') + content('b'), content('c') + finish + done]);
    const reader = openAIStreamItems(source, new AbortController());
    expect(reader.poll?.()).toBeUndefined(); // nothing read yet
    expect(text(await reader.next())).toBe('a');
    expect(text(reader.poll?.())).toBe('b');
    expect(reader.poll?.()).toBeUndefined();
    expect(text(await reader.next())).toBe('c');
    expect(text(reader.poll?.())).toBe(''); // the finish chunk
    expect(text(reader.poll?.())).toBe('[DONE]');
    expect(reader.poll?.()).toEqual({ done: true, value: undefined });
    expect(await reader.next()).toEqual({ done: true, value: undefined });
  });

  it('delivers every event before a malformed one, then fails as malformed and ends', async () => {
    const { source, returned } = body([`${content('a')}data: {not json\n\n${content('b')}`]);
    const reader = openAIStreamItems(source, new AbortController());
    expect(text(await reader.next())).toBe('a');
    let error: unknown = null;
    try {
      reader.poll?.();
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ProviderFailure);
    expect((error as ProviderFailure).failure.class).toBe('malformed');
    expect(await reader.next()).toEqual({ done: true, value: undefined });
    await Promise.resolve();
    expect(returned()).toBe(true); // the body was given back (drained)
  });

  it('fails as stream_cut when the body ends without a finish reason or [DONE]', async () => {
    const { source } = body([content('a')]);
    const reader = openAIStreamItems(source, new AbortController());
    expect(text(await reader.next())).toBe('a');
    await expect(reader.next()).rejects.toMatchObject({ failure: { class: 'stream_cut' } });
  });

  it('ends complete after a finish reason without [DONE]', async () => {
    const { source } = body([content('a') + finish]);
    const items: StreamItem[] = [];
    for await (const item of openAIStreamItems(source, new AbortController())) items.push(item);
    expect(items).toHaveLength(2);
  });

  it('returns the body when [DONE] arrives before its end, and when the reader is returned', async () => {
    const first = body([content('a') + finish + done, 'data: ignored\n\n']);
    const reader = openAIStreamItems(first.source, new AbortController());
    await reader.next();
    reader.poll?.();
    expect(text(reader.poll?.())).toBe('[DONE]');
    await Promise.resolve();
    expect(first.returned()).toBe(true);

    const second = body([content('a'), content('b')]);
    const early = openAIStreamItems(second.source, new AbortController());
    await early.next();
    await early.return?.();
    await Promise.resolve();
    expect(second.returned()).toBe(true);
    expect(await early.next()).toEqual({ done: true, value: undefined });
  });

  it('rethrows the abort reason when the body fails after the signal fired', async () => {
    const controller = new AbortController();
    const reason = new Error('caller left');
    async function* broken(): AsyncGenerator<Uint8Array> {
      yield encoder.encode(content('a'));
      controller.abort(reason);
      throw new Error('socket closed');
    }
    const reader = openAIStreamItems(broken(), controller);
    await reader.next();
    await expect(reader.next()).rejects.toBe(reason);
  });
});
