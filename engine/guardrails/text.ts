/**
 * What a guardrail reads, and writing a redaction back. An input guardrail reads the messages
 * its `scope` names, one segment per text (a string content, a text part, a tool call's
 * arguments, a tool result); an embeddings request's `input` strings are read whatever the
 * scope. Images, audio and files are skipped: a guardrail reads text only. An output guardrail
 * reads the answer: each choice's content and its tool calls' arguments.
 *
 * Each segment is checked on its own, so a match never spans two messages.
 */
import { isRecord } from '../shared/guards.js';

export type GuardrailScope = 'last_user' | 'user' | 'system' | 'tools' | 'conversation';

/** Where a segment came from, to write a redaction back. */
export type SegmentRef =
  | { readonly kind: 'content'; readonly message: number }
  | { readonly kind: 'part'; readonly message: number; readonly part: number }
  | { readonly kind: 'arguments'; readonly message: number; readonly call: number }
  | { readonly kind: 'input'; readonly index: number | null };

export interface Segment {
  readonly text: string;
  readonly ref: SegmentRef;
}

const SYSTEM_ROLES = new Set(['system', 'developer']);

function messageSegments(m: Record<string, unknown>, i: number, out: Segment[], toolsOnly: boolean): void {
  const role = m.role;
  if (toolsOnly) {
    if (role === 'tool' || role === 'function') contentSegments(m.content, i, out);
    if (Array.isArray(m.tool_calls)) {
      m.tool_calls.forEach((call, k) => {
        const args = isRecord(call) && isRecord(call.function) ? call.function.arguments : undefined;
        if (typeof args === 'string')
          out.push({ text: args, ref: { kind: 'arguments', message: i, call: k } });
      });
    }
    return;
  }
  contentSegments(m.content, i, out);
}

function contentSegments(content: unknown, i: number, out: Segment[]): void {
  if (typeof content === 'string') out.push({ text: content, ref: { kind: 'content', message: i } });
  else if (Array.isArray(content)) {
    content.forEach((part, k) => {
      if (
        isRecord(part) &&
        typeof part.text === 'string' &&
        (part.type === undefined || part.type === 'text' || part.type === 'input_text')
      )
        out.push({ text: part.text, ref: { kind: 'part', message: i, part: k } });
    });
  }
}

/** The text segments of a request body that `scope` reads. */
export function requestSegments(body: Readonly<Record<string, unknown>>, scope: GuardrailScope): Segment[] {
  const out: Segment[] = [];
  const input = body.input;
  if (typeof input === 'string') return [{ text: input, ref: { kind: 'input', index: null } }];
  if (Array.isArray(input) && !Array.isArray(body.messages)) {
    input.forEach((item, k) => {
      if (typeof item === 'string') out.push({ text: item, ref: { kind: 'input', index: k } });
    });
    return out;
  }
  const messages = body.messages;
  if (!Array.isArray(messages)) return out;
  if (scope === 'last_user') {
    for (let i = messages.length - 1; i >= 0; i--) {
      const m = messages[i];
      if (isRecord(m) && m.role === 'user') {
        messageSegments(m, i, out, false);
        break;
      }
    }
    return out;
  }
  messages.forEach((m, i) => {
    if (!isRecord(m)) return;
    if (scope === 'conversation') {
      messageSegments(m, i, out, false);
      messageSegments(m, i, out, true);
    } else if (scope === 'tools') messageSegments(m, i, out, true);
    else if (scope === 'user' ? m.role === 'user' : SYSTEM_ROLES.has(String(m.role)))
      messageSegments(m, i, out, false);
  });
  return out;
}

/** A copy of `body` with the given segments' texts replaced (copy on write: the rest is shared). */
export function replaceSegments(
  body: Readonly<Record<string, unknown>>,
  replacements: ReadonlyMap<SegmentRef, string>,
): Record<string, unknown> {
  const next: Record<string, unknown> = { ...body };
  if (replacements.size === 0) return next;
  const messages = Array.isArray(body.messages) ? [...body.messages] : null;
  let input: unknown[] | null = null;
  for (const [ref, text] of replacements) {
    if (ref.kind === 'input') {
      if (ref.index === null) next.input = text;
      else {
        input ??= Array.isArray(body.input) ? [...body.input] : [];
        input[ref.index] = text;
      }
      continue;
    }
    if (messages === null) continue;
    const m = { ...(messages[ref.message] as Record<string, unknown>) };
    if (ref.kind === 'content') m.content = text;
    else if (ref.kind === 'part') {
      const parts = [...(m.content as unknown[])];
      parts[ref.part] = { ...(parts[ref.part] as Record<string, unknown>), text };
      m.content = parts;
    } else {
      const calls = [...(m.tool_calls as unknown[])];
      const call = calls[ref.call] as Record<string, unknown>;
      calls[ref.call] = {
        ...call,
        function: { ...(call.function as Record<string, unknown>), arguments: text },
      };
      m.tool_calls = calls;
    }
    messages[ref.message] = m;
  }
  if (messages !== null) next.messages = messages;
  if (input !== null) next.input = input;
  return next;
}

/** Where a segment of an answer came from. */
export type AnswerRef =
  | { readonly kind: 'answer'; readonly choice: number }
  | { readonly kind: 'answer_arguments'; readonly choice: number; readonly call: number };

export interface AnswerSegment {
  readonly text: string;
  readonly ref: AnswerRef;
}

/** The text of an answer: each choice's content and its tool calls' arguments. */
export function answerSegments(body: unknown): AnswerSegment[] {
  const out: AnswerSegment[] = [];
  const choices = isRecord(body) ? body.choices : undefined;
  if (!Array.isArray(choices)) return out;
  choices.forEach((choice, c) => {
    const message = isRecord(choice) ? choice.message : undefined;
    if (!isRecord(message)) return;
    if (typeof message.content === 'string')
      out.push({ text: message.content, ref: { kind: 'answer', choice: c } });
    if (Array.isArray(message.tool_calls)) {
      message.tool_calls.forEach((call, k) => {
        const args = isRecord(call) && isRecord(call.function) ? call.function.arguments : undefined;
        if (typeof args === 'string')
          out.push({ text: args, ref: { kind: 'answer_arguments', choice: c, call: k } });
      });
    }
  });
  return out;
}

/** A copy of an answer body with the given segments replaced. */
export function replaceAnswerSegments(body: unknown, replacements: ReadonlyMap<AnswerRef, string>): unknown {
  if (!isRecord(body) || !Array.isArray(body.choices) || replacements.size === 0) return body;
  const choices = [...body.choices];
  for (const [ref, text] of replacements) {
    const choice = { ...(choices[ref.choice] as Record<string, unknown>) };
    const message = { ...(choice.message as Record<string, unknown>) };
    if (ref.kind === 'answer') message.content = text;
    else {
      const calls = [...(message.tool_calls as unknown[])];
      const call = calls[ref.call] as Record<string, unknown>;
      calls[ref.call] = {
        ...call,
        function: { ...(call.function as Record<string, unknown>), arguments: text },
      };
      message.tool_calls = calls;
    }
    choice.message = message;
    choices[ref.choice] = choice;
  }
  return { ...body, choices };
}
