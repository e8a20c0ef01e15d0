/**
 * OpenAI's Responses API at the engine's edge (`POST /v1/responses`): a Responses request is
 * translated once into the engine's internal chat completion request, and the chat answer (JSON
 * or chunks) back into a Response object or its typed event stream. Pure functions and one
 * stream writer; no I/O. The upstream side of a request passed through as it is (a provider with
 * `responses: true`) is engine/providers/openai-responses.ts.
 *
 * What translates (`docs/ingress.md` is the user's table):
 * - `instructions` → a leading system message; `input` (a string, or items: messages with
 *   text, image and assistant parts, `function_call` and `function_call_output`) → messages;
 *   `tools` (functions) and `tool_choice`; `text.format` → `response_format`, `text.verbosity`
 *   → `verbosity`; `reasoning.effort` → `reasoning_effort`; `max_output_tokens` →
 *   `max_completion_tokens`; sampling, `user`, `metadata`, caching and tier parameters as they are.
 * - Accepted and not carried (nothing to do without the Responses API): `store` (a translated
 *   answer is never stored: it behaves as `store: false`), `include`, `stream_options`,
 *   `reasoning.summary`, `max_tool_calls` (it limits hosted tools only), `reasoning` input items
 *   (another model cannot read them) and caching hints.
 * - What only the Responses API carries — hosted tools, `previous_response_id`, `conversation`,
 *   `prompt`, `background`, `truncation: auto`, item references, hosted tools' call items, file
 *   inputs, parameters this module does not know — is listed in the chat body under
 *   `switchyard_responses_only` (shared/responses-only.ts): `decide` routes the request only to
 *   targets that take Responses requests as they are, and the answer is 400
 *   `unsupported_feature` naming them when the route has none. Never a silent drop.
 */
import { attachResponsesRequest } from '../providers/openai-responses.js';
import type { ChatCompletion } from '../providers/openai-types.js';
import { isRecord } from '../shared/guards.js';
import { RESPONSES_ONLY_KEY } from '../shared/responses-only.js';
import { ChatChunkWriter, type IngressProblem, invalid, translateBody, typeName } from './common.js';

type Obj = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// Request: Responses → chat

export type ResponsesTranslation =
  | { readonly ok: true; readonly chat: Obj; readonly responsesOnly: readonly string[] }
  | ({ readonly ok: false } & IngressProblem);

/** Top-level fields copied to the chat request under the same name and meaning. */
const SAME_FIELDS = [
  'model',
  'temperature',
  'top_p',
  'user',
  'metadata',
  'service_tier',
  'parallel_tool_calls',
  'prompt_cache_key',
  'prompt_cache_retention',
  'safety_identifier',
  'stream',
] as const;

/** Fields read by the translation itself. */
const TRANSLATED_FIELDS = new Set([
  ...SAME_FIELDS,
  'input',
  'instructions',
  'tools',
  'tool_choice',
  'text',
  'reasoning',
  'max_output_tokens',
  'top_logprobs',
]);

/** Accepted and not carried to a translated target (module comment). */
const IGNORED_FIELDS = new Set([
  'store',
  'include',
  'stream_options',
  'max_tool_calls',
  'prompt_cache_options',
]);

/** Carried only by the Responses API when set (null or `false` is the default and translates). */
const RESPONSES_ONLY_FIELDS = new Set([
  'previous_response_id',
  'conversation',
  'prompt',
  'background',
  'context_management',
  'moderation',
]);

/** Input item types with no chat counterpart: only a Responses API target can take them. */
const RESPONSES_ONLY_ITEMS = new Set([
  'item_reference',
  'file_search_call',
  'computer_call',
  'computer_call_output',
  'web_search_call',
  'image_generation_call',
  'code_interpreter_call',
  'local_shell_call',
  'local_shell_call_output',
  'shell_call',
  'shell_call_output',
  'apply_patch_call',
  'apply_patch_call_output',
  'mcp_list_tools',
  'mcp_approval_request',
  'mcp_approval_response',
  'mcp_call',
  'custom_tool_call',
  'custom_tool_call_output',
  'compaction',
  'compaction_trigger',
  'tool_search_call',
  'tool_search_output',
  'additional_tools',
  'program',
  'program_output',
]);

const MESSAGE_ROLES = new Set(['user', 'assistant', 'system', 'developer']);

interface Builder {
  readonly messages: Obj[];
  readonly responsesOnly: string[];
}

/** A user/system/developer content part → a chat part; null when only the Responses API carries it. */
function inputPart(part: unknown, at: string, b: Builder): Obj | null {
  if (!isRecord(part)) throw invalid(at, `'${at}' must be an object, got ${typeName(part)}.`);
  switch (part.type) {
    case 'input_text':
    case 'output_text':
      if (typeof part.text !== 'string') throw invalid(`${at}.text`, `'${at}.text' must be a string.`);
      return { type: 'text', text: part.text };
    case 'input_image': {
      if (typeof part.image_url === 'string') {
        const image: Obj = { url: part.image_url };
        if (typeof part.detail === 'string') image.detail = part.detail;
        return { type: 'image_url', image_url: image };
      }
      b.responsesOnly.push(`${at} (input_image by file_id)`);
      return null;
    }
    default:
      b.responsesOnly.push(`${at} (${typeof part.type === 'string' ? part.type : 'part'})`);
      return null;
  }
}

function messageItem(item: Obj, at: string, b: Builder): void {
  const role = item.role;
  if (typeof role !== 'string' || !MESSAGE_ROLES.has(role)) {
    throw invalid(`${at}.role`, `'${at}.role' must be one of user, assistant, system, developer.`);
  }
  const content = item.content;
  if (typeof content === 'string') {
    b.messages.push({ role, content });
    return;
  }
  if (!Array.isArray(content)) {
    throw invalid(`${at}.content`, `'${at}.content' must be a string or an array, got ${typeName(content)}.`);
  }
  if (role === 'assistant') {
    let text = '';
    let refusal: string | null = null;
    content.forEach((part, k) => {
      const pat = `${at}.content[${k}]`;
      if (
        isRecord(part) &&
        (part.type === 'output_text' || part.type === 'input_text') &&
        typeof part.text === 'string'
      ) {
        text += part.text;
      } else if (isRecord(part) && part.type === 'refusal' && typeof part.refusal === 'string') {
        refusal = (refusal ?? '') + part.refusal;
      } else {
        throw invalid(pat, `'${pat}' must be an output_text or refusal part.`);
      }
    });
    const message: Obj = { role, content: text };
    if (refusal !== null) message.refusal = refusal;
    b.messages.push(message);
    return;
  }
  const parts: Obj[] = [];
  content.forEach((part, k) => {
    const translated = inputPart(part, `${at}.content[${k}]`, b);
    if (translated !== null) parts.push(translated);
  });
  b.messages.push({ role, content: parts });
}

function functionCall(item: Obj, at: string, b: Builder): void {
  if (typeof item.call_id !== 'string') throw invalid(`${at}.call_id`, `'${at}.call_id' must be a string.`);
  if (typeof item.name !== 'string') throw invalid(`${at}.name`, `'${at}.name' must be a string.`);
  if (typeof item.arguments !== 'string')
    throw invalid(`${at}.arguments`, `'${at}.arguments' must be a string.`);
  const call = {
    id: item.call_id,
    type: 'function',
    function: { name: item.name, arguments: item.arguments },
  };
  // Calls that follow an assistant message (or other calls) belong to the same chat turn.
  const last = b.messages.at(-1);
  if (last !== undefined && last.role === 'assistant') {
    last.tool_calls = [...(Array.isArray(last.tool_calls) ? last.tool_calls : []), call];
    if (last.content === '') last.content = null;
  } else {
    b.messages.push({ role: 'assistant', content: null, tool_calls: [call] });
  }
}

function functionCallOutput(item: Obj, at: string, b: Builder): void {
  if (typeof item.call_id !== 'string') throw invalid(`${at}.call_id`, `'${at}.call_id' must be a string.`);
  const output = item.output;
  if (typeof output === 'string') {
    b.messages.push({ role: 'tool', tool_call_id: item.call_id, content: output });
    return;
  }
  if (!Array.isArray(output)) {
    throw invalid(`${at}.output`, `'${at}.output' must be a string or an array, got ${typeName(output)}.`);
  }
  const parts: Obj[] = [];
  output.forEach((part, k) => {
    const pat = `${at}.output[${k}]`;
    if (isRecord(part) && part.type === 'input_text' && typeof part.text === 'string') {
      parts.push({ type: 'text', text: part.text });
    } else {
      // Chat tool results are text only.
      b.responsesOnly.push(
        `${pat} (${isRecord(part) && typeof part.type === 'string' ? part.type : 'part'})`,
      );
    }
  });
  b.messages.push({ role: 'tool', tool_call_id: item.call_id, content: parts });
}

function inputItems(input: unknown, b: Builder): void {
  if (typeof input === 'string') {
    b.messages.push({ role: 'user', content: input });
    return;
  }
  if (!Array.isArray(input))
    throw invalid('input', `'input' must be a string or an array, got ${typeName(input)}.`);
  input.forEach((item, i) => {
    const at = `input[${i}]`;
    if (!isRecord(item)) throw invalid(at, `'${at}' must be an object, got ${typeName(item)}.`);
    const type = item.type;
    if (type === undefined || type === 'message') {
      if (type === undefined && item.role === undefined && typeof item.id === 'string') {
        b.responsesOnly.push(`${at} (item_reference)`);
        return;
      }
      messageItem(item, at, b);
    } else if (type === 'function_call') functionCall(item, at, b);
    else if (type === 'function_call_output') functionCallOutput(item, at, b);
    else if (type === 'reasoning') {
      // A model's own reasoning state: meaningless to another model (and passed through whole
      // to a Responses API target).
    } else if (typeof type === 'string' && RESPONSES_ONLY_ITEMS.has(type))
      b.responsesOnly.push(`${at} (${type})`);
    else b.responsesOnly.push(`${at} (${typeof type === 'string' ? type : typeName(type)})`);
  });
}

/** Keys of a function tool the chat API has; others (set) are Responses-only. */
const FUNCTION_TOOL_KEYS = new Set(['type', 'name', 'description', 'parameters', 'strict']);

function tools(list: unknown, b: Builder): Obj[] | undefined {
  if (list === undefined || list === null) return undefined;
  if (!Array.isArray(list)) throw invalid('tools', `'tools' must be an array, got ${typeName(list)}.`);
  const out: Obj[] = [];
  list.forEach((tool, i) => {
    const at = `tools[${i}]`;
    if (!isRecord(tool)) throw invalid(at, `'${at}' must be an object, got ${typeName(tool)}.`);
    if (tool.type !== 'function') {
      b.responsesOnly.push(`${at} (${typeof tool.type === 'string' ? tool.type : 'tool'})`);
      return;
    }
    if (typeof tool.name !== 'string' || tool.name === '') {
      throw invalid(`${at}.name`, `'${at}.name' must be a non-empty string.`);
    }
    for (const key of Object.keys(tool)) {
      if (!FUNCTION_TOOL_KEYS.has(key) && tool[key] !== null && tool[key] !== undefined) {
        b.responsesOnly.push(`${at}.${key}`);
      }
    }
    const fn: Obj = { name: tool.name };
    if (typeof tool.description === 'string') fn.description = tool.description;
    if (tool.parameters !== undefined && tool.parameters !== null) fn.parameters = tool.parameters;
    if (typeof tool.strict === 'boolean') fn.strict = tool.strict;
    out.push({ type: 'function', function: fn });
  });
  return out;
}

function toolChoice(choice: unknown, b: Builder): unknown {
  if (choice === undefined || choice === null) return undefined;
  if (choice === 'auto' || choice === 'none' || choice === 'required') return choice;
  if (isRecord(choice) && choice.type === 'function' && typeof choice.name === 'string') {
    return { type: 'function', function: { name: choice.name } };
  }
  if (isRecord(choice) && typeof choice.type === 'string') {
    b.responsesOnly.push(`tool_choice (${choice.type})`);
    return undefined;
  }
  throw invalid('tool_choice', "'tool_choice' must be auto, none, required or a tool choice object.");
}

function responseFormat(text: unknown): { format?: Obj; verbosity?: unknown } {
  if (text === undefined || text === null) return {};
  if (!isRecord(text)) throw invalid('text', `'text' must be an object, got ${typeName(text)}.`);
  const out: { format?: Obj; verbosity?: unknown } = {};
  if (text.verbosity !== undefined && text.verbosity !== null) out.verbosity = text.verbosity;
  const format = text.format;
  if (format === undefined || format === null) return out;
  if (!isRecord(format)) throw invalid('text.format', "'text.format' must be an object.");
  if (format.type === 'text') return out;
  if (format.type === 'json_object') out.format = { type: 'json_object' };
  else if (format.type === 'json_schema') {
    if (typeof format.name !== 'string')
      throw invalid('text.format.name', "'text.format.name' must be a string.");
    if (!isRecord(format.schema))
      throw invalid('text.format.schema', "'text.format.schema' must be an object.");
    const schema: Obj = { name: format.name, schema: format.schema };
    if (typeof format.description === 'string') schema.description = format.description;
    if (typeof format.strict === 'boolean') schema.strict = format.strict;
    out.format = { type: 'json_schema', json_schema: schema };
  } else throw invalid('text.format.type', "'text.format.type' must be text, json_object or json_schema.");
  return out;
}

function translate(body: Obj): ResponsesTranslation {
  const b: Builder = { messages: [], responsesOnly: [] };
  if (body.model !== undefined && typeof body.model !== 'string') {
    throw invalid('model', `'model' must be a string, got ${typeName(body.model)}.`);
  }
  const chat: Obj = {};
  for (const key of SAME_FIELDS) if (body[key] !== undefined && body[key] !== null) chat[key] = body[key];
  if (chat.stream !== undefined && typeof chat.stream !== 'boolean') {
    throw invalid('stream', `'stream' must be a boolean, got ${typeName(chat.stream)}.`);
  }
  for (const key of Object.keys(body)) {
    const value = body[key];
    if (TRANSLATED_FIELDS.has(key) || IGNORED_FIELDS.has(key) || value === null || value === undefined)
      continue;
    if (RESPONSES_ONLY_FIELDS.has(key)) {
      if (value !== false) b.responsesOnly.push(key);
    } else if (key === 'truncation') {
      if (value !== 'disabled') b.responsesOnly.push(`truncation (${String(value)})`);
    } else b.responsesOnly.push(key);
  }
  if (body.instructions !== undefined && body.instructions !== null) {
    if (typeof body.instructions !== 'string') {
      throw invalid('instructions', `'instructions' must be a string, got ${typeName(body.instructions)}.`);
    }
    b.messages.push({ role: 'system', content: body.instructions });
  }
  if (body.input !== undefined && body.input !== null) inputItems(body.input, b);
  else if (b.responsesOnly.length === 0) throw invalid('input', "'input' is required.");
  if (b.messages.length === 0 && b.responsesOnly.length === 0) {
    throw invalid('input', "'input' must hold at least one message or item.");
  }
  const toolList = tools(body.tools, b);
  if (toolList !== undefined && toolList.length > 0) chat.tools = toolList;
  const choice = toolChoice(body.tool_choice, b);
  if (choice !== undefined) chat.tool_choice = choice;
  const { format, verbosity } = responseFormat(body.text);
  if (format !== undefined) chat.response_format = format;
  if (verbosity !== undefined) chat.verbosity = verbosity;
  if (isRecord(body.reasoning) && typeof body.reasoning.effort === 'string') {
    chat.reasoning_effort = body.reasoning.effort;
  }
  if (body.max_output_tokens !== undefined && body.max_output_tokens !== null) {
    chat.max_completion_tokens = body.max_output_tokens;
  }
  if (typeof body.top_logprobs === 'number') {
    chat.logprobs = true;
    chat.top_logprobs = body.top_logprobs;
  }
  // The relay reports usage on a stream only when asked: a Response always carries it.
  if (chat.stream === true) chat.stream_options = { include_usage: true };
  chat.messages = b.messages;
  if (b.responsesOnly.length > 0) chat[RESPONSES_ONLY_KEY] = b.responsesOnly;
  // A request a Responses API target takes as it is: the original travels with its translation.
  attachResponsesRequest(chat, body);
  return { ok: true, chat, responsesOnly: b.responsesOnly };
}

/**
 * A Responses request body → the internal chat request, or the problem (400) with the offending
 * field. Never throws.
 *
 * @example
 * const t = responsesToChat({ model: 'gpt-5', instructions: 'Be brief.', input: 'Hi' });
 * // t.chat.messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }]
 */
export function responsesToChat(body: unknown): ResponsesTranslation {
  return translateBody(body, translate);
}

/** The 400 for a Responses-only request whose route has no target that takes it as it is. */
export function responsesOnlyMessage(parts: readonly string[]): string {
  return `This request uses what only the Responses API carries (${parts.join(', ')}), and none of the targets of the route it matched that could serve it is a provider taking Responses requests as they are (kind: openai with responses: true). Remove those parts, or route the request to such a provider.`;
}

// ---------------------------------------------------------------------------------------------
// Answer: chat → Response

/** The Response id for a chat answer's id: a passed-through Response keeps its own. */
export function responseId(chatId: string): string {
  if (chatId.startsWith('resp_')) return chatId;
  return `resp_${chatId.replace(/^chatcmpl-/, '')}`;
}

function itemIds(id: string): { message: string; call: (i: number) => string } {
  const suffix = id.slice('resp_'.length);
  return { message: `msg_${suffix}`, call: (i) => `fc_${suffix}_${i}` };
}

type Status = 'completed' | 'incomplete' | 'in_progress';

function outputTextPart(text: string, annotations: readonly unknown[] = []): Obj {
  return { type: 'output_text', annotations, logprobs: [], text };
}

function messageOutput(
  id: string,
  status: Status,
  text: string | null,
  refusal: string | null,
  annotations: unknown[],
): Obj {
  const content: Obj[] = [];
  if (text !== null) content.push(outputTextPart(text, annotations));
  if (refusal !== null) content.push({ type: 'refusal', refusal });
  return { id, type: 'message', status, content, role: 'assistant' };
}

function callOutput(id: string, status: Status, callId: string, name: string, args: string): Obj {
  return { id, type: 'function_call', status, arguments: args, call_id: callId, name };
}

/** Chat usage → Responses usage (cached and reasoning tokens in their details). */
export function responsesUsage(usage: unknown): Obj | null {
  if (!isRecord(usage) || typeof usage.prompt_tokens !== 'number') return null;
  const prompt = usage.prompt_tokens;
  const completion = typeof usage.completion_tokens === 'number' ? usage.completion_tokens : 0;
  const pd = isRecord(usage.prompt_tokens_details) ? usage.prompt_tokens_details : {};
  const cd = isRecord(usage.completion_tokens_details) ? usage.completion_tokens_details : {};
  return {
    input_tokens: prompt,
    input_tokens_details: {
      cached_tokens: typeof pd.cached_tokens === 'number' ? pd.cached_tokens : 0,
      cache_write_tokens: typeof pd.cache_write_tokens === 'number' ? pd.cache_write_tokens : 0,
    },
    output_tokens: completion,
    output_tokens_details: {
      reasoning_tokens: typeof cd.reasoning_tokens === 'number' ? cd.reasoning_tokens : 0,
    },
    total_tokens: typeof usage.total_tokens === 'number' ? usage.total_tokens : prompt + completion,
  };
}

/** Chat url_citation annotations → Responses ones. */
function annotationsOf(message: Obj): unknown[] {
  if (!Array.isArray(message.annotations)) return [];
  return message.annotations.flatMap((a) => {
    if (!isRecord(a) || a.type !== 'url_citation' || !isRecord(a.url_citation)) return [];
    const c = a.url_citation;
    return [
      {
        type: 'url_citation',
        start_index: c.start_index,
        end_index: c.end_index,
        title: c.title,
        url: c.url,
      },
    ];
  });
}

interface Envelope {
  readonly id: string;
  readonly createdAt: number;
  readonly model: string;
  readonly status: Status;
  readonly finishReason: string | null;
  readonly output: readonly Obj[];
  readonly usage: Obj | null;
}

function incompleteDetails(finishReason: string | null): Obj | null {
  if (finishReason === 'length') return { reason: 'max_output_tokens' };
  if (finishReason === 'content_filter') return { reason: 'content_filter' };
  return null;
}

/** The Response object around an output, echoing the request's settings as OpenAI does. */
function envelope(request: Readonly<Obj>, e: Envelope): Obj {
  const reasoning = isRecord(request.reasoning) ? request.reasoning : {};
  const text = isRecord(request.text) ? request.text : {};
  const out: Obj = {
    id: e.id,
    object: 'response',
    created_at: e.createdAt,
    status: e.status,
    background: false,
    error: null,
    incomplete_details: e.status === 'incomplete' ? incompleteDetails(e.finishReason) : null,
    instructions: typeof request.instructions === 'string' ? request.instructions : null,
    max_output_tokens: typeof request.max_output_tokens === 'number' ? request.max_output_tokens : null,
    model: e.model,
    output: e.output,
    parallel_tool_calls: request.parallel_tool_calls !== false,
    previous_response_id: null,
    reasoning: { effort: reasoning.effort ?? null, summary: reasoning.summary ?? null },
    service_tier: typeof request.service_tier === 'string' ? request.service_tier : null,
    temperature: typeof request.temperature === 'number' ? request.temperature : null,
    text: {
      format: isRecord(text.format) ? text.format : { type: 'text' },
      ...(text.verbosity == null ? {} : { verbosity: text.verbosity }),
    },
    tool_choice: request.tool_choice ?? 'auto',
    tools: Array.isArray(request.tools) ? request.tools : [],
    top_p: typeof request.top_p === 'number' ? request.top_p : null,
    truncation: 'disabled',
    metadata: isRecord(request.metadata) ? request.metadata : {},
  };
  if (typeof request.user === 'string') out.user = request.user;
  if (e.usage !== null) out.usage = e.usage;
  return out;
}

function statusOf(finishReason: string | null): Status {
  return finishReason === 'length' || finishReason === 'content_filter' ? 'incomplete' : 'completed';
}

/**
 * A chat completion → the Response object for `request` (the caller's Responses request): the
 * message's text (and refusal) as one message item, each tool call as a `function_call` item.
 */
export function chatToResponse(completion: Readonly<ChatCompletion>, request: Readonly<Obj>): Obj {
  const id = responseId(String(completion.id));
  const ids = itemIds(id);
  const choice = completion.choices[0];
  const message: Obj = isRecord(choice?.message) ? choice.message : {};
  const finishReason = typeof choice?.finish_reason === 'string' ? choice.finish_reason : null;
  const output: Obj[] = [];
  const text = typeof message.content === 'string' ? message.content : null;
  const refusal = typeof message.refusal === 'string' ? message.refusal : null;
  const calls = Array.isArray(message.tool_calls) ? message.tool_calls : [];
  // As the stream gives it: a message item when there is text or a refusal, or nothing else.
  if ((text !== null && text !== '') || refusal !== null || calls.length === 0) {
    output.push(messageOutput(ids.message, 'completed', text ?? '', refusal, annotationsOf(message)));
  }
  calls.forEach((call, i) => {
    if (!isRecord(call) || !isRecord(call.function)) return;
    const fn = call.function;
    output.push(
      callOutput(
        ids.call(i),
        'completed',
        String(call.id),
        String(fn.name),
        typeof fn.arguments === 'string' ? fn.arguments : '',
      ),
    );
  });
  return envelope(request, {
    id,
    createdAt: typeof completion.created === 'number' ? completion.created : 0,
    model: String(completion.model),
    status: statusOf(finishReason),
    finishReason,
    output,
    usage: responsesUsage(completion.usage),
  });
}

// ---------------------------------------------------------------------------------------------
// Stream: chat chunks → Responses events

interface OpenCall {
  readonly outputIndex: number;
  readonly itemId: string;
  readonly callId: string;
  readonly name: string;
  args: string;
}

/**
 * Chat completion chunks (the engine's SSE frames) → the Responses event stream: `response.created`,
 * `response.in_progress`, per output item `output_item.added`, its content part and deltas
 * (`output_text.delta`, `function_call_arguments.delta`), then on `[DONE]` each item's `*.done`
 * events and `response.completed` (`response.incomplete` after a length or content-filter stop)
 * carrying the whole Response, as the JSON answer would be. An in-band error ends the stream with
 * an `error` event. Every event has its `sequence_number`.
 *
 * @example
 * const writer = new ResponsesStreamWriter(request);
 * for (const frame of engineFrames) for (const out of writer.frame(frame)) send(out);
 */
export class ResponsesStreamWriter extends ChatChunkWriter {
  private seq = 0;
  private id = 'resp_switchyard';
  private createdAt = 0;
  private model = '';
  private ids = itemIds('resp_switchyard');
  private nextOutput = 0;
  private message: {
    outputIndex: number;
    text: string;
    refusal: string | null;
    refusalIndex: number;
  } | null = null;
  private readonly calls = new Map<number, OpenCall>();

  constructor(private readonly request: Readonly<Obj>) {
    super();
  }

  private event(type: string, fields: Obj): string {
    const payload = { type, ...fields, sequence_number: this.seq++ };
    return `event: ${type}\ndata: ${JSON.stringify(payload)}\n\n`;
  }

  private snapshot(status: Status, output: readonly Obj[]): Obj {
    return envelope(this.request, {
      id: this.id,
      createdAt: this.createdAt,
      model: this.model,
      status,
      finishReason: this.finishReason,
      output,
      usage: status === 'in_progress' ? null : responsesUsage(this.usage),
    });
  }

  protected start(chunk: Obj, out: string[]): void {
    this.started = true;
    this.id = responseId(typeof chunk.id === 'string' ? chunk.id : 'resp_switchyard');
    this.ids = itemIds(this.id);
    this.createdAt = typeof chunk.created === 'number' ? chunk.created : 0;
    this.model = typeof chunk.model === 'string' ? chunk.model : '';
    const response = this.snapshot('in_progress', []);
    out.push(this.event('response.created', { response }), this.event('response.in_progress', { response }));
  }

  private openMessage(out: string[]): NonNullable<ResponsesStreamWriter['message']> {
    if (this.message !== null) return this.message;
    const outputIndex = this.nextOutput++;
    this.message = { outputIndex, text: '', refusal: null, refusalIndex: 1 };
    out.push(
      this.event('response.output_item.added', {
        output_index: outputIndex,
        item: messageOutput(this.ids.message, 'in_progress', null, null, []),
      }),
      this.event('response.content_part.added', {
        item_id: this.ids.message,
        output_index: outputIndex,
        content_index: 0,
        part: outputTextPart(''),
      }),
    );
    return this.message;
  }

  protected text(delta: string, out: string[]): void {
    const message = this.openMessage(out);
    message.text += delta;
    out.push(
      this.event('response.output_text.delta', {
        item_id: this.ids.message,
        output_index: message.outputIndex,
        content_index: 0,
        delta,
        logprobs: [],
      }),
    );
  }

  protected refusal(delta: string, out: string[]): void {
    const message = this.openMessage(out);
    if (message.refusal === null) {
      message.refusal = '';
      out.push(
        this.event('response.content_part.added', {
          item_id: this.ids.message,
          output_index: message.outputIndex,
          content_index: message.refusalIndex,
          part: { type: 'refusal', refusal: '' },
        }),
      );
    }
    message.refusal += delta;
    out.push(
      this.event('response.refusal.delta', {
        item_id: this.ids.message,
        output_index: message.outputIndex,
        content_index: message.refusalIndex,
        delta,
      }),
    );
  }

  protected toolCall(delta: Obj, out: string[]): void {
    const index = typeof delta.index === 'number' ? delta.index : 0;
    const fn = isRecord(delta.function) ? delta.function : {};
    let call = this.calls.get(index);
    if (call === undefined) {
      call = {
        outputIndex: this.nextOutput++,
        itemId: this.ids.call(index),
        callId: typeof delta.id === 'string' ? delta.id : `call_${index}`,
        name: typeof fn.name === 'string' ? fn.name : '',
        args: '',
      };
      this.calls.set(index, call);
      out.push(
        this.event('response.output_item.added', {
          output_index: call.outputIndex,
          item: callOutput(call.itemId, 'in_progress', call.callId, call.name, ''),
        }),
      );
    }
    if (typeof fn.arguments === 'string' && fn.arguments !== '') {
      call.args += fn.arguments;
      out.push(
        this.event('response.function_call_arguments.delta', {
          item_id: call.itemId,
          output_index: call.outputIndex,
          delta: fn.arguments,
        }),
      );
    }
  }

  /** Every item's `*.done` events, then the terminal event. */
  protected end(out: string[]): void {
    if (this.message === null && this.calls.size === 0) this.openMessage(out);
    const done: { index: number; item: Obj }[] = [];
    const message = this.message;
    if (message !== null) {
      const { outputIndex } = message;
      const text = message.text;
      out.push(
        this.event('response.output_text.done', {
          item_id: this.ids.message,
          output_index: outputIndex,
          content_index: 0,
          text,
          logprobs: [],
        }),
        this.event('response.content_part.done', {
          item_id: this.ids.message,
          output_index: outputIndex,
          content_index: 0,
          part: outputTextPart(text),
        }),
      );
      if (message.refusal !== null) {
        out.push(
          this.event('response.refusal.done', {
            item_id: this.ids.message,
            output_index: outputIndex,
            content_index: message.refusalIndex,
            refusal: message.refusal,
          }),
          this.event('response.content_part.done', {
            item_id: this.ids.message,
            output_index: outputIndex,
            content_index: message.refusalIndex,
            part: { type: 'refusal', refusal: message.refusal },
          }),
        );
      }
      const item = messageOutput(this.ids.message, 'completed', text, message.refusal, []);
      out.push(this.event('response.output_item.done', { output_index: outputIndex, item }));
      done.push({ index: outputIndex, item });
    }
    for (const call of [...this.calls.values()].sort((a, b) => a.outputIndex - b.outputIndex)) {
      out.push(
        this.event('response.function_call_arguments.done', {
          item_id: call.itemId,
          output_index: call.outputIndex,
          name: call.name,
          arguments: call.args,
        }),
      );
      const item = callOutput(call.itemId, 'completed', call.callId, call.name, call.args);
      out.push(this.event('response.output_item.done', { output_index: call.outputIndex, item }));
      done.push({ index: call.outputIndex, item });
    }
    const status = statusOf(this.finishReason);
    const response = this.snapshot(
      status,
      done.sort((a, b) => a.index - b.index).map((d) => d.item),
    );
    out.push(this.event(status === 'completed' ? 'response.completed' : 'response.incomplete', { response }));
  }

  protected errorEvent(error: Obj): string {
    return this.event('error', {
      code: typeof error.code === 'string' ? error.code : null,
      message: typeof error.message === 'string' ? error.message : 'The stream failed.',
      param: typeof error.param === 'string' ? error.param : null,
    });
  }
}
