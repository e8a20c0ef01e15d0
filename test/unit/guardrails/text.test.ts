import { describe, expect, it } from 'vitest';
import { answerSegments, replaceSegments, requestSegments } from '../../../engine/guardrails/index.js';

const body = {
  model: 'm',
  messages: [
    { role: 'system', content: 'You are helpful.' },
    { role: 'developer', content: [{ type: 'text', text: 'Be brief.' }] },
    { role: 'user', content: 'first question' },
    {
      role: 'assistant',
      content: null,
      tool_calls: [
        { id: 't1', type: 'function', function: { name: 'lookup', arguments: '{"email":"a@b.co"}' } },
      ],
    },
    { role: 'tool', tool_call_id: 't1', content: 'result text' },
    {
      role: 'user',
      content: [
        { type: 'text', text: 'look at this' },
        { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
        { type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } },
      ],
    },
  ],
};

const texts = (scope: Parameters<typeof requestSegments>[1]) =>
  requestSegments(body, scope).map((s) => s.text);

describe('what an input guardrail reads', () => {
  it('last_user: the text parts of the last user message; images and audio are skipped', () => {
    expect(texts('last_user')).toEqual(['look at this']);
  });
  it('user: every user message', () => {
    expect(texts('user')).toEqual(['first question', 'look at this']);
  });
  it('system: system and developer messages', () => {
    expect(texts('system')).toEqual(['You are helpful.', 'Be brief.']);
  });
  it('tools: tool-call arguments and tool results', () => {
    expect(texts('tools')).toEqual(['{"email":"a@b.co"}', 'result text']);
  });
  it('conversation: all of it', () => {
    expect(texts('conversation')).toHaveLength(7);
  });
  it('embeddings: the input strings, whatever the scope', () => {
    expect(requestSegments({ input: ['a', 1, 'b'] }, 'last_user').map((s) => s.text)).toEqual(['a', 'b']);
    expect(requestSegments({ input: 'one' }, 'system').map((s) => s.text)).toEqual(['one']);
  });
  it('never throws on odd shapes', () => {
    expect(requestSegments({ messages: 'nope' }, 'conversation')).toEqual([]);
    expect(requestSegments({ messages: [null, 3, { role: 'user', content: { x: 1 } }] }, 'user')).toEqual([]);
  });
});

describe('writing a redaction back', () => {
  it('replaces only the segments named, copying what it changes and sharing the rest', () => {
    const segments = requestSegments(body, 'conversation');
    const part = segments.find((s) => s.text === 'look at this');
    const args = segments.find((s) => s.text.startsWith('{"email"'));
    if (part === undefined || args === undefined) throw new Error('segments');
    const next = replaceSegments(
      body,
      new Map([
        [part.ref, 'LOOK'],
        [args.ref, '{}'],
      ]),
    );
    const messages = next.messages as typeof body.messages;
    expect((messages[5].content as { text?: string }[])[0].text).toBe('LOOK');
    expect((messages[5].content as unknown[])[1]).toBe((body.messages[5].content as unknown[])[1]);
    expect(messages[3].tool_calls?.[0].function.arguments).toBe('{}');
    expect(messages[0]).toBe(body.messages[0]);
    expect((body.messages[5].content as unknown[])[0]).toEqual({ type: 'text', text: 'look at this' });
  });
});

describe('what an output guardrail reads', () => {
  it('each choice content and tool-call arguments', () => {
    const answer = {
      choices: [
        { message: { content: 'hello' } },
        { message: { content: null, tool_calls: [{ function: { arguments: '{"q":1}' } }] } },
      ],
    };
    expect(answerSegments(answer).map((s) => s.text)).toEqual(['hello', '{"q":1}']);
    expect(answerSegments({ data: [] })).toEqual([]);
  });
});
