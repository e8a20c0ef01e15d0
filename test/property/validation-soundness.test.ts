/**
 * P6 — validation soundness: if `validate(P)` passes, no request can make execution fail with an
 * internal "unknown target / provider / field" error. Generated valid policies run real requests
 * through the whole engine (context → decide → execute → providers) on a fake transport whose
 * upstream answers with success, errors or garbage, on a virtual clock.
 * `FC_NUM_RUNS` sets the number of runs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEngine, parsePolicy, VirtualClock } from '../../engine/index.js';
import { arbDecideRequest } from '../support/arb-decide.js';
import { arbPolicy } from '../support/arb-policy.js';
import { fakeTransport, type Upstream } from '../support/fake-transport.js';

const NUM_RUNS = Number(process.env.FC_NUM_RUNS ?? 60);
const INTERNAL_CODES = new Set(['internal_error']);

describe('P6 validation soundness', () => {
  it('a policy that validates never fails a request with an internal error', async () => {
    await fc.assert(
      fc.asyncProperty(
        arbPolicy(),
        fc.array(arbDecideRequest, { minLength: 1, maxLength: 4 }),
        fc.array(fc.constantFrom<Upstream>('connect', 'server_error', 'ok', 'garbage'), {
          minLength: 1,
          maxLength: 6,
        }),
        async (generated, requests, outcomes) => {
          const loaded = parsePolicy([{ file: 'p.yaml', text: generated.yaml }]);
          expect(loaded.ok).toBe(true);
          if (!loaded.ok) return;
          const clock = new VirtualClock({ auto: true });
          const engine = createEngine(loaded.policy, {
            clock,
            transport: fakeTransport(outcomes),
            random: () => 0.5,
          });
          for (const request of requests) {
            const decision = engine.decide(request);
            if (decision.kind === 'no_route') expect(INTERNAL_CODES.has(decision.code)).toBe(false);
            const response = await engine.handle(request);
            expect(response.status).not.toBe(500);
            if (response.kind === 'json') {
              const code = (response.body as { error?: { code?: string | null } }).error?.code ?? null;
              expect(code === null || !INTERNAL_CODES.has(code), String(code)).toBe(true);
            } else {
              let frames = '';
              for await (const frame of response.events) frames += frame;
              for (const code of INTERNAL_CODES) expect(frames).not.toContain(code);
              await response.done;
            }
          }
          await engine.close();
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });
});
