/**
 * The job requests allowed in flight at once: a counting semaphore whose capacity is read at
 * each acquisition (a policy reload changes it for the next request started), with two queues so
 * that a deferred request (one caller waiting) goes before the next line of a large batch.
 */

export type SlotPriority = 'high' | 'low';

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (reason: unknown) => void;
}

export class Slots {
  #busy = 0;
  readonly #high: Waiter[] = [];
  readonly #low: Waiter[] = [];

  constructor(readonly capacity: () => number) {}

  get busy(): number {
    return this.#busy;
  }

  /** Resolves when a slot is held; rejects with the signal's reason if it aborts first. */
  acquire(priority: SlotPriority, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (
      this.#busy < this.capacity() &&
      this.#high.length === 0 &&
      (priority === 'high' || this.#low.length === 0)
    ) {
      this.#busy++;
      return Promise.resolve();
    }
    const queue = priority === 'high' ? this.#high : this.#low;
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const at = queue.indexOf(waiter);
        if (at >= 0) queue.splice(at, 1);
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject,
      };
      queue.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  release(): void {
    this.#busy--;
    this.#drain();
  }

  #drain(): void {
    while (this.#busy < this.capacity()) {
      const next = this.#high.shift() ?? this.#low.shift();
      if (next === undefined) return;
      this.#busy++;
      next.resolve();
    }
  }
}
