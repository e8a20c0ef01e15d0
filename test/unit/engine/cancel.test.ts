/**
 * An embedding program cancels a request through the public entry with either an AbortSignal
 * (`signal`) or the engine's own `Cancellation` (`cancel`, which makes no AbortController until
 * something asks for one): both end the call with a 499 `request_aborted` answer and give the
 * upstream call up.
 */
import { describe, expect, it } from 'vitest';
import { Cancellation, createEngine, parsePolicy, VirtualClock } from '../../../engine/index.js';

const POLICY = `switchyard: v1
policy: { name: cancel, version: "1" }
providers:
  demo: { kind: mock, latency: 1s }
models:
  echo: { provider: demo, model: mock-echo }
routes:
  - name: chat
    targets: [echo]
`;

function engine() {
  const loaded = parsePolicy([{ file: 'p.yaml', text: POLICY }]);
  if (!loaded.ok) throw new Error('policy did not load');
  const clock = new VirtualClock();
  const outcomes: string[] = [];
  const e = createEngine(loaded.policy, { clock, onAttempt: (a) => outcomes.push(a.outcome) });
  return { engine: e, clock, outcomes };
}

const BODY = { model: 'gpt-5', messages: [{ role: 'user', content: 'hi' }] };

describe('cancelling a request from an embedding program', () => {
  it('is exported from the public entry', () => {
    const cancel = new Cancellation();
    expect(cancel.aborted).toBe(false);
    cancel.abort();
    expect(cancel.aborted).toBe(true);
    expect(cancel.signal.aborted).toBe(true);
  });

  it.each(['cancel', 'signal'] as const)('ends a call in flight as request_aborted (%s)', async (how) => {
    const { engine: e, clock, outcomes } = engine();
    const cancel = new Cancellation();
    const controller = new AbortController();
    const input = how === 'cancel' ? { body: BODY, cancel } : { body: BODY, signal: controller.signal };
    const pending = e.handle(input);
    await clock.advance(500);
    if (how === 'cancel') cancel.abort();
    else controller.abort();
    const response = await pending;
    // handle() never rejects: a cancelled request is its error response.
    expect(response.status).toBe(499);
    expect(JSON.stringify(response)).toContain('"request_aborted"');
    // The call was given up, not answered: nothing arrives when the mock's second is over.
    await clock.advance(5_000);
    expect(outcomes).not.toContain('ok');
  });

  it('answers normally when never aborted', async () => {
    const { engine: e, clock } = engine();
    const pending = e.handle({ body: BODY, cancel: new Cancellation() });
    await clock.advance(1_000);
    const response = await pending;
    expect(response.status).toBe(200);
  });
});
