/**
 * Fake upstream answers for the loopback upstream (upstream.ts `raw` behaviours), in the wire
 * formats of the three APIs: a chat completion that calls a tool, an Anthropic Message (text and
 * tool use), and a Responses API Response, each as JSON or as its event stream. Used by the
 * ingress integration tests to stand in for OpenAI, Anthropic and a Responses-capable server.
 */
import { sseFrame } from '../../engine/providers/sse.js';
import { chunkPayload, completionPayload, type UpstreamBehaviour } from './upstream.js';

type Obj = Record<string, unknown>;

export interface FakeToolCall {
  readonly id: string;
  readonly name: string;
  /** The arguments object; streamed as JSON text in two pieces. */
  readonly args: Obj;
}

const JSON_HEADERS = { 'content-type': 'application/json' };
const SSE_HEADERS = { 'content-type': 'text/event-stream' };

function splitInTwo(text: string): [string, string] {
  const half = Math.ceil(text.length / 2);
  return [text.slice(0, half), text.slice(half)];
}

// ---------------------------------------------------------------------------------------------
// OpenAI chat completions

/** A chat completion (JSON or SSE, per `stream`) with `text` and then `calls`. */
export function chatAnswer(opts: {
  model: string;
  stream: boolean;
  text?: string;
  calls?: readonly FakeToolCall[];
  usage?: { prompt: number; completion: number; cached?: number };
}): UpstreamBehaviour {
  const calls = opts.calls ?? [];
  const usage =
    opts.usage === undefined
      ? { prompt_tokens: 20, completion_tokens: 10, total_tokens: 30 }
      : {
          prompt_tokens: opts.usage.prompt,
          completion_tokens: opts.usage.completion,
          total_tokens: opts.usage.prompt + opts.usage.completion,
          ...(opts.usage.cached === undefined
            ? {}
            : { prompt_tokens_details: { cached_tokens: opts.usage.cached } }),
        };
  const finishReason = calls.length > 0 ? 'tool_calls' : 'stop';
  if (!opts.stream) {
    const body = completionPayload({
      model: opts.model,
      content: opts.text ?? (calls.length > 0 ? null : ''),
      finishReason,
      usage,
      ...(calls.length > 0
        ? {
            toolCalls: calls.map((c) => ({
              id: c.id,
              type: 'function',
              function: { name: c.name, arguments: JSON.stringify(c.args) },
            })),
          }
        : {}),
    });
    return { kind: 'raw', status: 200, headers: JSON_HEADERS, chunks: [JSON.stringify(body)] };
  }
  const frames: string[] = [
    sseFrame(JSON.stringify(chunkPayload({ model: opts.model, delta: { role: 'assistant', content: '' } }))),
  ];
  if (opts.text !== undefined) {
    for (const piece of splitInTwo(opts.text)) {
      frames.push(sseFrame(JSON.stringify(chunkPayload({ model: opts.model, delta: { content: piece } }))));
    }
  }
  calls.forEach((call, index) => {
    const [a, b] = splitInTwo(JSON.stringify(call.args));
    frames.push(
      sseFrame(
        JSON.stringify(
          chunkPayload({
            model: opts.model,
            delta: {
              tool_calls: [
                { index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } },
              ],
            },
          }),
        ),
      ),
      sseFrame(
        JSON.stringify(
          chunkPayload({ model: opts.model, delta: { tool_calls: [{ index, function: { arguments: a } }] } }),
        ),
      ),
      sseFrame(
        JSON.stringify(
          chunkPayload({ model: opts.model, delta: { tool_calls: [{ index, function: { arguments: b } }] } }),
        ),
      ),
    );
  });
  frames.push(
    sseFrame(JSON.stringify(chunkPayload({ model: opts.model, delta: {}, finishReason }))),
    sseFrame(JSON.stringify(chunkPayload({ model: opts.model, usage }))),
    sseFrame('[DONE]'),
  );
  return { kind: 'raw', status: 200, headers: SSE_HEADERS, chunks: frames };
}

// ---------------------------------------------------------------------------------------------
// Anthropic Messages

/** An Anthropic Message (JSON or its event stream) with `text` and then `calls` as tool_use blocks. */
export function anthropicAnswer(opts: {
  model: string;
  stream: boolean;
  text?: string;
  calls?: readonly FakeToolCall[];
  usage?: { input: number; output: number; cacheRead?: number };
}): UpstreamBehaviour {
  const calls = opts.calls ?? [];
  const usage = {
    input_tokens: opts.usage?.input ?? 25,
    output_tokens: opts.usage?.output ?? 12,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: opts.usage?.cacheRead ?? 0,
  };
  const stopReason = calls.length > 0 ? 'tool_use' : 'end_turn';
  const content: Obj[] = [];
  if (opts.text !== undefined) content.push({ type: 'text', text: opts.text });
  for (const c of calls) content.push({ type: 'tool_use', id: c.id, name: c.name, input: c.args });
  if (!opts.stream) {
    const message = {
      id: 'msg_fake01',
      type: 'message',
      role: 'assistant',
      model: opts.model,
      content,
      stop_reason: stopReason,
      stop_sequence: null,
      usage,
    };
    return { kind: 'raw', status: 200, headers: JSON_HEADERS, chunks: [JSON.stringify(message)] };
  }
  const ev = (type: string, data: Obj) => sseFrame(JSON.stringify({ type, ...data }), type);
  const frames = [
    ev('message_start', {
      message: {
        id: 'msg_fake01',
        type: 'message',
        role: 'assistant',
        model: opts.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...usage, output_tokens: 1 },
      },
    }),
    ev('ping', {}),
  ];
  let index = 0;
  if (opts.text !== undefined) {
    frames.push(ev('content_block_start', { index, content_block: { type: 'text', text: '' } }));
    for (const piece of splitInTwo(opts.text)) {
      frames.push(ev('content_block_delta', { index, delta: { type: 'text_delta', text: piece } }));
    }
    frames.push(ev('content_block_stop', { index }));
    index++;
  }
  for (const c of calls) {
    frames.push(
      ev('content_block_start', {
        index,
        content_block: { type: 'tool_use', id: c.id, name: c.name, input: {} },
      }),
    );
    for (const piece of splitInTwo(JSON.stringify(c.args))) {
      frames.push(
        ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: piece } }),
      );
    }
    frames.push(ev('content_block_stop', { index }));
    index++;
  }
  frames.push(
    ev('message_delta', {
      delta: { stop_reason: stopReason, stop_sequence: null },
      usage: { output_tokens: usage.output_tokens },
    }),
    ev('message_stop', {}),
  );
  return { kind: 'raw', status: 200, headers: SSE_HEADERS, chunks: frames };
}

// ---------------------------------------------------------------------------------------------
// OpenAI Responses

/** A Response object with a reasoning item, then `text` as a message and `calls` as function calls. */
export function responseObject(opts: { model: string; text?: string; calls?: readonly FakeToolCall[] }): Obj {
  const output: Obj[] = [{ id: 'rs_fake', type: 'reasoning', summary: [], encrypted_content: 'opaque' }];
  if (opts.text !== undefined) {
    output.push({
      id: 'msg_fake',
      type: 'message',
      status: 'completed',
      role: 'assistant',
      content: [{ type: 'output_text', text: opts.text, annotations: [], logprobs: [] }],
    });
  }
  for (const c of opts.calls ?? []) {
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
    id: 'resp_upstream01',
    object: 'response',
    created_at: 1_700_000_000,
    status: 'completed',
    error: null,
    incomplete_details: null,
    instructions: null,
    model: opts.model,
    output,
    parallel_tool_calls: true,
    temperature: 1,
    tool_choice: 'auto',
    tools: [],
    top_p: 1,
    metadata: {},
    usage: {
      input_tokens: 40,
      input_tokens_details: { cached_tokens: 8 },
      output_tokens: 16,
      output_tokens_details: { reasoning_tokens: 4 },
      total_tokens: 56,
    },
  };
}

/** A Response, as JSON or as the typed event stream OpenAI sends for it. */
export function responsesAnswer(opts: {
  model: string;
  stream: boolean;
  text?: string;
  calls?: readonly FakeToolCall[];
}): UpstreamBehaviour {
  const response = responseObject(opts);
  if (!opts.stream)
    return { kind: 'raw', status: 200, headers: JSON_HEADERS, chunks: [JSON.stringify(response)] };
  let seq = 0;
  const ev = (type: string, data: Obj) =>
    sseFrame(JSON.stringify({ type, ...data, sequence_number: seq++ }), type);
  const start = { ...response, status: 'in_progress', output: [], usage: null };
  const frames = [
    ev('response.created', { response: start }),
    ev('response.in_progress', { response: start }),
  ];
  (response.output as Obj[]).forEach((item, outputIndex) => {
    if (item.type === 'message') {
      const text = opts.text ?? '';
      frames.push(
        ev('response.output_item.added', {
          output_index: outputIndex,
          item: { ...item, status: 'in_progress', content: [] },
        }),
        ev('response.content_part.added', {
          item_id: item.id,
          output_index: outputIndex,
          content_index: 0,
          part: { type: 'output_text', text: '', annotations: [] },
        }),
      );
      for (const piece of splitInTwo(text)) {
        frames.push(
          ev('response.output_text.delta', {
            item_id: item.id,
            output_index: outputIndex,
            content_index: 0,
            delta: piece,
            logprobs: [],
          }),
        );
      }
      frames.push(
        ev('response.output_text.done', {
          item_id: item.id,
          output_index: outputIndex,
          content_index: 0,
          text,
          logprobs: [],
        }),
        ev('response.output_item.done', { output_index: outputIndex, item }),
      );
    } else if (item.type === 'function_call') {
      frames.push(
        ev('response.output_item.added', {
          output_index: outputIndex,
          item: { ...item, arguments: '', status: 'in_progress' },
        }),
      );
      for (const piece of splitInTwo(String(item.arguments))) {
        frames.push(
          ev('response.function_call_arguments.delta', {
            item_id: item.id,
            output_index: outputIndex,
            delta: piece,
          }),
        );
      }
      frames.push(ev('response.output_item.done', { output_index: outputIndex, item }));
    } else {
      frames.push(
        ev('response.output_item.added', { output_index: outputIndex, item }),
        ev('response.output_item.done', { output_index: outputIndex, item }),
      );
    }
  });
  frames.push(ev('response.completed', { response }));
  return { kind: 'raw', status: 200, headers: SSE_HEADERS, chunks: frames };
}
