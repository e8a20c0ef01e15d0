import { describe, expect, it } from 'vitest';
import {
  chatToResponse,
  ResponsesStreamWriter,
  responseId,
  responsesToChat,
} from '../../../engine/ingress/responses.js';
import { responsesRequestOf } from '../../../engine/providers/openai-responses.js';
import type { ChatCompletion } from '../../../engine/providers/openai-types.js';

/** The translation, its chat body as JSON sees it (the caller's request rides along under a symbol). */
function chat(body: unknown) {
  const t = responsesToChat(body);
  if (!t.ok) throw new Error(`expected a translation, got ${t.message}`);
  return { ...t, json: JSON.parse(JSON.stringify(t.chat)) as Record<string, unknown> };
}

describe('Responses request → chat request', () => {
  it('instructions, a string input and the parameters that keep their name', () => {
    const { json: out, responsesOnly } = chat({
      model: 'gpt-5',
      instructions: 'Be brief.',
      input: 'Hi',
      temperature: 0.2,
      top_p: 0.9,
      user: 'u1',
      metadata: { task: 'greet' },
      max_output_tokens: 64,
      reasoning: { effort: 'low', summary: 'auto' },
      text: { format: { type: 'json_object' }, verbosity: 'low' },
      parallel_tool_calls: false,
      store: false,
      include: ['reasoning.encrypted_content'],
    });
    expect(out).toEqual({
      model: 'gpt-5',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
      ],
      temperature: 0.2,
      top_p: 0.9,
      user: 'u1',
      metadata: { task: 'greet' },
      max_completion_tokens: 64,
      reasoning_effort: 'low',
      response_format: { type: 'json_object' },
      verbosity: 'low',
      parallel_tool_calls: false,
    });
    expect(responsesOnly).toEqual([]);
  });

  it('input items: messages with text and image parts, function calls and their outputs', () => {
    const { chat: out } = chat({
      model: 'm',
      input: [
        { role: 'developer', content: 'Rules.' },
        {
          type: 'message',
          role: 'user',
          content: [
            { type: 'input_text', text: 'What is this?' },
            { type: 'input_image', image_url: 'data:image/png;base64,AAA', detail: 'low' },
          ],
        },
        {
          type: 'message',
          role: 'assistant',
          content: [{ type: 'output_text', text: 'Let me look.', annotations: [] }],
        },
        {
          type: 'function_call',
          call_id: 'c1',
          name: 'lookup',
          arguments: '{"q":"x"}',
          id: 'fc_1',
          status: 'completed',
        },
        { type: 'function_call', call_id: 'c2', name: 'lookup', arguments: '{"q":"y"}' },
        { type: 'function_call_output', call_id: 'c1', output: 'one' },
        { type: 'function_call_output', call_id: 'c2', output: [{ type: 'input_text', text: 'two' }] },
        { type: 'reasoning', id: 'rs_1', summary: [], encrypted_content: 'zzz' },
      ],
    });
    expect(out.messages).toEqual([
      { role: 'developer', content: 'Rules.' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is this?' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,AAA', detail: 'low' } },
        ],
      },
      {
        role: 'assistant',
        content: 'Let me look.',
        tool_calls: [
          { id: 'c1', type: 'function', function: { name: 'lookup', arguments: '{"q":"x"}' } },
          { id: 'c2', type: 'function', function: { name: 'lookup', arguments: '{"q":"y"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'c1', content: 'one' },
      { role: 'tool', tool_call_id: 'c2', content: [{ type: 'text', text: 'two' }] },
    ]);
  });

  it('function tools and tool choice; json_schema formats', () => {
    const { chat: out } = chat({
      model: 'm',
      input: 'x',
      tools: [
        { type: 'function', name: 'f', description: 'd', parameters: { type: 'object' }, strict: true },
      ],
      tool_choice: { type: 'function', name: 'f' },
      text: { format: { type: 'json_schema', name: 's', schema: { type: 'object' }, strict: true } },
    });
    expect(out.tools).toEqual([
      {
        type: 'function',
        function: { name: 'f', description: 'd', parameters: { type: 'object' }, strict: true },
      },
    ]);
    expect(out.tool_choice).toEqual({ type: 'function', function: { name: 'f' } });
    expect(out.response_format).toEqual({
      type: 'json_schema',
      json_schema: { name: 's', schema: { type: 'object' }, strict: true },
    });
  });

  it('marks, never drops, what only the Responses API carries', () => {
    const t = chat({
      model: 'm',
      input: [{ role: 'user', content: 'x' }, { type: 'item_reference', id: 'msg_1' }, { id: 'msg_2' }],
      tools: [
        { type: 'function', name: 'f', parameters: {} },
        { type: 'web_search' },
        { type: 'file_search', vector_store_ids: [] },
      ],
      previous_response_id: 'resp_1',
      truncation: 'auto',
      background: false,
      future_field: 1,
    });
    expect(t.responsesOnly).toEqual([
      'previous_response_id',
      'truncation (auto)',
      'future_field',
      'input[1] (item_reference)',
      'input[2] (item_reference)',
      'tools[1] (web_search)',
      'tools[2] (file_search)',
    ]);
    expect(t.chat.switchyard_responses_only).toEqual(t.responsesOnly);
    // The caller's request travels with its translation, for a target that takes it as it is.
    expect(responsesRequestOf(t.chat)).toMatchObject({
      rewritten: false,
      request: { previous_response_id: 'resp_1' },
    });
    expect(responsesRequestOf({ ...t.chat })?.rewritten).toBe(true);
  });

  it('asks a stream for its usage', () => {
    expect(chat({ model: 'm', input: 'x', stream: true }).chat).toMatchObject({
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it.each([
    [{ model: 'm' }, 'input', "'input' is required."],
    [{ model: 'm', input: 3 }, 'input', "'input' must be a string or an array, got a number."],
    [{ model: 'm', input: [] }, 'input', "'input' must hold at least one message or item."],
    [{ model: 'm', input: [{ role: 'robot', content: 'x' }] }, 'input[0].role', undefined],
    [
      { model: 'm', input: [{ type: 'function_call', name: 'f', arguments: '{}' }] },
      'input[0].call_id',
      undefined,
    ],
    [{ model: 'm', input: 'x', tools: [{ type: 'function' }] }, 'tools[0].name', undefined],
    [{ model: 'm', input: 'x', text: { format: { type: 'yaml' } } }, 'text.format.type', undefined],
    [{ model: 'm', input: 'x', instructions: ['a'] }, 'instructions', undefined],
    [{ model: 7, input: 'x' }, 'model', undefined],
  ])('refuses %j with param %s', (body, param, message) => {
    const t = responsesToChat(body);
    expect(t.ok).toBe(false);
    if (t.ok) return;
    expect(t.code).toBe('invalid_request');
    expect(t.param).toBe(param);
    if (message !== undefined) expect(t.message).toBe(message);
  });

  it('refuses a body that is not an object', () => {
    expect(responsesToChat([1])).toMatchObject({ ok: false, code: 'invalid_request', param: null });
  });
});

const completion = (
  over: Partial<ChatCompletion['choices'][number]['message']>,
  finish = 'stop',
): ChatCompletion => ({
  id: 'chatcmpl-abc',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: 'gpt-x',
  choices: [{ index: 0, message: { role: 'assistant', content: null, ...over }, finish_reason: finish }],
  usage: {
    prompt_tokens: 30,
    completion_tokens: 7,
    total_tokens: 37,
    prompt_tokens_details: { cached_tokens: 10 },
    completion_tokens_details: { reasoning_tokens: 2 },
  },
});

describe('chat completion → Response', () => {
  it('text and tool calls as output items, usage in the Responses shape, the request echoed', () => {
    const response = chatToResponse(
      completion({
        content: 'Hi.',
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }],
      }),
      {
        instructions: 'Be kind.',
        tools: [{ type: 'function', name: 'f' }],
        temperature: 0.5,
        metadata: { k: 'v' },
      },
    );
    expect(response).toMatchObject({
      id: 'resp_abc',
      object: 'response',
      created_at: 1_700_000_000,
      status: 'completed',
      error: null,
      incomplete_details: null,
      instructions: 'Be kind.',
      model: 'gpt-x',
      temperature: 0.5,
      metadata: { k: 'v' },
      tool_choice: 'auto',
      output: [
        {
          id: 'msg_abc',
          type: 'message',
          role: 'assistant',
          status: 'completed',
          content: [{ type: 'output_text', text: 'Hi.', annotations: [], logprobs: [] }],
        },
        {
          id: 'fc_abc_0',
          type: 'function_call',
          call_id: 'call_1',
          name: 'f',
          arguments: '{"a":1}',
          status: 'completed',
        },
      ],
      usage: {
        input_tokens: 30,
        input_tokens_details: { cached_tokens: 10, cache_write_tokens: 0 },
        output_tokens: 7,
        output_tokens_details: { reasoning_tokens: 2 },
        total_tokens: 37,
      },
    });
  });

  it('a length stop is an incomplete Response; only tool calls means no message item', () => {
    expect(chatToResponse(completion({ content: 'cut' }, 'length'), {})).toMatchObject({
      status: 'incomplete',
      incomplete_details: { reason: 'max_output_tokens' },
    });
    const calls = chatToResponse(
      completion(
        { tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] },
        'tool_calls',
      ),
      {},
    );
    expect((calls.output as { type: string }[]).map((o) => o.type)).toEqual(['function_call']);
  });

  it('keeps an upstream Response id', () => {
    expect(responseId('resp_123')).toBe('resp_123');
    expect(responseId('chatcmpl-9')).toBe('resp_9');
  });
});

function frames(...chunks: unknown[]): string[] {
  return [...chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`), 'data: [DONE]\n\n'];
}

function parse(events: string[]): { event: string; data: Record<string, unknown> }[] {
  return events.map((e) => {
    const [head, data] = e.trimEnd().split('\n');
    return { event: head.slice('event: '.length), data: JSON.parse(data.slice('data: '.length)) };
  });
}

describe('the Responses stream writer', () => {
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
    id: 'chatcmpl-s',
    object: 'chat.completion.chunk',
    created: 5,
    model: 'gpt-x',
    choices: [{ index: 0, delta, finish_reason: finish }],
  });

  it('emits the typed event sequence with sequence numbers, and the whole Response at the end', () => {
    const writer = new ResponsesStreamWriter({});
    const out = parse(
      frames(
        chunk({ role: 'assistant', content: '' }),
        chunk({ content: 'He' }),
        chunk({ content: 'llo' }),
        chunk({
          tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'f', arguments: '' } }],
        }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: '{"a":' } }] }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: '1}' } }] }),
        chunk({}, 'tool_calls'),
        {
          id: 'chatcmpl-s',
          object: 'chat.completion.chunk',
          created: 5,
          model: 'gpt-x',
          choices: [],
          usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
        },
      ).flatMap((f) => writer.frame(f)),
    );
    expect(out.map((e) => e.event)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(out.every((e) => e.data.type === e.event)).toBe(true);
    expect(out.map((e) => e.data.sequence_number)).toEqual(out.map((_, i) => i));
    const final = out.at(-1)?.data.response as Record<string, unknown>;
    expect(final).toMatchObject({
      id: 'resp_s',
      status: 'completed',
      usage: { input_tokens: 3, output_tokens: 4 },
    });
    expect(final.output).toEqual([
      expect.objectContaining({ type: 'message', content: [expect.objectContaining({ text: 'Hello' })] }),
      expect.objectContaining({ type: 'function_call', call_id: 'call_1', name: 'f', arguments: '{"a":1}' }),
    ]);
  });

  it('ends with an error event on an in-band error, and nothing after', () => {
    const writer = new ResponsesStreamWriter({});
    const out = parse([
      ...writer.frame(`data: ${JSON.stringify(chunk({ content: 'x' }))}\n\n`),
      ...writer.frame(
        `data: ${JSON.stringify({ error: { message: 'cut', type: 'api_error', code: 'stream_interrupted' } })}\n\n`,
      ),
      ...writer.frame('data: [DONE]\n\n'),
    ]);
    expect(out.at(-1)).toEqual({
      event: 'error',
      data: {
        type: 'error',
        code: 'stream_interrupted',
        message: 'cut',
        param: null,
        sequence_number: out.length - 1,
      },
    });
  });
});

describe('reading the engine frames', () => {
  it('reassembles a frame split across strings, and frames with several data lines', () => {
    const whole = new ResponsesStreamWriter({});
    const split = new ResponsesStreamWriter({});
    const chunkFrame = `data: ${JSON.stringify({ id: 'chatcmpl-x', created: 1, model: 'm', choices: [{ index: 0, delta: { content: 'hi' }, finish_reason: 'stop' }] })}\n\n`;
    const a = [...whole.frame(chunkFrame), ...whole.frame('data: [DONE]\n\n')];
    const b = [
      ...split.frame(chunkFrame.slice(0, 20)),
      ...split.frame(chunkFrame.slice(20)),
      ...split.frame('data: [DO'),
      ...split.frame('NE]\n\n'),
    ];
    expect(b).toEqual(a);
    const multi = new ResponsesStreamWriter({});
    // Two data lines join with a newline: a JSON body split over lines still parses.
    const lines = chunkFrame.replace('data: {', 'data: {\ndata: ');
    expect([...multi.frame(lines), ...multi.frame('data: [DONE]\n\n')]).toEqual(a);
  });
});
