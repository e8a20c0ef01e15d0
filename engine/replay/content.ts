/**
 * Content modes of a recording (docs/design.md §3): what of a request body reaches the file.
 *
 * - `keep`: the body as received.
 * - `hash`: every piece of caller text becomes `sha256:<hex>` of its UTF-8 text — message
 *   `content` (each part of a multi-part content), tool-call and function-call `arguments`,
 *   embeddings `input`, `prompt`, `system`, `prediction` — while roles, names, tool-call ids, the
 *   model and every parameter stay, with lengths in characters (`contentChars`, `chars`,
 *   `argumentsChars`) so replay can still reason about sizes. Equal texts hash equally, so
 *   repeated prompts (cache behaviour) stay visible.
 * - `drop`: the same pieces are removed; the message list keeps its length and each message its
 *   role, name and tool-call ids and function names.
 *
 * Messages are rebuilt from an allow-list of structural keys: a key this module does not know
 * is hashed (or dropped), never kept as-is, so new kinds of content do not leak by default.
 * Credential-like top-level keys are removed in every mode.
 */
import { createHash } from 'node:crypto';
import { contentChars } from '../context.js';

export const CONTENT_MODES = ['keep', 'hash', 'drop'] as const;
export type ContentMode = (typeof CONTENT_MODES)[number];

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Top-level body keys that could carry a credential; never recorded. */
const SECRET_BODY_KEYS = new Set(['api_key', 'apikey', 'api-key', 'authorization', 'password', 'secret']);

/** Top-level body keys holding caller text (besides `messages`). */
const CONTENT_BODY_KEYS = ['input', 'prompt', 'system', 'prediction'] as const;

/** Message keys that are structure, not content: kept in `hash` and `drop` modes. */
const MESSAGE_STRUCTURE_KEYS = new Set(['role', 'name', 'tool_call_id']);

/** Leaf keys of content parts that are settings, not text (`{ type: 'image_url', image_url: { url, detail } }`). */
const PART_SETTING_KEYS = new Set(['type', 'detail', 'format']);

/** `sha256:<hex>` of the UTF-8 text: the stable stand-in for a text in `hash` mode. */
export function hashText(text: string): string {
  return `sha256:${createHash('sha256').update(text, 'utf8').digest('hex')}`;
}

/**
 * Hashes every leaf of a value: strings one by one, arrays of numbers (token ids) as a whole.
 * Settings (`type`, `detail`, `format`) stay readable; a text part gets its length as `chars`.
 */
function hashLeaves(v: unknown): unknown {
  if (typeof v === 'string') return hashText(v);
  if (Array.isArray(v)) {
    if (v.length > 0 && v.every((x) => typeof x === 'number')) return hashText(JSON.stringify(v));
    return v.map(hashLeaves);
  }
  if (isObj(v)) {
    const out: Obj = {};
    for (const key of Object.keys(v)) out[key] = PART_SETTING_KEYS.has(key) ? v[key] : hashLeaves(v[key]);
    if (typeof v.text === 'string') out.chars = v.text.length;
    return out;
  }
  return v;
}

function hashToolCall(call: unknown): unknown {
  if (!isObj(call)) return hashLeaves(call);
  const out: Obj = {};
  for (const key of Object.keys(call)) {
    const v = call[key];
    if (key === 'id' || key === 'type') out[key] = v;
    else if (key === 'function' && isObj(v)) out.function = hashFunctionCall(v);
    else out[key] = hashLeaves(v);
  }
  return out;
}

function hashFunctionCall(fn: Obj): Obj {
  const out: Obj = {};
  for (const key of Object.keys(fn)) {
    const v = fn[key];
    if (key === 'name') out.name = v;
    else if (key === 'arguments' && typeof v === 'string') {
      out.arguments = hashText(v);
      out.argumentsChars = v.length;
    } else out[key] = hashLeaves(v);
  }
  return out;
}

function dropToolCall(call: unknown): unknown {
  if (!isObj(call)) return {};
  const out: Obj = {};
  if (call.id !== undefined) out.id = call.id;
  if (call.type !== undefined) out.type = call.type;
  if (isObj(call.function) && call.function.name !== undefined) out.function = { name: call.function.name };
  return out;
}

function recordMessage(message: unknown, mode: 'hash' | 'drop'): unknown {
  if (!isObj(message)) return mode === 'hash' ? hashLeaves(message) : {};
  const out: Obj = {};
  for (const key of Object.keys(message)) {
    const v = message[key];
    if (MESSAGE_STRUCTURE_KEYS.has(key)) out[key] = v;
    else if (key === 'tool_calls' && Array.isArray(v))
      out.tool_calls = v.map((c) => (mode === 'hash' ? hashToolCall(c) : dropToolCall(c)));
    else if (key === 'function_call' && isObj(v))
      out.function_call =
        mode === 'hash' ? hashFunctionCall(v) : v.name === undefined ? {} : { name: v.name };
    else if (mode === 'drop') continue;
    else if (key === 'content') {
      // null content (an assistant turn that only calls tools) is structure, not text.
      out.content = v === null ? null : hashLeaves(v);
      if (v !== null) out.contentChars = contentChars(v);
    } else out[key] = hashLeaves(v);
  }
  return out;
}

/**
 * The body as a recording stores it under `mode`. Never mutates the input; `keep` copies the
 * top level only (to leave credential-like keys out).
 *
 * @example
 * recordBody({ model: 'gpt', messages: [{ role: 'user', content: 'hi' }] }, 'hash');
 * // { model: 'gpt', messages: [{ role: 'user', content: 'sha256:8f43…', contentChars: 2 }] }
 */
export function recordBody(body: Readonly<Obj>, mode: ContentMode): Obj {
  const out: Obj = {};
  for (const key of Object.keys(body)) {
    if (!SECRET_BODY_KEYS.has(key.toLowerCase())) out[key] = body[key];
  }
  if (mode === 'keep') return out;
  if (Array.isArray(out.messages)) out.messages = out.messages.map((m) => recordMessage(m, mode));
  for (const key of CONTENT_BODY_KEYS) {
    if (!(key in out)) continue;
    if (mode === 'drop') delete out[key];
    else if (key === 'prediction' && isObj(out.prediction)) {
      const prediction = out.prediction;
      out.prediction = { ...prediction, content: hashLeaves(prediction.content) };
    } else out[key] = hashLeaves(out[key]);
  }
  return out;
}
