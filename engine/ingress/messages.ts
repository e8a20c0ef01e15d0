/**
 * Anthropic's Messages API at the engine's edge (`POST /v1/messages`), so Anthropic SDK clients
 * and coding agents can use the gateway whatever provider serves them: a Messages request is
 * translated once into the engine's internal chat completion request, and the chat answer (JSON
 * or chunks) back into a Message or its event stream (`message_start`, `ping`,
 * `content_block_start` / `_delta` / `_stop` per block, `message_delta` with the stop reason
 * and usage, `message_stop`). An Anthropic provider then turns the chat request back into a
 * Messages request (engine/providers/anthropic-request.ts): the two translations are each
 * other's inverse on what both APIs carry (the round-trip properties in test/property/ingress).
 *
 * The parts, under messages/: request.ts (Messages → chat, with content.ts for the messages and
 * unsupported.ts for what cannot be translated; what translates is its comment, `docs/ingress.md`
 * the user's table), answer.ts (chat → Message, error bodies) and stream.ts (chat chunks → the
 * event stream).
 */
export {
  anthropicError,
  anthropicUsage,
  chatToMessage,
  messageId,
  STOP_REASONS,
  stopReason,
} from './messages/answer.js';
export { type MessagesTranslation, messagesToChat } from './messages/request.js';
export { MessagesStreamWriter } from './messages/stream.js';
