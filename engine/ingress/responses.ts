/**
 * OpenAI's Responses API at the engine's edge (`POST /v1/responses`): a Responses request is
 * translated once into the engine's internal chat completion request, and the chat answer (JSON
 * or chunks) back into a Response object or its typed event stream. Pure functions and one
 * stream writer; no I/O. The upstream side of a request passed through as it is (a provider with
 * `responses: true`) is engine/providers/openai-responses.ts.
 *
 * The parts: request.ts (Responses → chat, with input.ts for the input items and unsupported.ts
 * for what cannot be translated), answer.ts (chat → Response) and stream.ts (chat chunks → the
 * typed event stream), under responses/. What translates is request.ts's comment;
 * `docs/ingress.md` is the user's table.
 */
export { chatToResponse, responseId, responsesUsage } from './responses/answer.js';
export { type ResponsesTranslation, responsesToChat } from './responses/request.js';
export { ResponsesStreamWriter } from './responses/stream.js';
export { responsesOnlyMessage } from './responses/unsupported.js';
