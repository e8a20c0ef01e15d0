/**
 * V8 heap sizing for the `switchyard serve` process, applied by the process entry (cli/bin.ts)
 * before the server loads. V8's defaults suit a short, allocation-heavy program, not a small
 * long-running proxy: the young generation grows to 2 × 16 MB during start-up and never gives the
 * memory back, and under load the old generation is allowed to fill with promoted garbage up to
 * about four times its live size before a full collection. bench/footprint.ts measures both
 * (RSS idle and under load, CPU per request, per setting); the numbers behind the defaults are in
 * docs/footprint.md.
 *
 * - Young generation: at most {@link YOUNG_SEMI_SPACE_MB} MB per semi-space. `--max-semi-space-size`
 *   is read when the heap is created, so it cannot be set from inside the process; the growth
 *   factor is read each time the young generation grows. So it is held at 1 (no growth) while the
 *   server starts, whose long synchronous steps (module evaluation, compiling the policy schema)
 *   would otherwise grow it several times before any check could run; once the server listens
 *   ({@link startedServing}), it is V8's 2 below the cap and 1 at the cap, checked after every
 *   collection (V8 shrinks an idle young generation; it must be able to grow back under load).
 * - Old generation: `--heap-growing-percent` {@link HEAP_GROWING_PERCENT} (read at each full
 *   collection): the next one is due at 1.5 × the live size instead of up to 4 ×. Full
 *   collections are more frequent and mostly concurrent; no limit is set, so a large cache or
 *   many open streams still get the memory they need.
 *
 * An operator's own flags win: a setting given on the command line or in NODE_OPTIONS is left
 * alone, and `SWITCHYARD_HEAP_TUNING=off` turns all of this off. If a future V8 stops reading
 * these flags at run time, nothing breaks: the heap is sized by V8's defaults again.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';

export const YOUNG_SEMI_SPACE_MB = 8;
export const HEAP_GROWING_PERCENT = 50;
const V8_GROWTH_FACTOR = 2;

export interface HeapTuning {
  /** Cap of one semi-space in MB, or null to leave the young generation to V8. */
  readonly youngSemiSpaceMb: number | null;
  /** `--heap-growing-percent`, or null to leave it to V8. */
  readonly heapGrowingPercent: number | null;
}

const YOUNG_FLAGS = /--(max-semi-space-size|min-semi-space-size|semi-space-growth-factor|max-heap-size)\b/;
const GROWING_FLAGS = /--heap-growing-percent\b/;

/** What to apply, given the process's node flags and environment (pure, for tests). */
export function heapTuningFor(execArgv: readonly string[], env: NodeJS.ProcessEnv): HeapTuning {
  if (/^(off|0|false|no)$/i.test(env.SWITCHYARD_HEAP_TUNING ?? '')) {
    return { youngSemiSpaceMb: null, heapGrowingPercent: null };
  }
  const given = `${execArgv.join(' ')} ${env.NODE_OPTIONS ?? ''}`.replaceAll('_', '-');
  return {
    youngSemiSpaceMb: YOUNG_FLAGS.test(given) ? null : YOUNG_SEMI_SPACE_MB,
    heapGrowingPercent: GROWING_FLAGS.test(given) ? null : HEAP_GROWING_PERCENT,
  };
}

function newSpaceBytes(): number {
  return v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
}

function setGrowthFactor(factor: number): void {
  v8.setFlagsFromString(`--semi-space-growth-factor=${factor}`);
}

/** The young generation's cap in bytes (both semi-spaces), once {@link applyHeapTuning} froze it. */
let pendingCap: number | null = null;
let observer: PerformanceObserver | null = null;

/** Applies `tuning` to this process for its start-up (see the file comment). */
export function applyHeapTuning(tuning: HeapTuning): void {
  if (tuning.heapGrowingPercent !== null) {
    v8.setFlagsFromString(`--heap-growing-percent=${tuning.heapGrowingPercent}`);
  }
  if (tuning.youngSemiSpaceMb !== null) {
    pendingCap = 2 * tuning.youngSemiSpaceMb * 1024 * 1024;
    setGrowthFactor(1);
  }
}

/**
 * The server is up: from now on the young generation grows with the load, up to its cap. Does
 * nothing unless {@link applyHeapTuning} capped it (an embedding program's heap is its own).
 */
export function startedServing(): void {
  if (pendingCap === null || observer !== null) return;
  const cap = pendingCap;
  let factor = 1;
  const check = (): void => {
    const wanted = newSpaceBytes() >= cap ? 1 : V8_GROWTH_FACTOR;
    if (wanted === factor) return;
    factor = wanted;
    setGrowthFactor(wanted);
  };
  check();
  observer = new PerformanceObserver(check);
  observer.observe({ entryTypes: ['gc'] });
}
