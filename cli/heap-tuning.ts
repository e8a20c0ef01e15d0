/**
 * V8 heap sizing for the `switchyard serve` process, applied by the process entry (cli/bin.ts)
 * before the server loads. V8's defaults suit a short, allocation-heavy program, not a small
 * long-running proxy: the young generation grows to 2 × 16 MB during start-up and never gives the
 * memory back, and under load the old generation is allowed to fill with promoted garbage up to
 * about four times its live size before a full collection. bench/footprint.ts measures both
 * (RSS idle and under load, CPU per request, per setting); the numbers behind the defaults are in
 * docs/footprint.md.
 *
 * - Young generation: at most {@link YOUNG_SEMI_SPACE_LOW_MB} MB per semi-space while requests
 *   die young (JSON answers: a few KB promoted per scavenge), up to {@link YOUNG_SEMI_SPACE_MB} MB
 *   while they outlive scavenges (open streams: hundreds of KB promoted per scavenge at 4 MB, and
 *   a full collection every few hundred ms, which the larger young generation avoids).
 *   `--max-semi-space-size` is read when the heap is created, so it cannot be set from inside the
 *   process; the growth factor is read each time the young generation grows. So it is held at 1
 *   (no growth) while the server starts, whose long synchronous steps (module evaluation,
 *   compiling the policy schema) would otherwise grow it several times before any check could
 *   run; once the server listens ({@link startedServing}), it is V8's 2 while doubling stays
 *   within the current cap and 1 at the cap, checked after every collection. The cap follows the bytes promoted per scavenge
 *   (the old generation's growth between scavenges). V8 shrinks an idle young generation by
 *   itself; it then grows back to the cap that the load calls for.
 * - Old generation: `--heap-growing-percent` {@link HEAP_GROWING_PERCENT} (read at each full
 *   collection): the next one is due at 1.5 × the live size instead of up to 4 ×. Full
 *   collections are more frequent and mostly concurrent; no limit is set, so a large cache or
 *   many open streams still get the memory they need.
 * - WebAssembly: `--liftoff-only`, set before undici compiles its HTTP parser (llhttp), which then
 *   stays on V8's baseline compiler. Its tier-up to TurboFan under load runs on V8's worker
 *   threads, and each of them keeps the compiler's memory in its own malloc arena for good
 *   (glibc's trim threshold is raised early in the process's life, and it never trims those
 *   arenas below it): 9–10 MB of the peak under load, for a parser that takes ~1 % of a stream's
 *   CPU either way (0.9 % of the samples with TurboFan, 1.3 % with Liftoff).
 *
 * An operator's own flags win: a setting given on the command line or in NODE_OPTIONS is left
 * alone, and `SWITCHYARD_HEAP_TUNING=off` turns all of this off. If a future V8 stops reading
 * these flags at run time, nothing breaks: the heap is sized by V8's defaults again.
 */
import { constants, PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';

/** The young generation's cap (MB per semi-space) while requests outlive scavenges. */
export const YOUNG_SEMI_SPACE_MB = 8;
/** The young generation's cap (MB per semi-space) while requests die young. */
export const YOUNG_SEMI_SPACE_LOW_MB = 4;
/**
 * Bytes promoted per scavenge (the median of the last {@link PROMOTION_WINDOW} batches of
 * collections) above which the young generation may grow to {@link YOUNG_SEMI_SPACE_MB}, and
 * below which its cap is {@link YOUNG_SEMI_SPACE_LOW_MB} again. Measured on one OpenAI route, 50
 * connections: JSON answers 3–30 KB once warm (50–340 KB during the first second, and a 200–300 KB
 * batch every few hundred ms, which the median ignores); SSE streams 100–540 KB at 4 MB and
 * 130–200 KB at 8 MB.
 */
export const PROMOTED_HIGH_BYTES = 128 * 1024;
export const PROMOTED_LOW_BYTES = 48 * 1024;
const PROMOTION_WINDOW = 16;
export const HEAP_GROWING_PERCENT = 50;

export interface HeapTuning {
  /** Cap of one semi-space in MB, or null to leave the young generation to V8. */
  readonly youngSemiSpaceMb: number | null;
  /** `--heap-growing-percent`, or null to leave it to V8. */
  readonly heapGrowingPercent: number | null;
  /** Whether to keep WebAssembly on V8's baseline compiler (`--liftoff-only`). */
  readonly wasmLiftoffOnly: boolean;
}

const YOUNG_FLAGS = /--(max-semi-space-size|min-semi-space-size|semi-space-growth-factor|max-heap-size)\b/;
const GROWING_FLAGS = /--heap-growing-percent\b/;
const WASM_FLAGS = /--(no-)?(liftoff|wasm)/;

/** What to apply, given the process's node flags and environment (pure, for tests). */
export function heapTuningFor(execArgv: readonly string[], env: NodeJS.ProcessEnv): HeapTuning {
  if (/^(off|0|false|no)$/i.test(env.SWITCHYARD_HEAP_TUNING ?? '')) {
    return { youngSemiSpaceMb: null, heapGrowingPercent: null, wasmLiftoffOnly: false };
  }
  const given = `${execArgv.join(' ')} ${env.NODE_OPTIONS ?? ''}`.replaceAll('_', '-');
  return {
    youngSemiSpaceMb: YOUNG_FLAGS.test(given) ? null : YOUNG_SEMI_SPACE_MB,
    heapGrowingPercent: GROWING_FLAGS.test(given) ? null : HEAP_GROWING_PERCENT,
    wasmLiftoffOnly: !WASM_FLAGS.test(given),
  };
}

function setGrowthFactor(factor: number): void {
  v8.setFlagsFromString(`--semi-space-growth-factor=${factor}`);
}

/** The young generation's caps in bytes (both semi-spaces), once {@link applyHeapTuning} froze it. */
let pendingCaps: { readonly low: number; readonly high: number } | null = null;
let observer: PerformanceObserver | null = null;

/** Applies `tuning` to this process for its start-up (see the file comment). */
export function applyHeapTuning(tuning: HeapTuning): void {
  if (tuning.heapGrowingPercent !== null) {
    v8.setFlagsFromString(`--heap-growing-percent=${tuning.heapGrowingPercent}`);
  }
  if (tuning.wasmLiftoffOnly) v8.setFlagsFromString('--liftoff-only');
  if (tuning.youngSemiSpaceMb !== null) {
    const high = 2 * tuning.youngSemiSpaceMb * 1024 * 1024;
    pendingCaps = { low: Math.min(high, 2 * YOUNG_SEMI_SPACE_LOW_MB * 1024 * 1024), high };
    setGrowthFactor(1);
  }
}

/**
 * The young generation's cap for the load seen so far: fed after each batch of collections with
 * the old generation's bytes in use and the scavenges and full collections in the batch. What the
 * old generation gained between two batches with no full collection was promoted by the batch's
 * scavenges (or allocated there directly, which also means long-lived objects). The cap is the
 * low one until {@link PROMOTION_WINDOW} batches were seen.
 */
export class YoungCap {
  private lastOld = -1;
  private readonly samples: number[] = [];
  private next = 0;
  private high = false;

  constructor(
    readonly lowBytes: number,
    readonly highBytes: number,
  ) {}

  /** The cap in bytes (both semi-spaces) after this batch. */
  update(oldUsed: number, scavenges: number, fullCollections: number): number {
    if (fullCollections > 0 || this.lastOld < 0) {
      this.lastOld = oldUsed;
    } else if (scavenges > 0) {
      const perScavenge = Math.max(0, oldUsed - this.lastOld) / scavenges;
      this.lastOld = oldUsed;
      this.samples[this.next] = perScavenge;
      this.next = (this.next + 1) % PROMOTION_WINDOW;
      if (this.samples.length === PROMOTION_WINDOW) {
        const sorted = [...this.samples].sort((a, b) => a - b);
        const median = (sorted[PROMOTION_WINDOW / 2 - 1] + sorted[PROMOTION_WINDOW / 2]) / 2;
        if (median > PROMOTED_HIGH_BYTES) this.high = true;
        else if (median < PROMOTED_LOW_BYTES) this.high = false;
      }
    }
    return this.high ? this.highBytes : this.lowBytes;
  }
}

/**
 * The server is up: from now on the young generation grows with the load, up to its cap. Does
 * nothing unless {@link applyHeapTuning} capped it (an embedding program's heap is its own).
 */
export function startedServing(): void {
  if (pendingCaps === null || observer !== null) return;
  const caps = new YoungCap(pendingCaps.low, pendingCaps.high);
  let factor = 1;
  const check = (scavenges: number, fullCollections: number): void => {
    let semiSpace = 0;
    let oldUsed = 0;
    for (const s of v8.getHeapSpaceStatistics()) {
      // One semi-space's capacity (less its pages' headers): what it holds plus what is free.
      if (s.space_name === 'new_space') semiSpace = s.space_used_size + s.space_available_size;
      else if (s.space_name === 'old_space') oldUsed = s.space_used_size;
    }
    const cap = caps.update(oldUsed, scavenges, fullCollections);
    // V8's factor of 2 while doubling stays within the cap, else 1 (no growth). The capacity of a
    // semi-space, not the space's committed size, which halves when V8 uncommits the idle half.
    const wanted = semiSpace > 0 && 4 * semiSpace <= cap ? 2 : 1;
    if (wanted === factor) return;
    factor = wanted;
    setGrowthFactor(wanted);
  };
  check(0, 0);
  observer = new PerformanceObserver((list) => {
    let scavenges = 0;
    let fullCollections = 0;
    for (const e of list.getEntries()) {
      const kind = (e as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) scavenges++;
      else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) fullCollections++;
    }
    check(scavenges, fullCollections);
  });
  observer.observe({ entryTypes: ['gc'] });
}
