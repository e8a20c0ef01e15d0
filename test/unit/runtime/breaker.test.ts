import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  type BreakerPermit,
  BreakerRegistry,
  type BreakerState,
  CircuitBreaker,
} from '../../../engine/runtime/breaker.js';
import { VirtualClock } from '../../../engine/shared/virtual-clock.js';
import { type BreakerSettings, ERROR_CLASSES, type ErrorClass } from '../../../engine/types.js';
import { makeTarget } from '../../support/decision-fixtures.js';

const settings: BreakerSettings = { failures: 3, windowMs: 10_000, cooldownMs: 5_000 };

function fail(b: CircuitBreaker, errorClass: ErrorClass = 'server_error'): void {
  const permit = b.tryAcquire();
  if (permit === null) throw new Error('not admitted');
  b.settle(permit, errorClass);
}

describe('CircuitBreaker', () => {
  it('opens after `failures` counted failures within the window', async () => {
    const clock = new VirtualClock();
    const b = new CircuitBreaker(settings, clock);
    fail(b);
    fail(b);
    expect(b.state).toBe('closed');
    fail(b);
    expect(b.state).toBe('open');
    expect(b.tryAcquire()).toBeNull();
    expect(b.cooldownEndsAt()).toBe(5_000);
  });

  it('successes in the closed state do not reset the window: 80 failures in 100 calls open it', async () => {
    const clock = new VirtualClock();
    const b = new CircuitBreaker({ failures: 5, windowMs: 30_000, cooldownMs: 30_000 }, clock);
    let openedAt = -1;
    // 100 calls over 10 s, every fifth a success: never five failures in a row.
    for (let i = 0; i < 100 && openedAt < 0; i++) {
      const permit = b.tryAcquire();
      if (permit === null) throw new Error('not admitted');
      b.settle(permit, i % 5 === 4 ? 'success' : 'server_error');
      if (b.state === 'open') openedAt = i;
      await clock.advance(100);
    }
    expect(b.state).toBe('open');
    // Failures at calls 0,1,2,3 and 5: the fifth failure within the window opens it.
    expect(openedAt).toBe(5);
  });

  it('forgets failures older than the window', async () => {
    const clock = new VirtualClock();
    const b = new CircuitBreaker(settings, clock);
    fail(b);
    fail(b);
    await clock.advance(10_000);
    fail(b);
    expect(b.state).toBe('closed');
    expect(b.snapshot().recentFailures).toBe(1);
  });

  it('does not count the request’s own faults', () => {
    const ownFaults: readonly ErrorClass[] = [
      'bad_request',
      'auth',
      'context_length',
      'content_policy',
      'guardrail',
    ];
    const b = new CircuitBreaker({ ...settings, failures: 1 }, new VirtualClock());
    for (const c of ownFaults) fail(b, c);
    expect(b.state).toBe('closed');
    // Every other class counts: one failure opens a breaker whose threshold is one.
    for (const c of ERROR_CLASSES.filter((e) => !ownFaults.includes(e))) {
      const one = new CircuitBreaker({ ...settings, failures: 1 }, new VirtualClock());
      fail(one, c);
      expect(one.state).toBe('open');
    }
  });

  it('half-opens after the cooldown, admits one probe, closes on its success', async () => {
    const clock = new VirtualClock();
    const b = new CircuitBreaker(settings, clock);
    for (let i = 0; i < 3; i++) fail(b);
    await clock.advance(4_999);
    expect(b.state).toBe('open');
    await clock.advance(1);
    expect(b.state).toBe('half_open');
    const probe = b.tryAcquire();
    expect(probe).toEqual({ probe: true });
    expect(b.tryAcquire()).toBeNull();
    b.settle(probe as BreakerPermit, 'success');
    expect(b.state).toBe('closed');
    expect(b.tryAcquire()).toEqual({ probe: false });
  });

  it('re-opens with a fresh cooldown when the probe fails; a cancelled probe frees the slot', async () => {
    const clock = new VirtualClock();
    const b = new CircuitBreaker(settings, clock);
    for (let i = 0; i < 3; i++) fail(b);
    await clock.advance(5_000);
    const cancelled = b.tryAcquire() as BreakerPermit;
    b.settle(cancelled, 'cancelled');
    expect(b.state).toBe('half_open');
    fail(b, 'timeout');
    expect(b.state).toBe('open');
    expect(b.cooldownEndsAt()).toBe(10_000);
  });

  it('settles a permit only once', () => {
    const b = new CircuitBreaker({ ...settings, failures: 2 }, new VirtualClock());
    const permit = b.tryAcquire() as BreakerPermit;
    b.settle(permit, 'server_error');
    b.settle(permit, 'server_error');
    expect(b.state).toBe('closed');
  });

  it('forceAcquire: success closes an open breaker, failure renews its cooldown', async () => {
    const clock = new VirtualClock();
    const b = new CircuitBreaker({ ...settings, failures: 1 }, clock);
    fail(b);
    await clock.advance(1_000);
    b.settle(b.forceAcquire(), 'server_error');
    expect(b.cooldownEndsAt()).toBe(6_000);
    b.settle(b.forceAcquire(), 'success');
    expect(b.state).toBe('closed');
  });

  // The state machine against a tiny model, under any sequence of commands.
  type Cmd =
    | { op: 'acquire' }
    | { op: 'settle'; outcome: 'success' | 'cancelled' | ErrorClass }
    | { op: 'advance'; ms: number };
  const cmd: fc.Arbitrary<Cmd> = fc.oneof(
    fc.constant<Cmd>({ op: 'acquire' }),
    fc
      .constantFrom<('success' | 'cancelled' | ErrorClass)[]>(
        'success',
        'cancelled',
        'server_error',
        'timeout',
        'bad_request',
      )
      .map((outcome): Cmd => ({ op: 'settle', outcome })),
    fc.integer({ min: 0, max: 8_000 }).map((ms): Cmd => ({ op: 'advance', ms })),
  );

  test.prop([fc.array(cmd, { maxLength: 60 }), fc.integer({ min: 1, max: 4 })], { numRuns: 300 })(
    'matches the reference state machine',
    async (cmds, failures) => {
      const s: BreakerSettings = { failures, windowMs: 10_000, cooldownMs: 5_000 };
      const clock = new VirtualClock();
      const b = new CircuitBreaker(s, clock);
      // Model.
      const model: { state: BreakerState } = { state: 'closed' };
      let fails: number[] = [];
      let openedAt = 0;
      let probeOut = false;
      const held: { permit: BreakerPermit; probe: boolean }[] = [];
      const refresh = () => {
        if (model.state === 'open' && clock.now() >= openedAt + s.cooldownMs) {
          model.state = 'half_open';
          probeOut = false;
        }
      };
      const counts = (o: string) => o === 'server_error' || o === 'timeout';
      for (const c of cmds) {
        if (c.op === 'advance') await clock.advance(c.ms);
        refresh();
        if (c.op === 'acquire') {
          const permit = b.tryAcquire();
          const admitted = model.state === 'closed' || (model.state === 'half_open' && !probeOut);
          expect(permit !== null).toBe(admitted);
          if (permit !== null) {
            const probe = model.state === 'half_open';
            if (probe) probeOut = true;
            held.push({ permit, probe });
          }
        } else if (c.op === 'settle') {
          const h = held.shift();
          if (h === undefined) continue;
          b.settle(h.permit, c.outcome);
          if (c.outcome === 'success') {
            // Windowed: a success in the closed state forgets only failures older than the window.
            if (model.state === 'closed') {
              fails = fails.filter((t) => t > clock.now() - s.windowMs);
            } else if (h.probe) {
              model.state = 'closed';
              fails = [];
              probeOut = false;
            }
          } else if (!counts(c.outcome)) {
            if (h.probe && model.state === 'half_open') probeOut = false;
          } else if (model.state === 'closed') {
            fails = [...fails.filter((t) => t > clock.now() - s.windowMs), clock.now()];
            if (fails.length >= failures) {
              model.state = 'open';
              openedAt = clock.now();
              fails = [];
              probeOut = false;
            }
          } else if (h.probe) {
            model.state = 'open';
            openedAt = clock.now();
            probeOut = false;
          }
        }
        expect(b.state).toBe(model.state);
      }
    },
  );
});

describe('BreakerRegistry', () => {
  it('keeps state across a reload with the same definition, starts fresh when it changed', () => {
    const clock = new VirtualClock();
    const registry = new BreakerRegistry(clock);
    const a = makeTarget('a', { breaker: { failures: 1 } });
    fail(registry.get(a));
    expect(registry.get(makeTarget('a', { breaker: { failures: 1 } })).state).toBe('open');
    expect(registry.get(makeTarget('a', { breaker: { failures: 2 } })).state).toBe('closed');
  });

  it('retain drops targets no longer present, and keeps at most two definitions per name', () => {
    const registry = new BreakerRegistry(new VirtualClock());
    for (let f = 1; f <= 5; f++) registry.get(makeTarget('a', { breaker: { failures: f } }));
    registry.get(makeTarget('b'));
    expect(registry.size).toBe(3);
    registry.retain(['b']);
    expect(registry.size).toBe(1);
    expect([...registry.snapshot().keys()][0]).toContain('b');
  });
});
