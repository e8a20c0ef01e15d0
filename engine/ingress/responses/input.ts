/**
 * A Responses request's `input` → chat messages: a string is one user message; message items
 * (text, image and assistant parts), `function_call` items (joined to the assistant turn they
 * follow) and `function_call_output` items become the chat turns. Parts and items with no chat
 * counterpart are listed as Responses-only on the {@link Builder}, never dropped.
 */
import { isRecord } from '../../shared/guards.js';
import { invalid, typeName } from '../common.js';
import { RESPONSES_ONLY_ITEMS } from './unsupported.js';

type Obj = Record<string, unknown>;

const MESSAGE_ROLES = new Set(['user', 'assistant', 'system', 'developer']);

/** What a translation builds: the chat messages, and what only the Responses API carries. */
export interface Builder {
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

/** `input` (a string or items) → chat messages on `b`. */
export function inputItems(input: unknown, b: Builder): void {
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
