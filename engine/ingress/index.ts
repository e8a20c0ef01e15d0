/**
 * The ingress APIs: `POST /v1/responses` (OpenAI's Responses API) and `POST /v1/messages`
 * (Anthropic's Messages API) served by the same pipeline as chat completions. A request is
 * translated into the engine's internal chat request before anything reads it, so the policy
 * routes it with the same routes (model, tenant, metadata, ...), the guardrails read its text,
 * limits count its tokens, the cache keys it and the recording keeps it (with `endpoint`
 * `responses` or `messages`); the answer is translated back into the API's own shape, errors
 * included. A request that cannot be translated is refused through the pipeline (a recorded 400).
 *
 * @example
 * const api = ingressApiOf(input);
 * if (api !== null) return handleIngress(api, input, (internal) => run(internal));
 */
import { endpointOf, requestPath } from '../context.js';
import { errorBody } from '../errors.js';
import { chatFromResponse, upstreamResponseOf } from '../providers/openai-responses.js';
import type { ChatCompletion } from '../providers/openai-types.js';
import { isRecord } from '../shared/guards.js';
import type { EngineResponse, RequestInput } from '../types.js';
import {
  anthropicError,
  chatToMessage,
  MessagesStreamWriter,
  type MessagesTranslation,
  messagesToChat,
} from './messages.js';
import {
  chatToResponse,
  ResponsesStreamWriter,
  type ResponsesTranslation,
  responsesOnlyMessage,
  responsesToChat,
} from './responses.js';

export type IngressApi = 'responses' | 'messages';

export { anthropicError, chatToMessage, MessagesStreamWriter, messagesToChat } from './messages.js';
export { chatToResponse, ResponsesStreamWriter, responsesToChat } from './responses.js';

/** The ingress API a request addresses; null for chat, embeddings, and bodies already internal. */
export function ingressApiOf(input: RequestInput): IngressApi | null {
  if (input.internal === true) return null;
  const endpoint = endpointOf(requestPath(input));
  return endpoint === 'responses' || endpoint === 'messages' ? endpoint : null;
}

type Translation = MessagesTranslation | ResponsesTranslation;

/** Anthropic clients send their key as `x-api-key`: it is the tenant key when no bearer is sent. */
function withBearer(headers: RequestInput['headers']): RequestInput['headers'] {
  if (headers === undefined) return headers;
  let apiKey: string | undefined;
  for (const name of Object.keys(headers)) {
    const lower = name.toLowerCase();
    if (lower === 'authorization' && headers[name] !== undefined) return headers;
    if (lower === 'x-api-key') {
      const v = headers[name];
      apiKey = typeof v === 'string' ? v : undefined;
    }
  }
  return apiKey === undefined ? headers : { ...headers, authorization: `Bearer ${apiKey}` };
}

/**
 * The internal request of an ingress request: its chat translation, or a refusal the pipeline
 * answers (and records) without reading the body.
 */
export function internalInput(
  api: IngressApi,
  input: RequestInput,
): { input: RequestInput; translation: Translation } {
  const translation = api === 'responses' ? responsesToChat(input.body) : messagesToChat(input.body);
  const headers = api === 'messages' ? withBearer(input.headers) : input.headers;
  const base: RequestInput = headers === input.headers ? input : { ...input, headers };
  if (input.refused !== undefined) return { input: base, translation };
  if (!translation.ok) {
    return {
      input: {
        ...base,
        refused: { code: translation.code, detail: translation.message, param: translation.param },
      },
      translation,
    };
  }
  return { input: { ...base, body: translation.chat }, translation };
}

/**
 * Translates `input`, runs it through `run` (the pipeline), and translates the answer back.
 * Never rejects when `run` does not.
 */
export async function handleIngress(
  api: IngressApi,
  input: RequestInput,
  run: (internal: RequestInput) => Promise<EngineResponse>,
): Promise<EngineResponse> {
  const { input: internal, translation } = internalInput(api, input);
  const response = await run(internal);
  if (api === 'responses') {
    const request = isRecord(input.body) ? input.body : {};
    return responsesAnswer(response, request, translation);
  }
  return messagesAnswer(response, input.requestId ?? null);
}

function isCompletion(body: unknown): body is ChatCompletion {
  return isRecord(body) && Array.isArray(body.choices);
}

function isErrorBody(body: unknown): body is { error: Record<string, unknown> } {
  return isRecord(body) && isRecord(body.error);
}

/** Whether a passed-through Response says what the (possibly guarded) chat answer says. */
function sameAnswer(a: ChatCompletion, b: ChatCompletion): boolean {
  const x = a.choices[0];
  const y = b.choices[0];
  if (x === undefined || y === undefined) return false;
  const calls = (c: typeof x) =>
    JSON.stringify((c.message.tool_calls ?? []).map((t) => [t.id, t.function.name, t.function.arguments]));
  return (
    (x.message.content ?? '') === (y.message.content ?? '') &&
    (x.message.refusal ?? null) === (y.message.refusal ?? null) &&
    calls(x) === calls(y) &&
    x.finish_reason === y.finish_reason
  );
}

function responsesAnswer(
  response: EngineResponse,
  request: Readonly<Record<string, unknown>>,
  translation: Translation,
): EngineResponse {
  if (response.kind === 'stream') {
    const writer = new ResponsesStreamWriter(request);
    return { ...response, events: translatedEvents(response.events, (frame) => writer.frame(frame)) };
  }
  const body = response.body;
  if (response.status < 300 && isCompletion(body)) {
    // A passed-through Response is returned whole (reasoning items, hosted tools' calls,
    // annotations) unless something after the provider changed the answer (an output guardrail).
    const upstream = upstreamResponseOf(body);
    if (upstream !== null && sameAnswer(chatFromResponse(upstream, String(body.model)), body)) {
      return { ...response, body: upstream };
    }
    return { ...response, body: chatToResponse(body, request) };
  }
  if (
    isErrorBody(body) &&
    body.error.code === 'no_eligible_target' &&
    translation.ok &&
    'responsesOnly' in translation &&
    translation.responsesOnly.length > 0
  ) {
    return {
      ...response,
      status: 400,
      body: errorBody(
        'unsupported_feature',
        { detail: responsesOnlyMessage(translation.responsesOnly) },
        null,
      ),
    };
  }
  return response;
}

function messagesAnswer(response: EngineResponse, requestId: string | null): EngineResponse {
  if (response.kind === 'stream') {
    const writer = new MessagesStreamWriter();
    return { ...response, events: translatedEvents(response.events, (frame) => writer.frame(frame)) };
  }
  const body = response.body;
  if (response.status < 300 && isCompletion(body)) return { ...response, body: chatToMessage(body) };
  if (isErrorBody(body)) return { ...response, body: anthropicError(response.status, body, requestId) };
  return response;
}

/**
 * The engine's frames mapped through `map`, as one iterator that hands `return()` (a client
 * leaving, a stream released unread) to the engine's own, so the upstream call is released
 * whenever the caller stops, started or not.
 */
export function translatedEvents(
  events: AsyncIterable<string>,
  map: (frame: string) => readonly string[],
): AsyncIterableIterator<string> {
  const inner = events[Symbol.asyncIterator]();
  const queue: string[] = [];
  let head = 0;
  let finished = false;
  const iterator: AsyncIterableIterator<string> = {
    async next() {
      while (head === queue.length) {
        if (finished) return { done: true, value: undefined };
        queue.length = 0;
        head = 0;
        const step = await inner.next();
        if (step.done === true) {
          finished = true;
          return { done: true, value: undefined };
        }
        queue.push(...map(step.value));
      }
      return { done: false, value: queue[head++] as string };
    },
    async return(value?: unknown) {
      finished = true;
      queue.length = 0;
      head = 0;
      await inner.return?.(value);
      return { done: true, value: undefined };
    },
    async throw(error?: unknown) {
      finished = true;
      queue.length = 0;
      head = 0;
      if (inner.throw !== undefined) await inner.throw(error);
      throw error;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
