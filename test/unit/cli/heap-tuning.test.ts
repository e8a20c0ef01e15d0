import { describe, expect, it } from 'vitest';
import {
  HEAP_GROWING_PERCENT,
  heapTuningFor,
  PROMOTED_HIGH_BYTES,
  PROMOTED_LOW_BYTES,
  YOUNG_SEMI_SPACE_MB,
  YoungCap,
} from '../../../cli/heap-tuning.js';

describe('heapTuningFor (what `serve` applies to its own heap)', () => {
  it('caps the young generation and lowers the old generation growth by default', () => {
    expect(heapTuningFor([], {})).toEqual({
      youngSemiSpaceMb: YOUNG_SEMI_SPACE_MB,
      heapGrowingPercent: HEAP_GROWING_PERCENT,
      wasmLiftoffOnly: true,
    });
  });

  it('leaves each setting the operator gave on the command line or in NODE_OPTIONS alone', () => {
    expect(heapTuningFor(['--max-semi-space-size=16'], {})).toEqual({
      youngSemiSpaceMb: null,
      heapGrowingPercent: HEAP_GROWING_PERCENT,
      wasmLiftoffOnly: true,
    });
    expect(heapTuningFor([], { NODE_OPTIONS: '--max_semi_space_size=2 --enable-source-maps' })).toEqual({
      youngSemiSpaceMb: null,
      heapGrowingPercent: HEAP_GROWING_PERCENT,
      wasmLiftoffOnly: true,
    });
    expect(heapTuningFor(['--max-heap-size=512'], {}).youngSemiSpaceMb).toBeNull();
    expect(heapTuningFor(['--heap-growing-percent=100'], {})).toEqual({
      youngSemiSpaceMb: YOUNG_SEMI_SPACE_MB,
      heapGrowingPercent: null,
      wasmLiftoffOnly: true,
    });
    for (const wasm of ['--no-liftoff-only', '--liftoff', '--wasm-dynamic-tiering', '--no-wasm-tier-up']) {
      expect(heapTuningFor([], { NODE_OPTIONS: wasm }).wasmLiftoffOnly).toBe(false);
    }
    // Other flags change nothing.
    expect(heapTuningFor(['--max-old-space-size=512', '--enable-source-maps'], {})).toEqual(
      heapTuningFor([], {}),
    );
  });

  it('is off with SWITCHYARD_HEAP_TUNING=off', () => {
    for (const off of ['off', 'OFF', '0', 'false', 'no']) {
      expect(heapTuningFor([], { SWITCHYARD_HEAP_TUNING: off })).toEqual({
        youngSemiSpaceMb: null,
        heapGrowingPercent: null,
        wasmLiftoffOnly: false,
      });
    }
    expect(heapTuningFor([], { SWITCHYARD_HEAP_TUNING: 'on' })).toEqual(heapTuningFor([], {}));
  });
});

describe('YoungCap (the young generation follows what the load promotes)', () => {
  const LOW = 8 << 20;
  const HIGH = 16 << 20;
  const KB = 1024;

  /** Feeds `n` batches of one scavenge, each promoting `perScavenge` bytes; the last cap. */
  function feed(cap: YoungCap, old: { used: number }, n: number, perScavenge: number): number {
    let last = 0;
    for (let i = 0; i < n; i++) {
      old.used += perScavenge;
      last = cap.update(old.used, 1, 0);
    }
    return last;
  }

  it('stays low while requests die young, warm-up and occasional large batches included', () => {
    const cap = new YoungCap(LOW, HIGH);
    const old = { used: 10 << 20 };
    expect(cap.update(old.used, 0, 0)).toBe(LOW);
    // The first second of a JSON load: code, feedback and caches land in the old generation.
    for (const kb of [338, 91, 182, 188, 56, 48, 75, 58, 62, 56, 82, 23, 154, 73, 107, 84, 73, 70]) {
      old.used += kb * KB;
      expect(cap.update(old.used, 1, 0)).toBe(LOW);
    }
    // Warm: a few KB per scavenge and a 200-300 KB batch now and then.
    for (let i = 0; i < 64; i++) {
      old.used += (i % 7 === 0 ? 280 : 8) * KB;
      expect(cap.update(old.used, 1, 0)).toBe(LOW);
    }
  });

  it('goes high while requests outlive scavenges (streams), and low again once they stop', () => {
    const cap = new YoungCap(LOW, HIGH);
    const old = { used: 10 << 20 };
    cap.update(old.used, 0, 0);
    expect(feed(cap, old, 16, 350 * KB)).toBe(HIGH);
    // At the larger size streams promote less, but still well above the low mark.
    expect(feed(cap, old, 32, 150 * KB)).toBe(HIGH);
    // A full collection frees old space: that batch is no sample, and the next one starts over.
    old.used = 12 << 20;
    expect(cap.update(old.used, 3, 1)).toBe(HIGH);
    expect(feed(cap, old, 32, 8 * KB)).toBe(LOW);
  });

  it('divides a batch of several scavenges among them', () => {
    const cap = new YoungCap(LOW, HIGH);
    const old = { used: 10 << 20 };
    cap.update(old.used, 0, 0);
    for (let i = 0; i < 16; i++) {
      old.used += 4 * (PROMOTED_HIGH_BYTES - KB);
      expect(cap.update(old.used, 4, 0)).toBe(LOW);
    }
    for (let i = 0; i < 16; i++) {
      old.used += 4 * (PROMOTED_HIGH_BYTES + KB);
      cap.update(old.used, 4, 0);
    }
    expect(cap.update(old.used + 2 * (PROMOTED_LOW_BYTES + KB), 2, 0)).toBe(HIGH);
  });
});
