import { describe, expect, it } from 'vitest';
import {
  evaluateGates,
  formatGateVerdict,
  GATE_METRICS,
  type Gate,
  parseGates,
  type ReplayReport,
} from '../../../engine/index.js';
import { emptyReport, emptySide } from '../../support/replay-reports.js';

function gates(spec: string): Gate[] {
  const parsed = parseGates(spec);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.gates;
}

function report(overrides: Partial<ReplayReport>): ReplayReport {
  const base = emptyReport({ total: 200, unchanged: 200 });
  return { ...base, ...overrides };
}

function withKind(kind: keyof ReplayReport['changeKinds'], count: number, r = report({})): ReplayReport {
  return { ...r, changeKinds: { ...r.changeKinds, [kind]: { count, examples: ['r1'] } } };
}

describe('parseGates', () => {
  it('reads names, counts and percentages; no limit means any occurrence fails', () => {
    expect(gates('new-errors, cost-increase:10% ,newly-limited:3,changed-route:2.5%')).toEqual([
      { source: 'new-errors', metric: 'new-errors', limit: { kind: 'absolute', value: 0 } },
      { source: 'cost-increase:10%', metric: 'cost-increase', limit: { kind: 'percent', value: 10 } },
      { source: 'newly-limited:3', metric: 'newly-limited', limit: { kind: 'absolute', value: 3 } },
      { source: 'changed-route:2.5%', metric: 'changed-route', limit: { kind: 'percent', value: 2.5 } },
    ]);
  });

  it('names the mistake: unknown gate with a suggestion, a bad limit, an empty gate', () => {
    expect(parseGates('new-eror')).toEqual({
      ok: false,
      message: expect.stringContaining('unknown gate "new-eror" (did you mean "new-errors"?)'),
    });
    expect(parseGates('bogus')).toEqual({
      ok: false,
      message: expect.stringContaining(`known gates: ${Object.keys(GATE_METRICS).join(', ')}`),
    });
    for (const bad of [
      'new-errors:',
      'new-errors:-1',
      'new-errors:lots',
      'new-errors:5%%',
      'cost-increase:$5',
    ]) {
      const parsed = parseGates(bad);
      expect(parsed.ok, bad).toBe(false);
      if (!parsed.ok) expect(parsed.message).toContain('the limit after ":" is a number or a percentage');
    }
    expect(parseGates('new-errors,,changed')).toEqual({
      ok: false,
      message: expect.stringContaining('empty gate'),
    });
    expect(parseGates('')).toEqual({ ok: false, message: expect.stringContaining('empty gate') });
    // Inherited object keys are not metrics.
    expect(parseGates('constructor').ok).toBe(false);
  });
});

describe('evaluateGates', () => {
  it('no gates pass', () => {
    expect(evaluateGates(report({}), [])).toEqual({ passed: true, results: [], failures: [] });
  });

  it('a count gate fails strictly above its allowance', () => {
    const r = withKind('new_error', 3);
    expect(evaluateGates(r, gates('new-errors:3')).passed).toBe(true);
    const verdict = evaluateGates(r, gates('new-errors:2'));
    expect(verdict.passed).toBe(false);
    expect(verdict.failures[0]).toMatchObject({ measured: 3, allowed: 2 });
    expect(verdict.failures[0]?.message).toBe('3 requests newly answered with an error (1.5%); allowed 2');
  });

  it('a percentage is a share of the metric base, compared exactly (5% of 20 allows 1)', () => {
    const r = { ...withKind('route', 1), total: 20, unchanged: 19, changed: 1 };
    expect(evaluateGates(r, gates('changed-route:5%')).passed).toBe(true);
    expect(
      evaluateGates({ ...withKind('route', 2, r), unchanged: 18, changed: 2 }, gates('changed-route:5%'))
        .passed,
    ).toBe(false);
  });

  it('cost-increase: dollars or a share of the baseline cost; a decrease passes', () => {
    const r = report({
      baseline: { ...emptySide('recording'), costUsd: 10 },
      candidate: { ...emptySide('candidate'), costUsd: 11.5 },
    });
    expect(evaluateGates(r, gates('cost-increase:15%')).passed).toBe(true);
    const [result] = evaluateGates(r, gates('cost-increase:10%')).results;
    expect(result).toMatchObject({ passed: false, allowed: 1 });
    expect(result?.message).toBe('cost +$1.50 (+15.0%), $10.00 → $11.50; allowed 10% = +$1.00');
    expect(evaluateGates(r, gates('cost-increase:2')).passed).toBe(true);
    expect(evaluateGates(r, gates('cost-increase:1')).passed).toBe(false);
    const cheaper = report({ baseline: r.candidate, candidate: r.baseline });
    expect(evaluateGates(cheaper, gates('cost-increase')).passed).toBe(true);
  });

  it('cost-increase ignores float noise from summation order', () => {
    const r = report({
      baseline: { ...emptySide('recording'), costUsd: 0.1 + 0.2 },
      candidate: { ...emptySide('candidate'), costUsd: 0.3 },
    });
    expect(evaluateGates(r, gates('cost-increase')).passed).toBe(true);
    expect(
      evaluateGates(
        {
          ...r,
          baseline: { ...r.baseline, costUsd: 0.3 },
          candidate: { ...r.candidate, costUsd: 0.1 + 0.2 },
        },
        gates('cost-increase'),
      ).passed,
    ).toBe(true);
  });

  it('from a zero base, any occurrence exceeds any finite percentage', () => {
    const r = report({ baseline: emptySide('recording'), candidate: { ...emptySide('c'), costUsd: 0.01 } });
    expect(evaluateGates(r, gates('cost-increase:500%')).passed).toBe(false);
    expect(evaluateGates(report({}), gates('cost-increase:0%')).passed).toBe(true);
  });

  it('malformed lines, unreplayable requests and simulated answers have their own bases', () => {
    const r = report({
      total: 90,
      unchanged: 80,
      unreplayable: 10,
      malformed: { count: 10, lines: [] },
      recordedAnswers: 75,
      simulatedAnswers: 25,
    });
    // 10 of 100 lines; 10 of 90 requests; 25 of 100 answers.
    expect(evaluateGates(r, gates('malformed:10%')).passed).toBe(true);
    expect(evaluateGates(r, gates('malformed:9%')).passed).toBe(false);
    expect(evaluateGates(r, gates('unreplayable:11.2%')).passed).toBe(true);
    expect(evaluateGates(r, gates('unreplayable:11%')).passed).toBe(false);
    expect(evaluateGates(r, gates('simulated:25%')).passed).toBe(true);
    expect(evaluateGates(r, gates('simulated:24.9%')).passed).toBe(false);
  });

  it('formats a verdict with one PASS/FAIL line per gate and the failing gates named', () => {
    const r = withKind('newly_limited', 4, withKind('new_error', 1));
    const text = formatGateVerdict(evaluateGates(r, gates('new-errors:1,newly-limited')));
    expect(text).toBe(
      [
        'PASS  new-errors:1   1 request newly answered with an error (0.5%); allowed 1',
        'FAIL  newly-limited  4 requests newly refused by a rate or concurrency limit (2.0%); allowed 0',
        'gates failed: 1 of 2 (newly-limited)',
        '',
      ].join('\n'),
    );
    expect(formatGateVerdict(evaluateGates(r, []))).toBe('');
  });
});
