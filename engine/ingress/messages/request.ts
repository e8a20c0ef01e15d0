/**
 * A Messages request (`POST /v1/messages`) → the engine's internal chat completion request,
 * translated once, or the problem (400) with the offending field. Pure; the messages are
 * content.ts, what cannot be translated unsupported.ts.
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
import { isRecord } from '../../shared/guards.js';
import { type IngressProblem, invalid, translateBody, typeName } from '../common.js';
import { messages, textOfSystem } from './content.js';
import { refuseUntranslatedFields, unsupported } from './unsupported.js';

type Obj = Record<string, unknown>;

export type MessagesTranslation =
  | { readonly ok: true; readonly chat: Obj }
  | ({ readonly ok: false } & IngressProblem);

/** Fields read by the translation itself. */
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
  refuseUntranslatedFields(body, KNOWN_FIELDS);
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
