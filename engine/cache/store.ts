/**
 * The cache store port: where answers live between requests. Every implementation (memory, Redis)
 * passes the shared conformance suite in `test/unit/cache/store-suite.ts`.
 *
 * Time is the caller's: `now` comes from the engine's Clock port on every call, so entries expire
 * on virtual time in tests and `replay` exactly as on the wall clock in production. A store never
 * returns an entry at or past `now(set) + ttlMs`, whether or not its backend has evicted it yet.
 * A store never throws into the request path: backend failures are misses (and no-op writes).
 */
import { isRecord } from '../shared/guards.js';
import type { Usage } from '../types.js';

/** A complete, successful answer as the cache keeps it. */
export interface CachedAnswer {
  /** The OpenAI `chat.completion` (or embeddings list) JSON body, as served. */
  readonly body: unknown;
  /** The model that answered (the body's `model`). */
  readonly model: string;
  readonly usage: Usage | null;
  /** When the answer was stored (Clock time, milliseconds). */
  readonly storedAt: number;
  /** The policy model (target) that served it. */
  readonly target: string;
}

export interface CacheStore {
  /** The entry under `key`, or undefined when absent, expired at `now`, or the backend failed. */
  get(key: string, now: number): Promise<CachedAnswer | undefined>;
  /**
   * Optional, for a store whose entries are in this process: the entry `get` would copy, at once
   * (no promise) and itself (no copy), deep-frozen and shared by every reader, under the same
   * freshness rule. The cache stage reads it without an await and copies only what it hands on.
   */
  getShared?(key: string, now: number): CachedAnswer | undefined;
  /**
   * Stores `value` under `key` until `now + ttlMs` (exclusive); true when it was stored. A
   * non-positive or non-finite ttl, a value over the store's size bound, or a failing backend
   * stores nothing (false; the first two also drop an older entry). Never rejects.
   */
  set(key: string, value: CachedAnswer, ttlMs: number, now: number): Promise<boolean>;
  delete(key: string): Promise<void>;
  /** Releases connections and memory; the store is unusable afterwards. */
  close(): Promise<void>;
}

/** What a store reports when its backend fails; the request carries on as a miss. */
export interface CacheStoreError {
  readonly op: 'get' | 'set' | 'delete' | 'connect';
  /** The hash of the cache key involved (never the key, which holds request values); absent for connection errors. */
  readonly key?: string;
  readonly error: unknown;
}

export type CacheStoreErrorHandler = (event: CacheStoreError) => void;

/** The stored envelope: the answer and the instant it stops being served. */
export interface CacheEnvelope {
  /** Envelope format version; an unknown version reads as a miss. */
  readonly v: 1;
  readonly expiresAt: number;
  readonly answer: CachedAnswer;
}

function isUsage(value: unknown): value is Usage {
  return (
    isRecord(value) &&
    typeof value.promptTokens === 'number' &&
    typeof value.completionTokens === 'number' &&
    typeof value.totalTokens === 'number'
  );
}

/** Whether `value` is a well-formed cached answer (a foreign or corrupt entry reads as a miss). */
export function isCachedAnswer(value: unknown): value is CachedAnswer {
  return (
    isRecord(value) &&
    'body' in value &&
    typeof value.model === 'string' &&
    (value.usage === null || isUsage(value.usage)) &&
    typeof value.storedAt === 'number' &&
    typeof value.target === 'string'
  );
}

/** Serialises an entry; its length is the entry's size for the stores' byte bounds. */
export function encodeEnvelope(answer: CachedAnswer, expiresAt: number): string {
  const envelope: CacheEnvelope = { v: 1, expiresAt, answer };
  return JSON.stringify(envelope);
}

/** Parses an entry and checks it against `now`; undefined when corrupt, foreign or expired. */
export function decodeEnvelope(text: string, now: number): CachedAnswer | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(parsed) || parsed.v !== 1 || typeof parsed.expiresAt !== 'number') return undefined;
  if (!(now < parsed.expiresAt)) return undefined;
  return isCachedAnswer(parsed.answer) ? parsed.answer : undefined;
}

/** Whether a ttl can store anything. */
export function isStorableTtl(ttlMs: number): boolean {
  return Number.isFinite(ttlMs) && ttlMs > 0;
}
