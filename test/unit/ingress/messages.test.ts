import { describe, expect, it } from 'vitest';
import {
  anthropicError,
  anthropicUsage,
  chatToMessage,
  MessagesStreamWriter,
  messagesToChat,
} from '../../../engine/ingress/messages.js';
import type { ChatCompletion } from '../../../engine/providers/openai-types.js';

function chat(body: unknown): Record<string, unknown> {
  const t = messagesToChat(body);
  if (!t.ok) throw new Error(`expected a translation, got ${t.message}`);
  return t.chat;
}

describe('Messages request → chat request', () => {
  it('system blocks, text and image blocks, tool use and results, tools and choice', () => {
    const out = chat({
      model: 'claude-x',
      max_tokens: 512,
      system: [
        { type: 'text', text: 'Rule one.', cache_control: { type: 'ephemeral' } },
        { type: 'text', text: 'Rule two.' },
      ],
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Look:' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAA' } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } },
          ],
        },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'hmm', signature: 'sig' },
            { type: 'text', text: 'Checking.' },
            { type: 'tool_use', id: 'toolu_1', name: 'look', input: { q: 1 } },
          ],
        },
        {
          role: 'user',
          content: [
            {
              type: 'tool_result',
              tool_use_id: 'toolu_1',
              content: [{ type: 'text', text: 'found' }],
              is_error: false,
            },
            { type: 'text', text: 'Thanks' },
          ],
        },
      ],
      tools: [
        {
          name: 'look',
          description: 'Looks',
          input_schema: { type: 'object' },
          cache_control: { type: 'ephemeral' },
        },
      ],
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
      stop_sequences: ['END'],
      temperature: 0.3,
      top_p: 0.8,
      top_k: 5,
      metadata: { user_id: 'u-9' },
      thinking: { type: 'enabled', budget_tokens: 2048 },
      stream: true,
    });
    expect(out).toEqual({
      model: 'claude-x',
      messages: [
        { role: 'system', content: 'Rule one.\n\nRule two.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Look:' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,AAA' } },
            { type: 'image_url', image_url: { url: 'https://example.com/a.png' } },
          ],
        },
        {
          role: 'assistant',
          content: 'Checking.',
          tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'look', arguments: '{"q":1}' } }],
        },
        { role: 'tool', tool_call_id: 'toolu_1', content: [{ type: 'text', text: 'found' }] },
        { role: 'user', content: [{ type: 'text', text: 'Thanks' }] },
      ],
      max_completion_tokens: 512,
      stop: ['END'],
      temperature: 0.3,
      top_p: 0.8,
      stream: true,
      stream_options: { include_usage: true },
      tools: [
        {
          type: 'function',
          function: { name: 'look', parameters: { type: 'object' }, description: 'Looks' },
        },
      ],
      tool_choice: 'required',
      parallel_tool_calls: false,
      metadata: { user_id: 'u-9' },
      user: 'u-9',
    });
  });

  it('drops an assistant turn that was only thinking', () => {
    const out = chat({
      model: 'm',
      max_tokens: 5,
      messages: [
        { role: 'user', content: 'a' },
        { role: 'assistant', content: [{ type: 'thinking', thinking: 'hmm', signature: 's' }] },
        { role: 'user', content: 'b' },
      ],
    });
    expect(out.messages).toEqual([
      { role: 'user', content: 'a' },
      { role: 'user', content: 'b' },
    ]);
  });

  it('output_config: a JSON schema format and an effort', () => {
    expect(
      chat({
        model: 'm',
        max_tokens: 1,
        messages: [{ role: 'user', content: 'x' }],
        output_config: { format: { type: 'json_schema', schema: { type: 'object' } }, effort: 'max' },
      }),
    ).toMatchObject({
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'output', schema: { type: 'object' }, strict: true },
      },
      reasoning_effort: 'high',
    });
  });

  it.each([
    [{ model: 'm', messages: [{ role: 'user', content: 'x' }] }, 'invalid_request', 'max_tokens'],
    [
      { model: 'm', max_tokens: 0, messages: [{ role: 'user', content: 'x' }] },
      'invalid_request',
      'max_tokens',
    ],
    [
      { model: 'm', max_tokens: 1.5, messages: [{ role: 'user', content: 'x' }] },
      'invalid_request',
      'max_tokens',
    ],
    [{ max_tokens: 1, messages: [{ role: 'user', content: 'x' }] }, 'invalid_request', 'model'],
    [{ model: 'm', max_tokens: 1, messages: [] }, 'invalid_request', 'messages'],
    [
      { model: 'm', max_tokens: 1, messages: [{ role: 'system', content: 'x' }] },
      'invalid_request',
      'messages[0].role',
    ],
    [
      {
        model: 'm',
        max_tokens: 1,
        messages: [{ role: 'user', content: [{ type: 'document', source: {} }] }],
      },
      'unsupported_feature',
      'messages[0].content[0]',
    ],
    [
      {
        model: 'm',
        max_tokens: 1,
        messages: [{ role: 'user', content: 'x' }],
        tools: [{ type: 'bash_20250124', name: 'bash' }],
      },
      'unsupported_feature',
      'tools[0]',
    ],
    [
      { model: 'm', max_tokens: 1, messages: [{ role: 'user', content: 'x' }], mcp_servers: [{}] },
      'unsupported_feature',
      'mcp_servers',
    ],
    [
      {
        model: 'm',
        max_tokens: 1,
        messages: [{ role: 'user', content: 'x' }],
        tool_choice: { type: 'maybe' },
      },
      'invalid_request',
      'tool_choice.type',
    ],
  ])('refuses %j (%s, param %s)', (body, code, param) => {
    const t = messagesToChat(body);
    expect(t).toMatchObject({ ok: false, code, param });
  });
});

const completion = (
  message: Record<string, unknown>,
  finish: string,
  usage?: Record<string, unknown>,
): ChatCompletion => ({
  id: 'chatcmpl-7',
  object: 'chat.completion',
  created: 1,
  model: 'gpt-x',
  choices: [{ index: 0, message: { role: 'assistant', content: null, ...message }, finish_reason: finish }],
  usage: (usage ?? { prompt_tokens: 40, completion_tokens: 6, total_tokens: 46 }) as ChatCompletion['usage'],
});

describe('chat completion → Message', () => {
  it('text and tool calls as blocks, finish reason as stop reason, usage in Anthropic terms', () => {
    const message = chatToMessage(
      completion(
        {
          content: 'Sure.',
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":[1,2]}' } },
            { id: 'call_2', type: 'function', function: { name: 'g', arguments: '' } },
            { id: 'call_3', type: 'function', function: { name: 'h', arguments: 'not json' } },
          ],
        },
        'tool_calls',
        {
          prompt_tokens: 40,
          completion_tokens: 6,
          total_tokens: 46,
          prompt_tokens_details: { cached_tokens: 15 },
        },
      ),
    );
    expect(message).toEqual({
      id: 'msg_7',
      type: 'message',
      role: 'assistant',
      model: 'gpt-x',
      content: [
        { type: 'text', citations: null, text: 'Sure.' },
        { type: 'tool_use', id: 'call_1', caller: { type: 'direct' }, input: { a: [1, 2] }, name: 'f' },
        { type: 'tool_use', id: 'call_2', caller: { type: 'direct' }, input: {}, name: 'g' },
        // Arguments that are not JSON reach the caller as the model wrote them.
        { type: 'tool_use', id: 'call_3', caller: { type: 'direct' }, input: 'not json', name: 'h' },
      ],
      stop_reason: 'tool_use',
      stop_sequence: null,
      stop_details: null,
      container: null,
      diagnostics: null,
      usage: anthropicUsage({
        prompt_tokens: 40,
        completion_tokens: 6,
        prompt_tokens_details: { cached_tokens: 15 },
      }),
    });
    expect(message.usage).toMatchObject({ input_tokens: 25, cache_read_input_tokens: 15, output_tokens: 6 });
  });

  it.each([
    ['stop', 'end_turn'],
    ['length', 'max_tokens'],
    ['tool_calls', 'tool_use'],
    ['content_filter', 'refusal'],
  ])('finish_reason %s → stop_reason %s', (finish, stop) => {
    expect(chatToMessage(completion({ content: 'x' }, finish)).stop_reason).toBe(stop);
  });

  it('errors take the Anthropic shape, typed by status', () => {
    const body = { error: { message: 'slow down', type: 'rate_limit_error', code: 'rate_limited' } };
    expect(anthropicError(429, body, 'req-1')).toEqual({
      type: 'error',
      error: { type: 'rate_limit_error', message: 'slow down' },
      request_id: 'req-1',
    });
    expect(anthropicError(404, body, null)).toMatchObject({ error: { type: 'not_found_error' } });
    expect(anthropicError(503, body, null)).toMatchObject({ error: { type: 'overloaded_error' } });
    expect(anthropicError(504, body, null)).toMatchObject({ error: { type: 'timeout_error' } });
    expect(anthropicError(400, body, null)).toMatchObject({ error: { type: 'invalid_request_error' } });
  });
});

function events(out: string[]): { event: string; data: Record<string, unknown> }[] {
  return out.map((e) => {
    const [head, data] = e.trimEnd().split('\n');
    return { event: head.slice('event: '.length), data: JSON.parse(data.slice('data: '.length)) };
  });
}

describe('the Messages stream writer', () => {
  const frame = (delta: Record<string, unknown>, finish: string | null = null) =>
    `data: ${JSON.stringify({ id: 'chatcmpl-s', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;

  it('sequential blocks: a text block, then one per tool call, each stopped before the next starts', () => {
    const writer = new MessagesStreamWriter();
    const out = events(
      [
        frame({ role: 'assistant', content: '' }),
        frame({ content: 'Hi' }),
        frame({ tool_calls: [{ index: 0, id: 'c1', function: { name: 'f', arguments: '{"a"' } }] }),
        frame({ tool_calls: [{ index: 0, function: { arguments: ':1}' } }] }),
        frame({ tool_calls: [{ index: 1, id: 'c2', function: { name: 'g', arguments: '{}' } }] }),
        frame({}, 'tool_calls'),
        'data: {"id":"chatcmpl-s","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}}\n\n',
        'data: [DONE]\n\n',
      ].flatMap((f) => writer.frame(f)),
    );
    expect(out.map((e) => `${e.event}${e.data.index === undefined ? '' : `:${e.data.index}`}`)).toEqual([
      'message_start',
      'ping',
      'content_block_start:0',
      'content_block_delta:0',
      'content_block_stop:0',
      'content_block_start:1',
      'content_block_delta:1',
      'content_block_delta:1',
      'content_block_stop:1',
      'content_block_start:2',
      'content_block_delta:2',
      'content_block_stop:2',
      'message_delta',
      'message_stop',
    ]);
    expect(out[5].data.content_block).toMatchObject({ type: 'tool_use', id: 'c1', name: 'f', input: {} });
    expect(out.at(-2)?.data).toMatchObject({
      delta: { stop_reason: 'tool_use' },
      usage: { input_tokens: 9, output_tokens: 3 },
    });
  });

  it('an in-band error becomes an Anthropic error event, typed from the catalogue code', () => {
    const writer = new MessagesStreamWriter();
    const out = events([
      ...writer.frame(frame({ content: 'x' })),
      ...writer.frame(
        `data: ${JSON.stringify({ error: { message: 'Blocked', type: 'invalid_request_error', code: 'guardrail_blocked' } })}\n\n`,
      ),
    ]);
    expect(out.at(-1)).toEqual({
      event: 'error',
      data: { type: 'error', error: { type: 'invalid_request_error', message: 'Blocked' } },
    });
  });
});
