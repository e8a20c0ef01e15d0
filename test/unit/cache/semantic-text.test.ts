/** What a semantic cache embeds: every message as `role: text`, normalised; null when it cannot. */
import { describe, expect, it } from 'vitest';
import { MAX_SEMANTIC_TEXT_CHARS, semanticText } from '../../../engine/cache/semantic-text.js';

describe('semanticText', () => {
  it('joins every message as role: text, whitespace collapsed and NFKC-normalised', () => {
    expect(
      semanticText({
        messages: [
          { role: 'system', content: ' Be  brief.\n' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'ﬁle' },
              { type: 'text', text: 'size?' },
            ],
          },
          { role: 'assistant', content: null },
        ],
      }),
    ).toBe('system: Be brief.\nuser: file size?\nassistant: ');
  });

  it('has no text for images, tool calls, malformed messages, no messages or an over-long prompt', () => {
    const image = { type: 'image_url', image_url: { url: 'https://example.com/a.png' } };
    expect(semanticText({ messages: [{ role: 'user', content: [image] }] })).toBeNull();
    expect(
      semanticText({
        messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function' }] }],
      }),
    ).toBeNull();
    expect(semanticText({ messages: [{ content: 'x' }] })).toBeNull();
    expect(semanticText({ messages: [] })).toBeNull();
    expect(semanticText({})).toBeNull();
    expect(
      semanticText({ messages: [{ role: 'user', content: 'x'.repeat(MAX_SEMANTIC_TEXT_CHARS) }] }),
    ).toBeNull();
  });
});
