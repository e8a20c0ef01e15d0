/**
 * The request a Responses passthrough sends upstream: the caller's own, carried from the ingress
 * attached to its chat translation under a symbol, untouched but for `model` and `stream`; or,
 * when an input guardrail has rewritten the chat body (a redaction), a rebuild from the rewritten
 * chat body ({@link chatToResponsesRequest}) with the caller's settings and tools, so a
 * redaction is never undone by the passthrough.
 */
import { isRecord } from '../shared/guards.js';
import { RESPONSES_ONLY_KEY, responsesOnlyParts } from '../shared/responses-only.js';
import type { ProviderCallRequest, ProviderSpec } from './types.js';

type Obj = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// The caller's request, carried with the chat body

/**
 * An enumerable symbol: it survives the object spreads of the pipeline (a redaction's copy
 * keeps it, which is how the copy is recognised) and never reaches JSON (cache keys,
 * recordings, upstream bodies).
 */
const RESPONSES_REQUEST = Symbol('switchyard.responsesRequest');

interface Attachment {
  readonly request: Readonly<Obj>;
  /** The chat body the request was translated into; another object means it was rewritten. */
  readonly chat: object;
}

/** Attaches the caller's Responses request to its translation (engine/ingress/responses.ts). */
export function attachResponsesRequest(chat: Obj, request: Readonly<Obj>): void {
  (chat as Record<symbol, unknown>)[RESPONSES_REQUEST] = { request, chat } satisfies Attachment;
}

/** The caller's Responses request behind a chat body, and whether the body is still its translation. */
export function responsesRequestOf(
  body: Readonly<Obj>,
): { readonly request: Readonly<Obj>; readonly rewritten: boolean } | null {
  const attachment = (body as Record<symbol, unknown>)[RESPONSES_REQUEST];
  if (!isRecord(attachment) || !isRecord(attachment.request)) return null;
  return { request: attachment.request, rewritten: attachment.chat !== body };
}

// ---------------------------------------------------------------------------------------------
// Chat request → Responses request (a rewritten body passed through; the round-trip properties)

function partsToInput(content: unknown): unknown {
  if (typeof content === 'string' || content === null || content === undefined) return content ?? '';
  if (!Array.isArray(content)) return content;
  return content.map((part) => {
    if (!isRecord(part)) return part;
    if (part.type === 'text') return { type: 'input_text', text: part.text };
    if (part.type === 'image_url') {
      const image = isRecord(part.image_url) ? part.image_url : { url: part.image_url };
      return { type: 'input_image', image_url: image.url, detail: image.detail ?? 'auto' };
    }
    if (part.type === 'file' && isRecord(part.file)) return { type: 'input_file', ...part.file };
    return part;
  });
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((p) => (isRecord(p) && typeof p.text === 'string' ? p.text : '')).join('');
}

/** Chat `messages` → Responses `input` items. */
export function chatMessagesToInput(messages: readonly unknown[]): Obj[] {
  const input: Obj[] = [];
  for (const m of messages) {
    if (!isRecord(m)) continue;
    if (m.role === 'tool') {
      input.push({ type: 'function_call_output', call_id: m.tool_call_id, output: textOf(m.content) });
      continue;
    }
    if (m.role === 'assistant') {
      const text = textOf(m.content);
      if (text !== '' || !Array.isArray(m.tool_calls) || m.tool_calls.length === 0) {
        input.push({ type: 'message', role: 'assistant', content: text });
      }
      for (const call of Array.isArray(m.tool_calls) ? m.tool_calls : []) {
        if (!isRecord(call) || !isRecord(call.function)) continue;
        input.push({
          type: 'function_call',
          call_id: call.id,
          name: call.function.name,
          arguments: call.function.arguments,
        });
      }
      continue;
    }
    input.push({ type: 'message', role: m.role, content: partsToInput(m.content) });
  }
  return input;
}

function responsesTools(tools: unknown): unknown {
  if (!Array.isArray(tools)) return tools;
  return tools.map((tool) => {
    if (!isRecord(tool) || tool.type !== 'function' || !isRecord(tool.function)) return tool;
    const { name, description, parameters, strict } = tool.function;
    const out: Obj = { type: 'function', name, parameters: parameters ?? null };
    if (description !== undefined) out.description = description;
    if (strict !== undefined) out.strict = strict;
    return out;
  });
}

function responsesToolChoice(choice: unknown): unknown {
  if (isRecord(choice) && choice.type === 'function' && isRecord(choice.function)) {
    return { type: 'function', name: choice.function.name };
  }
  return choice;
}

function textFormat(format: unknown): Obj | undefined {
  if (!isRecord(format)) return undefined;
  if (format.type === 'json_schema' && isRecord(format.json_schema)) {
    return { type: 'json_schema', ...format.json_schema };
  }
  return { type: format.type };
}

/**
 * Request fields with the same name and meaning in chat and Responses requests, both ways (the
 * ingress copies them too: engine/ingress/responses/request.ts).
 */
export const SHARED_FIELDS = [
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
] as const;

/**
 * Chat request fields copied as they are into a Responses request: the shared ones, and those a
 * Responses request takes as they are but the ingress translates otherwise (`top_logprobs` also
 * sets `logprobs`; `store` is not carried to chat).
 */
const SAME_FIELDS = [...SHARED_FIELDS, 'top_logprobs', 'stream', 'store'] as const;

/**
 * Chat completion request → Responses request: messages become input items (tool calls and
 * results included), `response_format` and `verbosity` become `text`, `reasoning_effort` becomes
 * `reasoning`, `max_completion_tokens` (or `max_tokens`) becomes `max_output_tokens`.
 */
export function chatToResponsesRequest(body: Readonly<Obj>): Obj {
  const out: Obj = { input: chatMessagesToInput(Array.isArray(body.messages) ? body.messages : []) };
  for (const key of SAME_FIELDS) if (body[key] !== undefined) out[key] = body[key];
  if (body.tools !== undefined) out.tools = responsesTools(body.tools);
  if (body.tool_choice !== undefined) out.tool_choice = responsesToolChoice(body.tool_choice);
  const format = textFormat(body.response_format);
  if (format !== undefined || body.verbosity !== undefined) {
    const text: Obj = {};
    if (format !== undefined) text.format = format;
    if (body.verbosity !== undefined) text.verbosity = body.verbosity;
    out.text = text;
  }
  if (body.reasoning_effort !== undefined) out.reasoning = { effort: body.reasoning_effort };
  const max = body.max_completion_tokens ?? body.max_tokens;
  if (max !== undefined) out.max_output_tokens = max;
  return out;
}

/**
 * The body sent to `POST /responses`: the caller's request with the target's model, or, when a
 * guardrail rewrote the chat body, its rebuild with the caller's settings and tools. A rebuild
 * cannot restore input items only the Responses API carries (an item reference, a hosted tool's
 * call): such a request is refused (a `TranslationError`-like message) rather than sent without them.
 */
export function responsesUpstreamBody(
  req: ProviderCallRequest,
): { ok: true; body: Obj } | { ok: false; message: string } {
  const carried = responsesRequestOf(req.body);
  let body: Obj;
  if (carried === null || carried.rewritten) {
    const lost = responsesOnlyParts(req.body).filter((p) => p.startsWith('input['));
    if (lost.length > 0) {
      return {
        ok: false,
        message: `an input guardrail rewrote this request, and its Responses-only input items (${lost.join(', ')}) cannot be passed through without the original`,
      };
    }
    const rebuilt = chatToResponsesRequest(req.body);
    const settings: Obj = carried === null ? {} : { ...carried.request };
    delete settings.input;
    delete settings.instructions;
    body = { ...settings, input: rebuilt.input };
    for (const key of Object.keys(rebuilt)) if (!(key in body)) body[key] = rebuilt[key];
  } else {
    body = { ...carried.request };
  }
  delete body[RESPONSES_ONLY_KEY];
  body.model = req.upstreamModel;
  if (req.stream) body.stream = true;
  else delete body.stream;
  if (!req.stream) delete body.stream_options;
  if (req.prefill !== undefined) {
    const input = Array.isArray(body.input)
      ? body.input
      : [{ type: 'message', role: 'user', content: body.input ?? '' }];
    body.input = [...input, { type: 'message', role: 'assistant', content: req.prefill }];
  }
  return { ok: true, body };
}

/** `POST {baseUrl}/responses`; Azure's v1 surface (`{baseUrl}/openai/v1/responses`) with `azure`. */
export function responsesUrl(spec: ProviderSpec): string {
  const base = (spec.baseUrl ?? 'https://api.openai.com/v1').replace(/\/+$/, '');
  return spec.azure === null ? `${base}/responses` : `${base}/openai/v1/responses`;
}
