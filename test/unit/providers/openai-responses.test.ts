import { describe, expect, it } from 'vitest';
import { responsesToChat } from '../../../engine/ingress/responses.js';
import {
  chatFromResponse,
  chatToResponsesRequest,
  isResponsesPassthrough,
  ResponsesStreamTranslator,
  responsesUpstreamBody,
  responsesUrl,
} from '../../../engine/providers/openai-responses.js';
import type { ProviderCallRequest, ProviderSpec } from '../../../engine/providers/types.js';
import { ProviderFailure } from '../../../engine/providers/types.js';
import { responseObject } from '../../support/fake-apis.js';

const spec = (over: Partial<ProviderSpec> = {}): ProviderSpec => ({
  name: 'oai',
  kind: 'openai',
  baseUrl: 'https://api.openai.com/v1',
  apiKey: 'k',
  headers: {},
  azure: null,
  anthropicVersion: '2023-06-01',
  mock: null,
  responses: true,
  maxResponseBytes: 1 << 20,
  ...over,
});

function call(body: Record<string, unknown>, over: Partial<ProviderCallRequest> = {}): ProviderCallRequest {
  return {
    upstreamModel: 'gpt-upstream',
    endpoint: 'chat',
    body,
    stream: false,
    signal: new AbortController().signal,
    connectTimeoutMs: 1000,
    ...over,
  };
}

function translated(body: Record<string, unknown>): Record<string, unknown> {
  const t = responsesToChat(body);
  if (!t.ok) throw new Error(t.message);
  return t.chat;
}

describe('the upstream body of a passed-through Responses request', () => {
  it('is the caller’s request with the target’s model and the stream flag', () => {
    const original = {
      model: 'x',
      input: 'hi',
      tools: [{ type: 'web_search' }],
      previous_response_id: 'r1',
      store: true,
    };
    const chat = translated(original);
    expect(isResponsesPassthrough(spec(), call(chat))).toBe(true);
    expect(isResponsesPassthrough(spec({ responses: false }), call(chat))).toBe(false);
    expect(responsesUpstreamBody(call(chat))).toEqual({
      ok: true,
      body: { ...original, model: 'gpt-upstream' },
    });
    expect(responsesUpstreamBody(call(chat, { stream: true }))).toMatchObject({
      ok: true,
      body: { stream: true },
    });
  });

  it('is rebuilt from a body an input guardrail rewrote, keeping the caller’s settings and tools', () => {
    const chat = translated({
      model: 'x',
      instructions: 'Be brief.',
      input: 'my card is 4111 1111 1111 1111',
      tools: [{ type: 'web_search' }],
      store: false,
      include: ['reasoning.encrypted_content'],
    });
    const messages = chat.messages as Record<string, unknown>[];
    const redacted = { ...chat, messages: [messages[0], { role: 'user', content: 'my card is [CARD]' }] };
    const built = responsesUpstreamBody(call(redacted));
    expect(built).toEqual({
      ok: true,
      body: {
        model: 'gpt-upstream',
        tools: [{ type: 'web_search' }],
        store: false,
        include: ['reasoning.encrypted_content'],
        input: [
          { type: 'message', role: 'system', content: 'Be brief.' },
          { type: 'message', role: 'user', content: 'my card is [CARD]' },
        ],
      },
    });
    expect(JSON.stringify(built)).not.toContain('4111');
  });

  it('refuses to rebuild a rewritten request whose Responses-only input items would be lost', () => {
    const chat = translated({
      model: 'x',
      input: [
        { role: 'user', content: 'a' },
        { type: 'item_reference', id: 'msg_1' },
      ],
    });
    const built = responsesUpstreamBody(call({ ...chat }));
    expect(built.ok).toBe(false);
    if (!built.ok) expect(built.message).toContain('input[1] (item_reference)');
  });

  it('goes to /responses, or Azure’s v1 surface', () => {
    expect(responsesUrl(spec())).toBe('https://api.openai.com/v1/responses');
    expect(
      responsesUrl(
        spec({ baseUrl: 'https://r.openai.azure.com', azure: { apiVersion: 'v', deployment: null } }),
      ),
    ).toBe('https://r.openai.azure.com/openai/v1/responses');
  });
});

describe('chat request → Responses request', () => {
  it('messages become items, the rest its Responses names', () => {
    expect(
      chatToResponsesRequest({
        model: 'm',
        messages: [
          { role: 'system', content: 'S' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'U' },
              { type: 'image_url', image_url: { url: 'https://i' } },
            ],
          },
          {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }],
          },
          { role: 'tool', tool_call_id: 'c', content: 'R' },
        ],
        tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
        tool_choice: { type: 'function', function: { name: 'f' } },
        response_format: { type: 'json_schema', json_schema: { name: 'n', schema: {} } },
        reasoning_effort: 'low',
        max_completion_tokens: 9,
      }),
    ).toEqual({
      model: 'm',
      input: [
        { type: 'message', role: 'system', content: 'S' },
        {
          type: 'message',
          role: 'user',
          content: [
            { type: 'input_text', text: 'U' },
            { type: 'input_image', image_url: 'https://i', detail: 'auto' },
          ],
        },
        { type: 'function_call', call_id: 'c', name: 'f', arguments: '{}' },
        { type: 'function_call_output', call_id: 'c', output: 'R' },
      ],
      tools: [{ type: 'function', name: 'f', parameters: { type: 'object' } }],
      tool_choice: { type: 'function', name: 'f' },
      text: { format: { type: 'json_schema', name: 'n', schema: {} } },
      reasoning: { effort: 'low' },
      max_output_tokens: 9,
    });
  });
});

describe('Response → chat completion', () => {
  it('text, function calls and usage; reasoning items stay behind', () => {
    const completion = chatFromResponse(
      responseObject({ model: 'gpt', text: 'Hi', calls: [{ id: 'c1', name: 'f', args: { a: 1 } }] }),
      'fallback',
    );
    expect(completion).toEqual({
      id: 'resp_upstream01',
      object: 'chat.completion',
      created: 1_700_000_000,
      model: 'gpt',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: 'Hi',
            refusal: null,
            tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }],
          },
          finish_reason: 'tool_calls',
          logprobs: null,
        },
      ],
      usage: {
        prompt_tokens: 40,
        completion_tokens: 16,
        total_tokens: 56,
        prompt_tokens_details: { cached_tokens: 8 },
        completion_tokens_details: { reasoning_tokens: 4 },
      },
    });
  });

  it('an incomplete Response is a length stop', () => {
    const r = {
      ...responseObject({ model: 'g', text: 'cut' }),
      status: 'incomplete',
      incomplete_details: { reason: 'max_output_tokens' },
    };
    expect(chatFromResponse(r, 'g').choices[0].finish_reason).toBe('length');
  });

  it('refuses what is not a Response', () => {
    expect(() => chatFromResponse({ choices: [] }, 'g')).toThrow(/not a Response/);
  });
});

describe('Responses events → chat chunks', () => {
  const ev = (type: string, data: Record<string, unknown>) => ({
    event: type,
    data: JSON.stringify({ type, ...data }),
    id: null,
  });

  it('text and function-call deltas, then the finish and usage chunks', () => {
    const t = new ResponsesStreamTranslator('m');
    const response = responseObject({ model: 'gpt', text: 'Hi', calls: [{ id: 'c1', name: 'f', args: {} }] });
    const out = [
      t.translate(ev('response.created', { response: { ...response, output: [] } })),
      t.translate(ev('response.output_item.added', { output_index: 0, item: { type: 'reasoning' } })),
      t.translate(ev('response.output_text.delta', { output_index: 1, delta: 'Hi' })),
      t.translate(
        ev('response.output_item.added', {
          output_index: 2,
          item: { type: 'function_call', call_id: 'c1', name: 'f' },
        }),
      ),
      t.translate(ev('response.function_call_arguments.delta', { output_index: 2, delta: '{}' })),
      t.translate(ev('response.completed', { response })),
    ];
    expect(out.map((o) => o.done)).toEqual([false, false, false, false, false, true]);
    const deltas = out.flatMap((o) => o.chunks.map((c) => c.choices[0]?.delta ?? c.usage));
    expect(deltas).toEqual([
      { role: 'assistant', content: '' },
      { content: 'Hi' },
      { tool_calls: [{ index: 0, id: 'c1', type: 'function', function: { name: 'f', arguments: '' } }] },
      { tool_calls: [{ index: 0, function: { arguments: '{}' } }] },
      {},
      expect.objectContaining({ prompt_tokens: 40, prompt_tokens_details: { cached_tokens: 8 } }),
    ]);
    expect(out[5].chunks[0].choices[0].finish_reason).toBe('tool_calls');
    expect(out[5].chunks[0].id).toBe('resp_upstream01');
  });

  it('a failed response or an error event is a classified failure', () => {
    const t = new ResponsesStreamTranslator('m');
    const failed = () =>
      t.translate(
        ev('response.failed', { response: { error: { code: 'rate_limit_exceeded', message: 'slow' } } }),
      );
    expect(failed).toThrow(ProviderFailure);
    try {
      failed();
    } catch (err) {
      expect((err as ProviderFailure).failure.class).toBe('rate_limited');
    }
    expect(() => t.translate(ev('error', { code: 'server_error', message: 'boom' }))).toThrow(/boom/);
  });
});
