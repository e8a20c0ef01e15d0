/**
 * normalize: an HTTP-ish request ({@link RequestInput}) becomes the {@link RequestContext} that
 * `decide` and the runtime read. Everything a `when` can test is computed here once; the body is
 * referenced, never copied.
 *
 * - headers: names lower-cased, repeated values joined with ', '.
 * - path: defaults to `/v1/chat/completions`; a query string is not part of it. The endpoint is
 *   `embeddings` when the path ends in `/embeddings`, else `chat`.
 * - tenant: `Authorization: Bearer <key>` looked up among the policy's tenant keys; an unknown or
 *   missing key gives tenant null and no labels (the server refuses it when tenants are declared).
 * - metadata: the `x-switchyard-metadata` header (a JSON object) overlaid by the body's `metadata`
 *   object; strings kept, numbers and booleans stringified, objects as JSON, nulls dropped.
 * - inputChars: the text of the messages (or of the embeddings `input`); inputTokens estimates
 *   ceil(chars / 4) plus 4 per chat message.
 * - seed: `x-switchyard-seed` (an unsigned 32-bit integer) or the random port's draw.
 */
import type { CompiledPolicy } from './compile/compile.js';
import { isRecord } from './shared/guards.js';
import type { Endpoint, RequestContext, RequestInput } from './types.js';

export const DEFAULT_PATH = '/v1/chat/completions';
export const METADATA_HEADER = 'x-switchyard-metadata';
export const SEED_HEADER = 'x-switchyard-seed';

/** Tokens added per chat message for role and framing in the estimate. */
const TOKENS_PER_MESSAGE = 4;

export type CreateContextResult =
  | { ok: true; context: RequestContext }
  | {
      ok: false;
      status: 400;
      code: 'invalid_request' | 'invalid_metadata' | 'invalid_seed';
      message: string;
    };

const hasOwn = Object.hasOwn;

function fail(
  code: Extract<CreateContextResult, { ok: false }>['code'],
  message: string,
): CreateContextResult {
  return { ok: false, status: 400, code, message };
}

function normalizeHeaders(raw: RequestInput['headers']): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  if (raw === undefined || raw === null) return out;
  for (const name of Object.keys(raw)) {
    const v = raw[name];
    let value: string;
    if (typeof v === 'string') value = v;
    else if (Array.isArray(v)) value = v.filter((x) => typeof x === 'string').join(', ');
    else continue;
    const key = name.toLowerCase();
    out[key] = hasOwn(out, key) ? `${out[key]}, ${value}` : value;
  }
  return out;
}

/** The request's path without its query string; `/v1/chat/completions` when absent. */
export function requestPath(input: RequestInput): string {
  const path = typeof input.path === 'string' && input.path !== '' ? input.path : DEFAULT_PATH;
  const q = path.indexOf('?');
  return q >= 0 ? path.slice(0, q) : path;
}

/** `embeddings` when the path ends in `/embeddings`, else `chat`. */
export function endpointOf(path: string): Endpoint {
  return path.endsWith('/embeddings') ? 'embeddings' : 'chat';
}

/**
 * The context of a request refused before its context could be built (a malformed body or
 * header): what the recording keeps of it. Nothing of a malformed body is kept.
 */
export function rejectedContext(input: RequestInput): RequestContext {
  const path = requestPath(input);
  const body = isRecord(input.body) ? input.body : {};
  return {
    path,
    endpoint: endpointOf(path),
    model: typeof body.model === 'string' ? body.model : '',
    body: {},
    headers: normalizeHeaders(input.headers),
    tenant: null,
    labels: EMPTY_LABELS,
    metadata: {},
    stream: false,
    tools: false,
    inputTokens: 0,
    inputChars: 0,
    seed: 0,
  };
}

function metadataValue(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null || v === undefined) return undefined;
  return JSON.stringify(v);
}

function mergeMetadata(into: Record<string, string>, source: Record<string, unknown>): void {
  for (const key of Object.keys(source)) {
    const v = metadataValue(source[key]);
    if (v !== undefined) into[key] = v;
  }
}

/** Characters of text in one message `content` (a string or an array of parts). */
export function contentChars(content: unknown): number {
  if (typeof content === 'string') return content.length;
  if (!Array.isArray(content)) return 0;
  let n = 0;
  for (const part of content) {
    if (typeof part === 'string') n += part.length;
    else if (isRecord(part) && typeof part.text === 'string') n += part.text.length;
  }
  return n;
}

function measureInput(body: Record<string, unknown>, endpoint: Endpoint): { chars: number; tokens: number } {
  let chars = 0;
  let overhead = 0;
  if (endpoint === 'embeddings') {
    const input = body.input;
    if (typeof input === 'string') chars = input.length;
    else if (Array.isArray(input))
      for (const item of input) if (typeof item === 'string') chars += item.length;
  } else {
    const messages = body.messages;
    if (Array.isArray(messages)) {
      for (const m of messages) {
        overhead += TOKENS_PER_MESSAGE;
        if (isRecord(m)) chars += contentChars(m.content);
      }
    }
  }
  return { chars, tokens: Math.ceil(chars / 4) + overhead };
}

export function bearerKey(authorization: string | undefined): string | null {
  if (authorization === undefined) return null;
  const m = /^\s*bearer\s+(\S+)\s*$/i.exec(authorization);
  return m === null ? null : m[1];
}

const EMPTY_LABELS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * Builds the request context for `policy`, or a 400 for a malformed body, metadata header or seed.
 * Never throws.
 *
 * @example
 * const r = createContext(compiled, { body: { model: 'gpt-5', messages } }, Math.random);
 * if (r.ok) decide(compiled, r.context);
 */
export function createContext(
  policy: CompiledPolicy,
  input: RequestInput,
  random: () => number,
): CreateContextResult {
  const body = input.body;
  if (!isRecord(body)) return fail('invalid_request', 'The request body must be a JSON object');
  const headers = normalizeHeaders(input.headers);
  const path = requestPath(input);
  const endpoint = endpointOf(path);

  const metadata: Record<string, string> = Object.create(null);
  const metaHeader = headers[METADATA_HEADER];
  if (metaHeader !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(metaHeader);
    } catch {
      return fail('invalid_metadata', `The ${METADATA_HEADER} header must be a JSON object`);
    }
    if (!isRecord(parsed))
      return fail('invalid_metadata', `The ${METADATA_HEADER} header must be a JSON object`);
    mergeMetadata(metadata, parsed);
  }
  const bodyMeta = body.metadata;
  if (bodyMeta !== undefined && bodyMeta !== null) {
    if (!isRecord(bodyMeta)) return fail('invalid_metadata', 'The body field "metadata" must be an object');
    mergeMetadata(metadata, bodyMeta);
  }

  let seed: number;
  const seedHeader = headers[SEED_HEADER];
  if (seedHeader !== undefined) {
    const text = seedHeader.trim();
    const n = /^[0-9]{1,10}$/.test(text) ? Number(text) : Number.NaN;
    if (!(n <= 0xffffffff)) {
      return fail('invalid_seed', `The ${SEED_HEADER} header must be an unsigned 32-bit integer`);
    }
    seed = n;
  } else {
    seed = Math.floor(random() * 4294967296) >>> 0;
  }

  const key = bearerKey(headers.authorization);
  const tenant = key === null ? undefined : policy.tenantsByKey.get(key);

  const { chars, tokens } = measureInput(body, endpoint);
  const tools =
    (Array.isArray(body.tools) && body.tools.length > 0) ||
    (Array.isArray(body.functions) && body.functions.length > 0);

  const context: RequestContext = {
    path,
    endpoint,
    model: typeof body.model === 'string' ? body.model : '',
    body,
    headers,
    tenant: tenant === undefined ? null : tenant.name,
    labels: tenant === undefined ? EMPTY_LABELS : tenant.labels,
    metadata,
    // Only chat completions stream; `stream: true` on embeddings is ignored (a JSON answer).
    stream: endpoint === 'chat' && body.stream === true,
    tools,
    inputTokens: tokens,
    inputChars: chars,
    seed,
  };
  return { ok: true, context };
}

/** Whether the request carries image content (a message part of type `image_url`, `image` or `input_image`). */
export function hasImageContent(body: Readonly<Record<string, unknown>>): boolean {
  const messages = body.messages;
  if (!Array.isArray(messages)) return false;
  for (const m of messages) {
    if (!isRecord(m) || !Array.isArray(m.content)) continue;
    for (const part of m.content) {
      if (
        isRecord(part) &&
        (part.type === 'image_url' || part.type === 'image' || part.type === 'input_image')
      ) {
        return true;
      }
    }
  }
  return false;
}
