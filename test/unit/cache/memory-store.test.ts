import { describe, expect, it } from 'vitest';
import { MemoryCacheStore } from '../../../engine/cache/memory-store.js';
import { makeAnswer } from './helpers.js';
import { describeCacheStore } from './store-suite.js';

describeCacheStore('memory', {
  make: async (bounds) =>
    new MemoryCacheStore({ maxEntries: bounds?.maxEntries, maxSizeBytes: bounds?.maxSizeBytes }),
  lruBounds: true,
});

describe('MemoryCacheStore', () => {
  it('counts entries and bytes, and prunes expired entries on demand', async () => {
    const store = new MemoryCacheStore();
    await store.set('a', makeAnswer('a'), 100, 0);
    await store.set('b', makeAnswer('b'), 1_000, 0);
    expect(store.size).toBe(2);
    expect(store.bytes).toBe(2 * Buffer.byteLength(JSON.stringify(makeAnswer('a'))));
    expect(store.prune(500)).toBe(1);
    expect(store.size).toBe(1);
    expect(store.getSync('b', 500)).toEqual(makeAnswer('b'));
  });

  it('drops an expired entry when it is read', async () => {
    const store = new MemoryCacheStore();
    await store.set('a', makeAnswer('a'), 100, 0);
    expect(await store.get('a', 100)).toBeUndefined();
    expect(store.size).toBe(0);
  });
});
