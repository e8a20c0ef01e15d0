import { describe, expect, it } from 'vitest';
import { rateToParams } from '../../../engine/limits/gcra.js';
import { MemoryStore } from '../../../engine/limits/memory-store.js';
import { ResilientStore } from '../../../engine/limits/resilient-store.js';
import { describeLimiterStore } from './store-suite.js';

describeLimiterStore('MemoryStore', async () => new MemoryStore());
describeLimiterStore(
  'ResilientStore(MemoryStore)',
  async () => new ResilientStore(new MemoryStore(), { onStoreError: 'closed' }),
);

describe('MemoryStore specifics', () => {
  const p = (() => {
    const r = rateToParams({ amount: 1, perMs: 1000 });
    if (!r.ok) throw new Error(r.error);
    return r.value;
  })();

  it('stays within maxKeys: idle and least recent keys are evicted', async () => {
    const store = new MemoryStore({ maxKeys: 10 });
    for (let i = 0; i < 100; i++) await store.acquire(`k${i}`, p, 1, 0);
    expect(store.size).toBeLessThanOrEqual(10);
    // An evicted key is the empty bucket again (the documented cost of a too-small maxKeys).
    expect((await store.acquire('k0', p, 1, 0)).allowed).toBe(true);
  });

  it('holds exactly maxKeys keys when more are busy, evicting the least recently used', async () => {
    const store = new MemoryStore({ maxKeys: 10 });
    for (let i = 0; i < 10; i++) await store.acquire(`k${i}`, p, 1, 0);
    // k0 used again: k1 is now the least recent.
    expect((await store.acquire('k0', p, 1, 0)).allowed).toBe(false);
    await store.acquire('k10', p, 1, 0);
    expect(store.size).toBe(10);
    expect((await store.acquire('k0', p, 1, 0)).allowed).toBe(false); // kept
    expect((await store.acquire('k1', p, 1, 0)).allowed).toBe(true); // evicted: an empty bucket again
  });

  it('holds exactly maxCounters counters, evicting the least recently used', async () => {
    const store = new MemoryStore({ maxCounters: 3 });
    for (const key of ['a', 'b', 'c']) await store.add(key, 5, 0, 1_000);
    await store.add('a', 1, 0, 1_000); // a used again: b is now the least recent
    await store.add('d', 7, 0, 1_000);
    expect(await store.get('a', 0)).toBe(6);
    expect(await store.get('b', 0)).toBe(0); // forgotten
    expect(await store.get('c', 0)).toBe(5);
    expect(await store.get('d', 0)).toBe(7);
  });

  it('drops the entry of a bucket that becomes empty', async () => {
    const store = new MemoryStore();
    await store.acquire('a', p, 1, 0);
    expect(store.size).toBe(1);
    await store.adjust('a', p, -1, 0);
    expect(store.size).toBe(0);
  });

  it('an entry whose TAT has passed behaves exactly like a missing one', async () => {
    const kept = new MemoryStore();
    const fresh = new MemoryStore();
    await kept.acquire('a', p, 1, 0);
    expect(await kept.acquire('a', p, 1, 5_000)).toEqual(await fresh.acquire('a', p, 1, 5_000));
  });
});
