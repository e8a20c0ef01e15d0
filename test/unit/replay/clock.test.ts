import { describe, expect, it } from 'vitest';
import { ReplayClock } from '../../../engine/replay/clock.js';
import { Cancellation } from '../../../engine/shared/cancellation.js';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Writes how each watched sleep ends into `settled`: `fired <name>` or `aborted <name>: <reason>`. */
function watcher(settled: string[]): (name: string, p: Promise<void>) => void {
  return (name, p) => {
    p.then(
      () => settled.push(`fired ${name}`),
      (reason: unknown) => settled.push(`aborted ${name}: ${String(reason)}`),
    );
  };
}

describe('ReplayClock', () => {
  it('fires sleeps in time order, same-instant ones in creation order, only when told', async () => {
    const clock = new ReplayClock(1000);
    const order: string[] = [];
    void clock.sleep(30).then(() => order.push('30'));
    void clock.sleep(10).then(() => order.push('10a'));
    void clock.sleep(10).then(() => order.push('10b'));
    void clock.sleep(0).then(() => order.push('0'));
    await turn();
    expect(order).toEqual(['0']);
    expect(clock.pending).toBe(3);
    expect(clock.nextAt()).toBe(1010);
    clock.fireAt(1010);
    await turn();
    expect(order).toEqual(['0', '10a', '10b']);
    expect(clock.now()).toBe(1010);
    clock.fireAt(2000);
    await turn();
    expect(order).toEqual(['0', '10a', '10b', '30']);
    expect(clock.now()).toBe(2000);
    expect(clock.nextAt()).toBeNull();
  });

  it('an aborted sleep rejects and leaves the heap at once; time never goes back', async () => {
    const clock = new ReplayClock(0);
    const controllers = Array.from({ length: 50 }, () => new AbortController());
    const settled: string[] = [];
    controllers.forEach((c, i) => {
      clock.sleep(100 + i, c.signal).then(
        () => settled.push(`fired ${i}`),
        () => settled.push(`aborted ${i}`),
      );
    });
    for (let i = 0; i < 50; i += 2) controllers[i].abort();
    await turn();
    expect(clock.pending).toBe(25);
    expect(clock.nextAt()).toBe(101);
    clock.fireAt(1_000);
    await turn();
    expect(settled.filter((s) => s.startsWith('fired'))).toEqual(
      Array.from({ length: 25 }, (_, k) => `fired ${2 * k + 1}`),
    );
    clock.set(500);
    expect(clock.now()).toBe(1_000);
    await expect(clock.sleep(5, AbortSignal.abort('gone'))).rejects.toBe('gone');
  });

  it('timers share the order of sleeps, run inside fireAt, and a cleared one never fires', async () => {
    const clock = new ReplayClock(0);
    const order: string[] = [];
    void clock.sleep(10).then(() => order.push('sleep 10'));
    clock.setTimer(10, () => order.push('timer 10'));
    const cleared = clock.setTimer(5, () => order.push('cleared 5'));
    clock.setTimer(20, () => order.push('timer 20'));
    clock.clearTimer(cleared);
    clock.clearTimer(cleared); // twice is harmless
    expect(clock.pending).toBe(3);
    expect(clock.nextAt()).toBe(10);
    clock.fireAt(10);
    expect(order).toEqual(['timer 10']); // synchronous; the sleep's continuation is a microtask
    await turn();
    expect(order).toEqual(['timer 10', 'sleep 10']);
    clock.fireAt(100);
    expect(order).toEqual(['timer 10', 'sleep 10', 'timer 20']);
    expect(clock.pending).toBe(0);
  });

  it('sleeps on one signal: an abort rejects every pending one in creation order; fired ones stay fired', async () => {
    const clock = new ReplayClock(0);
    const controller = new AbortController();
    const settled: string[] = [];
    const watch = watcher(settled);
    watch('a', clock.sleep(10, controller.signal));
    watch('b', clock.sleep(30, controller.signal));
    watch('c', clock.sleep(20, controller.signal));
    watch('other', clock.sleep(25));
    clock.fireAt(10);
    await turn();
    expect(settled).toEqual(['fired a']);
    controller.abort('gone');
    await turn();
    expect(settled).toEqual(['fired a', 'aborted b: gone', 'aborted c: gone']);
    expect(clock.pending).toBe(1);
    clock.fireAt(100);
    await turn();
    expect(settled.at(-1)).toBe('fired other');
    await expect(clock.sleep(5, controller.signal)).rejects.toBe('gone');
  });

  it('sleepUntil: a cancellation ends its pending sleeps at once, leaves fired ones alone, makes no signal', async () => {
    const clock = new ReplayClock(0);
    const cancel = new Cancellation();
    const settled: string[] = [];
    const track = watcher(settled);
    track('10', clock.sleepUntil(10, cancel));
    track('20', clock.sleepUntil(20, cancel));
    track('other', clock.sleepUntil(20, new Cancellation()));
    clock.fireAt(10);
    await turn();
    cancel.abort('gone');
    await turn();
    expect(settled).toEqual(['fired 10', 'aborted 20: gone']);
    expect(clock.pending).toBe(1);
    track('late', clock.sleepUntil(5, cancel));
    await turn();
    expect(settled.at(-1)).toBe('aborted late: gone');
    expect(clock.pending).toBe(1);
  });
});

describe('Cancellation', () => {
  it('aborts once, telling listeners and a signal made before or after', () => {
    const cancel = new Cancellation();
    const heard: unknown[] = [];
    cancel.onAbort((r) => heard.push(r));
    const early = cancel.signal;
    expect(early.aborted).toBe(false);
    cancel.abort('why');
    cancel.abort('again');
    expect(cancel.aborted).toBe(true);
    expect(heard).toEqual(['why']);
    expect(early.reason).toBe('why');
    cancel.onAbort((r) => heard.push(`late ${String(r)}`));
    expect(heard).toEqual(['why', 'late why']);
    const lazy = new Cancellation();
    lazy.abort();
    expect(lazy.signal.aborted).toBe(true);
    expect((lazy.reason as DOMException).name).toBe('AbortError');
    expect(lazy.signal.reason).toBe(lazy.reason);
  });
});
