import { describe, expect, it } from 'vitest';
import { toCachedAnswer, usageOf } from '../../../engine/cache/answer.js';
import {
  assembleStream,
  DONE_FRAME,
  replayStream,
  StreamAssembler,
  splitText,
  wantsUsage,
} from '../../../engine/cache/stream.js';
import { completion, makeAnswer } from './helpers.js';

/** The `data` payloads of SSE frames. */
function payloads(frames: readonly string[]): string[] {
  return frames.map((f) => {
    expect(f.startsWith('data: ')).toBe(true);
    expect(f.endsWith('\n\n')).toBe(true);
    return f.slice(6, -2);
  });
}

function chunks(frames: readonly string[]): Record<string, unknown>[] {
  return payloads(frames)
    .filter((d) => d !== '[DONE]')
    .map((d) => JSON.parse(d));
}

describe('splitText', () => {
  it('splits into at most n pieces without cutting a code point', () => {
    expect(splitText('abcdefgh', 4)).toEqual(['ab', 'cd', 'ef', 'gh']);
    expect(splitText('ab', 4)).toEqual(['a', 'b']);
    expect(splitText('', 4)).toEqual([]);
    expect(splitText('😀😀😀', 2).join('')).toBe('😀😀😀');
    for (const piece of splitText('😀😀😀', 2)) expect(piece).toMatch(/^(😀)+$/u);
  });
});

describe('replayStream', () => {
  it('emits role, content, finish, then [DONE]', () => {
    const frames = replayStream(makeAnswer('The capital of France is Paris.'));
    if (frames === null) throw new Error('not replayable');
    expect(frames.at(-1)).toBe(DONE_FRAME);
    const cs = chunks(frames);
    expect(cs.every((c) => c.object === 'chat.completion.chunk' && c.id === 'chatcmpl-1')).toBe(true);
    expect(cs[0]).toMatchObject({ choices: [{ index: 0, delta: { role: 'assistant', content: '' } }] });
    const content = cs
      .slice(1, -1)
      .map((c) => (c.choices as { delta: { content: string } }[])[0].delta.content)
      .join('');
    expect(content).toBe('The capital of France is Paris.');
    expect(cs.length - 2).toBeGreaterThan(1);
    expect(cs.at(-1)).toMatchObject({ choices: [{ delta: {}, finish_reason: 'stop' }] });
    expect(cs.some((c) => 'usage' in c)).toBe(false);
  });

  it('adds a usage chunk with no choices when the caller asked for include_usage', () => {
    const frames = replayStream(makeAnswer('Hi'), { includeUsage: true }) ?? [];
    const cs = chunks(frames);
    expect(cs.at(-1)).toEqual(
      expect.objectContaining({
        choices: [],
        usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 },
      }),
    );
    expect(cs.slice(0, -1).every((c) => c.usage === null)).toBe(true);
  });

  it('replays tool calls', () => {
    const body = completion('', {
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }],
          },
          finish_reason: 'tool_calls',
        },
      ],
    });
    const frames = replayStream({ ...makeAnswer(), body }, { includeUsage: true }) ?? [];
    expect(assembleStream(payloads(frames))).toEqual(body);
  });

  it('refuses what is not a complete chat completion', () => {
    expect(replayStream({ ...makeAnswer(), body: { object: 'list', data: [] } })).toBeNull();
    const cut = completion('x', {
      choices: [{ index: 0, message: { role: 'assistant', content: 'x' }, finish_reason: null }],
    });
    expect(replayStream({ ...makeAnswer(), body: cut })).toBeNull();
  });

  it('reads include_usage from the request body', () => {
    expect(wantsUsage({ stream_options: { include_usage: true } })).toBe(true);
    expect(wantsUsage({ stream: true })).toBe(false);
  });
});

describe('StreamAssembler', () => {
  it('round-trips a replayed answer, usage included', () => {
    const answer = makeAnswer('Paris is the capital.');
    const frames = replayStream(answer, { includeUsage: true }) ?? [];
    expect(assembleStream(payloads(frames))).toEqual(answer.body);
  });

  it('round-trips several choices, refusal and logprobs', () => {
    const body = completion('', {
      system_fingerprint: 'fp_1',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'one', refusal: null },
          logprobs: { content: [{ token: 'one', logprob: -0.1 }], refusal: null },
          finish_reason: 'stop',
        },
        {
          index: 1,
          message: { role: 'assistant', content: null, refusal: 'I cannot help with that.' },
          finish_reason: 'stop',
        },
      ],
    });
    const frames = replayStream({ ...makeAnswer(), body }, { includeUsage: true }) ?? [];
    expect(assembleStream(payloads(frames))).toEqual(body);
  });

  it('assembles tool-call fragments by index', () => {
    const head = { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm' };
    const body = assembleStream([
      { ...head, choices: [{ index: 0, delta: { role: 'assistant', content: null }, finish_reason: null }] },
      {
        ...head,
        choices: [
          {
            index: 0,
            delta: {
              tool_calls: [
                { index: 0, id: 'call_1', type: 'function', function: { name: 'get', arguments: '' } },
              ],
            },
            finish_reason: null,
          },
        ],
      },
      {
        ...head,
        choices: [
          {
            index: 0,
            delta: { tool_calls: [{ index: 0, function: { arguments: '{"q":' } }] },
            finish_reason: null,
          },
        ],
      },
      {
        ...head,
        choices: [
          {
            index: 0,
            delta: { tool_calls: [{ index: 0, function: { arguments: '1}' } }] },
            finish_reason: null,
          },
        ],
      },
      { ...head, choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] },
    ]);
    expect(body?.choices[0].message.tool_calls).toEqual([
      { id: 'call_1', type: 'function', function: { name: 'get', arguments: '{"q":1}' } },
    ]);
  });

  it('never yields a partial answer: no finish reason, an in-band error, malformed data', () => {
    const frames = replayStream(makeAnswer('Paris.')) ?? [];
    const data = payloads(frames);
    // Cut before the finish chunk.
    expect(assembleStream(data.slice(0, -2))).toBeNull();
    // A finish reason but an error after it.
    expect(assembleStream([...data.slice(0, -1), '{"error":{"message":"stream_cut"}}'])).toBeNull();
    expect(assembleStream([...data.slice(0, 2), 'not json'])).toBeNull();
    expect(assembleStream([])).toBeNull();
    const failed = new StreamAssembler();
    for (const d of data) failed.pushData(d);
    failed.fail();
    expect(failed.result()).toBeNull();
  });

  it('accepts a stream that ends with a finish reason but no [DONE]', () => {
    const data = payloads(replayStream(makeAnswer('Paris.')) ?? []);
    const assembler = new StreamAssembler();
    for (const d of data.slice(0, -1)) assembler.pushData(d);
    expect(assembler.done).toBe(false);
    const { usage: _, ...withoutUsage } = completion('Paris.');
    expect(assembler.result()).toEqual(withoutUsage);
  });
});

describe('toCachedAnswer', () => {
  it('stores a complete completion with its model and usage', () => {
    expect(toCachedAnswer(completion('Paris.'), 'fast', 42)).toEqual(makeAnswer('Paris.', 42));
  });

  it('stores an embeddings list', () => {
    const body = { object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.1] }], model: 'e' };
    expect(toCachedAnswer(body, 'emb', 0)).toMatchObject({ model: 'e', usage: null });
  });

  it('never stores an error, an unfinished choice or an empty answer', () => {
    expect(toCachedAnswer({ error: { message: 'x' } }, 'fast', 0)).toBeNull();
    expect(toCachedAnswer(completion('x', { choices: [] }), 'fast', 0)).toBeNull();
    const cut = completion('x', {
      choices: [{ index: 0, message: { role: 'assistant', content: 'x' }, finish_reason: null }],
    });
    expect(toCachedAnswer(cut, 'fast', 0)).toBeNull();
  });

  it('maps OpenAI usage', () => {
    expect(usageOf({ usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } })).toEqual({
      promptTokens: 1,
      completionTokens: 2,
      totalTokens: 3,
    });
    expect(usageOf({})).toBeNull();
  });
});
