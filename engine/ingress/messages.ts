/**
 * Anthropic's Messages API at the engine's edge (`POST /v1/messages`), so Anthropic SDK clients
 * and coding agents can use the gateway whatever provider serves them: a Messages request is
 * translated once into the engine's internal chat completion request, and the chat answer (JSON
 * or chunks) back into a Message or its event stream (`message_start`, `ping`,
 * `content_block_start` / `_delta` / `_stop` per block, `message_delta` with the stop reason
 * and usage, `message_stop`). An Anthropic provider then turns the chat request back into a
 * Messages request (engine/providers/anthropic-request.ts): the two translations are each
 * other's inverse on what both APIs carry (the round-trip properties in test/property/ingress).
 *
 * What translates (`docs/ingress.md` is the user's table): `system` (a string or text blocks),
 * `messages` with text, image (base64 and URL), `tool_use` and `tool_result` blocks, custom
 * `tools` and `tool_choice` (`disable_parallel_tool_use` → `parallel_tool_calls: false`),
 * `max_tokens` (required, as Anthropic requires it) → `max_completion_tokens`,
 * `stop_sequences` → `stop`, `temperature`, `top_p`, `metadata.user_id` → `user` (the whole
 * `metadata` stays routable), `output_config.format` → `response_format` (JSON schema) and
 * `output_config.effort` → `reasoning_effort`.
 *
 * Accepted and not carried: `cache_control` hints, `thinking` (extended thinking has no chat
 * counterpart every target accepts: answers carry no thinking blocks), thinking blocks of earlier
 * turns (a model's own state), `top_k`, `service_tier`, `speed`, `inference_geo`,
 * `diagnostics`, and a tool result's `is_error` flag (its text goes as it is). Anything else —
 * server tools (web search, code execution, ...), documents, search results, MCP servers,
 * containers, unknown fields — is 400 `unsupported_feature` naming it: never a silent drop.
 */

import { anthropicErrorType, ERRORS, isErrorCode } from '../errors.js';
import type { ChatCompletion } from '../providers/openai-types.js';
import { isRecord } from '../shared/guards.js';
import { ChatChunkWriter, type IngressProblem, invalid, Problem, translateBody, typeName } from './common.js';

type Obj = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// Request: Messages → chat

export type MessagesTranslation =
  | { readonly ok: true; readonly chat: Obj }
  | ({ readonly ok: false } & IngressProblem);

function unsupported(param: string, what: string): Problem {
  return new Problem(
    'unsupported_feature',
    `${what} (${param}) cannot be translated for the targets this gateway routes to; remove it. See docs/ingress.md for what /v1/messages carries.`,
    param,
  );
}

/** Accepted and not carried (module comment). */
const IGNORED_FIELDS = new Set([
  'cache_control',
  'thinking',
  'top_k',
  'service_tier',
  'speed',
  'inference_geo',
  'diagnostics',
]);

const KNOWN_FIELDS = new Set([
  'model',
  'max_tokens',
  'messages',
  'system',
  'stop_sequences',
  'temperature',
  'top_p',
  'stream',
  'tools',
  'tool_choice',
  'metadata',
  'output_config',
]);

/** Tool keys that are hints to Anthropic only (ignored); any other key but the custom tool's is refused. */
const TOOL_KEYS = new Set([
  'type',
  'name',
  'description',
  'input_schema',
  'strict',
  'cache_control',
  'eager_input_streaming',
  'input_examples',
]);

function textOfSystem(system: unknown): string {
  if (typeof system === 'string') return system;
  if (!Array.isArray(system))
    throw invalid('system', `'system' must be a string or an array of text blocks, got ${typeName(system)}.`);
  return system
    .map((block, k) => {
      if (!isRecord(block) || block.type !== 'text' || typeof block.text !== 'string') {
        throw invalid(`system[${k}]`, `'system[${k}]' must be a text block.`);
      }
      return block.text;
    })
    .join('\n\n');
}

function imagePart(block: Obj, at: string): Obj {
  const source = block.source;
  if (!isRecord(source)) throw invalid(`${at}.source`, `'${at}.source' must be an object.`);
  if (source.type === 'base64' && typeof source.media_type === 'string' && typeof source.data === 'string') {
    return { type: 'image_url', image_url: { url: `data:${source.media_type};base64,${source.data}` } };
  }
  if (source.type === 'url' && typeof source.url === 'string')
    return { type: 'image_url', image_url: { url: source.url } };
  throw unsupported(`${at}.source`, `An image source of type "${String(source.type)}"`);
}

function toolResultContent(content: unknown, at: string): unknown {
  if (content === undefined || content === null) return '';
  if (typeof content === 'string') return content;
  if (!Array.isArray(content))
    throw invalid(`${at}.content`, `'${at}.content' must be a string or an array.`);
  return content.map((block, k) => {
    if (isRecord(block) && block.type === 'text' && typeof block.text === 'string')
      return { type: 'text', text: block.text };
    const type = isRecord(block) ? String(block.type) : typeName(block);
    throw unsupported(
      `${at}.content[${k}]`,
      `A "${type}" block in a tool result (chat tool results are text)`,
    );
  });
}

function userMessage(content: unknown[], at: string, out: Obj[]): void {
  const parts: Obj[] = [];
  content.forEach((block, k) => {
    const bat = `${at}.content[${k}]`;
    if (!isRecord(block)) throw invalid(bat, `'${bat}' must be an object, got ${typeName(block)}.`);
    switch (block.type) {
      case 'text':
        if (typeof block.text !== 'string') throw invalid(`${bat}.text`, `'${bat}.text' must be a string.`);
        parts.push({ type: 'text', text: block.text });
        return;
      case 'image':
        parts.push(imagePart(block, bat));
        return;
      case 'tool_result':
        if (typeof block.tool_use_id !== 'string') {
          throw invalid(`${bat}.tool_use_id`, `'${bat}.tool_use_id' must be a string.`);
        }
        // Chat tool results follow the assistant's calls, before what else the user says.
        out.push({
          role: 'tool',
          tool_call_id: block.tool_use_id,
          content: toolResultContent(block.content, bat),
        });
        return;
      default:
        throw unsupported(bat, `A "${String(block.type)}" block`);
    }
  });
  if (parts.length > 0) out.push({ role: 'user', content: parts });
}

function assistantMessage(content: unknown[], at: string, out: Obj[]): void {
  let text = '';
  const calls: Obj[] = [];
  content.forEach((block, k) => {
    const bat = `${at}.content[${k}]`;
    if (!isRecord(block)) throw invalid(bat, `'${bat}' must be an object, got ${typeName(block)}.`);
    switch (block.type) {
      case 'text':
        if (typeof block.text !== 'string') throw invalid(`${bat}.text`, `'${bat}.text' must be a string.`);
        text += block.text;
        return;
      case 'tool_use':
        if (typeof block.id !== 'string' || typeof block.name !== 'string') {
          throw invalid(bat, `'${bat}' must have a string id and name.`);
        }
        calls.push({
          id: block.id,
          type: 'function',
          function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) },
        });
        return;
      case 'thinking':
      case 'redacted_thinking':
        // The model's own state of an earlier turn: not carried (module comment).
        return;
      default:
        throw unsupported(bat, `A "${String(block.type)}" block`);
    }
  });
  // A turn that was only thinking leaves nothing to send (an empty turn is refused upstream).
  if (text === '' && calls.length === 0 && content.length > 0) return;
  const message: Obj = { role: 'assistant', content: text === '' && calls.length > 0 ? null : text };
  if (calls.length > 0) message.tool_calls = calls;
  out.push(message);
}

function messages(list: unknown): Obj[] {
  if (list === undefined) throw invalid('messages', "'messages' is required.");
  if (!Array.isArray(list)) throw invalid('messages', `'messages' must be an array, got ${typeName(list)}.`);
  if (list.length === 0) throw invalid('messages', "'messages' must contain at least one message.");
  const out: Obj[] = [];
  list.forEach((m, i) => {
    const at = `messages[${i}]`;
    if (!isRecord(m)) throw invalid(at, `'${at}' must be an object, got ${typeName(m)}.`);
    if (m.role !== 'user' && m.role !== 'assistant') {
      throw invalid(`${at}.role`, `'${at}.role' must be "user" or "assistant".`);
    }
    if (typeof m.content === 'string') {
      out.push({ role: m.role, content: m.content });
      return;
    }
    if (!Array.isArray(m.content)) {
      throw invalid(
        `${at}.content`,
        `'${at}.content' must be a string or an array of blocks, got ${typeName(m.content)}.`,
      );
    }
    if (m.role === 'user') userMessage(m.content, at, out);
    else assistantMessage(m.content, at, out);
  });
  return out;
}

function tools(list: unknown): Obj[] | undefined {
  if (list === undefined || list === null) return undefined;
  if (!Array.isArray(list)) throw invalid('tools', `'tools' must be an array, got ${typeName(list)}.`);
  return list.map((tool, i) => {
    const at = `tools[${i}]`;
    if (!isRecord(tool)) throw invalid(at, `'${at}' must be an object, got ${typeName(tool)}.`);
    if (tool.type !== undefined && tool.type !== null && tool.type !== 'custom') {
      throw unsupported(at, `The server tool "${String(tool.type)}"`);
    }
    if (typeof tool.name !== 'string' || tool.name === '')
      throw invalid(`${at}.name`, `'${at}.name' must be a non-empty string.`);
    if (!isRecord(tool.input_schema))
      throw invalid(`${at}.input_schema`, `'${at}.input_schema' must be an object.`);
    for (const key of Object.keys(tool)) {
      if (!TOOL_KEYS.has(key) && tool[key] !== null && tool[key] !== undefined && tool[key] !== false) {
        throw unsupported(`${at}.${key}`, `The tool setting "${key}"`);
      }
    }
    const fn: Obj = { name: tool.name, parameters: tool.input_schema };
    if (typeof tool.description === 'string') fn.description = tool.description;
    if (typeof tool.strict === 'boolean') fn.strict = tool.strict;
    return { type: 'function', function: fn };
  });
}

function toolChoice(choice: unknown, chat: Obj): void {
  if (choice === undefined || choice === null) return;
  if (!isRecord(choice)) throw invalid('tool_choice', "'tool_choice' must be an object.");
  switch (choice.type) {
    case 'auto':
      chat.tool_choice = 'auto';
      break;
    case 'any':
      chat.tool_choice = 'required';
      break;
    case 'none':
      chat.tool_choice = 'none';
      break;
    case 'tool':
      if (typeof choice.name !== 'string')
        throw invalid('tool_choice.name', "'tool_choice.name' must be a string.");
      chat.tool_choice = { type: 'function', function: { name: choice.name } };
      break;
    default:
      throw invalid('tool_choice.type', "'tool_choice.type' must be auto, any, tool or none.");
  }
  if (choice.disable_parallel_tool_use === true) chat.parallel_tool_calls = false;
}

const EFFORTS: Readonly<Record<string, string>> = {
  low: 'low',
  medium: 'medium',
  high: 'high',
  xhigh: 'high',
  max: 'high',
};

function outputConfig(config: unknown, chat: Obj): void {
  if (config === undefined || config === null) return;
  if (!isRecord(config)) throw invalid('output_config', "'output_config' must be an object.");
  const format = config.format;
  if (format !== undefined && format !== null) {
    if (!isRecord(format) || format.type !== 'json_schema' || !isRecord(format.schema)) {
      throw invalid(
        'output_config.format',
        "'output_config.format' must be { type: 'json_schema', schema }.",
      );
    }
    chat.response_format = {
      type: 'json_schema',
      json_schema: { name: 'output', schema: format.schema, strict: true },
    };
  }
  if (typeof config.effort === 'string' && EFFORTS[config.effort] !== undefined)
    chat.reasoning_effort = EFFORTS[config.effort];
}

function translate(body: Obj): Obj {
  if (typeof body.model !== 'string' || body.model === '')
    throw invalid('model', "'model' is required (a string).");
  const max = body.max_tokens;
  if (max === undefined || max === null) {
    throw invalid(
      'max_tokens',
      "'max_tokens' is required: the Messages API asks for the most tokens to generate.",
    );
  }
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1) {
    throw invalid('max_tokens', "'max_tokens' must be an integer of at least 1.");
  }
  for (const key of Object.keys(body)) {
    if (KNOWN_FIELDS.has(key) || IGNORED_FIELDS.has(key) || body[key] === null || body[key] === undefined)
      continue;
    throw unsupported(key, `The field "${key}"`);
  }
  const chat: Obj = { model: body.model };
  const list: Obj[] = [];
  if (body.system !== undefined && body.system !== null) {
    const system = textOfSystem(body.system);
    if (system !== '') list.push({ role: 'system', content: system });
  }
  list.push(...messages(body.messages));
  chat.messages = list;
  chat.max_completion_tokens = max;
  if (body.stop_sequences !== undefined) {
    if (!Array.isArray(body.stop_sequences) || !body.stop_sequences.every((s) => typeof s === 'string')) {
      throw invalid('stop_sequences', "'stop_sequences' must be an array of strings.");
    }
    if (body.stop_sequences.length > 0) chat.stop = body.stop_sequences;
  }
  if (typeof body.temperature === 'number') chat.temperature = body.temperature;
  if (typeof body.top_p === 'number') chat.top_p = body.top_p;
  if (body.stream !== undefined && body.stream !== null) {
    if (typeof body.stream !== 'boolean')
      throw invalid('stream', `'stream' must be a boolean, got ${typeName(body.stream)}.`);
    if (body.stream) {
      chat.stream = true;
      // Usage comes at the end of a chat stream only when asked; message_delta reports it.
      chat.stream_options = { include_usage: true };
    }
  }
  const toolList = tools(body.tools);
  if (toolList !== undefined && toolList.length > 0) chat.tools = toolList;
  toolChoice(body.tool_choice, chat);
  if (chat.tools === undefined) {
    delete chat.tool_choice;
    delete chat.parallel_tool_calls;
  }
  if (body.metadata !== undefined && body.metadata !== null) {
    if (!isRecord(body.metadata)) throw invalid('metadata', "'metadata' must be an object.");
    chat.metadata = body.metadata;
    if (typeof body.metadata.user_id === 'string') chat.user = body.metadata.user_id;
  }
  outputConfig(body.output_config, chat);
  return chat;
}

/**
 * A Messages request body → the internal chat request, or the problem (400) with the offending
 * field. Never throws.
 *
 * @example
 * const t = messagesToChat({ model: 'claude-sonnet-4-5', max_tokens: 512, system: 'Be brief.', messages: [{ role: 'user', content: 'Hi' }] });
 * // t.chat.messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }]
 */
export function messagesToChat(body: unknown): MessagesTranslation {
  return translateBody(body, (b) => ({ ok: true, chat: translate(b) }));
}

// ---------------------------------------------------------------------------------------------
// Answer: chat → Message

/** Chat `finish_reason` → Anthropic `stop_reason`. */
export const STOP_REASONS: Readonly<Record<string, string>> = {
  stop: 'end_turn',
  length: 'max_tokens',
  tool_calls: 'tool_use',
  function_call: 'tool_use',
  content_filter: 'refusal',
};

export function stopReason(finishReason: unknown): string {
  return typeof finishReason === 'string' ? (STOP_REASONS[finishReason] ?? 'end_turn') : 'end_turn';
}

/** The Message id for a chat answer's id: an Anthropic upstream's own id is kept. */
export function messageId(chatId: string): string {
  return chatId.startsWith('msg_') ? chatId : `msg_${chatId.replace(/^chatcmpl-/, '')}`;
}

/**
 * Chat usage → Anthropic usage: cached prompt tokens are `cache_read_input_tokens` (and cache
 * writes `cache_creation_input_tokens`), the rest `input_tokens`, so the three add up to the
 * prompt tokens, as Anthropic counts them.
 */
export function anthropicUsage(usage: unknown): Obj {
  const u = isRecord(usage) ? usage : {};
  const prompt = typeof u.prompt_tokens === 'number' ? u.prompt_tokens : 0;
  const output = typeof u.completion_tokens === 'number' ? u.completion_tokens : 0;
  const pd = isRecord(u.prompt_tokens_details) ? u.prompt_tokens_details : {};
  const cd = isRecord(u.completion_tokens_details) ? u.completion_tokens_details : {};
  const read = typeof pd.cached_tokens === 'number' ? pd.cached_tokens : 0;
  const written = typeof pd.cache_write_tokens === 'number' ? pd.cache_write_tokens : 0;
  return {
    input_tokens: Math.max(0, prompt - read - written),
    cache_creation_input_tokens: written,
    cache_read_input_tokens: read,
    cache_creation: null,
    inference_geo: null,
    output_tokens: output,
    output_tokens_details:
      typeof cd.reasoning_tokens === 'number' ? { thinking_tokens: cd.reasoning_tokens } : null,
    server_tool_use: null,
    service_tier: null,
    speed: null,
  };
}

/** A tool call's arguments as Anthropic's `input`: the parsed JSON, or the text when it is not JSON. */
function toolInput(args: string): unknown {
  if (args.trim() === '') return {};
  try {
    return JSON.parse(args);
  } catch {
    return args;
  }
}

function toolUseBlock(id: string, name: string, input: unknown): Obj {
  return { type: 'tool_use', id, caller: { type: 'direct' }, input, name };
}

function textBlock(text: string): Obj {
  return { type: 'text', citations: null, text };
}

/** A chat completion → an Anthropic Message: its text (and refusal) as one text block, each tool call as `tool_use`. */
export function chatToMessage(completion: Readonly<ChatCompletion>): Obj {
  const choice = completion.choices[0];
  const message: Obj = isRecord(choice?.message) ? choice.message : {};
  const content: Obj[] = [];
  const text =
    (typeof message.content === 'string' ? message.content : '') +
    (typeof message.refusal === 'string' ? message.refusal : '');
  if (text !== '') content.push(textBlock(text));
  for (const call of Array.isArray(message.tool_calls) ? message.tool_calls : []) {
    if (!isRecord(call) || !isRecord(call.function)) continue;
    const args = typeof call.function.arguments === 'string' ? call.function.arguments : '';
    content.push(toolUseBlock(String(call.id), String(call.function.name), toolInput(args)));
  }
  return {
    id: messageId(String(completion.id)),
    type: 'message',
    role: 'assistant',
    model: String(completion.model),
    content,
    stop_reason: stopReason(choice?.finish_reason),
    stop_sequence: null,
    stop_details: null,
    container: null,
    diagnostics: null,
    usage: anthropicUsage(completion.usage),
  };
}

/**
 * An OpenAI-shaped error body (the engine's answers, a provider's passed-through error) →
 * Anthropic's error shape `{ type: 'error', error: { type, message }, request_id }`.
 */
export function anthropicError(status: number, body: unknown, requestId: string | null): Obj {
  const error = isRecord(body) && isRecord(body.error) ? body.error : {};
  const message = typeof error.message === 'string' ? error.message : 'The request failed.';
  return {
    type: 'error',
    error: { type: anthropicErrorType(status, typeof error.type === 'string' ? error.type : null), message },
    request_id: requestId,
  };
}

// ---------------------------------------------------------------------------------------------
// Stream: chat chunks → Anthropic events

type Block = { kind: 'text'; index: number } | { kind: 'tool'; index: number; chatIndex: number };

/**
 * Chat completion chunks (the engine's SSE frames) → the Messages event stream. Blocks are
 * sequential, as Anthropic sends them: a text delta after a tool call opens a new text block,
 * and each block is stopped before the next starts. Usage is known at the end of a chat stream,
 * so `message_start` reports 0 input tokens and `message_delta` the real counts (the SDKs take
 * the later values). An in-band error ends the stream with an `error` event.
 *
 * @example
 * const writer = new MessagesStreamWriter();
 * for (const frame of engineFrames) for (const out of writer.frame(frame)) send(out);
 */
export class MessagesStreamWriter extends ChatChunkWriter {
  private next = 0;
  private current: Block | null = null;
  private readonly tools = new Map<number, number>();

  private event(type: string, fields: Obj): string {
    return `event: ${type}\ndata: ${JSON.stringify({ type, ...fields })}\n\n`;
  }

  protected start(chunk: Obj, out: string[]): void {
    this.started = true;
    const message = {
      id: messageId(typeof chunk.id === 'string' ? chunk.id : 'msg_switchyard'),
      type: 'message',
      role: 'assistant',
      model: typeof chunk.model === 'string' ? chunk.model : '',
      content: [],
      stop_reason: null,
      stop_sequence: null,
      stop_details: null,
      container: null,
      diagnostics: null,
      usage: anthropicUsage(null),
    };
    out.push(this.event('message_start', { message }), this.event('ping', {}));
  }

  private stopCurrent(out: string[]): void {
    if (this.current === null) return;
    out.push(this.event('content_block_stop', { index: this.current.index }));
    this.current = null;
  }

  /** A refusal is text in the Messages API. */
  protected refusal(delta: string, out: string[]): void {
    this.text(delta, out);
  }

  protected text(delta: string, out: string[]): void {
    if (this.current?.kind !== 'text') {
      this.stopCurrent(out);
      this.current = { kind: 'text', index: this.next++ };
      out.push(
        this.event('content_block_start', { index: this.current.index, content_block: textBlock('') }),
      );
    }
    out.push(
      this.event('content_block_delta', {
        index: this.current.index,
        delta: { type: 'text_delta', text: delta },
      }),
    );
  }

  protected toolCall(delta: Obj, out: string[]): void {
    const chatIndex = typeof delta.index === 'number' ? delta.index : 0;
    const fn = isRecord(delta.function) ? delta.function : {};
    let index = this.tools.get(chatIndex);
    if (index === undefined) {
      this.stopCurrent(out);
      index = this.next++;
      this.tools.set(chatIndex, index);
      this.current = { kind: 'tool', index, chatIndex };
      const id = typeof delta.id === 'string' ? delta.id : `toolu_${chatIndex}`;
      out.push(
        this.event('content_block_start', {
          index,
          content_block: toolUseBlock(id, typeof fn.name === 'string' ? fn.name : '', {}),
        }),
      );
    }
    if (typeof fn.arguments === 'string' && fn.arguments !== '') {
      out.push(
        this.event('content_block_delta', {
          index,
          delta: { type: 'input_json_delta', partial_json: fn.arguments },
        }),
      );
    }
  }

  /** The last block stopped, `message_delta`, `message_stop`. */
  protected end(out: string[]): void {
    this.stopCurrent(out);
    const usage = anthropicUsage(this.usage);
    out.push(
      this.event('message_delta', {
        delta: {
          stop_reason: stopReason(this.finishReason),
          stop_sequence: null,
          stop_details: null,
          container: null,
        },
        usage: {
          input_tokens: usage.input_tokens,
          cache_creation_input_tokens: usage.cache_creation_input_tokens,
          cache_read_input_tokens: usage.cache_read_input_tokens,
          output_tokens: usage.output_tokens,
          output_tokens_details: usage.output_tokens_details,
          server_tool_use: null,
        },
      }),
      this.event('message_stop', {}),
    );
  }

  /** Anthropic's `error` event, typed by the catalogue status of the engine's code. */
  protected errorEvent(error: Obj, body: unknown): string {
    const code = typeof error.code === 'string' ? error.code : null;
    const status = code !== null && isErrorCode(code) ? ERRORS[code].status : 500;
    const shaped = anthropicError(status, body, null);
    return this.event('error', { error: shaped.error });
  }
}
