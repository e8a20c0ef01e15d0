/**
 * Single flight: concurrent callers with the same key share one run of the work. The first caller
 * (the leader) starts `fn`; callers arriving while it runs await the same result. The entry is
 * removed when the run settles, so a failure is shared by everyone waiting at that moment but never
 * remembered: the next caller starts afresh. The map holds only runs in flight.
 *
 * Cancellation is per caller: a caller whose signal aborts is detached (its promise rejects with
 * the signal's reason) while the run goes on for the others, the leader included. Only when every
 * caller has detached is the run's own signal aborted, so no upstream call runs for nobody, and
 * the key is freed at once so a new caller does not join a run that is being torn down.
 */

export interface SingleFlightOptions {
  /**
   * Most keys in flight at once; beyond it a call runs on its own, unshared (bounded memory under a
   * flood of distinct keys). Default 10 000.
   */
  readonly maxKeys?: number;
}

export interface RunOptions {
  /** This caller's cancellation: detaches this caller only. */
  readonly signal?: AbortSignal;
}

interface Flight<T> {
  readonly promise: Promise<T>;
  /** Null for a run of {@link SingleFlight.join}: nothing to cancel. */
  readonly controller: AbortController | null;
  /** Callers still waiting. */
  callers: number;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted', 'AbortError');
}

export class SingleFlight<T> {
  readonly #flights = new Map<string, Flight<T>>();
  readonly #maxKeys: number;

  constructor(options: SingleFlightOptions = {}) {
    this.#maxKeys = options.maxKeys ?? 10_000;
  }

  /** Keys in flight. */
  get size(): number {
    return this.#flights.size;
  }

  /** Whether a run for `key` is in flight (a call now would join it). */
  has(key: string): boolean {
    return this.#flights.has(key);
  }

  /**
   * Runs `fn` for `key`, or joins the run already in flight. `fn` gets a signal that aborts only
   * when every caller has gone.
   *
   * @example
   * const answer = await flights.run(key, (signal) => callUpstream(request, signal), { signal: ctx.signal });
   */
  run(key: string, fn: (signal: AbortSignal) => Promise<T>, options: RunOptions = {}): Promise<T> {
    return this.#run(key, fn, true, options.signal);
  }

  /**
   * {@link run} for work that takes no signal (it cannot be cancelled): no AbortController is
   * made for it, and the last caller going away only detaches, as with `run`.
   *
   * @example
   * const answer = await flights.join(key, () => leaderAnswer, { signal: ctx.signal });
   */
  join(key: string, fn: () => Promise<T>, options: RunOptions = {}): Promise<T> {
    return this.#run(key, fn, false, options.signal);
  }

  #run(
    key: string,
    fn: (signal: AbortSignal) => Promise<T>,
    cancellable: boolean,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    let flight = this.#flights.get(key);
    if (flight === undefined) {
      flight = this.#start(key, fn, cancellable, this.#flights.size < this.#maxKeys);
    }
    flight.callers++;
    return this.#follow(key, flight, signal);
  }

  /** Starts a run; an unregistered one (over `maxKeys`) is never joined. */
  #start(
    key: string,
    fn: (signal: AbortSignal) => Promise<T>,
    cancellable: boolean,
    register: boolean,
  ): Flight<T> {
    const controller = cancellable ? new AbortController() : null;
    // Calling fn inside the promise turns a synchronous throw into a shared rejection.
    const promise = new Promise<T>((resolve) =>
      resolve(controller === null ? (fn as () => Promise<T>)() : fn(controller.signal)),
    );
    const flight: Flight<T> = { promise, controller, callers: 0 };
    if (!register) return flight;
    this.#flights.set(key, flight);
    const settle = (): void => {
      if (this.#flights.get(key) === flight) this.#flights.delete(key);
    };
    promise.then(settle, settle);
    return flight;
  }

  #follow(key: string, flight: Flight<T>, signal: AbortSignal | undefined): Promise<T> {
    if (signal === undefined) return flight.promise;
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => {
        reject(abortReason(signal));
        flight.callers--;
        if (flight.callers === 0) {
          if (this.#flights.get(key) === flight) this.#flights.delete(key);
          flight.controller?.abort(abortReason(signal));
        }
      };
      signal.addEventListener('abort', onAbort, { once: true });
      flight.promise.then(
        (value) => {
          signal.removeEventListener('abort', onAbort);
          resolve(value);
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      );
    });
  }
}

export function createSingleFlight<T>(options?: SingleFlightOptions): SingleFlight<T> {
  return new SingleFlight<T>(options);
}
