/**
 * What the mock provider answers, as a function of the request alone (docs/mock-provider.md):
 *
 * - **Tool call.** The request has function `tools`, `tool_choice` is not `"none"`, and either the
 *   choice is forced (`"required"`, or `{type: "function", function: {name}}`) or the last message
 *   is the user's (not a tool result): the mock calls the forced tool, else the first one, with
 *   arguments sampled from its `parameters` schema (mock-schema.ts).
 * - **Structured answer.** `response_format: {type: "json_schema"}`: JSON sampled from its schema;
 *   `{type: "json_object"}`: the reply text as `{"reply": "..."}` (or the configured `reply` itself
 *   when that is a JSON object).
 * - **Classification.** A system message has a line `Labels: a, b, c` (a classifier's prompt):
 *   the first label whose name (`-` and `_` read as spaces) occurs as whole words in the last
 *   user message, ignoring case; else the label at `hash32(user message) mod count`.
 * - **Text**, otherwise: the configured `reply`, else `Echo: <last user message>`.
 *
 * Every sampled value is seeded by a hash of the last user message (and the tool's name), so the
 * same request gets the same answer, and different prompts different ones.
 */
import { labelsLine } from '../shared/classify-prompt.js';
import { isRecord } from '../shared/guards.js';
import { hash32 } from '../shared/random.js';
import { MockSchemaError, sampleSchema } from './mock-schema.js';

export type MockAnswer =
  /** `json`: the content is a structured answer (streamed in even pieces, not by words). */
  | { readonly kind: 'text'; readonly content: string; readonly json: boolean }
  | { readonly kind: 'tool_call'; readonly id: string; readonly name: string; readonly arguments: string };

export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part) => (isRecord(part) && typeof part.text === 'string' ? part.text : '')).join('');
}

function messagesOf(body: Readonly<Record<string, unknown>>): readonly unknown[] {
  return Array.isArray(body.messages) ? body.messages : [];
}

export function lastUserText(body: Readonly<Record<string, unknown>>): string {
  const messages = messagesOf(body);
  for (let i = messages.length - 1; i >= 0; i--) {
    const message: unknown = messages[i];
    if (isRecord(message) && message.role === 'user') return contentText(message.content);
  }
  return '';
}

/** The role of the last message that is not a system or developer instruction. */
function lastTurnRole(body: Readonly<Record<string, unknown>>): unknown {
  const messages = messagesOf(body);
  for (let i = messages.length - 1; i >= 0; i--) {
    const message: unknown = messages[i];
    if (isRecord(message) && message.role !== 'system' && message.role !== 'developer') return message.role;
  }
  return undefined;
}

interface FunctionTool {
  readonly name: string;
  readonly parameters: unknown;
}

function functionTools(tools: unknown): FunctionTool[] {
  if (!Array.isArray(tools)) return [];
  const out: FunctionTool[] = [];
  for (const tool of tools) {
    if (!isRecord(tool) || tool.type !== 'function' || !isRecord(tool.function)) continue;
    const { name, parameters } = tool.function;
    if (typeof name === 'string') out.push({ name, parameters: parameters ?? { type: 'object' } });
  }
  return out;
}

function systemText(body: Readonly<Record<string, unknown>>): string {
  let text = '';
  for (const message of messagesOf(body)) {
    if (isRecord(message) && (message.role === 'system' || message.role === 'developer'))
      text += `${contentText(message.content)}\n`;
  }
  return text;
}

function escapeRegExp(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

/** The label the mock answers to a classification prompt (see the header); null when it is not one. */
export function mockClassification(body: Readonly<Record<string, unknown>>, user: string): string | null {
  const labels = labelsLine(systemText(body));
  if (labels === null) return null;
  for (const label of labels) {
    const words = escapeRegExp(label.toLowerCase().replace(/[-_]+/g, ' ')).replace(/ /g, '[\\s_-]+');
    // Built per call: the mock is a test double, and a classification prompt is rare.
    if (new RegExp(`(^|[^\\p{L}\\p{N}])${words}($|[^\\p{L}\\p{N}])`, 'iu').test(user)) return label;
  }
  return labels[hash32(user) % labels.length];
}

/** The tool the mock calls, or null when it answers with content. */
function chosenTool(body: Readonly<Record<string, unknown>>): FunctionTool | null {
  const tools = functionTools(body.tools);
  const choice = body.tool_choice;
  if (tools.length === 0 || choice === 'none') return null;
  if (isRecord(choice) && choice.type === 'function') {
    const name = isRecord(choice.function) ? choice.function.name : undefined;
    const forced = tools.find((t) => t.name === name);
    if (forced === undefined) {
      throw new MockSchemaError(
        `tool_choice names function "${String(name).slice(0, 100)}", which is not in tools`,
      );
    }
    return forced;
  }
  if (choice === 'required') return tools[0];
  return lastTurnRole(body) === 'user' ? tools[0] : null;
}

function jsonContent(body: Readonly<Record<string, unknown>>, text: string, seed: number): string | null {
  const format = body.response_format;
  if (!isRecord(format)) return null;
  if (format.type === 'json_schema') {
    const spec = isRecord(format.json_schema) ? format.json_schema : {};
    return JSON.stringify(sampleSchema(spec.schema ?? { type: 'object' }, seed));
  }
  if (format.type === 'json_object') {
    try {
      const parsed: unknown = JSON.parse(text);
      if (isRecord(parsed)) return text;
    } catch {
      // Not JSON: wrapped below.
    }
    return JSON.stringify({ reply: text });
  }
  return null;
}

/**
 * The mock's answer to a chat request; `reply` is the provider's configured text (null: echo).
 * Throws a {@link MockSchemaError} for what the mock refuses (400): a schema it cannot sample, a
 * `tool_choice` naming no tool.
 */
export function mockAnswer(body: Readonly<Record<string, unknown>>, reply: string | null): MockAnswer {
  const user = lastUserText(body);
  const tool = chosenTool(body);
  if (tool !== null) {
    const args = JSON.stringify(sampleSchema(tool.parameters, hash32(`${tool.name}\u0000${user}`)));
    const id = `call_mock_${hash32(`${tool.name}\u0000${args}`).toString(36)}`;
    return { kind: 'tool_call', id, name: tool.name, arguments: args };
  }
  const label = body.response_format === undefined ? mockClassification(body, user) : null;
  if (label !== null) return { kind: 'text', content: label, json: false };
  const text = reply ?? `Echo: ${user}`;
  const json = jsonContent(body, text, hash32(user));
  return json === null
    ? { kind: 'text', content: text, json: false }
    : { kind: 'text', content: json, json: true };
}

/** The longest a mock stream gets, in content chunks. */
export const MAX_CONTENT_CHUNKS = 16;

/** Splits a reply into at most MAX_CONTENT_CHUNKS pieces on word boundaries; joins back exactly. */
export function splitReply(reply: string): string[] {
  const words = reply.match(/\s*\S+\s*/g) ?? (reply === '' ? [] : [reply]);
  if (words.length <= MAX_CONTENT_CHUNKS) return words;
  const per = Math.ceil(words.length / MAX_CONTENT_CHUNKS);
  const pieces: string[] = [];
  for (let i = 0; i < words.length; i += per) pieces.push(words.slice(i, i + per).join(''));
  return pieces;
}

/**
 * Splits text with few spaces (JSON, tool arguments) into at most MAX_CONTENT_CHUNKS pieces of
 * equal length, as OpenAI streams argument fragments; joins back exactly.
 */
export function splitEvenly(text: string): string[] {
  if (text === '') return [];
  const per = Math.max(4, Math.ceil(text.length / MAX_CONTENT_CHUNKS));
  const pieces: string[] = [];
  for (let i = 0; i < text.length; i += per) pieces.push(text.slice(i, i + per));
  return pieces;
}
