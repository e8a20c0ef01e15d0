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

/** Whether `a` is replayed before `b`: by arrival, then line. */
function before(a: Pending, b: Pending): boolean {
  return a.at < b.at || (a.at === b.at && a.line < b.line);
}

/**
 * Pending lines in replay order (arrival, then line). Lines that come in order (most of a file)
 * queue in a list, at no cost; only a line earlier than the last one queued goes to a min-heap.
 * The next line is the earlier of the list's head and the heap's top. Exported for its test.
 */
export class ArrivalQueue {
  /** In replay order from `#head` on. */
  #run: Pending[] = [];
  #head = 0;
  readonly #heap: Pending[] = [];

  get size(): number {
    return this.#run.length - this.#head + this.#heap.length;
  }

  push(item: Pending): void {
    const run = this.#run;
    if (this.#head === run.length) {
      run.length = 0;
      this.#head = 0;
    }
    if (run.length === 0 || !before(item, run[run.length - 1])) run.push(item);
    else this.#heapPush(item);
  }

  pop(): Pending | undefined {
    const run = this.#run;
    const heap = this.#heap;
    if (this.#head < run.length && (heap.length === 0 || before(run[this.#head], heap[0]))) {
      const item = run[this.#head++];
      if (this.#head >= 1024 && this.#head * 2 >= run.length) {
        this.#run = run.slice(this.#head);
        this.#head = 0;
      }
      return item;
    }
    return this.#heapPop();
  }

  #heapPush(item: Pending): void {
    const items = this.#heap;
    let i = items.length;
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(item, items[parent])) break;
      items[i] = items[parent];
      i = parent;
    }
    items[i] = item;
  }

  #heapPop(): Pending | undefined {
    const items = this.#heap;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      let i = 0;
      const n = items.length;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= n) break;
        const right = left + 1;
        const child = right < n && before(items[right], items[left]) ? right : left;
        if (!before(items[child], last)) break;
        items[i] = items[child];
        i = child;
      }
      items[i] = last;
    }
    return top;
  }
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
