/**
 * The semantic cache's vector index: in process memory, one per semantic cache definition and
 * replica, bounded by entries and by bytes (least recently used first out), entries expiring on
 * the Clock time each call passes in (as the cache stores do, so virtual time in tests and
 * `replay` is the only time).
 *
 * Entries live in *partitions*, one per (tenant, the cache's other key fields, route): a search
 * only ever scans the request's own partition, so an answer can never cross tenants or parameter
 * sets, whatever the vectors.
 *
 * Why exact search over Float32Array and not an ANN library: of the candidates on npm, `vectra`
 * pulls in gRPC, OpenAI and an HTML parser; `hnswlib-node` and `faiss-node` build native code
 * with node-gyp (faiss-node even clones its sources at install); `usearch` ships prebuilt
 * binaries for glibc Linux, macOS and Windows but none for musl (Alpine images would fall back to
 * a network build). An approximate index would also blur the guarantees this cache states: a hit
 * is the best stored vector of the partition, at or above the threshold, and an evicted or
 * expired entry is gone at once (HNSW deletions are lazy, its memory opaque to a byte bound).
 * Exact search is linear in the partition's size: `npm run bench:semantic-cache` prints how
 * lookup time grows with entries (docs/semantic-cache.md).
 *
 * Vectors are stored unit-length, so cosine similarity is a dot product. Answers are kept
 * serialised, so a hit is a fresh object that a caller may mutate. The byte bound counts each
 * entry's vector, serialised answer and an estimated overhead; a partition's slab may hold up to
 * as many unused rows as used ones on top (see `Partition`).
 */
import { LRUCache } from 'lru-cache';
import type { CachedAnswer } from './store.js';

export interface SemanticIndexOptions {
  /** Most entries kept, all partitions together; default 10 000. */
  readonly maxEntries?: number;
  /** Most bytes kept (vectors and serialised answers); also the largest entry. Default 64 MiB. */
  readonly maxSizeBytes?: number;
}

export interface SemanticHit {
  readonly answer: CachedAnswer;
  /** Cosine similarity of the request's vector and the entry's, in [-1, 1]. */
  readonly similarity: number;
  /** The request id of the request whose answer the entry stored; null when none was given. */
  readonly source: string | null;
}

interface Entry {
  readonly id: number;
  readonly partition: Partition;
  readonly expiresAt: number;
  readonly json: string;
  readonly source: string | null;
  /** Position in `partition.entries` and row in its slab (swap-removal keeps it current). */
  slot: number;
}

/**
 * One partition's entries and their vectors, row `i` of `slab` being `entries[i]`'s vector: one
 * contiguous Float32Array scans about three times faster than an array of small ones. The slab
 * doubles when full and halves when a quarter full, so its unused rows are at most the used ones.
 */
interface Partition {
  readonly key: string;
  readonly dimensions: number;
  readonly entries: Entry[];
  slab: Float32Array;
}

const MIN_ROWS = 16;

/** Bookkeeping per entry besides its vector and answer (object headers, map slots), estimated. */
const ENTRY_OVERHEAD_BYTES = 160;

/**
 * The vector scaled to unit length, as a new Float32Array; null when it has no direction (all
 * zeros) or holds a non-finite component.
 */
export function normalizeVector(values: ArrayLike<number>): Float32Array | null {
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) return null;
    sum += v * v;
  }
  if (!(sum > 0) || !Number.isFinite(sum)) return null;
  const norm = Math.sqrt(sum);
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i] / norm;
  return out;
}

/** The dot product of two vectors of one length (cosine similarity for unit vectors), clamped. */
export function similarity(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i] * b[i];
  // Float32 rounding can step just outside [-1, 1].
  return Math.min(1, Math.max(-1, dot));
}

export class SemanticIndex {
  readonly #lru: LRUCache<number, Entry>;
  readonly #partitions = new Map<string, Partition>();
  #nextId = 1;

  constructor(options: SemanticIndexOptions = {}) {
    this.#lru = new LRUCache<number, Entry>({
      max: options.maxEntries ?? 10_000,
      maxSize: options.maxSizeBytes ?? 64 * 1024 * 1024,
      // Every way out of the LRU (eviction by either bound, delete, clear) leaves the partition too.
      dispose: (entry) => this.#unlink(entry),
    });
  }

  /** Entries held, expired ones not yet reclaimed included. */
  get size(): number {
    return this.#lru.size;
  }

  /** Bytes held, as the byte bound counts them. */
  get bytes(): number {
    return this.#lru.calculatedSize;
  }

  /** Partitions with at least one entry. */
  get partitions(): number {
    return this.#partitions.size;
  }

  /** The size an entry of this vector, answer and source request id counts for. */
  static entryBytes(dimensions: number, json: string, source: string | null = null): number {
    return (
      dimensions * 4 +
      Buffer.byteLength(json) +
      (source === null ? 0 : source.length * 2) +
      ENTRY_OVERHEAD_BYTES
    );
  }

  /**
   * The most similar live entry of `partition` whose similarity is at least `threshold`, or
   * undefined. `vector` must be unit length; entries of another length never match. Expired
   * entries met on the way are dropped.
   */
  search(partition: string, vector: Float32Array, threshold: number, now: number): SemanticHit | undefined {
    const p = this.#partitions.get(partition);
    if (p === undefined || p.dimensions !== vector.length) return undefined;
    const { entries, slab, dimensions } = p;
    let best: Entry | null = null;
    let bestSimilarity = -2;
    let expired: Entry[] | null = null;
    for (let row = 0; row < entries.length; row++) {
      const entry = entries[row];
      if (!(now < entry.expiresAt)) {
        if (expired === null) expired = [];
        expired.push(entry);
        continue;
      }
      // Four accumulators: independent additions the CPU can overlap.
      const offset = row * dimensions;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let d = 0;
      for (; d + 3 < dimensions; d += 4) {
        s0 += vector[d] * slab[offset + d];
        s1 += vector[d + 1] * slab[offset + d + 1];
        s2 += vector[d + 2] * slab[offset + d + 2];
        s3 += vector[d + 3] * slab[offset + d + 3];
      }
      for (; d < dimensions; d++) s0 += vector[d] * slab[offset + d];
      const s = s0 + s1 + s2 + s3;
      if (s > bestSimilarity) {
        best = entry;
        bestSimilarity = s;
      }
    }
    if (expired !== null) for (const entry of expired) this.#lru.delete(entry.id);
    // Float32 rounding can step just outside [-1, 1].
    bestSimilarity = Math.min(1, Math.max(-1, bestSimilarity));
    if (best === null || !(bestSimilarity >= threshold)) return undefined;
    this.#lru.get(best.id); // most recently used
    return { answer: JSON.parse(best.json) as CachedAnswer, similarity: bestSimilarity, source: best.source };
  }

  /**
   * Stores `answer` under `vector` in `partition` until `now + ttlMs` (exclusive); true when it
   * was stored. `source` is the request id of the request whose answer it is (given back with a
   * hit, for the recording; its bytes count). A non-positive or non-finite ttl, a vector that is
   * not unit length, or an entry larger than the byte bound stores nothing.
   */
  add(
    partition: string,
    vector: Float32Array,
    answer: CachedAnswer,
    ttlMs: number,
    now: number,
    source: string | null = null,
  ): boolean {
    if (!(Number.isFinite(ttlMs) && ttlMs > 0) || vector.length === 0) return false;
    let norm = 0;
    for (let i = 0; i < vector.length; i++) norm += vector[i] * vector[i];
    if (!(Math.abs(norm - 1) < 1e-3)) return false;
    const json = JSON.stringify(answer);
    let p = this.#partitions.get(partition);
    if (p === undefined) {
      p = {
        key: partition,
        dimensions: vector.length,
        entries: [],
        slab: new Float32Array(MIN_ROWS * vector.length),
      };
      this.#partitions.set(partition, p);
    } else if (p.dimensions !== vector.length) {
      return false; // the embedding model changed its dimensions under one partition
    }
    const entry: Entry = {
      id: this.#nextId++,
      partition: p,
      expiresAt: now + ttlMs,
      json,
      source,
      slot: p.entries.length,
    };
    if ((entry.slot + 1) * p.dimensions > p.slab.length) {
      const grown = new Float32Array(p.slab.length * 2);
      grown.set(p.slab);
      p.slab = grown;
    }
    p.slab.set(vector, entry.slot * p.dimensions);
    p.entries.push(entry);
    // lru-cache refuses an entry larger than maxSize (without calling dispose for it).
    this.#lru.set(entry.id, entry, { size: SemanticIndex.entryBytes(vector.length, json, source) });
    if (this.#lru.has(entry.id)) return true;
    this.#unlink(entry);
    return false;
  }

  /** Drops every entry expired at `now`; returns how many. */
  prune(now: number): number {
    const expired: number[] = [];
    for (const [id, entry] of this.#lru.entries()) if (!(now < entry.expiresAt)) expired.push(id);
    for (const id of expired) this.#lru.delete(id);
    return expired.length;
  }

  clear(): void {
    this.#lru.clear();
    this.#partitions.clear();
  }

  #unlink(entry: Entry): void {
    const p = entry.partition;
    const entries = p.entries;
    if (entries[entry.slot] !== entry) return; // already unlinked
    const last = entries.pop() as Entry;
    if (last !== entry) {
      entries[entry.slot] = last;
      const d = p.dimensions;
      p.slab.copyWithin(entry.slot * d, last.slot * d, (last.slot + 1) * d);
      last.slot = entry.slot;
    }
    if (entries.length === 0) {
      if (this.#partitions.get(p.key) === p) this.#partitions.delete(p.key);
      return;
    }
    const rows = p.slab.length / p.dimensions;
    if (rows > MIN_ROWS && entries.length <= rows / 4) p.slab = p.slab.slice(0, (rows / 2) * p.dimensions);
  }
}

/**
 * @example
 * const index = createSemanticIndex({ maxEntries: 50_000, maxSizeBytes: 256 * 1024 * 1024 });
 * index.add(partition, vector, answer, 3_600_000, clock.now());
 * index.search(partition, vector, 0.95, clock.now()); // { answer, similarity: 1 }
 */
export function createSemanticIndex(options?: SemanticIndexOptions): SemanticIndex {
  return new SemanticIndex(options);
}
