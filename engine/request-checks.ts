/**
 * Shape checks on request bodies, run by the engine's `check` stage for every request (the
 * server's and an embedding program's alike), with messages that name the offending field. They
 * check only what every OpenAI-compatible upstream requires, so a caller gets a clear 400 from
 * the gateway instead of an opaque one from a provider; everything else (unknown fields, new
 * message roles) passes through untouched. A body nested deeper than {@link MAX_BODY_DEPTH} is
 * refused before anything walks it recursively (cache keys, recording).
 */
import { isRecord } from './shared/guards.js';
import type { ApiEndpoint } from './types.js';

export type { ApiEndpoint };

/**
 * Deepest nesting of arrays and objects accepted in a body. Real requests (tool schemas
 * included) stay far below it; recursive walks of deeper input risk the stack.
 */
export const MAX_BODY_DEPTH = 128;

export interface ValidationProblem {
  readonly message: string;
  /** The offending field, as OpenAI's `param` (e.g. `messages[1].role`). */
  readonly param: string | null;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

function problem(param: string | null, message: string): ValidationProblem {
  return { param, message };
}

function checkCommon(body: Record<string, unknown>): ValidationProblem | null {
  if (body.model !== undefined && typeof body.model !== 'string') {
    return problem('model', `'model' must be a string, got ${typeName(body.model)}.`);
  }
  if (body.metadata !== undefined && body.metadata !== null && !isRecord(body.metadata)) {
    return problem('metadata', `'metadata' must be an object, got ${typeName(body.metadata)}.`);
  }
  return null;
}

function checkMessages(messages: unknown): ValidationProblem | null {
  if (messages === undefined) return problem('messages', "'messages' is required.");
  if (!Array.isArray(messages)) {
    return problem('messages', `'messages' must be an array, got ${typeName(messages)}.`);
  }
  if (messages.length === 0) return problem('messages', "'messages' must contain at least one message.");
  for (let i = 0; i < messages.length; i++) {
    const m: unknown = messages[i];
    const at = `messages[${i}]`;
    if (!isRecord(m)) return problem(at, `'${at}' must be an object, got ${typeName(m)}.`);
    if (typeof m.role !== 'string' || m.role === '') {
      return problem(`${at}.role`, `'${at}.role' must be a non-empty string.`);
    }
    const c = m.content;
    if (c !== undefined && c !== null && typeof c !== 'string' && !Array.isArray(c)) {
      return problem(
        `${at}.content`,
        `'${at}.content' must be a string or an array of content parts, got ${typeName(c)}.`,
      );
    }
  }
  return null;
}

function checkChat(body: Record<string, unknown>): ValidationProblem | null {
  const messages = checkMessages(body.messages);
  if (messages !== null) return messages;
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean') {
    return problem('stream', `'stream' must be a boolean, got ${typeName(body.stream)}.`);
  }
  if (body.tools !== undefined && body.tools !== null && !Array.isArray(body.tools)) {
    return problem('tools', `'tools' must be an array, got ${typeName(body.tools)}.`);
  }
  return null;
}

function checkEmbeddings(body: Record<string, unknown>): ValidationProblem | null {
  const input = body.input;
  if (input === undefined) return problem('input', "'input' is required.");
  if (typeof input === 'string') return null;
  if (!Array.isArray(input)) {
    return problem('input', `'input' must be a string or an array, got ${typeName(input)}.`);
  }
  if (input.length === 0) return problem('input', "'input' must not be empty.");
  const ok = input.every(
    (item: unknown) =>
      typeof item === 'string' ||
      typeof item === 'number' ||
      (Array.isArray(item) && item.every((t: unknown) => typeof t === 'number')),
  );
  return ok ? null : problem('input', "'input' must hold strings or token arrays.");
}

/**
 * Whether `value` nests arrays and objects deeper than `max`. Iterative (an explicit stack), so
 * the check itself cannot overflow; it stops at the first level past `max`.
 */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  // Runs on every request: no array per object (`Object.values`), just the two stacks.
  const stack: unknown[] = [value];
  const depths: number[] = [1];
  while (stack.length > 0) {
    const v = stack.pop();
    const depth = depths.pop() as number;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > max) return true;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const child: unknown = v[i];
        if (typeof child === 'object' && child !== null) {
          stack.push(child);
          depths.push(depth + 1);
        }
      }
      continue;
    }
    const record = v as Record<string, unknown>;
    for (const key in record) {
      if (!Object.hasOwn(record, key)) continue;
      const child = record[key];
      if (typeof child === 'object' && child !== null) {
        stack.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}

/** Returns the first problem of the body, or null when the engine may see it. */
export function validateRequestBody(endpoint: ApiEndpoint, body: unknown): ValidationProblem | null {
  if (!isRecord(body)) return problem(null, `The request body must be a JSON object, got ${typeName(body)}.`);
  if (nestsDeeperThan(body, MAX_BODY_DEPTH)) {
    return problem(null, `The request body nests deeper than ${MAX_BODY_DEPTH} levels.`);
  }
  return checkCommon(body) ?? (endpoint === 'embeddings' ? checkEmbeddings(body) : checkChat(body));
}
