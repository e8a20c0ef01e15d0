/**
 * Connection pool settings of a provider, and the admission queue (`Slots`) the transport puts in
 * front of every pool. The settings and their defaults live in engine/shared/pool-settings.ts.
 */

export {
  DEFAULT_CONNECTIONS,
  DEFAULT_KEEP_ALIVE_MS,
  DEFAULT_POOL,
  type PoolSettings,
} from '../shared/pool-settings.js';

/** How a wait for a slot ended. */
export type SlotWait = 'taken' | 'timeout' | 'aborted';

interface Waiter {
  resolve(outcome: SlotWait): void;
  timer: ReturnType<typeof setTimeout> | null;
  onAbort: () => void;
}

/**
 * A counting semaphore with a FIFO queue of waiters, each with its own deadline and abort signal:
 * the admission to one origin's `connections`. A slot is held from the request's dispatch until
 * its response body is closed (read to the end, drained or destroyed), which is when undici frees
 * the connection. `release` hands the slot straight to the oldest waiter.
 */
export class Slots {
  #active = 0;
  /** Insertion-ordered; a waiter that gives up is deleted in O(1). */
  readonly #waiters = new Set<Waiter>();

  constructor(readonly limit: number) {}

  /** Slots in use (requests in flight). */
  get active(): number {
    return this.#active;
  }

  /** Requests waiting for a slot. */
  get waiting(): number {
    return this.#waiters.size;
  }

  /** Takes a free slot at once; false when all are in use (or others already wait: FIFO). */
  tryTake(): boolean {
    if (this.#active >= this.limit || this.#waiters.size > 0) return false;
    this.#active += 1;
    return true;
  }

  /**
   * Waits for a slot: `taken` (the caller now holds it), `timeout` after `timeoutMs` (0: no
   * deadline), or `aborted` when the signal fires. Never rejects.
   */
  take(timeoutMs: number, signal: AbortSignal): Promise<SlotWait> {
    if (this.tryTake()) return Promise.resolve('taken');
    if (signal.aborted) return Promise.resolve('aborted');
    return new Promise<SlotWait>((resolve) => {
      const waiter: Waiter = {
        resolve: (outcome) => {
          this.#waiters.delete(waiter);
          if (waiter.timer !== null) clearTimeout(waiter.timer);
          signal.removeEventListener('abort', waiter.onAbort);
          resolve(outcome);
        },
        timer: null,
        onAbort: () => waiter.resolve('aborted'),
      };
      if (timeoutMs > 0) waiter.timer = setTimeout(() => waiter.resolve('timeout'), timeoutMs);
      signal.addEventListener('abort', waiter.onAbort, { once: true });
      this.#waiters.add(waiter);
    });
  }

  /** Frees a slot, or passes it to the oldest waiter. An arrow: it is used as an event listener. */
  readonly release = (): void => {
    const next = this.#waiters.values().next();
    if (next.done === true) {
      this.#active = Math.max(0, this.#active - 1);
      return;
    }
    next.value.resolve('taken');
  };
}
