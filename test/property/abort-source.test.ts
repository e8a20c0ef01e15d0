/**
 * The caller's abort as a Cancellation (what the gateway hands the engine, `RequestInput.cancel`)
 * against an AbortSignal: the attempt loop, given either, aborted at the same virtual moment,
 * makes the same upstream calls, cancels them at the same times and ends the same way (the same
 * answer, events and attempt records, or the same `request_aborted`). Without retries (so no
 * backoff wait, which sleeps on an AbortSignal) it never makes the Cancellation's AbortSignal.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { seededRandom } from '../../engine/compile/random.js';
import { EngineError } from '../../engine/errors.js';
import { type AbortSource, Cancellation } from '../../engine/shared/cancellation.js';
import {
  createHarness,
  makeContext,
  makeDecision,
  makeTarget,
  readEvents,
} from '../support/decision-fixtures.js';
import type { SimOutcome } from '../support/simulated-provider.js';

const latency = fc.integer({ min: 0, max: 2_000 });
const outcome: fc.Arbitrary<SimOutcome> = fc.oneof(
  fc.record({
    type: fc.constant('ok' as const),
    latencyMs: latency,
    chunks: fc.array(
      fc.record({ delayMs: fc.integer({ min: 0, max: 1_000 }), text: fc.constantFrom('a', 'bc') }),
      { minLength: 1, maxLength: 3 },
    ),
  }),
  fc.record({
    type: fc.constant('error' as const),
    errorClass: fc.constantFrom('rate_limited' as const, 'overloaded' as const, 'server_error' as const),
    latencyMs: latency,
    retryAfterMs: fc.option(fc.integer({ min: 0, max: 3_000 }), { nil: null }),
  }),
  fc.constant({ type: 'hang' as const }),
);

const scenario = fc.record({
  targets: fc.array(
    fc.record({ attempts: fc.integer({ min: 0, max: 2 }), outcomes: fc.array(outcome, { maxLength: 3 }) }),
    { minLength: 1, maxLength: 3 },
  ),
  stream: fc.boolean(),
  /** When the caller aborts (virtual ms); null: never. */
  abortAt: fc.option(fc.integer({ min: 0, max: 6_000 }), { nil: null }),
  seed: fc.integer(),
});

/** A Cancellation that counts the reads of its `signal`. */
class CountingCancellation extends Cancellation {
  reads = 0;

  override get signal(): AbortSignal {
    this.reads++;
    return super.signal;
  }
}

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

async function run(s: Scenario, kind: 'signal' | 'cancel') {
  const h = createHarness({
    random: seededRandom(s.seed),
    script: Object.fromEntries(s.targets.map((t, i) => [`t${i}`, t.outcomes])),
    retryBudget: { minRetries: 1_000 },
  });
  const targets = s.targets.map((t, i) =>
    makeTarget(`t${i}`, {
      retry: { attempts: t.attempts },
      timeout: { firstTokenMs: 3_000, idleMs: 3_000, totalMs: 20_000 },
    }),
  );
  const decision = makeDecision(targets, { timeout: { totalMs: 30_000 } });
  const controller = new AbortController();
  const cancel = new CountingCancellation();
  const source: AbortSource = kind === 'signal' ? controller.signal : cancel;
  const reason = new Error('client disconnected');
  if (s.abortAt !== null) {
    void h.clock
      .sleep(s.abortAt)
      .then(() => (kind === 'signal' ? controller.abort(reason) : cancel.abort(reason)));
  }
  const start = h.clock.now();
  let result: unknown;
  try {
    const response = await h.executor.execute(decision, makeContext({ stream: s.stream }), source);
    if (response.kind === 'stream') {
      const frames = await readEvents(response.events);
      const meta = await response.done;
      result = { kind: 'stream', status: response.status, frames, attempts: meta.attempts };
    } else {
      result = {
        kind: 'json',
        status: response.status,
        body: response.body,
        attempts: response.meta.attempts,
      };
    }
  } catch (error) {
    result = { error: error instanceof EngineError ? error.code : String(error) };
  }
  return {
    result,
    calls: h.sim.calls.map((c) => [c.upstreamModel, c.startedAt - start, c.abortedAt]),
    end: h.clock.now() - start,
    signalReads: cancel.reads,
  };
}

describe('abort source', () => {
  test.prop([scenario], { numRuns: 150 })(
    'a Cancellation aborts the attempt loop exactly as an AbortSignal does',
    async (s) => {
      const { signalReads: _, ...bySignal } = await run(s, 'signal');
      const { signalReads, ...byCancel } = await run(s, 'cancel');
      expect(byCancel).toEqual(bySignal);
      if (s.targets.every((t) => t.attempts === 0)) expect(signalReads).toBe(0);
    },
  );
});
