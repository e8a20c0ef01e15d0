/**
 * A Messages request's `system` and `messages` → chat messages: text, image (base64 and URL),
 * `tool_use` and `tool_result` blocks become the chat turns, a user turn's tool results going
 * first as chat tool messages; thinking blocks of earlier turns are not carried. Any other
 * block is refused (unsupported.ts).
 */
import { isRecord } from '../../shared/guards.js';
import { invalid, typeName } from '../common.js';
import { unsupported } from './unsupported.js';

type Obj = Record<string, unknown>;

/** `system`, a string or text blocks → the system message's text. */
export function textOfSystem(system: unknown): string {
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

/** Each block of a message's `content`, an object, with its path (`messages[i].content[k]`). */
function eachBlock(content: unknown[], at: string, visit: (block: Obj, at: string) => void): void {
  content.forEach((block, k) => {
    const bat = `${at}.content[${k}]`;
    if (!isRecord(block)) throw invalid(bat, `'${bat}' must be an object, got ${typeName(block)}.`);
    visit(block, bat);
  });
}

/** A text block's text. */
function blockText(block: Obj, at: string): string {
  if (typeof block.text !== 'string') throw invalid(`${at}.text`, `'${at}.text' must be a string.`);
  return block.text;
}

function userMessage(content: unknown[], at: string, out: Obj[]): void {
  const parts: Obj[] = [];
  eachBlock(content, at, (block, bat) => {
    switch (block.type) {
      case 'text':
        parts.push({ type: 'text', text: blockText(block, bat) });
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
  eachBlock(content, at, (block, bat) => {
    switch (block.type) {
      case 'text':
        text += blockText(block, bat);
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
        // The model's own state of an earlier turn: not carried (request.ts).
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

/** `messages` → the chat messages (a user turn's tool results first, as chat orders them). */
export function messages(list: unknown): Obj[] {
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
