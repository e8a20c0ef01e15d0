/**
 * CI gates over a replay report: `--max-changed 5%` and `--fail-on new-errors,cost-increase:10%`.
 * A gate names a measure of the report and how much of it is allowed; the run fails when any
 * measure exceeds its allowance. Evaluation is a pure function of the report.
 *
 * Grammar (documented in docs/replay-report.md):
 *
 *   gates  := gate ( "," gate )*            spaces around "," are ignored
 *   gate   := metric [ ":" limit ]          no limit means 0: any occurrence fails
 *   limit  := number [ "%" ]                number := digits [ "." digits ]
 *
 * A plain number is an absolute allowance (requests, lines, answers; US dollars for
 * `cost-increase`); `N%` is a share of the metric's base (see `GATE_METRICS`). A gate fails when
 * the measure is strictly greater than the allowance, so `:100%` of a count never fails.
 */
import { didYouMean } from '../policy/hints.js';
import { formatCount, formatShare, formatUsd, relativeChange } from './replay-render/text.js';
import type { ReplayReport } from './replay-report.js';

export type GateMetric =
  | 'changed'
  | 'changed-route'
  | 'changed-target'
  | 'changed-status'
  | 'new-errors'
  | 'newly-limited'
  | 'newly-blocked'
  | 'cost-increase'
  | 'unreplayable'
  | 'malformed'
  | 'simulated';

export interface GateLimit {
  /** `absolute`: the measure's own unit; `percent`: a share of the metric's base, 0..∞. */
  readonly kind: 'absolute' | 'percent';
  readonly value: number;
}

export interface Gate {
  /** How the user wrote it (`new-errors`, `cost-increase:10%`, `--max-changed 5%`). */
  readonly source: string;
  readonly metric: GateMetric;
  readonly limit: GateLimit;
}

interface MetricSpec {
  /** What the measure counts, for `--help` and the docs. */
  readonly description: string;
  /** What a percentage is a share of. */
  readonly base: string;
  readonly measure: (r: ReplayReport) => number;
  readonly baseOf: (r: ReplayReport) => number;
  /** The measure in words: `18 requests newly answer an error`. */
  readonly explain: (r: ReplayReport, measured: number) => string;
}

/** Money sums differ in the last bits with summation order: below this a cost did not change. */
const COST_EPSILON = 1e-9;

const requests = (n: number): string => `${formatCount(n)} request${n === 1 ? '' : 's'}`;

/** A change-kind count: `n` of the replayed requests changed that way. */
function kindMetric(kind: keyof ReplayReport['changeKinds'], words: string, description: string): MetricSpec {
  return {
    description,
    base: 'all requests',
    measure: (r) => r.changeKinds[kind].count,
    baseOf: (r) => r.total,
    explain: (_r, n) => `${requests(n)} ${words}`,
  };
}

/** Every metric a gate can name, with what it measures and what its percentage is a share of. */
export const GATE_METRICS: Readonly<Record<GateMetric, MetricSpec>> = {
  changed: {
    description: 'requests whose outcome changed in any way',
    base: 'all requests',
    measure: (r) => r.changed,
    baseOf: (r) => r.total,
    explain: (_r, n) => `${requests(n)} changed`,
  },
  'changed-route': kindMetric('route', 'changed route', 'requests that take another route'),
  'changed-target': kindMetric('target', 'changed serving target', 'requests served by another target'),
  'changed-status': kindMetric('status', 'changed status', 'requests answered with another status'),
  'new-errors': kindMetric(
    'new_error',
    'newly answered with an error',
    'requests answered with an error (status ≥ 400) where the baseline succeeded',
  ),
  'newly-limited': kindMetric(
    'newly_limited',
    'newly refused by a rate or concurrency limit',
    'requests refused by a limit that the baseline let through',
  ),
  'newly-blocked': kindMetric(
    'newly_blocked',
    'newly blocked by a budget or guardrail',
    'requests blocked by a budget or guardrail that the baseline let through',
  ),
  'cost-increase': {
    description: 'total cost of the candidate minus the baseline, in US dollars',
    base: 'the baseline cost',
    measure: (r) => r.candidate.costUsd - r.baseline.costUsd,
    baseOf: (r) => r.baseline.costUsd,
    explain: (r, delta) => {
      if (Math.abs(delta) <= COST_EPSILON) return `cost unchanged (${formatUsd(r.candidate.costUsd)})`;
      const rel = relativeChange(r.baseline.costUsd, r.candidate.costUsd);
      return `cost ${formatUsd(delta, true)}${rel === null ? '' : ` (${rel})`}, ${formatUsd(r.baseline.costUsd)} → ${formatUsd(r.candidate.costUsd)}`;
    },
  },
  unreplayable: {
    description: 'requests the candidate could not replay (e.g. a tenant it does not know)',
    base: 'all requests',
    measure: (r) => r.unreplayable,
    baseOf: (r) => r.total,
    explain: (_r, n) => `${requests(n)} unreplayable`,
  },
  malformed: {
    description: 'traffic lines that could not be read',
    base: 'all lines (readable + malformed)',
    measure: (r) => r.malformed.count,
    baseOf: (r) => r.total + r.malformed.count,
    explain: (_r, n) => `${formatCount(n)} malformed line${n === 1 ? '' : 's'}`,
  },
  simulated: {
    description: 'upstream answers simulated rather than reproduced from the recording',
    base: 'all upstream answers (recorded + simulated)',
    measure: (r) => r.simulatedAnswers,
    baseOf: (r) => r.recordedAnswers + r.simulatedAnswers,
    explain: (_r, n) => `${formatCount(n)} simulated answer${n === 1 ? '' : 's'}`,
  },
};

const METRIC_NAMES = Object.keys(GATE_METRICS) as GateMetric[];

export type GateParse = { ok: true; gates: Gate[] } | { ok: false; message: string };

const LIMIT = /^(\d+(?:\.\d+)?)(%?)$/;

/** Parses one allowance (`5`, `2.5%`); null when it is not one. */
export function parseGateLimit(text: string): GateLimit | null {
  const m = LIMIT.exec(text);
  if (m === null) return null;
  return { kind: m[2] === '%' ? 'percent' : 'absolute', value: Number(m[1]) };
}

/**
 * Parses a `--fail-on` value. Errors name the offending gate and, for a misspelt metric, the
 * closest known one.
 *
 * @example
 * parseGates('new-errors,cost-increase:10%')
 * // { ok: true, gates: [{ source: 'new-errors', metric: 'new-errors', limit: { kind: 'absolute', value: 0 } }, ...] }
 */
export function parseGates(spec: string): GateParse {
  const gates: Gate[] = [];
  const parts = spec.split(',').map((p) => p.trim());
  for (const part of parts) {
    if (part === '') {
      return { ok: false, message: `empty gate in "${spec}" (gates are separated by single commas)` };
    }
    const colon = part.indexOf(':');
    const name = colon === -1 ? part : part.slice(0, colon);
    if (!Object.hasOwn(GATE_METRICS, name)) {
      const hint = didYouMean(name, METRIC_NAMES);
      return {
        ok: false,
        message:
          `unknown gate "${name}"` +
          (hint === undefined ? '' : ` (did you mean "${hint}"?)`) +
          `; known gates: ${METRIC_NAMES.join(', ')}`,
      };
    }
    const metric = name as GateMetric;
    let limit: GateLimit = { kind: 'absolute', value: 0 };
    if (colon !== -1) {
      const parsed = parseGateLimit(part.slice(colon + 1));
      if (parsed === null) {
        return {
          ok: false,
          message: `gate "${part}": the limit after ":" is a number or a percentage, e.g. ${metric}:5 or ${metric}:2.5%`,
        };
      }
      limit = parsed;
    }
    gates.push({ source: part, metric, limit });
  }
  return { ok: true, gates };
}

/** A gate written back in the `--fail-on` grammar (`cost-increase:10%`). */
export function formatGate(gate: Pick<Gate, 'metric' | 'limit'>): string {
  const { kind, value } = gate.limit;
  if (kind === 'absolute' && value === 0) return gate.metric;
  return `${gate.metric}:${value}${kind === 'percent' ? '%' : ''}`;
}

export interface GateResult {
  readonly gate: Gate;
  readonly passed: boolean;
  /** The measure (requests, lines, answers, or US dollars for `cost-increase`). */
  readonly measured: number;
  /** The allowance in the measure's unit (a percentage resolved against the report). */
  readonly allowed: number;
  /** Why, in words: `18 requests newly answered with an error (0.9%); allowed 1% = 20`. */
  readonly message: string;
}

export interface GateVerdict {
  /** True when every gate passed (and when there are none). */
  readonly passed: boolean;
  /** One per gate, in the order given. */
  readonly results: readonly GateResult[];
  readonly failures: readonly GateResult[];
}

function allowance(gate: Gate, report: ReplayReport): { allowed: number; text: string } {
  const spec = GATE_METRICS[gate.metric];
  const usd = gate.metric === 'cost-increase';
  const { kind, value } = gate.limit;
  if (kind === 'absolute') {
    return { allowed: value, text: usd ? formatUsd(value, true) : formatCount(value) };
  }
  const base = spec.baseOf(report);
  const allowed = (value / 100) * base;
  const resolved = usd ? formatUsd(allowed, true) : formatCount(Math.floor(allowed));
  return { allowed, text: `${value}% = ${resolved}` };
}

function exceeds(gate: Gate, report: ReplayReport, measured: number): boolean {
  const tolerance = gate.metric === 'cost-increase' ? COST_EPSILON : 0;
  const { kind, value } = gate.limit;
  if (kind === 'absolute') return measured - value > tolerance;
  // measured > value% of base, without dividing (so 5% of 20 is exactly 1). An infinite
  // percentage of a zero base is NaN, and NaN compares false: an infinite allowance never fails.
  const base = GATE_METRICS[gate.metric].baseOf(report);
  return measured * 100 - value * base > tolerance * 100;
}

/**
 * Evaluates `gates` against `report`; pure (the same report and gates give the same verdict).
 *
 * @example
 * const verdict = evaluateGates(report, parseGates('new-errors,cost-increase:10%').gates);
 * if (!verdict.passed) for (const f of verdict.failures) console.error(f.gate.source, f.message);
 */
export function evaluateGates(report: ReplayReport, gates: readonly Gate[]): GateVerdict {
  const results = gates.map((gate): GateResult => {
    const spec = GATE_METRICS[gate.metric];
    const measured = spec.measure(report);
    const passed = !exceeds(gate, report, measured);
    const { allowed, text } = allowance(gate, report);
    const share = gate.metric === 'cost-increase' ? '' : ` (${formatShare(measured, spec.baseOf(report))})`;
    return {
      gate,
      passed,
      measured,
      allowed,
      message: `${spec.explain(report, measured)}${share}; allowed ${text}`,
    };
  });
  const failures = results.filter((r) => !r.passed);
  return { passed: failures.length === 0, results, failures };
}

/**
 * The verdict for a log: one `PASS`/`FAIL` line per gate, then the outcome. `color` paints the
 * words green and red (ANSI), for a terminal.
 */
export function formatGateVerdict(verdict: GateVerdict, options: { color?: boolean } = {}): string {
  if (verdict.results.length === 0) return '';
  const paint = (code: string, text: string): string =>
    options.color ? `\u001b[${code}m${text}\u001b[0m` : text;
  const width = Math.max(...verdict.results.map((r) => r.gate.source.length));
  const lines = verdict.results.map(
    (r) =>
      `${r.passed ? paint('32', 'PASS') : paint('1;31', 'FAIL')}  ${r.gate.source.padEnd(width)}  ${r.message}`,
  );
  const n = verdict.results.length;
  lines.push(
    verdict.passed
      ? `gates passed (${n} of ${n})`
      : `gates failed: ${verdict.failures.length} of ${n} (${verdict.failures.map((f) => f.gate.source).join(', ')})`,
  );
  return `${lines.join('\n')}\n`;
}
