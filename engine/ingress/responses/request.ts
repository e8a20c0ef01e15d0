/**
 * A Responses request (`POST /v1/responses`) → the engine's internal chat completion request,
 * translated once, or the problem (400) with the offending field. Pure; the input items are
 * input.ts, what cannot be translated unsupported.ts.
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
import { attachResponsesRequest, SHARED_FIELDS } from '../../providers/openai-responses.js';
import { isRecord } from '../../shared/guards.js';
import { RESPONSES_ONLY_KEY } from '../../shared/responses-only.js';
import { type IngressProblem, invalid, translateBody, typeName } from '../common.js';
import { type Builder, inputItems } from './input.js';
import { responsesOnlyFields } from './unsupported.js';

type Obj = Record<string, unknown>;

export type ResponsesTranslation =
  | { readonly ok: true; readonly chat: Obj; readonly responsesOnly: readonly string[] }
  | ({ readonly ok: false } & IngressProblem);

/** Top-level fields copied to the chat request under the same name and meaning. */
const SAME_FIELDS = [...SHARED_FIELDS, 'stream'] as const;

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
  b.responsesOnly.push(...responsesOnlyFields(body, TRANSLATED_FIELDS));
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
