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
    // Each entry's serialised answer and its key ('a', 'b': one byte each).
    expect(store.bytes).toBe(2 * Buffer.byteLength(JSON.stringify(makeAnswer('a'))) + 2);
    expect(store.prune(500)).toBe(1);
    expect(store.size).toBe(1);
    expect(store.getShared('b', 500)).toEqual(makeAnswer('b'));
  });

  it('keeps a frozen copy: the stored object stays with the caller, the shared entry cannot change', async () => {
    const store = new MemoryCacheStore();
    const answer = makeAnswer('a');
    await store.set('a', answer, 1_000, 0);
    expect(Object.isFrozen(answer.body)).toBe(false);
    (answer.body as { id: string }).id = 'changed after the set';
    const shared = store.getShared('a', 1);
    if (shared === undefined) throw new Error('expected a hit');
    expect(shared).toEqual(makeAnswer('a'));
    expect(Object.isFrozen(shared)).toBe(true);
    expect(Object.isFrozen((shared.body as { choices: unknown[] }).choices[0])).toBe(true);
    expect(store.getShared('a', 2)).toBe(shared);
    const copy = await store.get('a', 3);
    expect(copy).not.toBe(shared);
    expect(Object.isFrozen(copy?.body)).toBe(false);
  });

  it('drops an expired entry when it is read', async () => {
    const store = new MemoryCacheStore();
    await store.set('a', makeAnswer('a'), 100, 0);
    expect(await store.get('a', 100)).toBeUndefined();
    expect(store.size).toBe(0);
  });
});
