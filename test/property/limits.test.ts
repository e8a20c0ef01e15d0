/**
 * P10 (limiter bound) and P11 (limiter model) of docs/properties.md, plus "each budget alert fires once
 * per crossing". The model is a token bucket over exact integers (level x period), a different
 * formulation from the GCRA under test (a TAT over ticks). P11 runs on the memory store and, when
 * redis-server is installed, on the Redis store. fast-check prints the seed of any failure; set
 * FC_NUM_RUNS for a longer run.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { BudgetTracker, periodStart, toNanoUsd } from '../../engine/limits/budgets.js';
import {
  type GcraParams,
  gcraAcquire,
  gcraLevel,
  MAX_TICKS,
  type Tat,
  ticksAhead,
} from '../../engine/limits/gcra.js';
import { limitFingerprint } from '../../engine/limits/limiter.js';
import { MemoryStore } from '../../engine/limits/memory-store.js';
import { RedisStore } from '../../engine/limits/redis-store.js';
import type { Acquired, LimiterStore } from '../../engine/limits/store.js';
import { command } from '../support/commands.js';
import { type RedisServer, redisSkipReason, startRedis } from '../support/redis.js';

const NUM_RUNS = Number(process.env.FC_NUM_RUNS ?? 100);
const T0 = 1_767_225_600_000;

const paramsArb: fc.Arbitrary<GcraParams> = fc.record({
  amount: fc.integer({ min: 1, max: 20 }),
  periodMs: fc.integer({ min: 1, max: 5_000 }),
  capacity: fc.integer({ min: 1, max: 30 }),
});

/** The reference: a token bucket whose level is kept multiplied by the period (an integer). */
class BucketModel {
  /** level x periodMs */
  scaled = 0;
  at: number;
  constructor(
    readonly p: GcraParams,
    start: number,
  ) {
    this.at = start;
  }
  drain(now: number): void {
    if (now > this.at) {
      this.scaled = Math.max(0, this.scaled - (now - this.at) * this.p.amount);
      this.at = now;
    }
  }
  acquire(cost: number, now: number): Acquired {
    this.drain(now);
    const { amount, periodMs, capacity } = this.p;
    const tau = capacity * periodMs;
    const next = this.scaled + cost * periodMs;
    if (cost > 0 && next > tau) {
      return {
        allowed: false,
        limit: capacity,
        remaining: Math.max(0, Math.floor((tau - this.scaled) / periodMs)),
        retryAfterMs: cost > capacity ? Number.POSITIVE_INFINITY : Math.ceil((next - tau) / amount),
        resetAfterMs: Math.ceil(this.scaled / amount),
      };
    }
    this.scaled = Math.min(MAX_TICKS, Math.max(0, next));
    return {
      allowed: true,
      limit: capacity,
      remaining: Math.max(0, Math.floor((tau - this.scaled) / periodMs)),
      retryAfterMs: 0,
      resetAfterMs: Math.ceil(this.scaled / amount),
    };
  }
  adjust(delta: number, now: number): void {
    this.drain(now);
    this.scaled = Math.min(MAX_TICKS, Math.max(0, this.scaled + delta * this.p.periodMs));
  }
}

interface Arrival {
  readonly gap: number;
  readonly cost: number;
}

function arrivals(maxCost: number, allowRefunds: boolean): fc.Arbitrary<Arrival[]> {
  return fc.array(
    fc.record({
      gap: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 6_000 })),
      cost: allowRefunds ? fc.integer({ min: -maxCost, max: maxCost }) : fc.integer({ min: 0, max: maxCost }),
    }),
    { minLength: 1, maxLength: 60 },
  );
}

interface Step {
  readonly t: number;
  readonly cost: number;
  readonly result: ReturnType<typeof gcraAcquire>;
  readonly expected: Acquired;
  /** The state after this arrival (updated when it was admitted). */
  readonly tat: Tat | null;
  readonly model: BucketModel;
}

/** Runs `trace` from T0 through `gcraAcquire` and the model side by side; `check` sees every arrival. */
function replayTrace(p: GcraParams, trace: readonly Arrival[], check: (step: Step) => void): void {
  const model = new BucketModel(p, T0);
  let tat: Tat | null = null;
  let t = T0;
  for (const { gap, cost } of trace) {
    t += gap;
    const result = gcraAcquire(tat, { ...p, cost, now: t });
    const expected = model.acquire(cost, t);
    if (result.allowed) tat = result.newTat;
    check({ t, cost, result, expected, tat, model });
  }
}

describe('P10 limiter bound (pure GCRA)', () => {
  it('admitted cost in any window [t, t+T] is at most C + rho*T, and every decision equals the model', () => {
    fc.assert(
      fc.property(paramsArb, arrivals(35, false), (p, trace) => {
        const admitted: { t: number; cost: number }[] = [];
        replayTrace(p, trace, ({ t, cost, result, expected, tat }) => {
          // A request that fits the model's level is never refused (and vice versa).
          expect(result.allowed).toBe(expected.allowed);
          expect({ ...result, newTat: undefined }).toEqual({ ...expected, newTat: undefined });
          if (result.allowed && cost > 0) admitted.push({ t, cost });
          const level = gcraLevel(tat, t, p);
          expect(level).toBeGreaterThanOrEqual(0);
          expect(level).toBeLessThanOrEqual(p.capacity);
        });
        // Windows that start and end at arrivals are the worst cases; compare in exact integers:
        // sum x periodMs <= C x periodMs + amount x T.
        for (let i = 0; i < admitted.length; i++) {
          let sum = 0;
          for (let j = i; j < admitted.length; j++) {
            sum += admitted[j].cost;
            const window = admitted[j].t - admitted[i].t;
            expect(sum * p.periodMs).toBeLessThanOrEqual(p.capacity * p.periodMs + p.amount * window);
          }
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('with refunds mixed in, the level stays in [0, C] and decisions equal the model', () => {
    fc.assert(
      fc.property(paramsArb, arrivals(35, true), (p, trace) => {
        replayTrace(p, trace, ({ t, result, expected, tat, model }) => {
          expect(result.allowed).toBe(expected.allowed);
          expect(ticksAhead(tat, t, p.amount)).toBe(model.scaled);
          expect(model.scaled).toBeLessThanOrEqual(p.capacity * p.periodMs);
        });
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// P11: model-based (fc.commands) and concurrent (fc.scheduler), on each store

interface Real {
  readonly store: LimiterStore;
  readonly run: string;
  now: number;
  paramsIndex: number;
}

interface Model {
  readonly buckets: Map<string, BucketModel>;
  now: number;
  paramsIndex: number;
}

type Ctx = { readonly sets: readonly GcraParams[] };

function stateKey(ctx: Ctx, paramsIndex: number, key: string): string {
  const p = ctx.sets[paramsIndex];
  return `rl:${limitFingerprint('prop', ['tenant'], 'tokens', p)}:${key}`;
}

function bucket(model: Model, ctx: Ctx, key: string): BucketModel {
  const k = stateKey(ctx, model.paramsIndex, key);
  let b = model.buckets.get(k);
  if (b === undefined) {
    b = new BucketModel(ctx.sets[model.paramsIndex], model.now);
    model.buckets.set(k, b);
  }
  return b;
}

const storeKey = (ctx: Ctx, r: Real, key: string): string => `${r.run}:${stateKey(ctx, r.paramsIndex, key)}`;

const acquireCmd = (ctx: Ctx, key: string, cost: number) =>
  command<Model, Real>(`acquire(${key}, ${cost})`, async (m, r) => {
    const expected = bucket(m, ctx, key).acquire(cost, m.now);
    const got = await r.store.acquire(storeKey(ctx, r, key), ctx.sets[r.paramsIndex], cost, r.now);
    expect(got).toEqual(expected);
  });

const adjustCmd = (ctx: Ctx, key: string, delta: number) =>
  command<Model, Real>(`adjust(${key}, ${delta})`, async (m, r) => {
    bucket(m, ctx, key).adjust(delta, m.now);
    await r.store.adjust(storeKey(ctx, r, key), ctx.sets[r.paramsIndex], delta, r.now);
  });

const advanceCmd = (ms: number) =>
  command<Model, Real>(`advance(${ms})`, async (m, r) => {
    m.now += ms;
    r.now += ms;
  });

/** A policy reload: the same parameters (index unchanged) keep state, changed ones start afresh. */
const reloadCmd = (index: number) =>
  command<Model, Real>(`reload(params#${index})`, async (m, r) => {
    m.paramsIndex = index;
    r.paramsIndex = index;
  });

function commandsFor(ctx: Ctx): fc.Arbitrary<Iterable<fc.AsyncCommand<Model, Real>>> {
  const key = fc.constantFrom('a', 'b', 'c');
  const maxCost = Math.max(...ctx.sets.map((p) => p.capacity)) + 2;
  return fc.commands(
    [
      fc.tuple(key, fc.integer({ min: 0, max: maxCost })).map(([k, c]) => acquireCmd(ctx, k, c)),
      fc.tuple(key, fc.integer({ min: -maxCost, max: maxCost })).map(([k, d]) => adjustCmd(ctx, k, d)),
      fc
        .oneof(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 10_000 }))
        .map((ms) => advanceCmd(ms)),
      fc.integer({ min: 0, max: ctx.sets.length - 1 }).map((i) => reloadCmd(i)),
    ],
    { maxCommands: 40 },
  );
}

let runSeq = 0;

function describeStoreProperties(
  name: string,
  makeStore: () => Promise<LimiterStore>,
  skipReason: string | null,
) {
  if (skipReason !== null) console.warn(`[P11 ${name}] ${skipReason}`);
  describe.skipIf(skipReason !== null)(`P11 limiter model: ${name}`, () => {
    let store: LimiterStore | null = null;
    const get = async () => {
      store ??= await makeStore();
      return store;
    };
    afterAll(async () => {
      await store?.close();
    });

    it('fc.commands (acquire, adjust, advance clock, reload with same or changed params) equal the model', async () => {
      const s = await get();
      await fc.assert(
        fc.asyncProperty(
          fc
            .tuple(paramsArb, paramsArb)
            .map(([a, b]) => ({ sets: [a, a, b] }) as Ctx)
            .chain((ctx) => commandsFor(ctx)),
          async (cmds) => {
            const run = `p11-${++runSeq}-${Math.random().toString(36).slice(2, 8)}`;
            await fc.asyncModelRun(
              () => ({
                model: { buckets: new Map(), now: T0, paramsIndex: 0 },
                real: { store: s, run, now: T0, paramsIndex: 0 },
              }),
              cmds,
            );
          },
        ),
        { numRuns: NUM_RUNS },
      );
    });

    it('fc.scheduler interleavings of concurrent acquires never overdraw', async () => {
      const s = await get();
      await fc.assert(
        fc.asyncProperty(
          fc.scheduler(),
          paramsArb,
          fc.array(
            fc.record({ cost: fc.integer({ min: 1, max: 8 }), offset: fc.integer({ min: 0, max: 2_000 }) }),
            { minLength: 1, maxLength: 30 },
          ),
          async (scheduler, p, requests) => {
            const key = `sched-${++runSeq}-${Math.random().toString(36).slice(2, 8)}`;
            const acquire = scheduler.scheduleFunction((cost: number, now: number) =>
              s.acquire(key, p, cost, now),
            );
            const pending = requests.map((r) => acquire(r.cost, T0 + r.offset));
            await scheduler.waitAll();
            const results = await Promise.all(pending);
            const admitted = results.reduce((sum, r, i) => sum + (r.allowed ? requests[i].cost : 0), 0);
            const offsets = requests.map((r) => r.offset);
            const span = Math.max(...offsets) - Math.min(...offsets);
            // Even with `now` out of order (as from replicas), admitted <= C + rho x span.
            expect(admitted * p.periodMs).toBeLessThanOrEqual(p.capacity * p.periodMs + p.amount * span);
            if (span === 0) {
              for (let i = 0; i < requests.length; i++) {
                if (!results[i].allowed) expect(admitted + requests[i].cost).toBeGreaterThan(p.capacity);
              }
            }
          },
        ),
        { numRuns: NUM_RUNS },
      );
    });
  });
}

const server: RedisServer | null = await startRedis();
afterAll(async () => {
  await server?.stop();
});

describeStoreProperties('MemoryStore', async () => new MemoryStore(), null);
describeStoreProperties(
  'RedisStore',
  async () => {
    if (server === null) throw new Error(redisSkipReason);
    const store = new RedisStore({ url: server.url, prefix: 'prop:', commandTimeoutMs: 2_000 });
    await store.ready();
    return store;
  },
  server === null ? redisSkipReason : null,
);

// ---------------------------------------------------------------------------------------------
// Budgets: each alertAt threshold is reported once per crossing per period

describe('budget alerts fire once per crossing per period', () => {
  it('under any interleaving of concurrent records across periods', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.double({ min: 0.01, max: 50, noNaN: true }),
        fc
          .uniqueArray(fc.integer({ min: 1, max: 100 }), { maxLength: 5 })
          .map((xs) => xs.map((x) => x / 100)),
        fc.array(
          fc.record({
            cost: fc.double({ min: 0, max: 5, noNaN: true }),
            hour: fc.integer({ min: 0, max: 1 }),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        async (scheduler, usd, alertAt, records) => {
          // A small store: lru-cache preallocates `max` slots, which would dominate a 100-run property.
          const store = new MemoryStore({ maxKeys: 1, maxCounters: 16 });
          const tracker = new BudgetTracker({ money: { usd, period: 'hour' }, alertAt }, store);
          const record = scheduler.scheduleFunction((cost: number, now: number) =>
            tracker.record('k', cost, now),
          );
          const pending = records.map((r) => record(r.cost, T0 + r.hour * 3_600_000 + 1));
          await scheduler.waitAll();
          const results = await Promise.all(pending);
          const limitNano = toNanoUsd(usd);
          for (const hour of [0, 1]) {
            const mine = results.filter((_, i) => records[i].hour === hour);
            const total = records
              .filter((r) => r.hour === hour)
              .reduce((sum, r) => sum + (r.cost > 0 ? toNanoUsd(r.cost) : 0), 0);
            const expected = [...new Set(alertAt)]
              .filter((f) => Math.max(1, Math.round(f * limitNano)) <= total)
              .sort((a, b) => a - b);
            expect(mine.flatMap((r) => r.crossed).sort((a, b) => a - b)).toEqual(expected);
            expect(mine.filter((r) => r.becameExceeded).length).toBe(total >= limitNano && total > 0 ? 1 : 0);
            for (const r of mine) expect(r.periodStartMs).toBe(periodStart('hour', T0 + hour * 3_600_000));
          }
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });
});
