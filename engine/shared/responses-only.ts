/**
 * The mark a `/v1/responses` request carries, once translated to the engine's internal chat
 * shape (engine/ingress/responses.ts), when it uses what chat completions cannot express (a
 * hosted tool, `previous_response_id`, an item reference, ...): the list of those parts, under
 * one reserved body key. `decide` routes such a request only to targets whose provider serves
 * the Responses API (they get the original request); the key is never sent upstream, and a
 * recording keeps it, so replay routes the request as it was routed.
 */

/** The reserved key of the internal chat body: the request's Responses-only parts, by field. */
export const RESPONSES_ONLY_KEY = 'switchyard_responses_only';

/** The Responses-only parts a translated request uses (empty: none, or not a Responses request). */
export function responsesOnlyParts(body: Readonly<Record<string, unknown>>): readonly string[] {
  const parts = body[RESPONSES_ONLY_KEY];
  return Array.isArray(parts) ? parts.filter((p): p is string => typeof p === 'string') : [];
}

/** Whether the request needs a provider serving the Responses API (cheap: one property read). */
export function needsResponsesApi(body: Readonly<Record<string, unknown>>): boolean {
  const parts = body[RESPONSES_ONLY_KEY];
  return Array.isArray(parts) && parts.length > 0;
}
