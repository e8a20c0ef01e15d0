/** Builders for the cache tests: request contexts and cached answers. */
import type { CachedAnswer } from '../../../engine/cache/store.js';
import type { RequestContext } from '../../../engine/types.js';

export interface CtxInput {
  readonly tenant?: string | null;
  readonly body?: Record<string, unknown>;
  readonly headers?: Record<string, string>;
  readonly metadata?: Record<string, string>;
}

export const MESSAGES = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'What is the capital of France?' },
];

/** A chat request context; the body defaults to a small question at temperature 0. */
export function makeCtx(input: CtxInput = {}): RequestContext {
  const body = input.body ?? { model: 'gpt-5', messages: MESSAGES, temperature: 0 };
  return {
    path: '/v1/chat/completions',
    endpoint: 'chat',
    model: typeof body.model === 'string' ? body.model : '',
    body,
    headers: input.headers ?? {},
    tenant: input.tenant === undefined ? 'acme' : input.tenant,
    labels: {},
    metadata: input.metadata ?? {},
    stream: body.stream === true,
    tools: Array.isArray(body.tools) && body.tools.length > 0,
    inputTokens: 10,
    inputChars: 40,
    seed: 1,
  };
}

export function completion(text: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1_700_000_000,
    model: 'gpt-5-nano',
    choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 },
    ...extra,
  };
}

/** A cached answer whose body says `text`; `pad` grows it by that many characters. */
export function makeAnswer(text = 'Paris.', storedAt = 0, pad = 0): CachedAnswer {
  return {
    body: completion(text + ' '.repeat(pad)),
    model: 'gpt-5-nano',
    usage: { promptTokens: 12, completionTokens: 3, totalTokens: 15 },
    storedAt,
    target: 'fast',
  };
}
