import { createHash } from 'node:crypto';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { hashText, recordBody } from '../../../engine/replay/content.js';

const sha = (s: string) => `sha256:${createHash('sha256').update(s, 'utf8').digest('hex')}`;

const chatBody = () => ({
  model: 'gpt-4o',
  temperature: 0.2,
  max_tokens: 64,
  tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }],
  messages: [
    { role: 'system', content: 'You are SECRET-SYSTEM.' },
    { role: 'user', name: 'ann', content: 'Tell me SECRET-PROMPT please' },
    {
      role: 'assistant',
      content: null,
      tool_calls: [
        { id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"SECRET-ARGS"}' } },
      ],
    },
    { role: 'tool', tool_call_id: 'call_1', content: 'SECRET-TOOL-RESULT' },
    {
      role: 'user',
      content: [
        { type: 'text', text: 'SECRET-PART' },
        { type: 'image_url', image_url: { url: 'data:image/png;base64,SECRET-IMAGE', detail: 'low' } },
      ],
    },
  ],
});

describe('recordBody', () => {
  it('keep: stores the body as-is, minus credential-like keys', () => {
    const body = { ...chatBody(), api_key: 'sk-live-123', Authorization: 'Bearer x' };
    const out = recordBody(body, 'keep');
    expect(out).toEqual(chatBody());
    expect(body.api_key).toBe('sk-live-123'); // the input is not mutated
  });

  it('hash: replaces every text with sha256 of it, keeping roles, parameters and lengths', () => {
    const body = chatBody();
    const out = recordBody(body, 'hash');
    expect(out.model).toBe('gpt-4o');
    expect(out.temperature).toBe(0.2);
    expect(out.max_tokens).toBe(64);
    expect(out.tools).toEqual(body.tools);
    expect(out.messages).toEqual([
      { role: 'system', content: sha('You are SECRET-SYSTEM.'), contentChars: 22 },
      { role: 'user', name: 'ann', content: sha('Tell me SECRET-PROMPT please'), contentChars: 28 },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: 'call_1',
            type: 'function',
            function: { name: 'lookup', arguments: sha('{"q":"SECRET-ARGS"}'), argumentsChars: 19 },
          },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: sha('SECRET-TOOL-RESULT'), contentChars: 18 },
      {
        role: 'user',
        content: [
          { type: 'text', text: sha('SECRET-PART'), chars: 11 },
          {
            type: 'image_url',
            image_url: { url: sha('data:image/png;base64,SECRET-IMAGE'), detail: 'low' },
          },
        ],
        contentChars: 11,
      },
    ]);
    expect(JSON.stringify(out)).not.toContain('SECRET');
    expect(JSON.stringify(body)).toContain('SECRET-PROMPT'); // not mutated
  });

  it('hash: is stable and equal texts hash equally', () => {
    expect(hashText('hello')).toBe(sha('hello'));
    expect(recordBody(chatBody(), 'hash')).toEqual(recordBody(chatBody(), 'hash'));
  });

  it('hash: covers embeddings input, prompt, system and prediction', () => {
    const out = recordBody(
      {
        model: 'emb',
        input: ['SECRET-A', 'SECRET-B'],
        prompt: 'SECRET-P',
        system: 'SECRET-S',
        prediction: { type: 'content', content: 'SECRET-PRED' },
      },
      'hash',
    );
    expect(out.input).toEqual([sha('SECRET-A'), sha('SECRET-B')]);
    expect(out.prediction).toEqual({ type: 'content', content: sha('SECRET-PRED') });
    expect(JSON.stringify(out)).not.toContain('SECRET');
    const tokens = recordBody({ model: 'emb', input: [1, 2, 3] }, 'hash');
    expect(tokens.input).toBe(sha('[1,2,3]'));
  });

  it('drop: removes contents, keeps roles, message count, tool-call ids and names', () => {
    const out = recordBody({ ...chatBody(), input: 'SECRET-IN' }, 'drop');
    expect(out.messages).toEqual([
      { role: 'system' },
      { role: 'user', name: 'ann' },
      { role: 'assistant', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup' } }] },
      { role: 'tool', tool_call_id: 'call_1' },
      { role: 'user' },
    ]);
    expect(out).not.toHaveProperty('input');
    expect(out.temperature).toBe(0.2);
    expect(JSON.stringify(out)).not.toContain('SECRET');
  });

  it('hash and drop: an unknown message key is not kept verbatim', () => {
    const body = { messages: [{ role: 'assistant', content: 'x', reasoning_content: 'SECRET-THOUGHT' }] };
    expect(JSON.stringify(recordBody(body, 'hash'))).not.toContain('SECRET');
    expect(JSON.stringify(recordBody(body, 'drop'))).not.toContain('SECRET');
  });

  const text = fc.string({ maxLength: 40 }).map((s) => `ZQX${s}`);
  const message = fc.record({
    role: fc.constantFrom('system', 'user', 'assistant', 'tool'),
    content: fc.oneof(
      text,
      fc.array(fc.record({ type: fc.constant('text'), text }), { maxLength: 3 }),
      fc.constant(null),
    ),
  });

  test.prop([fc.array(message, { maxLength: 8 }), fc.constantFrom('hash' as const, 'drop' as const)])(
    'hash and drop never write a message text, and keep every role in order',
    (messages, mode) => {
      const out = recordBody({ model: 'm', messages }, mode);
      expect(JSON.stringify(out)).not.toContain('ZQX');
      const roles = (out.messages as { role: string }[]).map((m) => m.role);
      expect(roles).toEqual(messages.map((m) => m.role));
    },
  );
});
