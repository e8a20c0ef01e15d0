/**
 * P16 (replay fidelity) of docs/properties.md: replaying a recording under the policy that produced it
 * reproduces every recorded decision; under a candidate, `unchanged + changed + unreplayable =
 * total`; equal policies give equal reports. And the same for `--baseline`: a policy replayed
 * against itself changes nothing, whatever the candidate, the seed or the scenario. Traffic is
 * generated (models, streams, upstream failures, arrival gaps short enough for requests to
 * overlap) and recorded by the real engine and recorder, on virtual time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePolicy, parseScenario, type ReplayReport, replayRecording } from '../../engine/index.js';
import type { TrafficRequest } from '../../engine/replay/traffic.js';
import { ArrivalQueue, type Pending } from '../../engine/testing/replay.js';
import { recordTraffic } from '../support/replay-traffic.js';

const NUM_RUNS = Number(process.env.FC_NUM_RUNS ?? 12);
const dir = mkdtempSync(join(tmpdir(), 'sy-replay-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const OUTCOMES = ['ok', 'ok', 'overloaded', 'rate_limited', 'server_error', 'silent', 'stream_cut'] as const;

function policy(primary: readonly string[], order: 'primary-first' | 'backup-first', limit: number) {
  const targets = order === 'primary-first' ? '[primary, backup]' : '[backup, primary]';
  const text = `switchyard: v1
policy: { name: rec, version: "${order}-${limit}" }
providers:
  flaky: { kind: mock, latency: 150ms, chunkDelay: 30ms, sequence: [${primary.join(', ')}] }
  steady: { kind: mock, latency: 60ms, chunkDelay: 10ms }
models:
  primary:
    provider: flaky
    model: m-primary
    price: { input: 2, output: 4 }
    retry: { attempts: 1, backoff: { initial: 10ms, max: 10ms } }
    breaker: { failures: 2, window: 2s, cooldown: 1s }
  backup: { provider: steady, model: m-backup, price: { input: 1, output: 1 } }
  echo: { provider: steady, model: "*" }
defaults:
  timeout: { connect: 1s, firstToken: 2s, idle: 2s, total: 10s }
limits:
  per-route: { key: [route], requests: ${limit}/2s }
caches:
  answers: { mode: exact, ttl: 3s }
routes:
  - name: chat
    when: { model: gpt-5 }
    targets: ${targets}
    limits: [per-route]
    cache: answers
  - name: split
    when: { model: split }
    strategy: weighted
    targets: [{ model: primary, weight: 50 }, { model: backup, weight: 50 }]
  - name: other
    targets: [echo]
`;
  const loaded = parsePolicy([{ file: 'p.yaml', text }]);
  if (!loaded.ok) throw new Error(loaded.diagnostics.map((d) => d.message).join('\n'));
  return loaded.policy;
}

const arbTraffic = fc.array(
  fc.record({
    model: fc.constantFrom('gpt-5', 'gpt-5', 'split', 'other'),
    stream: fc.boolean(),
    // At least 1 ms apart: requests recorded at the very same instant replay in file order, and
    // when they competed for a limit or a cache entry the recording does not say who came first.
    gapMs: fc.integer({ min: 1, max: 1_500 }),
    content: fc.constantFrom('a', 'b', 'c', 'd'),
  }),
  { minLength: 1, maxLength: 30 },
);

const arbOutage = fc.record({
  target: fc.constantFrom('provider: flaky', 'provider: steady', 'model: backup', 'model: primary'),
  fromS: fc.integer({ min: 0, max: 20 }),
  forS: fc.integer({ min: 1, max: 20 }),
  what: fc.constantFrom(
    'outage: 503',
    'outage: timeout',
    'outage: connect',
    'latency: 3s',
    'rateLimited: 50%',
  ),
});

let file = 0;
const strip = (r: ReplayReport) => ({ ...r, elapsedMs: 0 });

describe('P16 replay fidelity', () => {
  test.prop(
    [
      fc.array(fc.constantFrom(...OUTCOMES), { minLength: 1, maxLength: 6 }),
      arbTraffic,
      fc.integer({ min: 1, max: 6 }),
      fc.option(arbOutage, { nil: undefined }),
      fc.integer({ min: 0, max: 1_000 }),
    ],
    { numRuns: NUM_RUNS },
  )(
    'the recording policy replays its recording unchanged; every line is accounted for; a policy against itself changes nothing',
    async (sequence, traffic, limit, outage, seed) => {
      const live = policy(sequence, 'primary-first', limit);
      const path = join(dir, `traffic-${file++}.jsonl`);
      await recordTraffic(live, path, traffic);

      const same = await replayRecording(live, path, { seed });
      expect(same.total).toBe(traffic.length);
      expect(same.changes).toEqual([]);
      expect(same.unchanged).toBe(traffic.length);
      expect(same.simulatedAnswers).toBe(0);
      expect(same.lateArrivals).toBe(0);
      // Equal policies, equal reports.
      expect(strip(await replayRecording(live, path, { seed }))).toEqual(strip(same));

      const candidate = policy(sequence, 'backup-first', Math.max(1, limit - 1));
      const replayed = await replayRecording(candidate, path, { seed });
      expect(replayed.unchanged + replayed.changed + replayed.unreplayable).toBe(replayed.total);
      expect(replayed.total).toBe(traffic.length);

      const scenario =
        outage === undefined
          ? undefined
          : (() => {
              const r = parseScenario(
                's.yaml',
                `events: [{ ${outage.target}, from: "+${outage.fromS}s", for: ${outage.forS}s, ${outage.what} }]`,
                [live, candidate],
              );
              if (!r.ok) throw new Error(r.problems[0].message);
              return r.scenario;
            })();
      // A baseline policy against itself as the candidate: nothing changes, scenario or not.
      for (const p of [live, candidate]) {
        const self = await replayRecording(p, path, { baseline: p, seed, ...(scenario ? { scenario } : {}) });
        expect(self.changed).toBe(0);
        expect(self.unchanged + self.unreplayable).toBe(self.total);
        expect(self.baselineAnswers).toEqual({
          recorded: self.recordedAnswers,
          simulated: self.simulatedAnswers,
        });
      }
      // The recording's own policy as the baseline is the recording itself.
      const versus = await replayRecording(candidate, path, { baseline: live, seed });
      expect(versus.changed).toBe(replayed.changed);
      expect(versus.changeKinds).toEqual(replayed.changeKinds);
    },
    // Each run records traffic and replays it six times.
    240_000,
  );
});

describe('the replay order of pending lines', () => {
  // The queue holds a line's fields, not its object: what it pops is compared field by field.
  const chunk = Buffer.from('x');
  const request = {} as TrafficRequest;
  /** Pushes (an arrival) and pops (null) `ops` against a sorted list. */
  const check = (ops: readonly (number | null)[]): void => {
    const queue = new ArrivalQueue();
    const held: Pending[] = [];
    const popped: Pending[] = [];
    const order = (a: Pending, b: Pending): number => a.at - b.at || a.line - b.line;
    let line = 0;
    for (const at of ops) {
      if (at !== null) {
        line++;
        // Every field varies with the line, so a field popped from another line's slot shows.
        const item: Pending = {
          at,
          timeRead: line % 2 === 0,
          line,
          chunk: line % 3 === 0 ? null : chunk,
          start: line * 7,
          end: line * 7 + line,
          request: line % 3 === 0 ? request : null,
        };
        queue.push(item);
        held.push(item);
      } else {
        held.sort(order);
        expect(queue.pop()).toEqual(held.shift());
      }
      expect(queue.size).toBe(held.length);
    }
    held.sort(order);
    for (let next = queue.pop(); next !== undefined; next = queue.pop()) popped.push(next);
    expect(popped).toEqual(held);
  };

  it('pops lines by (arrival, line) whatever order they were pushed in, pops interleaved', () => {
    const op = fc.oneof(
      { weight: 3, arbitrary: fc.integer({ min: 0, max: 40 }) },
      { weight: 1, arbitrary: fc.constant(null) },
    );
    fc.assert(fc.property(fc.array(op, { maxLength: 300, size: 'max' }), check), { numRuns: 300 });
  });

  it('pops lines by (arrival, line) when most come in order (the list, wrapped and grown)', () => {
    // Steps forward mostly, now and then one back: long in-order runs, a few lines in the heap.
    const op = fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 0, max: 3 }) },
      { weight: 1, arbitrary: fc.integer({ min: -20, max: -1 }) },
      { weight: 2, arbitrary: fc.constant(null) },
    );
    fc.assert(
      fc.property(fc.array(op, { minLength: 100, maxLength: 1_000, size: 'max' }), (steps) => {
        let at = 0;
        const ops: (number | null)[] = [];
        for (const step of steps) {
          if (step !== null) at += step;
          ops.push(step === null ? null : at);
        }
        check(ops);
      }),
      { numRuns: 100 },
    );
  });
});
