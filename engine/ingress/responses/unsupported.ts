/**
 * What a Responses request carries that a translation cannot: the fields accepted and not
 * carried, the fields and input items only the Responses API carries, and the 400 for a request
 * that needs them when no target of its route takes Responses requests as they are. What is
 * Responses-only is listed, never dropped: `decide` routes on the list (shared/responses-only.ts).
 */
type Obj = Record<string, unknown>;

/** Accepted and not carried to a translated target (engine/ingress/responses/request.ts). */
const IGNORED_FIELDS = new Set([
  'store',
  'include',
  'stream_options',
  'max_tool_calls',
  'prompt_cache_options',
]);

/** Carried only by the Responses API when set (null or `false` is the default and translates). */
const RESPONSES_ONLY_FIELDS = new Set([
  'previous_response_id',
  'conversation',
  'prompt',
  'background',
  'context_management',
  'moderation',
]);

/** Input item types with no chat counterpart: only a Responses API target can take them. */
export const RESPONSES_ONLY_ITEMS = new Set([
  'item_reference',
  'file_search_call',
  'computer_call',
  'computer_call_output',
  'web_search_call',
  'image_generation_call',
  'code_interpreter_call',
  'local_shell_call',
  'local_shell_call_output',
  'shell_call',
  'shell_call_output',
  'apply_patch_call',
  'apply_patch_call_output',
  'mcp_list_tools',
  'mcp_approval_request',
  'mcp_approval_response',
  'mcp_call',
  'custom_tool_call',
  'custom_tool_call_output',
  'compaction',
  'compaction_trigger',
  'tool_search_call',
  'tool_search_output',
  'additional_tools',
  'program',
  'program_output',
]);

/**
 * The top-level fields of `body` only a Responses API target can carry, in the body's order: the
 * Responses-only ones when set (null, `false` and `truncation: disabled` are the defaults and
 * translate), and any field neither read (`translated`) nor accepted and not carried.
 */
export function responsesOnlyFields(body: Readonly<Obj>, translated: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const key of Object.keys(body)) {
    const value = body[key];
    if (translated.has(key) || IGNORED_FIELDS.has(key) || value === null || value === undefined) continue;
    if (RESPONSES_ONLY_FIELDS.has(key)) {
      if (value !== false) out.push(key);
    } else if (key === 'truncation') {
      if (value !== 'disabled') out.push(`truncation (${String(value)})`);
    } else out.push(key);
  }
  return out;
}

/** The 400 for a Responses-only request whose route has no target that takes it as it is. */
export function responsesOnlyMessage(parts: readonly string[]): string {
  return `This request uses what only the Responses API carries (${parts.join(', ')}), and none of the targets of the route it matched that could serve it is a provider taking Responses requests as they are (kind: openai with responses: true). Remove those parts, or route the request to such a provider.`;
}
