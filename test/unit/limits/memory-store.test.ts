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
