/**
 * The in-process cache store: an LRU (lru-cache) bounded by entry count and by bytes, where an
 * entry's size is the UTF-8 length of its serialised answer plus the length of its key (an exact
 * key is the request's canonical text, keys.ts).
 *
 * Expiry is checked against the `now` each call passes in, never lru-cache's own clock: lru-cache's
 * TTL is not used at all, so virtual time is the only time. An expired entry is dropped when it is
 * read (or by `prune`); until then it only occupies an LRU slot, which the bounds reclaim.
 *
 * An answer is stored as a deep-frozen copy, made once when it is stored (its serialised length is
 * its size): `get` hands out a fresh copy, so a caller that mutates what it got (an output
 * guardrail redacting, say) can never corrupt the entry for the next caller, and `getShared`
 * hands out the frozen entry itself to the cache stage, which serves a hit without parsing or
 * copying what it only reads (a stream's frames) and copies what it hands over (a JSON body).
 */
import { LRUCache } from 'lru-cache';
import { copyJson, freezeJson } from './answer.js';
import { type CachedAnswer, type CacheStore, isStorableTtl } from './store.js';

export interface MemoryCacheStoreOptions {
  /** Most entries kept; default 10 000. */
  readonly maxEntries?: number;
  /** Most bytes kept, all entries together; also the largest single entry. Default 64 MiB. */
  readonly maxSizeBytes?: number;
}

interface Entry {
  readonly expiresAt: number;
  /** Deep-frozen, never handed out by `get` (a copy is). */
  readonly answer: CachedAnswer;
}

export class MemoryCacheStore implements CacheStore {
  readonly #lru: LRUCache<string, Entry>;

  constructor(options: MemoryCacheStoreOptions = {}) {
    this.#lru = new LRUCache<string, Entry>({
      max: options.maxEntries ?? 10_000,
      maxSize: options.maxSizeBytes ?? 64 * 1024 * 1024,
    });
  }

  /** Entries held, expired ones not yet reclaimed included. */
  get size(): number {
    return this.#lru.size;
  }

  /** Bytes held. */
  get bytes(): number {
    return this.#lru.calculatedSize;
  }

  async get(key: string, now: number): Promise<CachedAnswer | undefined> {
    const answer = this.getShared(key, now);
    return answer === undefined ? undefined : copyJson(answer);
  }

  /** The entry itself, deep-frozen and shared by every reader, without a promise (the hot path's read). */
  getShared(key: string, now: number): CachedAnswer | undefined {
    const entry = this.#lru.get(key);
    if (entry === undefined) return undefined;
    if (!(now < entry.expiresAt)) {
      this.#lru.delete(key);
      return undefined;
    }
    return entry.answer;
  }

  async set(key: string, value: CachedAnswer, ttlMs: number, now: number): Promise<boolean> {
    if (!isStorableTtl(ttlMs)) {
      this.#lru.delete(key);
      return false;
    }
    const json = JSON.stringify(value);
    // The copy the store keeps, read back from the JSON (what a hit was always served: no
    // `undefined` fields, no class instances): the caller's objects stay the caller's, unfrozen.
    const answer = freezeJson(JSON.parse(json) as CachedAnswer);
    // lru-cache refuses (and drops the old entry) when the size exceeds maxSize.
    // The key counts too: it is the request's canonical text (keys.ts), as long as its prompt.
    const size = Math.max(1, Buffer.byteLength(json) + key.length);
    this.#lru.set(key, { expiresAt: now + ttlMs, answer }, { size });
    return this.#lru.has(key);
  }

  async delete(key: string): Promise<void> {
    this.#lru.delete(key);
  }

  /** Drops every entry expired at `now`; returns how many. */
  prune(now: number): number {
    const expired: string[] = [];
    for (const [key, entry] of this.#lru.entries()) if (!(now < entry.expiresAt)) expired.push(key);
    for (const key of expired) this.#lru.delete(key);
    return expired.length;
  }

  async close(): Promise<void> {
    this.#lru.clear();
  }
}

/**
 * @example
 * const store = createMemoryCacheStore({ maxEntries: 50_000, maxSizeBytes: 256 * 1024 * 1024 });
 * await store.set(key, answer, 60_000, clock.now());
 */
export function createMemoryCacheStore(options?: MemoryCacheStoreOptions): MemoryCacheStore {
  return new MemoryCacheStore(options);
}
