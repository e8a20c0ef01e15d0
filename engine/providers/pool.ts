/**
 * Connection pool settings of a provider, and the admission queue (`Slots`) the transport puts in
 * front of every pool. No network code here: the compiler imports the defaults.
 */

/** How one provider's upstream connections are pooled (`connections`, `keepAlive` in the policy). */
export interface PoolSettings {
  /**
   * The most connections to the origin, which is also the most requests in flight there: one
   * HTTP/1.1 connection carries one request at a time, and a stream holds it to its end.
   */
  readonly connections: number;
  /** How long an idle connection is kept for the next request; 0 closes it after every response. */
  readonly keepAliveMs: number;
}

/**
 * A gateway holds one upstream connection per request in flight, and a long stream holds it for
 * minutes: the cap must sit well above the concurrency a gateway sees, not at an HTTP client's
 * default (undici's pools were capped at 128 here, and the 129th stream queued behind the first).
 * 1024 bounds sockets and file descriptors against a runaway without limiting real traffic.
 */
export const DEFAULT_CONNECTIONS = 1024;
/** Idle keep-alive: long enough to reuse connections between bursts, short of typical LB idle cuts (60 s). */
export const DEFAULT_KEEP_ALIVE_MS = 30_000;

export const DEFAULT_POOL: PoolSettings = {
  connections: DEFAULT_CONNECTIONS,
  keepAliveMs: DEFAULT_KEEP_ALIVE_MS,
};

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
