/**
 * Output guardrails inside the attempt loop. A JSON answer, or a stream held whole (`buffer`, and
 * always when the request declares tools, since tool-call arguments stream in pieces), is checked
 * before it is committed: `block` ends the request with `guardrail_blocked`, `fallback` fails the
 * attempt with class `guardrail` so the next target is tried, `redact` rewrites the answer.
 * Otherwise (`scan`) content is checked as it streams, with a bounded hold-back: no text is sent
 * before the guardrails have seen everything that could make it part of a match, so a violating
 * answer never reaches the caller because it was streamed. A stream blocked after it started ends
 * with an in-band `guardrail_blocked` error and no `[DONE]`.
 */
import { errorBody } from '../../errors.js';
import {
  type AnswerRef,
  answerSegments,
  type CompiledGuardrail,
  checkSegments,
  createStreamRedactor,
  createStreamScanner,
  type GuardrailVerdict,
  replaceAnswerSegments,
  type ScanStep,
  type StreamRedactor,
  type StreamScanner,
  verdictOf,
} from '../../guardrails/index.js';
import type { ChatCompletionChunk } from '../../providers/openai-types.js';
import type { Failure } from './run.js';

export interface OutputGuard {
  readonly guardrails: readonly CompiledGuardrail[];
  /** Hold a streamed answer whole before any of it is sent. */
  readonly buffer: boolean;
  onVerdict(verdict: GuardrailVerdict): void;
}

export type Checked<T> =
  | { readonly kind: 'ok'; readonly value: T }
  | { readonly kind: 'failed'; readonly failure: Failure };

function blocked(guardrail: CompiledGuardrail, terminal: boolean): Failure {
  return {
    errorClass: 'guardrail',
    status: 400,
    retryAfterMs: null,
    body: errorBody('guardrail_blocked', { guardrail: guardrail.name }),
    deadline: false,
    terminal,
  };
}

/** Runs the output guardrails on a complete answer body, in order. */
export function checkAnswer(guard: OutputGuard, body: unknown): Checked<unknown> {
  let current = body;
  for (const g of guard.guardrails) {
    const started = performance.now();
    const result = checkSegments<AnswerRef>(g, answerSegments(current));
    guard.onVerdict(verdictOf(g, result, performance.now() - started));
    if (result.outcome === 'pass' || g.shadow) continue;
    if (result.outcome === 'block' || result.outcome === 'fallback') {
      return { kind: 'failed', failure: blocked(g, result.outcome === 'block') };
    }
    if (result.redactions !== null) current = replaceAnswerSegments(current, result.redactions);
  }
  return { kind: 'ok', value: current };
}

/**
 * A stream held whole: the answer its chunks make, checked; when redacted, each choice's text
 * (and each tool call's arguments) is carried by its first chunk and the others carry none.
 */
export function checkBuffered(
  guard: OutputGuard,
  chunks: ChatCompletionChunk[],
): Checked<ChatCompletionChunk[]> {
  const content = new Map<number, string>();
  const args = new Map<string, string>();
  for (const chunk of chunks) {
    for (const choice of chunk.choices ?? []) {
      const delta = choice.delta;
      if (typeof delta?.content === 'string')
        content.set(choice.index, (content.get(choice.index) ?? '') + delta.content);
      for (const call of delta?.tool_calls ?? []) {
        const a = call.function?.arguments;
        if (typeof a === 'string')
          args.set(`${choice.index}:${call.index}`, (args.get(`${choice.index}:${call.index}`) ?? '') + a);
      }
    }
  }
  const choices: { message: { content?: string; tool_calls?: { function: { arguments: string } }[] } }[] = [];
  const indexOf = new Map<number, number>();
  const callIndex = new Map<string, number>();
  const slot = (c: number): number => {
    let i = indexOf.get(c);
    if (i === undefined) {
      i = choices.length;
      indexOf.set(c, i);
      choices.push({ message: {} });
    }
    return i;
  };
  for (const [c, text] of content) choices[slot(c)].message.content = text;
  for (const [key, text] of args) {
    const [c] = key.split(':').map(Number);
    const message = choices[slot(c)].message;
    message.tool_calls ??= [];
    callIndex.set(key, message.tool_calls.length);
    message.tool_calls.push({ function: { arguments: text } });
  }
  const body = { choices };
  const checked = checkAnswer(guard, body);
  if (checked.kind === 'failed' || checked.value === body)
    return checked.kind === 'failed' ? checked : { kind: 'ok', value: chunks };
  const redacted = checked.value as typeof body;
  const seen = new Set<string>();
  const rewritten = chunks.map((chunk) => ({
    ...chunk,
    choices: (chunk.choices ?? []).map((choice) => {
      const i = indexOf.get(choice.index);
      if (i === undefined || choice.delta === undefined) return choice;
      const delta = { ...choice.delta };
      if (typeof delta.content === 'string') {
        const key = `c${choice.index}`;
        delta.content = seen.has(key) ? '' : (redacted.choices[i].message.content ?? '');
        seen.add(key);
      }
      if (delta.tool_calls !== undefined) {
        delta.tool_calls = delta.tool_calls.map((call) => {
          const a = call.function?.arguments;
          const key = `${choice.index}:${call.index}`;
          if (typeof a !== 'string' || call.function === undefined) return call;
          const k = callIndex.get(key);
          const text =
            seen.has(key) || k === undefined
              ? ''
              : (redacted.choices[i].message.tool_calls?.[k]?.function.arguments ?? '');
          seen.add(key);
          return { ...call, function: { ...call.function, arguments: text } };
        });
      }
      return { ...choice, delta };
    }),
  }));
  return { kind: 'ok', value: rewritten };
}

/** Checks streamed content as it goes (`scan`): per choice, redactors then scanners. */
export class AnswerScanner {
  readonly #guard: OutputGuard;
  readonly #raw = new Map<number, string>();
  readonly #redactors = new Map<number, StreamRedactor[]>();
  readonly #scanners = new Map<number, StreamScanner[]>();
  readonly #judged = new Set<CompiledGuardrail>();
  readonly #redacting: CompiledGuardrail[];
  readonly #blocking: CompiledGuardrail[];

  constructor(guard: OutputGuard) {
    this.#guard = guard;
    const enforced = guard.guardrails.filter((g) => !g.shadow && g.detector !== null);
    this.#redacting = enforced.filter((g) => g.action === 'redact');
    this.#blocking = enforced.filter((g) => g.action === 'block');
  }

  #chain(choice: number): { redactors: StreamRedactor[]; scanners: StreamScanner[] } {
    let redactors = this.#redactors.get(choice);
    let scanners = this.#scanners.get(choice);
    if (redactors === undefined || scanners === undefined) {
      redactors = this.#redacting.map((g) =>
        createStreamRedactor([g.detector as NonNullable<typeof g.detector>]),
      );
      scanners = this.#blocking.map((g) =>
        createStreamScanner([g.detector as NonNullable<typeof g.detector>]),
      );
      this.#redactors.set(choice, redactors);
      this.#scanners.set(choice, scanners);
    }
    return { redactors, scanners };
  }

  #run(choice: number, text: string, end: boolean): { text: string; blocked: CompiledGuardrail | null } {
    const { redactors, scanners } = this.#chain(choice);
    let out = text;
    for (const r of redactors) out = end ? r.push(out) + r.end() : r.push(out);
    for (let i = 0; i < scanners.length; i++) {
      const step = end ? this.#concat(scanners[i].push(out), scanners[i].end()) : scanners[i].push(out);
      if (step.violation !== null) {
        const g = this.#blocking[i];
        this.#verdict(g, 'block', [step.violation.label]);
        return { text: step.text, blocked: g };
      }
      out = step.text;
    }
    return { text: out, blocked: null };
  }

  #concat(a: ScanStep, b: ScanStep): ScanStep {
    return a.violation !== null ? a : { text: a.text + b.text, violation: b.violation };
  }

  /** A content delta of `choice`: the text to send now, or the guardrail that blocks the answer. */
  push(choice: number, text: string): { text: string; blocked: CompiledGuardrail | null } {
    this.#raw.set(choice, (this.#raw.get(choice) ?? '') + text);
    return this.#run(choice, text, false);
  }

  /** The end of `choice`: what was held back. */
  flush(choice: number): { text: string; blocked: CompiledGuardrail | null } {
    return this.#run(choice, '', true);
  }

  #verdict(g: CompiledGuardrail, outcome: 'pass' | 'block', found: readonly string[]): void {
    if (this.#judged.has(g)) return;
    this.#judged.add(g);
    this.#guard.onVerdict(
      verdictOf(g, { outcome: outcome === 'pass' ? 'pass' : g.action, found, redactions: null }, 0),
    );
  }

  /** Once the stream is over: the verdict of every guardrail not judged yet, on the whole text. */
  finish(): void {
    const segments = [...this.#raw].map(([choice, text]) => ({ text, ref: choice }));
    for (const g of this.#guard.guardrails) {
      if (this.#judged.has(g)) continue;
      const started = performance.now();
      const result = checkSegments(g, segments);
      this.#judged.add(g);
      this.#guard.onVerdict(verdictOf(g, { ...result, redactions: null }, performance.now() - started));
    }
  }
}
