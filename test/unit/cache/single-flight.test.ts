import { describe, expect, it } from 'vitest';
import { SingleFlight } from '../../../engine/cache/single-flight.js';

/** A promise with its resolve/reject exposed. */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A run that counts its calls and settles when `gate` does. */
function gatedRun<T>() {
  const gate = deferred<T>();
  let calls = 0;
  const run = async (): Promise<T> => {
    calls++;
    return gate.promise;
  };
  return { gate, run, calls: () => calls };
}

describe('SingleFlight', () => {
  it('runs N concurrent identical misses as one call', async () => {
    const flights = new SingleFlight<string>();
    const { gate, run, calls } = gatedRun<string>();
    const all = Array.from({ length: 10 }, () => flights.run('k', run));
    expect(flights.size).toBe(1);
    gate.resolve('answer');
    expect(await Promise.all(all)).toEqual(Array(10).fill('answer'));
    expect(calls()).toBe(1);
    expect(flights.size).toBe(0);
  });

  it('keeps different keys apart', async () => {
    const flights = new SingleFlight<string>();
    const results = await Promise.all([flights.run('a', async () => 'A'), flights.run('b', async () => 'B')]);
    expect(results).toEqual(['A', 'B']);
  });

  it('shares a failure with the waiters but does not remember it', async () => {
    const flights = new SingleFlight<string>();
    const { gate, run: failing, calls } = gatedRun<string>();
    const waiters = [flights.run('k', failing), flights.run('k', failing), flights.run('k', failing)];
    gate.reject(new Error('upstream 503'));
    for (const w of waiters) await expect(w).rejects.toThrow('upstream 503');
    expect(calls()).toBe(1);
    expect(flights.size).toBe(0);
    expect(await flights.run('k', async () => 'recovered')).toBe('recovered');
  });

  it('shares a synchronous throw as a rejection', async () => {
    const flights = new SingleFlight<string>();
    const boom = (): Promise<string> => {
      throw new Error('sync');
    };
    await expect(flights.run('k', boom)).rejects.toThrow('sync');
    expect(flights.size).toBe(0);
  });

  it("detaches an aborted waiter only; the leader's run goes on for the others", async () => {
    const flights = new SingleFlight<string>();
    const gate = deferred<string>();
    let runSignal: AbortSignal | undefined;
    const fn = (signal: AbortSignal) => {
      runSignal = signal;
      return gate.promise;
    };
    const leader = flights.run('k', fn);
    const controller = new AbortController();
    const waiter = flights.run('k', fn, { signal: controller.signal });
    const other = flights.run('k', fn, { signal: new AbortController().signal });
    controller.abort(new Error('client went away'));
    await expect(waiter).rejects.toThrow('client went away');
    expect(runSignal?.aborted).toBe(false);
    gate.resolve('answer');
    expect(await leader).toBe('answer');
    expect(await other).toBe('answer');
  });

  it('aborts the run when every caller has gone, and frees the key at once', async () => {
    const flights = new SingleFlight<string>();
    let runSignal: AbortSignal | undefined;
    const fn = (signal: AbortSignal) => {
      runSignal = signal;
      return new Promise<string>((_, reject) =>
        signal.addEventListener('abort', () => reject(signal.reason)),
      );
    };
    const a = new AbortController();
    const b = new AbortController();
    const pa = flights.run('k', fn, { signal: a.signal });
    const pb = flights.run('k', fn, { signal: b.signal });
    a.abort(new Error('a left'));
    expect(runSignal?.aborted).toBe(false);
    b.abort(new Error('b left'));
    expect(runSignal?.aborted).toBe(true);
    await expect(pa).rejects.toThrow('a left');
    await expect(pb).rejects.toThrow('b left');
    expect(flights.has('k')).toBe(false);
    expect(await flights.run('k', async () => 'fresh')).toBe('fresh');
  });

  it('rejects at once for an already aborted signal, without running', async () => {
    const flights = new SingleFlight<string>();
    let calls = 0;
    const signal = AbortSignal.abort(new Error('gone'));
    await expect(
      flights.run(
        'k',
        async () => {
          calls++;
          return 'x';
        },
        { signal },
      ),
    ).rejects.toThrow('gone');
    expect(calls).toBe(0);
  });

  it('runs unshared beyond maxKeys', async () => {
    const flights = new SingleFlight<string>({ maxKeys: 1 });
    const gate = deferred<string>();
    let calls = 0;
    const fn = async () => {
      calls++;
      return gate.promise;
    };
    const a = flights.run('a', fn);
    const b1 = flights.run('b', fn);
    const b2 = flights.run('b', fn);
    expect(flights.size).toBe(1);
    gate.resolve('x');
    await Promise.all([a, b1, b2]);
    expect(calls).toBe(3);
  });
});
