/**
 * Cache keys. A cache's `key` field list is compiled once into a function that writes a canonical
 * encoding of the request's values for those fields, plus what scopes them:
 *
 *   [KEY_FORMAT_VERSION, "exact", cache name, route, [[field, value] | [field] ...]]
 *
 * That text is the key itself: exact (two requests share it only when they are the same request
 * for the cache, never by a hash's chance), and cheap where it stays in the process (the memory
 * store, single flight). A store that sends keys elsewhere sends {@link hashCacheKey} of it
 * (Redis keys are the sha256 hex of the text, as they always were); a key is never logged.
 *
 * - `tenant` is always a field unless the cache is `shared: true`; it is first, whatever the
 *   declared order, and the fields are deduplicated and sorted, so `[model, tenant]` and
 *   `[tenant, model]` give the same keys.
 * - Values are encoded canonically: object keys sorted recursively (key order and the JSON text's
 *   whitespace never matter), numbers as their shortest round-trip form (1 and 1.0 are one
 *   number), an absent field (`[field]`) distinct from a JSON `null` (`[field, null]`).
 * - The cache name and the route are in the key: the answer depends on the route's targets, which
 *   the request does not carry, and two caches never read each other's entries in a shared store.
 * - With an `Idempotency-Key` header the key is only (tenant, idempotency key) within the cache:
 *   a client retrying a request gets the answer of its first try. The tenant is part of it even
 *   in a shared cache, because the client chooses the idempotency key.
 */
import { hash } from 'node:crypto';
import { canonicalJson, canonicalJsonWithout } from '../shared/canonical-json.js';
import type { RequestContext } from '../types.js';

export { canonicalJson };

/** Bumped whenever the canonical encoding changes, so old entries in a shared store are never read. */
export const KEY_FORMAT_VERSION = 1;

/** Request fields a cache key can name (the schema's `Cache.key` pattern). */
export const KEY_FIELD_PATTERN =
  /^(tenant|model|messages|temperature|top_p|max_tokens|tools|(body|header|metadata)\.[A-Za-z0-9_.-]+)$/;

/**
 * The pseudo-field used when a cache declares no `key`: the whole request body except `stream` and
 * `stream_options` (a cached answer is served either way). Keying on everything is the safe
 * default: a parameter Switchyard does not know (a provider's `thinking`, say) still splits keys.
 */
export const WHOLE_BODY_FIELD = '*body';
const TRANSPORT_ONLY_BODY_FIELDS: ReadonlySet<string> = new Set(['stream', 'stream_options']);
/**
 * The pseudo-field of a semantic cache that declares no `key`: the whole body except `messages`
 * (compared by embedding) and the transport-only fields. Every other parameter must match exactly.
 */
export const BODY_BUT_MESSAGES_FIELD = '*body-but-messages';
const NOT_PARAMS: ReadonlySet<string> = new Set([...TRANSPORT_ONLY_BODY_FIELDS, 'messages']);

/** `(ctx, route) => the exact key` (canonical text); compiled once per cache. */
export type CacheKeyFunction = (ctx: RequestContext, route: string) => string;

export interface CacheKeyOptions {
  /** The cache's name in the policy. */
  readonly cache: string;
  /** The declared `key` fields; when omitted, the whole body ({@link WHOLE_BODY_FIELD}). */
  readonly fields?: readonly string[];
  /** `shared: true` leaves the tenant out of the key (unless `tenant` is listed explicitly). */
  readonly shared?: boolean;
  /** A semantic cache's key is its partition (the prompt aside); never equal to an exact key. */
  readonly mode?: 'exact' | 'semantic';
}

/** A field's value in the request, as its canonical JSON text; {@link ABSENT} when it has none. */
type Getter = (ctx: RequestContext) => string | typeof ABSENT;

/** Marks an absent value: never produced by a request, which holds only JSON values. */
const ABSENT: unique symbol = Symbol('absent');

const hasOwn = Object.hasOwn;

function own(record: Readonly<Record<string, unknown>>, key: string): unknown {
  return hasOwn(record, key) ? record[key] : ABSENT;
}

/** {@link own}, encoded. */
function ownEncoded(record: Readonly<Record<string, unknown>>, key: string): string | typeof ABSENT {
  return hasOwn(record, key) ? canonicalJson(record[key]) : ABSENT;
}

function getter(field: string): Getter {
  switch (field) {
    // The body's canonical text without those fields, written from the body itself: the same
    // text as a copy of the rest would give (keys.test.ts holds it), without a copy per request.
    case BODY_BUT_MESSAGES_FIELD:
      return (ctx) => canonicalJsonWithout(ctx.body, NOT_PARAMS);
    case WHOLE_BODY_FIELD:
      return (ctx) => canonicalJsonWithout(ctx.body, TRANSPORT_ONLY_BODY_FIELDS);
    case 'tenant':
      return (ctx) => (ctx.tenant === null ? ABSENT : canonicalJson(ctx.tenant));
    case 'model':
      return (ctx) => (ctx.model === '' ? ABSENT : canonicalJson(ctx.model));
    case 'messages':
    case 'temperature':
    case 'top_p':
    case 'max_tokens':
    case 'tools':
      return (ctx) => ownEncoded(ctx.body, field);
  }
  const dot = field.indexOf('.');
  const scope = field.slice(0, dot);
  const name = field.slice(dot + 1);
  switch (scope) {
    case 'body':
      return (ctx) => ownEncoded(ctx.body, name);
    case 'header':
      return (ctx) => ownEncoded(ctx.headers, name);
    case 'metadata':
      return (ctx) => ownEncoded(ctx.metadata, name);
  }
  throw new Error(`unreachable: field ${field} passed validation`);
}

/** Header names are case-insensitive, so `header.X-Foo` and `header.x-foo` are one field. */
function normalizeKeyField(field: string): string {
  return field.startsWith('header.') ? `header.${field.slice(7).toLowerCase()}` : field;
}

/**
 * The sha256 hex of a key: what goes to a shared store (Redis), to logs and to error events, in
 * place of the key (whose text holds the request's values). One-shot `crypto.hash` (Node >= 20.12).
 */
export function hashCacheKey(key: string): string {
  return hash('sha256', key, 'hex');
}

/** The fields a cache keys on, in canonical order: tenant first (unless shared), then sorted. */
export function keyFields(options: Pick<CacheKeyOptions, 'fields' | 'shared' | 'mode'>): readonly string[] {
  const whole = options.mode === 'semantic' ? BODY_BUT_MESSAGES_FIELD : WHOLE_BODY_FIELD;
  const declared = new Set((options.fields ?? [whole]).map(normalizeKeyField));
  for (const field of declared) {
    if (field !== whole && !KEY_FIELD_PATTERN.test(field)) {
      throw new Error(`invalid cache key field "${field}"`);
    }
  }
  const withTenant = options.shared === true ? declared.has('tenant') : true;
  declared.delete('tenant');
  const rest = [...declared].sort();
  return Object.freeze(withTenant ? ['tenant', ...rest] : rest);
}

/**
 * Compiles a cache's key fields into a key function, once (field getters resolved, header names
 * lower-cased, fields ordered). Throws on a field the schema would have rejected.
 *
 * @example
 * const keyOf = compileCacheKey({ cache: 'faq', fields: ['model', 'messages', 'temperature'] });
 * const key = keyOf(ctx, 'chat'); // [1,"exact","faq","chat",[["tenant","acme"],["messages",...]...]]
 */
export function compileCacheKey(options: CacheKeyOptions): CacheKeyFunction {
  const fields = keyFields(options);
  const getters = fields.map(getter);
  // The constant head of the tuple, encoded once.
  const head = `[${KEY_FORMAT_VERSION},"${options.mode ?? 'exact'}",${JSON.stringify(options.cache)},`;
  const names = fields.map((f) => JSON.stringify(f));
  return (ctx, route) => {
    let text = head + JSON.stringify(route) + ',[';
    for (let i = 0; i < getters.length; i++) {
      const v = getters[i](ctx);
      text += (i > 0 ? ',[' : '[') + names[i] + (v === ABSENT ? ']' : ',' + v + ']');
    }
    return text + ']]';
  };
}

/**
 * The key of an idempotent request: (tenant, idempotency key) within the cache, whatever the
 * declared fields, the route or `shared`.
 */
export function idempotentCacheKey(cache: string, tenant: string | null, idempotencyKey: string): string {
  return canonicalJson([KEY_FORMAT_VERSION, 'idempotency', cache, tenant, idempotencyKey]);
}

// ---------------------------------------------------------------------------------------------
// Request directives

export const IDEMPOTENCY_HEADER = 'idempotency-key';

/** What the request allows the cache to do. */
export interface CacheDirectives {
  /** False with `Cache-Control: no-cache`: go upstream, but the fresh answer may be stored. */
  readonly read: boolean;
  /** False with `Cache-Control: no-store`: never store this answer. */
  readonly write: boolean;
  /** The `Idempotency-Key` header (trimmed), or null when absent or blank. */
  readonly idempotencyKey: string | null;
}

const DEFAULT_DIRECTIVES: CacheDirectives = Object.freeze({ read: true, write: true, idempotencyKey: null });

/**
 * Reads the request's cache directives. `Cache-Control` is a comma-separated, case-insensitive
 * list (RFC 9111 §5.2.1); directives this cache does not act on (`max-age`, ...) are ignored.
 * `no-store` does not stop a read: it forbids storing, not serving (RFC 9111 §5.2.1.5).
 *
 * @example
 * cacheDirectives(ctx) // { read: false, write: true, idempotencyKey: null } for `no-cache`
 */
export function cacheDirectives(ctx: Pick<RequestContext, 'headers'>): CacheDirectives {
  const control = own(ctx.headers, 'cache-control');
  const idem = own(ctx.headers, IDEMPOTENCY_HEADER);
  if (control === ABSENT && idem === ABSENT) return DEFAULT_DIRECTIVES;
  let read = true;
  let write = true;
  if (typeof control === 'string') {
    for (const part of control.split(',')) {
      const directive = part.trim().toLowerCase();
      if (directive === 'no-cache') read = false;
      else if (directive === 'no-store') write = false;
    }
  }
  const trimmed = typeof idem === 'string' ? idem.trim() : '';
  return { read, write, idempotencyKey: trimmed === '' ? null : trimmed };
}

/**
 * The key under which the request reads and writes: the idempotency key when the request has one,
 * else the cache's key function.
 */
export function requestCacheKey(
  keyOf: CacheKeyFunction,
  cache: string,
  ctx: RequestContext,
  route: string,
  directives: CacheDirectives = cacheDirectives(ctx),
): string {
  return directives.idempotencyKey === null
    ? keyOf(ctx, route)
    : idempotentCacheKey(cache, ctx.tenant, directives.idempotencyKey);
}
