/**
 * P8 (attempt budget) and P9 (deadline) of docs/properties.md, on a virtual clock with a scripted
 * upstream. Everything derives from the fast-check seed, which is printed on failure; set
 * FC_NUM_RUNS for a long run.
 */

import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { seededRandom } from '../../engine/compile/random.js';
import { maxUpstreamCalls } from '../../engine/runtime/attempts/index.js';
import type { ErrorClass, ResolvedTarget } from '../../engine/types.js';
import { ERROR_CLASSES, NEVER_RETRIED } from '../../engine/types.js';
import {
  createHarness,
  DEFAULT_FALLBACK_ON,
  DEFAULT_RETRY_ON,
  makeContext,
  makeDecision,
  makeTarget,
  readEvents,
} from '../support/decision-fixtures.js';
import type { SimChunk, SimOutcome } from '../support/simulated-provider.js';

const NUM_RUNS = Number(process.env.FC_NUM_RUNS ?? 250);

const seeded = seededRandom;

const latency = fc.integer({ min: 0, max: 3_000 });
const chunk: fc.Arbitrary<SimChunk> = fc.record({
  delayMs: fc.integer({ min: 0, max: 2_000 }),
  text: fc.constantFrom('a', 'bc', ''),
});
const UPSTREAM_CLASSES: ErrorClass[] = [
  'connect',
  'rate_limited',
  'overloaded',
  'server_error',
  'context_length',
  'content_policy',
  'bad_request',
  'auth',
];

const outcome: fc.Arbitrary<SimOutcome> = fc.oneof(
  fc.record({
    type: fc.constant('ok' as const),
    latencyMs: latency,
    chunks: fc.array(chunk, { minLength: 1, maxLength: 3 }),
    omitDone: fc.boolean(),
  }),
  fc.record({
    type: fc.constant('error' as const),
    errorClass: fc.constantFrom(...UPSTREAM_CLASSES),
    latencyMs: latency,
    retryAfterMs: fc.option(fc.integer({ min: 0, max: 40_000 }), { nil: null }),
  }),
  fc.constant({ type: 'hang' as const }),
  fc.record({
    type: fc.constant('cut' as const),
    latencyMs: latency,
    chunks: fc.array(chunk, { maxLength: 2 }),
    errorClass: fc.constantFrom<ErrorClass[]>('stream_cut', 'malformed', 'connect'),
  }),
  fc.record({
    type: fc.constant('stall' as const),
    latencyMs: latency,
    chunks: fc.array(chunk, { maxLength: 2 }),
  }),
);

interface TargetSpec {
  readonly attempts: number;
  readonly retryOn: readonly ErrorClass[];
  readonly fallbackOn: readonly ErrorClass[];
  readonly firstTokenMs: number;
  readonly idleMs: number;
  readonly totalMs: number;
  readonly context: number | null;
  readonly prefill: boolean;
  readonly failures: number;
  readonly preOpen: boolean;
  readonly backoff: ResolvedTarget['retry']['backoff'];
  readonly respectRetryAfterMs: number;
  readonly outcomes: readonly SimOutcome[];
}

const classes = fc.subarray([...ERROR_CLASSES]);
const targetSpec: fc.Arbitrary<TargetSpec> = fc.record({
  attempts: fc.integer({ min: 0, max: 3 }),
  retryOn: fc.oneof(fc.constant(DEFAULT_RETRY_ON), classes),
  fallbackOn: fc.oneof(fc.constant(DEFAULT_FALLBACK_ON), classes),
  firstTokenMs: fc.integer({ min: 100, max: 5_000 }),
  idleMs: fc.integer({ min: 100, max: 5_000 }),
  totalMs: fc.integer({ min: 500, max: 30_000 }),
  context: fc.option(fc.integer({ min: 1_000, max: 100_000 }), { nil: null }),
  prefill: fc.boolean(),
  failures: fc.integer({ min: 1, max: 4 }),
  preOpen: fc.boolean(),
  backoff: fc.record({
    initialMs: fc.integer({ min: 0, max: 2_000 }),
    maxMs: fc.integer({ min: 0, max: 10_000 }),
    multiplier: fc.double({ min: 1, max: 3, noNaN: true }),
    jitter: fc.constantFrom('full' as const, 'equal' as const, 'none' as const),
  }),
  respectRetryAfterMs: fc.integer({ min: 0, max: 30_000 }),
  outcomes: fc.array(outcome, { maxLength: 5 }),
});

const scenario = fc.record({
  targets: fc.array(targetSpec, { minLength: 1, maxLength: 5 }),
  maxAttempts: fc.integer({ min: 0, max: 15 }),
  totalMs: fc.integer({ min: 200, max: 40_000 }),
  stream: fc.boolean(),
  midStream: fc.constantFrom('error' as const, 'continue' as const),
  seed: fc.integer(),
});

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

async function run(s: Scenario) {
  const h = createHarness({
    random: seeded(s.seed),
    script: Object.fromEntries(s.targets.map((t, i) => [`t${i}`, t.outcomes])),
    retryBudget: { minRetries: 1_000 },
  });
  const targets = s.targets.map((t, i) =>
    makeTarget(`t${i}`, {
      context: t.context,
      prefill: t.prefill,
      retry: {
        attempts: t.attempts,
        retryOn: t.retryOn,
        fallbackOn: t.fallbackOn,
        backoff: t.backoff,
        respectRetryAfterMs: t.respectRetryAfterMs,
      },
      timeout: { firstTokenMs: t.firstTokenMs, idleMs: t.idleMs, totalMs: t.totalMs },
      // A cooldown longer than any request: a pre-opened breaker stays open throughout.
      breaker: { failures: t.failures, windowMs: 10_000, cooldownMs: 10_000_000 },
    }),
  );
  // Open the chosen breakers one millisecond apart, so their cooldowns end in declared order.
  const openAtStart = new Set<string>();
  for (const [i, t] of targets.entries()) {
    if (!s.targets[i].preOpen) continue;
    const breaker = h.executor.breakers.get(t);
    for (let k = 0; k < t.breaker.failures; k++) {
      const permit = breaker.tryAcquire();
      if (permit !== null) breaker.settle(permit, 'server_error');
    }
    openAtStart.add(t.name);
    await h.clock.advance(1);
  }
  const start = h.clock.now();
  const decision = makeDecision(targets, {
    maxAttempts: s.maxAttempts,
    timeout: { totalMs: s.totalMs },
    midStream: s.midStream,
  });
  const response = await h.executor.execute(decision, makeContext({ stream: s.stream }));
  if (response.kind === 'stream') await readEvents(response.events);
  const meta = response.kind === 'stream' ? await response.done : response.meta;
  return { h, targets, start, openAtStart, meta, decision, end: h.clock.now() };
}

describe('attempt loop properties', () => {
  test.prop([scenario], { numRuns: NUM_RUNS })('P8 attempt budget', async (s) => {
    const { h, targets, openAtStart, meta, decision } = await run(s);
    const index = new Map(targets.map((t, i) => [t.name, i]));
    const calls = h.sim.calls.map((c) => index.get(c.upstreamModel) ?? -1);

    // calls(t_i) ≤ 1 + b_i; total ≤ min(A, Σ(1 + b_i)).
    for (const [i, t] of targets.entries()) {
      expect(calls.filter((c) => c === i).length).toBeLessThanOrEqual(1 + t.retry.attempts);
    }
    const sum = targets.reduce((n, t) => n + 1 + t.retry.attempts, 0);
    expect(calls.length).toBeLessThanOrEqual(Math.min(s.maxAttempts, sum));
    // The count `explain` prints is a bound too (its exactness: the next property).
    expect(calls.length).toBeLessThanOrEqual(maxUpstreamCalls(decision, { stream: s.stream }));

    // The chain index never goes back.
    for (let k = 1; k < calls.length; k++) expect(calls[k]).toBeGreaterThanOrEqual(calls[k - 1]);

    // Every call is accounted for, and nothing follows a success.
    expect(meta.attempts.length).toBe(calls.length);
    const firstOk = meta.attempts.findIndex((a) => a.outcome === 'ok');
    if (firstOk >= 0) expect(firstOk).toBe(meta.attempts.length - 1);

    // A repeat call to the same target follows only a retryable class.
    for (let k = 1; k < calls.length; k++) {
      if (calls[k] !== calls[k - 1]) continue;
      const previous = meta.attempts[k - 1].outcome;
      expect(previous).not.toBe('ok');
      const retry = targets[calls[k]].retry;
      expect(retry.retryOn).toContain(previous);
      expect(NEVER_RETRIED.has(previous as ErrorClass)).toBe(false);
    }

    // Open targets are not called, except the all-open case: then the earliest cooldown only.
    const allOpen = targets.every((t) => openAtStart.has(t.name));
    for (const c of calls) {
      if (!openAtStart.has(targets[c].name)) continue;
      expect(allOpen).toBe(true);
      expect(c).toBe(0);
    }
    expect(h.clock.pending).toBe(0);
  });

  test.prop([scenario], { numRuns: NUM_RUNS })('P9 deadline', async (s) => {
    const { h, targets, start, meta, end } = await run(s);
    const deadline = start + s.totalMs;
    expect(end - start).toBeLessThanOrEqual(s.totalMs);
    for (const call of h.sim.calls) expect(call.startedAt).toBeLessThan(deadline);
    for (const a of meta.attempts) {
      const target = targets.find((t) => t.name === a.target);
      const startedAt = start + a.startedAtMs;
      expect(a.durationMs).toBeLessThanOrEqual(Math.min(target?.timeout.totalMs ?? 0, deadline - startedAt));
      if (a.outcome === 'first_token')
        expect(a.durationMs).toBeLessThanOrEqual(target?.timeout.firstTokenMs ?? 0);
    }
    expect(h.clock.pending).toBe(0);
  });

  /**
   * `maxUpstreamCalls` (what `explain` prints) is exact. The worst upstream fails every call with
   * a class the target retries while it has retries left, then with one that moves on (when it
   * has one). A walk can then go two ways: down the chain, or, when every breaker is open, a
   * probe of the one target whose cooldown ends first, with its retries (a cooldown may end
   * during a backoff). Measured on the executor, the larger of the two equals the count.
   */
  const SIMPLE: ErrorClass[] = [
    'connect',
    'rate_limited',
    'overloaded',
    'server_error',
    'bad_request',
    'auth',
  ];
  const chainTarget = fc.record({
    attempts: fc.integer({ min: 0, max: 3 }),
    // Never-retried classes among them: a target that retries only those is called once.
    retryOn: fc.subarray<ErrorClass>([...SIMPLE, 'timeout', 'context_length', 'content_policy']),
    // Sometimes empty: the walk ends at that target.
    fallbackOn: fc.subarray(SIMPLE),
  });
  test.prop([fc.array(chainTarget, { minLength: 1, maxLength: 5 }), fc.integer({ min: 1, max: 15 })], {
    numRuns: NUM_RUNS,
  })('maxUpstreamCalls is what the worst upstream gets', async (specs, maxAttempts) => {
    const fail = (errorClass: ErrorClass): SimOutcome => ({
      type: 'error',
      errorClass,
      latencyMs: 0,
      retryAfterMs: null,
    });
    const script: Record<string, SimOutcome[]> = {};
    const targets = specs.map((spec, i) => {
      const retried = spec.retryOn.find((c) => !NEVER_RETRIED.has(c));
      const last = spec.fallbackOn[0] ?? 'server_error';
      const retries = retried === undefined ? 0 : spec.attempts;
      script[`t${i}`] = [...Array.from({ length: retries }, () => fail(retried ?? last)), fail(last)];
      return makeTarget(`t${i}`, {
        retry: {
          attempts: spec.attempts,
          retryOn: spec.retryOn,
          fallbackOn: spec.fallbackOn,
          backoff: { initialMs: 0, maxMs: 0, multiplier: 1, jitter: 'none' },
        },
        breaker: { failures: 1_000, windowMs: 10_000, cooldownMs: 10_000 },
      });
    });
    const callsOf = async (chain: typeof targets): Promise<number> => {
      const h = createHarness({ script, retryBudget: { minRetries: 1_000 } });
      await h.executor.execute(
        makeDecision(chain, { maxAttempts, timeout: { totalMs: 600_000 } }),
        makeContext(),
      );
      return h.sim.calls.length;
    };
    let worst = await callsOf(targets);
    for (const target of targets) worst = Math.max(worst, await callsOf([target]));
    const decision = makeDecision(targets, { maxAttempts, timeout: { totalMs: 600_000 } });
    expect(maxUpstreamCalls(decision)).toBe(worst);
  });
});
