/**
 * The ingress translations (engine/ingress/, engine/providers/openai-responses.ts and the
 * Anthropic provider's translators) as properties:
 *
 * (a) stream ≡ JSON: for any chat completion and any way of cutting it into chunks, the
 *     Responses event stream ends with exactly the Response the JSON translation gives, and its
 *     text and argument deltas concatenate to the answer's; the Messages event stream,
 *     accumulated as the Anthropic SDK does, is exactly the Message of the JSON translation.
 * (b) round trips of requests: chat → Anthropic request (the provider) → chat (the ingress), and
 *     chat → Responses request → chat, keep every text, role, tool call (id, name, arguments),
 *     tool result, tool definition and tool choice.
 * (c) round trips of answers: an Anthropic Message → chat (the provider) → Message (the
 *     ingress), and a Response → chat → Response, keep the text, the tool calls, the stop and
 *     the usage (input + cached + output sums).
 * (d) the upstream Responses stream, read by the provider as chat chunks, says what the JSON
 *     Response says.
 *
 * The seed is printed on failure (replay: FC_SEED=… npx vitest run test/property/ingress.test.ts);
 * FC_NUM_RUNS sets the number of runs (default 200).
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { chatToMessage, MessagesStreamWriter, messagesToChat } from '../../engine/ingress/messages.js';
import { chatToResponse, ResponsesStreamWriter, responsesToChat } from '../../engine/ingress/responses.js';
import { toAnthropicRequest } from '../../engine/providers/anthropic-request.js';
import { fromAnthropicMessage } from '../../engine/providers/anthropic-response.js';
import {
  chatFromResponse,
  chatToResponsesRequest,
  ResponsesStreamTranslator,
} from '../../engine/providers/openai-responses.js';
import type { ChatCompletion, ChatCompletionChunk } from '../../engine/providers/openai-types.js';

const NUM_RUNS = Number(process.env.FC_NUM_RUNS ?? 200);
type Obj = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// Generators

const text = fc.string({ unit: 'grapheme', maxLength: 40 });
const nonEmptyText = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 });
const name = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,15}$/);
const callId = fc.stringMatching(/^call_[a-z0-9]{1,10}$/);
/** Tool arguments: a JSON object (what every API agrees a call's input is), as JSON gives it back (no -0). */
const args = fc
  .dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 })
  .map((a) => JSON.parse(JSON.stringify(a)) as Obj);

interface Call {
  id: string;
  name: string;
  args: Obj;
}

const calls = fc.uniqueArray(fc.record({ id: callId, name, args }), { selector: (c) => c.id, maxLength: 3 });

const usage = fc
  .record({
    prompt: fc.nat(100_000),
    completion: fc.nat(10_000),
    cachedShare: fc.double({ min: 0, max: 1, noNaN: true }),
  })
  .map(({ prompt, completion, cachedShare }) => ({
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: Math.floor(prompt * cachedShare) },
  }));

/** A chat completion as providers give it: text or none, tool calls or none, a finish reason that fits. */
const completion = fc
  .record({
    content: fc.option(text, { nil: null }),
    calls,
    cut: fc.boolean(),
    usage,
    id: fc.stringMatching(/^chatcmpl-[a-z0-9]{1,8}$/),
  })
  .map(({ content, calls, cut, usage, id }): ChatCompletion => {
    const finish = calls.length > 0 ? 'tool_calls' : cut ? 'length' : 'stop';
    return {
      id,
      object: 'chat.completion',
      created: 1_700_000_000,
      model: 'model-x',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: calls.length > 0 && content === '' ? null : content,
            ...(calls.length > 0
              ? {
                  tool_calls: calls.map((c) => ({
                    id: c.id,
                    type: 'function' as const,
                    function: { name: c.name, arguments: JSON.stringify(c.args) },
                  })),
                }
              : {}),
          },
          finish_reason: finish,
        },
      ],
      usage,
    };
  });

/** Cuts `s` at the given fractions (code-point safe), never dropping a character. */
function cut(s: string, fractions: readonly number[]): string[] {
  const points = [...s];
  const at = [...new Set(fractions.map((f) => Math.floor(f * points.length)))].sort((a, b) => a - b);
  const pieces: string[] = [];
  let from = 0;
  for (const i of [...at, points.length]) {
    if (i > from) pieces.push(points.slice(from, i).join(''));
    from = Math.max(from, i);
  }
  return pieces;
}

const fractions = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 4 });

/** The chunks a provider streams for `c`: a role chunk, text pieces, each call's pieces, the finish, the usage. */
function chunksOf(c: ChatCompletion, splits: readonly (readonly number[])[]): ChatCompletionChunk[] {
  const base = { id: c.id, object: 'chat.completion.chunk' as const, created: c.created, model: c.model };
  const choice = (delta: Obj, finish: string | null = null) => ({
    ...base,
    choices: [{ index: 0, delta, finish_reason: finish }],
  });
  const message = c.choices[0].message;
  const out: ChatCompletionChunk[] = [choice({ role: 'assistant', content: '' })];
  let k = 0;
  for (const piece of cut(message.content ?? '', splits[k++ % splits.length] ?? []))
    out.push(choice({ content: piece }));
  (message.tool_calls ?? []).forEach((call, index) => {
    out.push(
      choice({
        tool_calls: [
          { index, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } },
        ],
      }),
    );
    for (const piece of cut(call.function.arguments, splits[k++ % splits.length] ?? [])) {
      out.push(choice({ tool_calls: [{ index, function: { arguments: piece } }] }));
    }
  });
  out.push(choice({}, c.choices[0].finish_reason));
  out.push({ ...base, choices: [], usage: c.usage });
  return out;
}

function engineFrames(chunks: readonly ChatCompletionChunk[]): string[] {
  return [...chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`), 'data: [DONE]\n\n'];
}

function parseEvents(frames: readonly string[]): { event: string; data: Obj }[] {
  return frames.map((f) => {
    const lines = f.trimEnd().split('\n');
    return {
      event: lines[0].slice('event: '.length),
      data: JSON.parse(lines[1].slice('data: '.length)) as Obj,
    };
  });
}

/** JSON as it travels (the caller's request rides along a chat body under a symbol). */
const wire = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

// ---------------------------------------------------------------------------------------------
// (a) stream ≡ JSON

describe('(a) the stream writers say what the JSON translations say', () => {
  test.prop([completion, fc.array(fractions, { minLength: 1, maxLength: 4 })], { numRuns: NUM_RUNS })(
    'Responses: the final event carries the JSON Response, and the deltas add up to it',
    (c, splits) => {
      const request = { model: 'model-x', instructions: 'x' };
      const writer = new ResponsesStreamWriter(request);
      const events = parseEvents(engineFrames(chunksOf(c, splits)).flatMap((f) => writer.frame(f)));
      const json = chatToResponse(c, request);
      const last = events.at(-1);
      expect(last?.event).toBe(json.status === 'completed' ? 'response.completed' : 'response.incomplete');
      expect(last?.data.response).toEqual(wire(json));
      expect(events.map((e) => e.data.sequence_number)).toEqual(events.map((_, i) => i));
      const message = c.choices[0].message;
      const deltas = events
        .flatMap((e) => (e.event === 'response.output_text.delta' ? [e.data.delta] : []))
        .join('');
      expect(deltas).toBe(message.content ?? '');
      (message.tool_calls ?? []).forEach((call, i) => {
        const itemId = `fc_${String(json.id).slice('resp_'.length)}_${i}`;
        const argDeltas = events
          .flatMap((e) =>
            e.event === 'response.function_call_arguments.delta' && e.data.item_id === itemId
              ? [e.data.delta]
              : [],
          )
          .join('');
        expect(argDeltas).toBe(call.function.arguments);
      });
    },
  );

  test.prop([completion, fc.array(fractions, { minLength: 1, maxLength: 4 })], { numRuns: NUM_RUNS })(
    'Messages: the events, accumulated as the SDK does, are the JSON Message',
    (c, splits) => {
      const writer = new MessagesStreamWriter();
      const events = parseEvents(engineFrames(chunksOf(c, splits)).flatMap((f) => writer.frame(f)));
      expect(events.map((e) => e.event).filter((e) => e === 'message_start' || e === 'message_stop')).toEqual(
        ['message_start', 'message_stop'],
      );
      const accumulated = accumulateMessage(events);
      expect(accumulated).toEqual(wire(chatToMessage(c)));
    },
  );
});

/** What the Anthropic SDK's MessageStream does with the events (lib/MessageStream.js). */
function accumulateMessage(events: readonly { event: string; data: Obj }[]): Obj {
  let message: Obj = {};
  const buffers = new Map<number, string>();
  let open: number | null = null;
  for (const { event, data } of events) {
    if (event === 'message_start') message = structuredClone(data.message as Obj);
    else if (event === 'content_block_start') {
      expect(open).toBeNull();
      open = data.index as number;
      (message.content as Obj[])[data.index as number] = structuredClone(data.content_block as Obj);
    } else if (event === 'content_block_delta') {
      expect(data.index).toBe(open);
      const block = (message.content as Obj[])[data.index as number];
      const delta = data.delta as Obj;
      if (delta.type === 'text_delta') block.text = `${block.text}${delta.text}`;
      else
        buffers.set(
          data.index as number,
          (buffers.get(data.index as number) ?? '') + String(delta.partial_json),
        );
    } else if (event === 'content_block_stop') {
      const block = (message.content as Obj[])[data.index as number];
      const json = buffers.get(data.index as number);
      if (block.type === 'tool_use' && json !== undefined) block.input = JSON.parse(json);
      open = null;
    } else if (event === 'message_delta') {
      const delta = data.delta as Obj;
      message.stop_reason = delta.stop_reason;
      message.stop_sequence = delta.stop_sequence;
      message.usage = { ...(message.usage as Obj), ...(data.usage as Obj) };
    }
  }
  return message;
}

// ---------------------------------------------------------------------------------------------
// (b) request round trips

interface Turns {
  system: string | null;
  turns: { user: string; reply: { text: string; calls: Call[]; results: string[] } | null }[];
}

/** A conversation as agents make them: user turns, assistant replies that may call tools, and the tools' results. */
const conversation: fc.Arbitrary<Turns> = fc.record({
  system: fc.option(nonEmptyText, { nil: null }),
  turns: fc.array(
    fc.record({
      user: nonEmptyText,
      reply: fc.option(
        calls.chain((cs) =>
          fc.record({
            text: text,
            calls: fc.constant(cs),
            results: fc.array(text, { minLength: cs.length, maxLength: cs.length }),
          }),
        ),
        { nil: null },
      ),
    }),
    { minLength: 1, maxLength: 4 },
  ),
});

const toolDefs = fc.uniqueArray(
  fc.record({
    name,
    description: fc.option(text, { nil: undefined }),
    parameters: fc.constant({ type: 'object', properties: { x: { type: 'string' } } }),
  }),
  { selector: (t) => t.name, maxLength: 3 },
);

/** The chat messages of a conversation; it ends with a user turn (or tool results) so no prefill is implied. */
function chatMessages(conv: Turns): Obj[] {
  const out: Obj[] = [];
  if (conv.system !== null) out.push({ role: 'system', content: conv.system });
  for (const turn of conv.turns) {
    out.push({ role: 'user', content: turn.user });
    const reply = turn.reply;
    if (reply === null) continue;
    // A reply with no text and no call would be an empty assistant turn: give it text.
    const replyText = reply.calls.length === 0 && reply.text === '' ? 'ok' : reply.text;
    out.push({
      role: 'assistant',
      content: replyText === '' ? null : replyText,
      ...(reply.calls.length > 0
        ? {
            tool_calls: reply.calls.map((c) => ({
              id: c.id,
              type: 'function',
              function: { name: c.name, arguments: JSON.stringify(c.args) },
            })),
          }
        : {}),
    });
    reply.calls.forEach((c, i) => {
      out.push({ role: 'tool', tool_call_id: c.id, content: reply.results[i] });
    });
  }
  // A final assistant turn would be a prefill, which Anthropic takes trimmed of trailing blanks.
  const last = out.at(-1);
  if (last?.role === 'assistant' && last.tool_calls === undefined)
    out.push({ role: 'user', content: 'go on' });
  return out;
}

/** What both APIs carry of a chat conversation: roles, texts, calls (arguments parsed), results. */
function meaning(messages: readonly unknown[]): unknown[] {
  const textOf = (content: unknown): string =>
    typeof content === 'string'
      ? content
      : Array.isArray(content)
        ? content.map((p) => String((p as Obj).text ?? '')).join('')
        : '';
  const out: Obj[] = [];
  for (const raw of messages) {
    const m = raw as Obj;
    const entry: Obj = { role: m.role, text: textOf(m.content) };
    if (Array.isArray(m.tool_calls) && m.tool_calls.length > 0) {
      entry.calls = m.tool_calls.map((c) => {
        const call = c as { id: string; function: { name: string; arguments: string } };
        return { id: call.id, name: call.function.name, args: JSON.parse(call.function.arguments) };
      });
    }
    if (m.role === 'tool') entry.result = m.tool_call_id;
    // Consecutive user turns are one turn in Anthropic's model; chat keeps them apart.
    const prev = out.at(-1);
    if (prev !== undefined && prev.role === 'user' && entry.role === 'user')
      prev.text = `${prev.text}${entry.text}`;
    else out.push(entry);
  }
  return out;
}

const toolChoice = fc.constantFrom<unknown>(undefined, 'auto', 'required', 'none', 'first');

describe('(b) requests survive a round trip', () => {
  test.prop([conversation, toolDefs, toolChoice, fc.integer({ min: 1, max: 8192 }), fc.boolean()], {
    numRuns: NUM_RUNS,
  })('chat → Anthropic Messages request → chat', (conv, tools, choice, maxTokens, parallel) => {
    const messages = chatMessages(conv);
    const chat: Obj = { model: 'm', messages, max_completion_tokens: maxTokens };
    if (tools.length > 0) {
      chat.tools = tools.map((t) => ({
        type: 'function',
        function: {
          name: t.name,
          ...(t.description === undefined ? {} : { description: t.description }),
          parameters: t.parameters,
        },
      }));
      if (choice !== undefined)
        chat.tool_choice =
          choice === 'first' ? { type: 'function', function: { name: tools[0].name } } : choice;
      if (!parallel) chat.parallel_tool_calls = false;
    }
    const anthropic = toAnthropicRequest(chat, 'claude-x', false);
    const back = messagesToChat(anthropic);
    if (!back.ok) throw new Error(back.message);
    expect(meaning(back.chat.messages as unknown[])).toEqual(meaning(messages));
    expect(back.chat.max_completion_tokens).toBe(maxTokens);
    expect(back.chat.tools).toEqual(chat.tools);
    if (tools.length > 0) {
      const expected =
        choice === undefined && !parallel ? 'auto' : choice === undefined ? undefined : chat.tool_choice;
      expect(back.chat.tool_choice).toEqual(expected);
      expect(back.chat.parallel_tool_calls).toBe(parallel ? undefined : false);
    }
  });

  test.prop(
    [
      conversation,
      toolDefs,
      toolChoice,
      fc.option(fc.integer({ min: 1, max: 8192 }), { nil: undefined }),
      fc.boolean(),
    ],
    {
      numRuns: NUM_RUNS,
    },
  )('chat → Responses request → chat', (conv, tools, choice, maxTokens, stream) => {
    const chat: Obj = { model: 'm', messages: chatMessages(conv) };
    if (maxTokens !== undefined) chat.max_completion_tokens = maxTokens;
    if (stream) chat.stream = true;
    if (tools.length > 0) {
      chat.tools = tools.map((t) => ({
        type: 'function',
        function: {
          name: t.name,
          ...(t.description === undefined ? {} : { description: t.description }),
          parameters: t.parameters,
        },
      }));
      if (choice !== undefined)
        chat.tool_choice =
          choice === 'first' ? { type: 'function', function: { name: tools[0].name } } : choice;
    }
    const back = responsesToChat(chatToResponsesRequest(chat));
    if (!back.ok) throw new Error(back.message);
    expect(back.responsesOnly).toEqual([]);
    const { stream_options, ...rest } = wire(back.chat);
    expect(stream_options).toEqual(stream ? { include_usage: true } : undefined);
    expect(rest).toEqual(chat);
  });
});

// ---------------------------------------------------------------------------------------------
// (c) answer round trips

const anthropicMessage = fc
  .record({
    texts: fc.array(text, { maxLength: 3 }),
    calls,
    stop: fc.constantFrom('end_turn', 'max_tokens', 'refusal'),
    input: fc.nat(50_000),
    creation: fc.nat(5_000),
    read: fc.nat(50_000),
    output: fc.nat(5_000),
  })
  .map((m) => ({
    id: 'msg_abc',
    type: 'message',
    role: 'assistant',
    model: 'claude-x',
    content: [
      ...m.texts.map((t) => ({ type: 'text', text: t })),
      ...m.calls.map((c) => ({ type: 'tool_use', id: c.id, name: c.name, input: c.args })),
    ],
    stop_reason: m.calls.length > 0 ? 'tool_use' : m.stop,
    stop_sequence: null,
    usage: {
      input_tokens: m.input,
      cache_creation_input_tokens: m.creation,
      cache_read_input_tokens: m.read,
      output_tokens: m.output,
    },
  }));

describe('(c) answers survive a round trip', () => {
  test.prop([anthropicMessage], { numRuns: NUM_RUNS })('Anthropic Message → chat → Message', (original) => {
    const back = chatToMessage(fromAnthropicMessage(original, 'claude-x', 0));
    const content = original.content as Obj[];
    const joined = content.flatMap((b) => (b.type === 'text' ? [b.text] : [])).join('');
    const blocks = back.content as Obj[];
    expect(blocks.filter((b) => b.type === 'text').map((b) => b.text)).toEqual(joined === '' ? [] : [joined]);
    expect(
      blocks.filter((b) => b.type === 'tool_use').map((b) => ({ id: b.id, name: b.name, input: b.input })),
    ).toEqual(
      content.filter((b) => b.type === 'tool_use').map((b) => ({ id: b.id, name: b.name, input: b.input })),
    );
    expect(back.id).toBe(original.id);
    expect(back.stop_reason).toBe(original.stop_reason);
    const u = original.usage;
    const v = back.usage as Obj;
    expect(v.cache_read_input_tokens).toBe(u.cache_read_input_tokens);
    expect(v.output_tokens).toBe(u.output_tokens);
    // Cache writes have no chat counterpart: they are counted as input, so the sums agree.
    expect(
      Number(v.input_tokens) + Number(v.cache_creation_input_tokens) + Number(v.cache_read_input_tokens),
    ).toBe(u.input_tokens + u.cache_creation_input_tokens + u.cache_read_input_tokens);
  });

  test.prop([fc.option(text, { nil: undefined }), calls, usage], { numRuns: NUM_RUNS })(
    'Response → chat → Response',
    (t, cs, u) => {
      const upstream = responseOf(t, cs, u);
      const back = chatToResponse(chatFromResponse(upstream, 'x'), {});
      const project = (r: Obj): Obj[] =>
        (r.output as Obj[]).flatMap((item): Obj[] =>
          item.type === 'message'
            ? [{ text: ((item.content as Obj[])[0] as Obj).text }]
            : item.type === 'function_call'
              ? [{ call: item.call_id, name: item.name, args: item.arguments }]
              : [],
        );
      // An answer without text is no message item, unless it is empty altogether (then one, empty).
      const expected = project(upstream).filter((o) => !('text' in o) || o.text !== '' || cs.length === 0);
      expect(project(back)).toEqual(t === undefined && cs.length === 0 ? [{ text: '' }] : expected);
      expect(back.id).toBe(upstream.id);
      expect(back.status).toBe('completed');
      expect(back.usage).toEqual({
        input_tokens: u.prompt_tokens,
        input_tokens_details: { cached_tokens: u.prompt_tokens_details.cached_tokens, cache_write_tokens: 0 },
        output_tokens: u.completion_tokens,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: u.total_tokens,
      });
    },
  );
});

/** A Response with an optional message and function calls, usage from a chat usage. */
function responseOf(
  t: string | undefined,
  cs: readonly Call[],
  u: {
    prompt_tokens: number;
    completion_tokens: number;
    total_tokens: number;
    prompt_tokens_details: { cached_tokens: number };
  },
): Obj {
  const output: Obj[] = [{ id: 'rs_1', type: 'reasoning', summary: [] }];
  if (t !== undefined) {
    output.push({
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      status: 'completed',
      content: [{ type: 'output_text', text: t, annotations: [] }],
    });
  }
  for (const c of cs) {
    output.push({
      id: `fc_${c.id}`,
      type: 'function_call',
      status: 'completed',
      call_id: c.id,
      name: c.name,
      arguments: JSON.stringify(c.args),
    });
  }
  return {
    id: 'resp_up',
    object: 'response',
    created_at: 7,
    status: 'completed',
    model: 'gpt-x',
    output,
    usage: {
      input_tokens: u.prompt_tokens,
      input_tokens_details: { cached_tokens: u.prompt_tokens_details.cached_tokens },
      output_tokens: u.completion_tokens,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: u.total_tokens,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// (d) the upstream Responses stream

/** The events OpenAI streams for a Response, deltas cut as given. */
function responseEvents(
  response: Obj,
  splits: readonly (readonly number[])[],
): { event: string; data: string; id: null }[] {
  const out: Obj[] = [
    { type: 'response.created', response: { ...response, output: [], status: 'in_progress' } },
  ];
  let k = 0;
  (response.output as Obj[]).forEach((item, outputIndex) => {
    out.push({ type: 'response.output_item.added', output_index: outputIndex, item });
    if (item.type === 'message') {
      const whole = String(((item.content as Obj[])[0] as Obj).text);
      for (const piece of cut(whole, splits[k++ % splits.length] ?? [])) {
        out.push({
          type: 'response.output_text.delta',
          output_index: outputIndex,
          content_index: 0,
          delta: piece,
        });
      }
    } else if (item.type === 'function_call') {
      for (const piece of cut(String(item.arguments), splits[k++ % splits.length] ?? [])) {
        out.push({ type: 'response.function_call_arguments.delta', output_index: outputIndex, delta: piece });
      }
    }
    out.push({ type: 'response.output_item.done', output_index: outputIndex, item });
  });
  out.push({ type: 'response.completed', response });
  return out.map((e, i) => ({
    event: String(e.type),
    data: JSON.stringify({ ...e, sequence_number: i }),
    id: null,
  }));
}

/** Chat chunks assembled into the completion they stream. */
function assemble(chunks: readonly ChatCompletionChunk[]): ChatCompletion {
  let content = '';
  let finish: string | null = null;
  let usage: ChatCompletion['usage'] = null;
  const calls: { id: string; type: 'function'; function: { name: string; arguments: string } }[] = [];
  for (const chunk of chunks) {
    if (chunk.usage) usage = chunk.usage;
    for (const choice of chunk.choices) {
      if (typeof choice.delta.content === 'string') content += choice.delta.content;
      for (const d of choice.delta.tool_calls ?? []) {
        calls[d.index] ??= {
          id: d.id ?? '',
          type: 'function',
          function: { name: d.function?.name ?? '', arguments: '' },
        };
        calls[d.index].function.arguments += d.function?.arguments ?? '';
      }
      if (choice.finish_reason !== null) finish = choice.finish_reason;
    }
  }
  const first = chunks[0];
  return {
    id: first.id,
    object: 'chat.completion',
    created: first.created,
    model: first.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: content === '' && calls.length > 0 ? null : content,
          refusal: null,
          ...(calls.length > 0 ? { tool_calls: calls } : {}),
        },
        finish_reason: finish,
        logprobs: null,
      },
    ],
    ...(usage === null ? {} : { usage }),
  };
}

describe('(d) the provider reads a Responses stream as its JSON answer', () => {
  test.prop(
    [fc.option(text, { nil: undefined }), calls, usage, fc.array(fractions, { minLength: 1, maxLength: 4 })],
    { numRuns: NUM_RUNS },
  )('Response events → chat chunks ≡ Response → chat completion', (t, cs, u, splits) => {
    const response = responseOf(t, cs, u);
    const translator = new ResponsesStreamTranslator('fallback');
    const chunks: ChatCompletionChunk[] = [];
    let done = false;
    for (const event of responseEvents(response, splits)) {
      const out = translator.translate(event);
      chunks.push(...out.chunks);
      done ||= out.done;
    }
    expect(done).toBe(true);
    expect(assemble(chunks)).toEqual(chatFromResponse(response, 'fallback'));
  });
});
