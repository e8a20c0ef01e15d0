import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../engine/shared/virtual-clock.js';

describe('VirtualClock', () => {
  it('resolves sleeps only when time is advanced, in order', async () => {
    const clock = new VirtualClock({ start: 100 });
    const log: string[] = [];
    void clock.sleep(50).then(() => log.push(`b@${clock.now()}`));
    void clock.sleep(20).then(() => log.push(`a@${clock.now()}`));
    void clock.sleep(50).then(() => log.push(`c@${clock.now()}`));
    await clock.advance(19);
    expect(log).toEqual([]);
    await clock.advance(100);
    expect(log).toEqual(['a@120', 'b@150', 'c@150']);
    expect(clock.now()).toBe(219);
  });

  it('fires timers created by woken code within the same advance', async () => {
    const clock = new VirtualClock();
    const seen: number[] = [];
    void (async () => {
      for (let i = 0; i < 3; i++) {
        await clock.sleep(10);
        seen.push(clock.now());
      }
    })();
    await clock.advance(25);
    expect(seen).toEqual([10, 20]);
    await clock.runUntilIdle();
    expect(seen).toEqual([10, 20, 30]);
  });

  it('fires setTimer callbacks with the sleeps, in creation order; clearTimer forgets one', async () => {
    const clock = new VirtualClock({ start: 0 });
    const log: string[] = [];
    void clock.sleep(30).then(() => log.push(`sleep@${clock.now()}`));
    clock.setTimer(30, () => log.push(`timer@${clock.now()}`));
    const cleared = clock.setTimer(10, () => log.push('cleared'));
    clock.setTimer(10, () => log.push(`early@${clock.now()}`));
    expect(clock.pending).toBe(4);
    clock.clearTimer(cleared);
    expect(clock.pending).toBe(3);
    await clock.advance(30);
    expect(log).toEqual(['early@10', 'sleep@30', 'timer@30']);
    expect(clock.pending).toBe(0);
  });

  it('rejects on abort and forgets the timer', async () => {
    const clock = new VirtualClock();
    const controller = new AbortController();
    const p = clock.sleep(1_000, controller.signal);
    controller.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
    expect(clock.pending).toBe(0);
    await expect(clock.sleep(1, controller.signal)).rejects.toThrow('stop');
    await expect(clock.sleep(0)).resolves.toBeUndefined();
  });

  it('auto mode jumps to the next timer when nothing else is runnable', async () => {
    const clock = new VirtualClock({ auto: true });
    const order: string[] = [];
    await Promise.all([
      clock.sleep(3_000).then(() => order.push(`x@${clock.now()}`)),
      clock.sleep(1_000).then(() => order.push(`y@${clock.now()}`)),
    ]);
    expect(order).toEqual(['y@1000', 'x@3000']);
  });
});
