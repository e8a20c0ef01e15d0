/**
 * The CI gates of `switchyard replay` as properties over generated reports: an unbounded gate
 * never fails, 100% of a count never fails, tightening a gate never turns a failure into a pass,
 * the verdict is the conjunction of its gates, and the grammar reads back what it writes.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import {
  evaluateGates,
  formatGate,
  GATE_METRICS,
  type Gate,
  type GateLimit,
  type GateMetric,
  parseGates,
} from '../../engine/index.js';
import { arbReplayReport } from '../support/replay-reports.js';

const NUM_RUNS = Number(process.env.FC_NUM_RUNS ?? 200);
const METRICS = Object.keys(GATE_METRICS) as GateMetric[];
/** Metrics that count things out of their base, so their measure never exceeds it. */
const COUNTS = METRICS.filter((m) => m !== 'cost-increase');

const arbMetric = fc.constantFrom(...METRICS);
/** Limits as the grammar writes them: decimals with at most 3 places. */
const arbLimit: fc.Arbitrary<GateLimit> = fc.record({
  kind: fc.constantFrom('absolute' as const, 'percent' as const),
  value: fc.integer({ min: 0, max: 200_000 }).map((n) => n / 1000),
});
const gate = (metric: GateMetric, limit: GateLimit): Gate => ({
  source: formatGate({ metric, limit }),
  metric,
  limit,
});
const arbGate = fc.tuple(arbMetric, arbLimit).map(([m, l]) => gate(m, l));

describe('replay CI gates', () => {
  test.prop([arbReplayReport, arbMetric, fc.constantFrom('absolute' as const, 'percent' as const)], {
    numRuns: NUM_RUNS,
  })('an infinite allowance never fails', (report, metric, kind) => {
    expect(evaluateGates(report, [gate(metric, { kind, value: Number.POSITIVE_INFINITY })]).passed).toBe(
      true,
    );
  });

  test.prop([arbReplayReport, fc.constantFrom(...COUNTS)], { numRuns: NUM_RUNS })(
    '100% of a count never fails',
    (report, metric) => {
      expect(evaluateGates(report, [gate(metric, { kind: 'percent', value: 100 })]).passed).toBe(true);
    },
  );

  test.prop([arbReplayReport, fc.constantFrom(...COUNTS)], { numRuns: NUM_RUNS })(
    'a bare gate (allowance 0) fails exactly when its count is positive',
    (report, metric) => {
      const [result] = evaluateGates(report, [gate(metric, { kind: 'absolute', value: 0 })]).results;
      expect(result?.passed).toBe(GATE_METRICS[metric].measure(report) === 0);
    },
  );

  test.prop([arbReplayReport, arbMetric, arbLimit, fc.integer({ min: 0, max: 100_000 })], {
    numRuns: NUM_RUNS,
  })('tightening a gate never turns a failure into a pass', (report, metric, loose, tighten) => {
    const tight = { ...loose, value: Math.max(0, loose.value - tighten / 1000) };
    const looseVerdict = evaluateGates(report, [gate(metric, loose)]);
    const tightVerdict = evaluateGates(report, [gate(metric, tight)]);
    if (!looseVerdict.passed) expect(tightVerdict.passed).toBe(false);
  });

  test.prop([arbReplayReport, fc.array(arbGate, { maxLength: 6 })], { numRuns: NUM_RUNS })(
    'the verdict passes iff every gate passes; failures are the failing results, in order; it is pure',
    (report, gates) => {
      const verdict = evaluateGates(report, gates);
      expect(verdict.results.map((r) => r.gate)).toEqual(gates);
      expect(verdict.passed).toBe(verdict.results.every((r) => r.passed));
      expect(verdict.failures).toEqual(verdict.results.filter((r) => !r.passed));
      expect(evaluateGates(structuredClone(report), gates)).toEqual(verdict);
    },
  );

  test.prop([fc.array(arbGate, { minLength: 1, maxLength: 6 })], { numRuns: NUM_RUNS })(
    'the grammar reads back what formatGate writes',
    (gates) => {
      const parsed = parseGates(gates.map((g) => g.source).join(','));
      expect(parsed).toEqual({ ok: true, gates });
    },
  );

  test.prop([fc.string({ maxLength: 40 })], { numRuns: NUM_RUNS })(
    'any text parses to gates or to a message, never throws',
    (text) => {
      const parsed = parseGates(text);
      if (parsed.ok) expect(parsed.gates.length).toBeGreaterThan(0);
      else expect(parsed.message.length).toBeGreaterThan(0);
    },
  );
});
