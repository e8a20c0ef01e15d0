/**
 * The circuit breaker end to end: a primary that is down (503) for the first third of a run of
 * sequential requests, then healthy. The fallback serves the outage, the open breaker keeps
 * traffic off the primary, and a half-open probe brings it back soon after it recovers.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import {
  asJson,
  chatBody,
  engineFor,
  modelOf,
  outcomes,
  requestsFor,
  useExecutionUpstream,
} from './helpers.js';

const upstream = useExecutionUpstream();

const FAILURES = 3;
const COOLDOWN_MS = 150;
const REQUESTS = 60;
const OUTAGE_REQUESTS = 20;
const PACE_MS = 8;

it('serves an outage from the fallback without hammering the primary, and returns to it after recovery', async () => {
  const engine = engineFor({
    url: upstream.url,
    retry: 'attempts: 0',
    breaker: `failures: ${FAILURES}, window: 200ms, cooldown: ${COOLDOWN_MS}ms`,
  });
  let down = true;
  upstream.setHandler((req) =>
    modelOf(req) === 'm-primary' && down ? { kind: 'status', status: 503 } : { kind: 'ok' },
  );

  const served: { at: number; target: string | null; status: number; attempts: string[] }[] = [];
  let outageEnd = 0;
  for (let i = 0; i < REQUESTS; i++) {
    if (i === OUTAGE_REQUESTS) {
      down = false;
      outageEnd = Date.now();
    }
    const at = Date.now();
    const res = asJson(await engine.handle({ body: chatBody() }));
    served.push({ at, target: res.meta.target, status: res.status, attempts: outcomes(res.meta) });
    await sleep(PACE_MS);
  }
  const outageStart = served[0].at;

  // Every request was answered.
  expect(served.map((s) => s.status)).toEqual(Array(REQUESTS).fill(200));
  // During the outage the fallback served everything.
  const during = served.slice(0, OUTAGE_REQUESTS);
  expect(during.every((s) => s.target === 'backup')).toBe(true);

  // The primary was not hammered: the first `failures` calls opened the breaker, then at most one
  // half-open probe per cooldown (plus one for timer slack).
  const primaryDuring = requestsFor(upstream.requests, 'm-primary').filter((r) => r.at < outageEnd);
  const probes = Math.ceil((outageEnd - outageStart) / COOLDOWN_MS) + 1;
  expect(primaryDuring.length).toBeGreaterThanOrEqual(FAILURES);
  expect(primaryDuring.length).toBeLessThanOrEqual(FAILURES + probes);
  expect(primaryDuring.length).toBeLessThan(OUTAGE_REQUESTS / 2);
  // Requests while the breaker was open went straight to the fallback: one attempt, no 503 first.
  const direct = during.filter((s) => s.attempts.length === 1 && s.attempts[0] === 'backup:ok');
  expect(direct.length).toBe(OUTAGE_REQUESTS - primaryDuring.length);
  expect(during.slice(0, FAILURES).map((s) => s.attempts)).toEqual(
    Array(FAILURES).fill(['primary:overloaded', 'backup:ok']),
  );

  // Back on the primary soon after recovery (within a cooldown and some slack), and stays there.
  const back = served.findIndex((s, i) => i >= OUTAGE_REQUESTS && s.target === 'primary');
  expect(back).toBeGreaterThanOrEqual(OUTAGE_REQUESTS);
  expect(served[back].at - outageEnd).toBeLessThanOrEqual(COOLDOWN_MS + 100);
  expect(served.slice(back).every((s) => s.target === 'primary')).toBe(true);
  expect(served.slice(back).every((s) => s.attempts.length === 1)).toBe(true);
  // Before that, only the fallback answered: no request waited on a dead primary.
  expect(served.slice(OUTAGE_REQUESTS, back).every((s) => s.target === 'backup')).toBe(true);
});
