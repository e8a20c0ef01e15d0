import { describe, expect, it } from 'vitest';
import { rateToParams } from '../../../engine/limits/gcra.js';
import { MemoryStore } from '../../../engine/limits/memory-store.js';
import {
  ResilientStore,
  type StoreErrorEvent,
  StoreTimeoutError,
} from '../../../engine/limits/resilient-store.js';
import type { Acquired, CounterStore, LimiterStore, LimitParams } from '../../../engine/limits/store.js';
import { VirtualClock } from '../../../engine/shared/virtual-clock.js';

const p = (() => {
  const r = rateToParams({ amount: 10, perMs: 1000 });
  if (!r.ok) throw new Error(r.error);
  return r.value;
})();

/** A store whose behaviour the test switches: healthy (memory), failing, or hanging. */
class FlakyStore implements LimiterStore, CounterStore {
  mode: 'ok' | 'fail' | 'hang' = 'ok';
  closed = 0;
  readonly #inner = new MemoryStore();

  #gate<T>(run: () => Promise<T>): Promise<T> {
    if (this.mode === 'fail') return Promise.reject(new Error('ECONNREFUSED'));
    if (this.mode === 'hang') return new Promise<T>(() => {});
    return run();
  }
  acquire(key: string, params: LimitParams, cost: number, now: number): Promise<Acquired> {
    return this.#gate(() => this.#inner.acquire(key, params, cost, now));
  }
  adjust(key: string, params: LimitParams, delta: number, now: number): Promise<void> {
    return this.#gate(() => this.#inner.adjust(key, params, delta, now));
  }
  add(key: string, amount: number, start: number, ttl: number): Promise<number> {
    return this.#gate(() => this.#inner.add(key, amount, start, ttl));
  }
  get(key: string, start: number): Promise<number> {
    return this.#gate(() => this.#inner.get(key, start));
  }
  async close(): Promise<void> {
    this.closed++;
  }
}

describe('ResilientStore', () => {
  it('passes results through while the store is healthy', async () => {
    const inner = new FlakyStore();
    const store = new ResilientStore(inner, { onStoreError: 'closed' });
    expect(await store.acquire('a', p, 3, 0)).toEqual({
      allowed: true,
      limit: 10,
      remaining: 7,
      retryAfterMs: 0,
      resetAfterMs: 300,
    });
    expect(await store.add('b', 4, 0, 1000)).toBe(4);
  });

  it('open admits and closed refuses on an error, reporting each failure', async () => {
    const inner = new FlakyStore();
    const events: StoreErrorEvent[] = [];
    const open = new ResilientStore(inner, { onStoreError: 'open', onError: (e) => events.push(e) });
    const closed = new ResilientStore(inner, {
      onStoreError: 'closed',
      closedRetryAfterMs: 2_000,
      onError: (e) => events.push(e),
    });
    inner.mode = 'fail';
    expect(await open.acquire('a', p, 1, 0)).toMatchObject({
      allowed: true,
      remaining: 10,
      degraded: 'open',
    });
    expect(await closed.acquire('a', p, 1, 0)).toMatchObject({
      allowed: false,
      retryAfterMs: 2_000,
      degraded: 'closed',
    });
    await expect(open.adjust('a', p, 1, 0)).resolves.toBeUndefined();
    expect(await open.add('b', 1, 0, 1)).toBe(0);
    expect(await closed.add('b', 1, 0, 1)).toBe(Number.POSITIVE_INFINITY);
    expect(events.map((e) => [e.op, e.mode, e.timedOut])).toEqual([
      ['acquire', 'open', false],
      ['acquire', 'closed', false],
      ['adjust', 'open', false],
      ['add', 'open', false],
      ['add', 'closed', false],
    ]);
    expect((events[0].error as Error).message).toBe('ECONNREFUSED');
  });

  it('treats a hanging store as failed after timeoutMs (on the clock port) and recovers', async () => {
    const clock = new VirtualClock();
    const inner = new FlakyStore();
    const events: StoreErrorEvent[] = [];
    let recovered = 0;
    const store = new ResilientStore(inner, {
      onStoreError: 'closed',
      timeoutMs: 80,
      clock,
      onError: (e) => events.push(e),
      onRecover: () => recovered++,
    });
    inner.mode = 'hang';
    let settled = false;
    const pending = store.acquire('a', p, 1, 0).then((r) => {
      settled = true;
      return r;
    });
    await clock.advance(79);
    expect(settled).toBe(false);
    await clock.advance(1);
    expect(await pending).toMatchObject({ allowed: false, degraded: 'closed' });
    expect(events[0]).toMatchObject({ op: 'acquire', timedOut: true });
    expect(events[0].error).toBeInstanceOf(StoreTimeoutError);
    expect(store.failing).toBe(true);

    inner.mode = 'ok';
    expect((await store.acquire('a', p, 1, 0)).degraded).toBeUndefined();
    expect(recovered).toBe(1);
    expect(store.failing).toBe(false);
    expect(clock.pending).toBe(0); // the timeout timers were cancelled
  });

  it('a throwing hook changes nothing; invalid arguments are thrown, not taken for outages', async () => {
    const inner = new FlakyStore();
    inner.mode = 'fail';
    const store = new ResilientStore(inner, {
      onStoreError: 'open',
      onError: () => {
        throw new Error('bad hook');
      },
    });
    expect((await store.acquire('a', p, 1, 0)).allowed).toBe(true);
    await expect(store.acquire('a', p, Number.NaN, 0)).rejects.toThrow(RangeError);
    await expect(store.add('a', 1.5, 0, 1)).rejects.toThrow(RangeError);
    await store.close();
    expect(inner.closed).toBe(1);
  });
});
