/**
 * OpenAI chat completion request → Anthropic Messages request: system and developer messages,
 * content parts, images, tool calls and results, tool choice, parameters, prefill, prompt-cache
 * markers.
 */
import { isRecord } from '../shared/guards.js';
import type { PromptCacheMarks } from '../types.js';

export const DEFAULT_MAX_TOKENS = 4096;

type Block = Record<string, unknown>;

interface AnthropicMessage {
  role: 'user' | 'assistant';
  content: string | Block[];
}

export interface AnthropicRequest {
  model: string;
  max_tokens: number;
  messages: AnthropicMessage[];
  /** A string, or text blocks when the system prompt carries a cache marker. */
  system?: string | Block[];
  [key: string]: unknown;
}

/** A request Anthropic cannot express; becomes a `bad_request` without calling upstream. */
export class TranslationError extends Error {}

function textOfParts(content: unknown, what: string): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (!Array.isArray(content))
    throw new TranslationError(`${what} content must be a string or an array of parts`);
  return content
    .map((part) => {
      if (isRecord(part) && (part.type === 'text' || part.type === 'refusal')) {
        const text = part.type === 'text' ? part.text : part.refusal;
        if (typeof text === 'string') return text;
      }
      throw new TranslationError(`${what} content supports only text parts`);
    })
    .join('');
}

function imageBlock(part: Record<string, unknown>): Block {
  const image = part.image_url;
  const url = isRecord(image) ? image.url : image;
  if (typeof url !== 'string') throw new TranslationError('image_url part needs a url');
  const data = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (data !== null) return { type: 'image', source: { type: 'base64', media_type: data[1], data: data[2] } };
  return { type: 'image', source: { type: 'url', url } };
}

function userBlocks(content: unknown): Block[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  if (!Array.isArray(content))
    throw new TranslationError('user content must be a string or an array of parts');
  return content.map((part): Block => {
    if (!isRecord(part)) throw new TranslationError('content parts must be objects');
    if (part.type === 'text' && typeof part.text === 'string') return { type: 'text', text: part.text };
    if (part.type === 'image_url') return imageBlock(part);
    throw new TranslationError(`content part type "${String(part.type)}" is not supported by Anthropic`);
  });
}

function parseArguments(args: unknown): Record<string, unknown> {
  if (typeof args !== 'string' || args.trim() === '') return {};
  try {
    const parsed: unknown = JSON.parse(args);
    if (isRecord(parsed)) return parsed;
  } catch {
    // fall through: Anthropic needs an object, and the model will see the call as empty
  }
  throw new TranslationError('tool_call arguments must be a JSON object');
}

function assistantBlocks(message: Record<string, unknown>): Block[] {
  const blocks: Block[] = [];
  const text = textOfParts(message.content, 'assistant');
  if (text !== '') blocks.push({ type: 'text', text });
  if (Array.isArray(message.tool_calls)) {
    for (const call of message.tool_calls) {
      if (!isRecord(call) || !isRecord(call.function)) throw new TranslationError('malformed tool_call');
      blocks.push({
        type: 'tool_use',
        id: call.id,
        name: call.function.name,
        input: parseArguments(call.function.arguments),
      });
    }
  }
  return blocks;
}

function toolResultBlock(message: Record<string, unknown>): Block {
  if (typeof message.tool_call_id !== 'string') throw new TranslationError('tool message needs tool_call_id');
  const content =
    typeof message.content === 'string'
      ? message.content
      : [{ type: 'text', text: textOfParts(message.content, 'tool') }];
  return { type: 'tool_result', tool_use_id: message.tool_call_id, content };
}

function toolChoice(choice: unknown, parallel: unknown): Record<string, unknown> | undefined {
  let out: Record<string, unknown> | undefined;
  if (choice === 'auto') out = { type: 'auto' };
  else if (choice === 'none') out = { type: 'none' };
  else if (choice === 'required') out = { type: 'any' };
  else if (isRecord(choice) && isRecord(choice.function) && typeof choice.function.name === 'string') {
    out = { type: 'tool', name: choice.function.name };
  }
  if (parallel === false) out = { ...(out ?? { type: 'auto' }), disable_parallel_tool_use: true };
  return out;
}

function tools(list: unknown): Block[] | undefined {
  if (!Array.isArray(list)) return undefined;
  return list.flatMap((tool): Block[] => {
    if (!isRecord(tool) || tool.type !== 'function' || !isRecord(tool.function)) return [];
    const fn = tool.function;
    const block: Block = { name: fn.name, input_schema: fn.parameters ?? { type: 'object', properties: {} } };
    if (typeof fn.description === 'string') block.description = fn.description;
    return [block];
  });
}

/**
 * Whether a chat request's JSON mode (`response_format: json_object`) is carried to Anthropic as
 * a `{` prefill: Anthropic has no schema-less JSON mode, and an answer that starts inside an
 * object is JSON. Not when the request already ends with an assistant turn or continues a
 * prefill (the text so far starts the object already). The answer's text then gets the `{` back
 * (anthropic-response.ts, anthropic-stream.ts).
 */
export function jsonPrefill(body: Readonly<Record<string, unknown>>, prefill: string | undefined): boolean {
  if (
    !isRecord(body.response_format) ||
    body.response_format.type !== 'json_object' ||
    prefill !== undefined
  ) {
    return false;
  }
  const last = Array.isArray(body.messages) ? body.messages.at(-1) : undefined;
  return !(isRecord(last) && last.role === 'assistant');
}

/** The text that opens a JSON-mode answer on Anthropic (see {@link jsonPrefill}). */
export const JSON_PREFILL = '{';

/**
 * `response_format` → Anthropic: a JSON schema is `output_config.format` (Anthropic's structured
 * outputs, which refuse the schemas they cannot enforce); JSON mode is a `{` prefill, which a
 * tool call cannot follow, so JSON mode with tools is refused rather than not enforced.
 */
function outputFormat(
  body: Readonly<Record<string, unknown>>,
  hasTools: boolean,
): Record<string, unknown> | undefined {
  const format = body.response_format;
  if (format === undefined || format === null) return undefined;
  if (!isRecord(format)) throw new TranslationError('response_format must be an object');
  if (format.type === 'text') return undefined;
  if (format.type === 'json_schema') {
    const spec = isRecord(format.json_schema) ? format.json_schema : {};
    if (!isRecord(spec.schema))
      throw new TranslationError('response_format json_schema needs json_schema.schema');
    return { format: { type: 'json_schema', schema: spec.schema } };
  }
  if (format.type === 'json_object') {
    if (hasTools) {
      throw new TranslationError(
        'response_format json_object together with tools has no Anthropic counterpart; use json_schema, or drop one of them',
      );
    }
    return undefined;
  }
  throw new TranslationError(`response_format type "${String(format.type)}" is not supported by Anthropic`);
}

/** Anthropic refuses a final assistant turn ending in whitespace; trim it, dropping what empties. */
function trimFinalAssistant(messages: AnthropicMessage[]): void {
  const last = messages.at(-1);
  if (last === undefined || last.role !== 'assistant' || typeof last.content === 'string') return;
  const block = last.content.at(-1);
  if (block === undefined || block.type !== 'text' || typeof block.text !== 'string') return;
  const text = block.text.trimEnd();
  if (text !== '') block.text = text;
  else last.content.pop();
  if (last.content.length === 0) messages.pop();
}

/** Anthropic's prompt-cache marker; the default 5-minute lifetime. */
const EPHEMERAL = Object.freeze({ type: 'ephemeral' });

/**
 * The route's `promptCache` → `cache_control` breakpoints: on the system prompt (as one text
 * block, so it can carry the marker) and on the last tool. Anthropic caches the prefix up to each
 * breakpoint in the order tools, system, messages, and allows four breakpoints per request: the
 * chat shape has no markers of its own (a Messages client's `cache_control` is not carried), so
 * these two are the only ones and the limit holds.
 */
function markCacheable(out: AnthropicRequest, marks: PromptCacheMarks): void {
  if (marks.system && typeof out.system === 'string') {
    out.system = [{ type: 'text', text: out.system, cache_control: { ...EPHEMERAL } }];
  }
  const tools = out.tools;
  if (marks.tools && Array.isArray(tools) && tools.length > 0) {
    const last = tools.length - 1;
    tools[last] = { ...(tools[last] as Block), cache_control: { ...EPHEMERAL } };
  }
}

/**
 * OpenAI chat completion request → Anthropic Messages request. System and developer messages
 * become `system`; tool results become `tool_result` blocks in a user turn; consecutive turns of one
 * role merge; a final assistant message (or `prefill`) is Anthropic's native prefill; JSON modes
 * are carried (see `outputFormat`). `temperature` is clamped to Anthropic's 0..1.
 */
export function toAnthropicRequest(
  body: Readonly<Record<string, unknown>>,
  upstreamModel: string,
  stream: boolean,
  prefill?: string,
  promptCache?: PromptCacheMarks,
): AnthropicRequest {
  if (!Array.isArray(body.messages)) throw new TranslationError('messages must be an array');
  const system: string[] = [];
  const messages: AnthropicMessage[] = [];
  const push = (role: AnthropicMessage['role'], blocks: Block[]) => {
    const last = messages.at(-1);
    if (last !== undefined && last.role === role && Array.isArray(last.content)) last.content.push(...blocks);
    else messages.push({ role, content: blocks });
  };
  for (const message of body.messages) {
    if (!isRecord(message)) throw new TranslationError('messages must be objects');
    switch (message.role) {
      case 'system':
      case 'developer':
        system.push(textOfParts(message.content, 'system'));
        break;
      case 'user':
        push('user', userBlocks(message.content));
        break;
      case 'assistant':
        push('assistant', assistantBlocks(message));
        break;
      case 'tool':
        push('user', [toolResultBlock(message)]);
        break;
      default:
        throw new TranslationError(`message role "${String(message.role)}" is not supported by Anthropic`);
    }
  }
  if (prefill !== undefined) push('assistant', [{ type: 'text', text: prefill }]);
  else if (jsonPrefill(body, prefill)) push('assistant', [{ type: 'text', text: JSON_PREFILL }]);
  trimFinalAssistant(messages);
  for (const message of messages) {
    const only = Array.isArray(message.content) && message.content.length === 1 ? message.content[0] : null;
    if (only !== null && only.type === 'text' && typeof only.text === 'string') message.content = only.text;
  }

  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  const out: AnthropicRequest = {
    model: upstreamModel,
    max_tokens: typeof maxTokens === 'number' ? maxTokens : DEFAULT_MAX_TOKENS,
    messages,
  };
  if (system.length > 0) out.system = system.join('\n\n');
  if (typeof body.temperature === 'number') out.temperature = Math.min(1, Math.max(0, body.temperature));
  if (typeof body.top_p === 'number') out.top_p = body.top_p;
  if (typeof body.stop === 'string') out.stop_sequences = [body.stop];
  else if (Array.isArray(body.stop) && body.stop.length > 0) out.stop_sequences = body.stop;
  const toolList = tools(body.tools);
  if (toolList !== undefined && toolList.length > 0) out.tools = toolList;
  const choice = toolChoice(body.tool_choice, body.parallel_tool_calls);
  if (choice !== undefined && out.tools !== undefined) out.tool_choice = choice;
  const outputConfig = outputFormat(body, out.tools !== undefined);
  if (outputConfig !== undefined) out.output_config = outputConfig;
  if (typeof body.user === 'string') out.metadata = { user_id: body.user };
  if (stream) out.stream = true;
  if (promptCache !== undefined) markCacheable(out, promptCache);
  return out;
}
