/**
 * OpenAI's Responses API on the upstream side: a `/v1/responses` request passed through to a
 * provider that serves it (`responses: true`), with the upstream's answer (a Response object or
 * its typed event stream) read back into the chat shapes the rest of the engine works on, so
 * guardrails, the cache, limits and accounting see it like any other answer. The caller's side
 * (a Responses request in, a Response out) is engine/ingress/responses.ts.
 *
 * The request that goes upstream is the caller's own, untouched but for `model` and `stream`. It
 * travels from the ingress to here attached to the translated chat body under a symbol
 * ({@link attachResponsesRequest}); when an input guardrail has rewritten the chat body (a
 * redaction), the attachment no longer belongs to it, and the request is rebuilt from the
 * rewritten chat body ({@link chatToResponsesRequest}) with the caller's settings and tools, so a
 * redaction is never undone by the passthrough.
 *
 * Wire formats: the `openai` SDK's `resources/responses/responses.d.ts` and OpenAI's OpenAPI
 * spec (`Response`, `ResponseUsage`, the `Response*Event` schemas).
 *
 * This file makes the call; the parts: openai-responses-request.ts (what goes upstream),
 * openai-responses-response.ts (a Response → chat) and openai-responses-stream.ts (its events →
 * chat chunks).
 */
import type { Clock } from '../shared/clock.js';
import { needsResponsesApi } from '../shared/responses-only.js';
import { providerError } from './classify.js';
import { responsesRequestOf, responsesUpstreamBody, responsesUrl } from './openai-responses-request.js';
import { chatFromResponse, keepUpstreamResponse } from './openai-responses-response.js';
import { ResponsesStreamTranslator } from './openai-responses-stream.js';
import type { Scrubber } from './scrub.js';
import { translatedAnswer } from './stream-translator.js';
import type { Transport } from './transport.js';
import type { ProviderCallRequest, ProviderCallResult, ProviderErrorBody, ProviderSpec } from './types.js';
import { httpFailure, isSuccess, post } from './upstream.js';

export {
  attachResponsesRequest,
  chatMessagesToInput,
  chatToResponsesRequest,
  responsesRequestOf,
  responsesUpstreamBody,
  responsesUrl,
  SHARED_FIELDS,
} from './openai-responses-request.js';
export { chatFromResponse, chatUsageFromResponses, upstreamResponseOf } from './openai-responses-response.js';
export { ResponsesStreamTranslator } from './openai-responses-stream.js';

type Obj = Record<string, unknown>;

export interface ResponsesCallOptions {
  readonly transport: Transport;
  readonly clock: Clock;
  readonly scrubber: Scrubber;
  readonly headers: Record<string, string>;
  /** The upstream's own error body when it has the OpenAI shape (openai.ts). */
  readonly ownErrorBody: (text: string) => ProviderErrorBody | null;
}

/** Whether a chat-shaped call is a `/v1/responses` request this provider takes as it is. */
export function isResponsesPassthrough(spec: ProviderSpec, req: ProviderCallRequest): boolean {
  return (
    spec.responses === true &&
    req.endpoint === 'chat' &&
    (responsesRequestOf(req.body) !== null || needsResponsesApi(req.body))
  );
}

/**
 * `POST {baseUrl}/responses` with the caller's request; the answer read back into chat shapes
 * (the JSON Response is kept beside its translation for the ingress: {@link upstreamResponseOf}).
 */
export async function callResponses(
  spec: ProviderSpec,
  req: ProviderCallRequest,
  options: ResponsesCallOptions,
): Promise<ProviderCallResult> {
  const built = responsesUpstreamBody(req);
  if (!built.ok) return { ok: false, error: providerError('bad_request', built.message) };
  const sent = await post(
    options.transport,
    spec,
    req,
    responsesUrl(spec),
    options.headers,
    JSON.stringify(built.body),
  );
  if (!sent.ok) return sent;
  const { res } = sent;
  if (!isSuccess(res.status)) {
    return {
      ok: false,
      error: await httpFailure(res, req, options.scrubber, options.clock, options.ownErrorBody),
    };
  }
  return translatedAnswer(
    res,
    req,
    {
      translator: () => new ResponsesStreamTranslator(req.upstreamModel),
      parse: (value) => {
        const body = chatFromResponse(value, req.upstreamModel);
        keepUpstreamResponse(body, value as Obj);
        return body;
      },
      what: 'a Response object',
    },
    options.scrubber,
  );
}
