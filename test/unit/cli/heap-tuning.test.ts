import { describe, expect, it } from 'vitest';
import { HEAP_GROWING_PERCENT, heapTuningFor, YOUNG_SEMI_SPACE_MB } from '../../../cli/heap-tuning.js';

describe('heapTuningFor (what `serve` applies to its own heap)', () => {
  it('caps the young generation and lowers the old generation growth by default', () => {
    expect(heapTuningFor([], {})).toEqual({
      youngSemiSpaceMb: YOUNG_SEMI_SPACE_MB,
      heapGrowingPercent: HEAP_GROWING_PERCENT,
    });
  });

  it('leaves each setting the operator gave on the command line or in NODE_OPTIONS alone', () => {
    expect(heapTuningFor(['--max-semi-space-size=16'], {})).toEqual({
      youngSemiSpaceMb: null,
      heapGrowingPercent: HEAP_GROWING_PERCENT,
    });
    expect(heapTuningFor([], { NODE_OPTIONS: '--max_semi_space_size=2 --enable-source-maps' })).toEqual({
      youngSemiSpaceMb: null,
      heapGrowingPercent: HEAP_GROWING_PERCENT,
    });
    expect(heapTuningFor(['--max-heap-size=512'], {}).youngSemiSpaceMb).toBeNull();
    expect(heapTuningFor(['--heap-growing-percent=100'], {})).toEqual({
      youngSemiSpaceMb: YOUNG_SEMI_SPACE_MB,
      heapGrowingPercent: null,
    });
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
      });
    }
    expect(heapTuningFor([], { SWITCHYARD_HEAP_TUNING: 'on' })).toEqual(heapTuningFor([], {}));
  });
});
