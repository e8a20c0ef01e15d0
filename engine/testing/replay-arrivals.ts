/**
 * The order in which replay takes its lines, and what it reads of a recorded line before parsing
 * it: a pending line held as its bytes, the queue that yields pending lines by arrival (then line
 * number), and the byte loops that read a recorder's line's arrival from its leading `time`.
 */
import { parseTimeBytes, type TrafficRequest } from '../replay/traffic.js';

/**
 * A line waiting for its turn. A recording line is held as its bytes (its arrival read from the
 * recorder's key order) and decoded and parsed only when replayed: thousands of parsed lines, or
 * of strings, held across garbage collections would be copied by each young-generation one; the
 * bytes of a Buffer live outside the JS heap.
 */
export interface Pending {
  readonly at: number;
  /** `at` is `parseTime` of the line's `time` value (read from its bytes), so the parser need not parse it again. */
  readonly timeRead: boolean;
  readonly line: number;
  /** The chunk read that holds the line's bytes, `[start, end)`; null when `request` is parsed already. */
  readonly chunk: Buffer | null;
  readonly start: number;
  readonly end: number;
  readonly request: TrafficRequest | null;
}

/**
 * Pending lines in replay order (arrival, then line). Lines that come in order (most of a file)
 * queue in a list, at no cost; only a line earlier than the last one queued goes to a min-heap.
 * The next line is the earlier of the list's head and the heap's top. Exported for its test.
 *
 * The lines are held in columns (typed arrays and two arrays of references, by slot), not as an
 * object each: the window holds thousands of lines for thousands of requests, so each such object
 * outlived one or two young-generation collections and was copied by each (about 100 bytes a
 * line). `pop` hands out a fresh `Pending`, which dies before the next collection.
 */
export class ArrivalQueue {
  #at = new Float64Array(64);
  #line = new Float64Array(64);
  #start = new Int32Array(64);
  #end = new Int32Array(64);
  #timeRead = new Uint8Array(64);
  #chunk: (Buffer | null)[] = [];
  #request: (TrafficRequest | null)[] = [];
  /** Slots not in use, and how many of them. */
  #free = new Int32Array(64);
  #freeCount = 0;
  /** Slots ever used (those below are in use or free). */
  #used = 0;
  /** The in-order list, a ring of slots: `#runLength` of them from `#runHead`. */
  #run = new Int32Array(64);
  #runHead = 0;
  #runLength = 0;
  /** The min-heap of slots. */
  #heap = new Int32Array(64);
  #heapLength = 0;

  get size(): number {
    return this.#runLength + this.#heapLength;
  }

  push(item: Pending): void {
    this.add(item.at, item.timeRead, item.line, item.chunk, item.start, item.end, item.request);
  }

  /** `push` without the object. */
  add(
    at: number,
    timeRead: boolean,
    line: number,
    chunk: Buffer | null,
    start: number,
    end: number,
    request: TrafficRequest | null,
  ): void {
    const slot = this.#slot();
    this.#at[slot] = at;
    this.#line[slot] = line;
    this.#start[slot] = start;
    this.#end[slot] = end;
    this.#timeRead[slot] = timeRead ? 1 : 0;
    this.#chunk[slot] = chunk;
    this.#request[slot] = request;
    const n = this.#runLength;
    if (n === 0 || !this.#before(slot, this.#run[(this.#runHead + n - 1) % this.#run.length])) {
      if (n === this.#run.length) this.#run = this.#grownRing();
      this.#run[(this.#runHead + n) % this.#run.length] = slot;
      this.#runLength = n + 1;
    } else this.#heapPush(slot);
  }

  pop(): Pending | undefined {
    let slot: number;
    if (
      this.#runLength > 0 &&
      (this.#heapLength === 0 || this.#before(this.#run[this.#runHead], this.#heap[0]))
    ) {
      slot = this.#run[this.#runHead];
      this.#runHead = (this.#runHead + 1) % this.#run.length;
      this.#runLength--;
    } else if (this.#heapLength > 0) slot = this.#heapPop();
    else return undefined;
    const item: Pending = {
      at: this.#at[slot],
      timeRead: this.#timeRead[slot] === 1,
      line: this.#line[slot],
      chunk: this.#chunk[slot],
      start: this.#start[slot],
      end: this.#end[slot],
      request: this.#request[slot],
    };
    // The chunk and the request are let go of with the line, not when the slot is reused.
    this.#chunk[slot] = null;
    this.#request[slot] = null;
    this.#free[this.#freeCount++] = slot;
    return item;
  }

  /** Whether slot `a` is replayed before slot `b`: by arrival, then line. */
  #before(a: number, b: number): boolean {
    const at = this.#at;
    return at[a] < at[b] || (at[a] === at[b] && this.#line[a] < this.#line[b]);
  }

  #slot(): number {
    if (this.#freeCount > 0) return this.#free[--this.#freeCount];
    const slot = this.#used++;
    if (slot === this.#at.length) {
      const size = slot * 2;
      this.#at = grown(this.#at, new Float64Array(size));
      this.#line = grown(this.#line, new Float64Array(size));
      this.#start = grown(this.#start, new Int32Array(size));
      this.#end = grown(this.#end, new Int32Array(size));
      this.#timeRead = grown(this.#timeRead, new Uint8Array(size));
      this.#free = new Int32Array(size); // empty now: every slot below is in use
      this.#heap = grown(this.#heap, new Int32Array(size));
    }
    this.#chunk.push(null);
    this.#request.push(null);
    return slot;
  }

  /** The run's ring, twice as long, its slots from index 0 on. */
  #grownRing(): Int32Array<ArrayBuffer> {
    const ring = this.#run;
    const out = new Int32Array(ring.length * 2);
    for (let i = 0; i < this.#runLength; i++) out[i] = ring[(this.#runHead + i) % ring.length];
    this.#runHead = 0;
    return out;
  }

  #heapPush(slot: number): void {
    const items = this.#heap;
    let i = this.#heapLength++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#before(slot, items[parent])) break;
      items[i] = items[parent];
      i = parent;
    }
    items[i] = slot;
  }

  #heapPop(): number {
    const items = this.#heap;
    const top = items[0];
    const n = --this.#heapLength;
    if (n > 0) {
      const last = items[n];
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= n) break;
        const right = left + 1;
        const child = right < n && this.#before(items[right], items[left]) ? right : left;
        if (!this.#before(items[child], last)) break;
        items[i] = items[child];
        i = child;
      }
      items[i] = last;
    }
    return top;
  }
}

function grown<T extends Float64Array | Int32Array | Uint8Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

const TIME_PREFIX = Buffer.from('{"v":1,"time":"', 'latin1');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Where the `time` value of a line the recorder wrote (its `time` comes first) ends: the index of
 * the first quote after `{"v":1,"time":"` in `chunk[start, end)`; -1 for another line. Byte loops,
 * not `Buffer#compare` and `indexOf`: each of those calls costs more than the loop over the 15
 * bytes and the time.
 */
export function timeValueEnd(chunk: Buffer, start: number, end: number): number {
  const n = TIME_PREFIX.length;
  if (end - start <= n) return -1;
  for (let i = 0; i < n; i++) if (chunk[start + i] !== TIME_PREFIX[i]) return -1;
  for (let i = start + n; i < end; i++) if (chunk[i] === QUOTE) return i;
  return -1;
}

/** The arrival of a recording line read from its bytes: `time`'s value ends at `quote`; NaN when it is no time. */
export function recordedArrival(chunk: Buffer, start: number, quote: number): number {
  // A time is ASCII; anything else fails to parse and the line is parsed whole instead.
  return parseTimeBytes(chunk, start + TIME_PREFIX.length, quote);
}

/**
 * Whether the bytes `recordedArrival` read are the line's `time` value itself (ASCII without
 * escapes): then the parsed line's arrival is the number it returned.
 */
export function timeIsValue(chunk: Buffer, start: number, quote: number): boolean {
  for (let i = start + TIME_PREFIX.length; i < quote; i++)
    if (chunk[i] === BACKSLASH || chunk[i] >= 0x80) return false;
  return true;
}
