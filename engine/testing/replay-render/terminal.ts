/**
 * The replay report for a person at a terminal, in the order they ask: how many requests
 * changed, then baseline against candidate side by side, then how they changed (kinds with
 * example request ids), then the first changed requests, then what could not be read.
 *
 * Everything that comes from the traffic (request ids, routes, error codes, malformed lines'
 * messages) goes through `terminalSafe`: an id cannot move the cursor or recolour the screen.
 * Long tables are cut (`maxRows`); `--json` and `--html` carry the rest.
 */
import { CHANGE_KINDS, type ReplayChange, type ReplayReport, type ReplaySide } from '../replay-report.js';
import {
  CHANGE_KIND_TEXT,
  cacheRates,
  describeOutcome,
  formatCostDelta,
  formatCount,
  formatDelta,
  formatElapsed,
  formatShare,
  formatSpan,
  formatUsd,
  sortedCounts,
  terminalSafe,
  unionKeys,
} from './text.js';

export interface TerminalReportOptions {
  /** ANSI colours (the CLI passes `useColor`: a TTY without NO_COLOR). Default false. */
  readonly color?: boolean;
  /** Changed requests listed (default 10). */
  readonly changes?: number;
  /** Rows per route/target/guardrail table and malformed lines listed (default 12). */
  readonly maxRows?: number;
}

const ANSI = {
  bold: '\u001b[1m',
  dim: '\u001b[2m',
  red: '\u001b[31m',
  green: '\u001b[32m',
  yellow: '\u001b[33m',
  cyan: '\u001b[36m',
  reset: '\u001b[0m',
} as const;

type Paint = (style: keyof typeof ANSI, text: string) => string;

/** Which way is worse for a row's delta: more errors is bad, more cache hits is good. */
type Worse = 'up' | 'down' | 'neither';

const LABEL = 26;
const COLUMN = 14;
const ID_WIDTH = 28;
const NAME_WIDTH = LABEL - 4;

function plural(n: number, one: string, many = `${one}s`): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}

/**
 * Renders `report` as plain text (or with ANSI colours).
 *
 * @example
 * process.stdout.write(formatReplayReport(report, { color: process.stdout.isTTY }));
 */
export function formatReplayReport(report: ReplayReport, options: TerminalReportOptions = {}): string {
  const color = options.color ?? false;
  const shown = options.changes ?? 10;
  const maxRows = options.maxRows ?? 12;
  const paint: Paint = (style, text) => (color && text !== '' ? `${ANSI[style]}${text}${ANSI.reset}` : text);
  const out: string[] = [];

  out.push(...headline(report, paint), '');
  out.push(...comparison(report, paint, maxRows));
  const kinds = changeKinds(report, paint);
  if (kinds.length > 0) out.push('', ...kinds);
  const changed = changedRequests(report, paint, shown);
  if (changed.length > 0) out.push('', ...changed);
  const unreadable = malformedLines(report, paint, maxRows);
  if (unreadable.length > 0) out.push('', ...unreadable);
  return `${out.join('\n')}\n`;
}

function headline(r: ReplayReport, paint: Paint): string[] {
  const lines = [paint('bold', `replayed ${plural(r.total, 'request')} under ${terminalSafe(r.policy, 80)}`)];
  const changed = r.changed > 0 ? paint('yellow', `${formatCount(r.changed)} changed`) : '0 changed';
  const unreplayable =
    r.unreplayable > 0 ? paint('yellow', `${formatCount(r.unreplayable)} unreplayable`) : '0 unreplayable';
  lines.push(`  ${formatCount(r.unchanged)} unchanged, ${changed}, ${unreplayable}`);
  const reasons = sortedCounts(r.unreplayableReasons);
  if (reasons.length > 0) {
    lines.push(
      `    unreplayable: ${reasons.map(([why, n]) => `${terminalSafe(why, 60)} ${formatCount(n)}`).join(', ')}`,
    );
  }
  const answers = r.recordedAnswers + r.simulatedAnswers;
  const simulated = `${formatCount(r.simulatedAnswers)} simulated`;
  lines.push(
    `  upstream answers: ${formatCount(r.recordedAnswers)} recorded, ` +
      (r.simulatedAnswers > 0
        ? `${paint('yellow', simulated)} (${formatShare(r.simulatedAnswers, answers)}; not in the recording)`
        : simulated),
  );
  const span = formatSpan(r.traffic.from, r.traffic.to);
  // A span is known when the traffic had timestamps for its requests.
  const when = r.traffic.from === null && r.total > 0 ? '' : `, ${span}`;
  const extras = [`seed ${r.seed}`];
  if (r.scenario !== null) extras.push(`scenario ${terminalSafe(r.scenario, 60)}`);
  lines.push(
    paint(
      'dim',
      `  ${terminalSafe(r.traffic.path, 80)} (${r.traffic.format})${when}; ${extras.join(', ')}; ${formatElapsed(r.elapsedMs)}`,
    ),
  );
  if (r.malformed.count > 0) {
    lines.push(paint('yellow', `  ${plural(r.malformed.count, 'malformed line')} skipped (listed below)`));
  }
  return lines;
}

/** One row of the side-by-side table: label, baseline, candidate, change (coloured by `worse`). */
function row(
  paint: Paint,
  label: string,
  before: string,
  after: string,
  change: { text: string; sign: number; worse: Worse } | null,
): string {
  let delta = '';
  if (change !== null && change.sign !== 0) {
    const bad = (change.worse === 'up' && change.sign > 0) || (change.worse === 'down' && change.sign < 0);
    const good = (change.worse === 'up' && change.sign < 0) || (change.worse === 'down' && change.sign > 0);
    delta = bad ? paint('red', change.text) : good ? paint('green', change.text) : change.text;
  }
  const text = `  ${label.padEnd(LABEL)}${before.padStart(COLUMN)}${after.padStart(COLUMN)}  ${delta}`;
  return text.trimEnd();
}

function countRow(paint: Paint, label: string, before: number, after: number, worse: Worse): string {
  return row(paint, label, formatCount(before), formatCount(after), {
    text: formatDelta(after - before),
    sign: Math.sign(after - before),
    worse,
  });
}

/** Rows for a count table (routes, targets, ...), the largest first, cut at `maxRows`. */
function tableRows(
  paint: Paint,
  title: string,
  a: Readonly<Record<string, number>>,
  b: Readonly<Record<string, number>>,
  maxRows: number,
  worse: Worse = 'neither',
): string[] {
  const keys = unionKeys(a, b);
  if (keys.length === 0) return [];
  const lines = [paint('bold', `  ${title}`)];
  for (const key of keys.slice(0, maxRows)) {
    lines.push(countRow(paint, `  ${terminalSafe(key, NAME_WIDTH)}`, a[key] ?? 0, b[key] ?? 0, worse));
  }
  if (keys.length > maxRows) lines.push(paint('dim', `    … ${formatCount(keys.length - maxRows)} more`));
  return lines;
}

/** Traffic with nothing to compare with (plain or batch input, no --baseline): the candidate alone. */
function candidateOnly(r: ReplayReport, paint: Paint, maxRows: number): string[] {
  const c: ReplaySide = r.candidate;
  const one = (label: string, value: string): string => `  ${label.padEnd(LABEL)}${value.padStart(COLUMN)}`;
  const lines = [
    paint(
      'dim',
      '  baseline: none (this input records no decisions; --baseline <policy> compares two policies)',
    ),
    paint('dim', `  candidate: ${terminalSafe(c.label, 70)}`),
    one('requests', formatCount(c.requests)),
    one('errors (status ≥ 400)', formatCount(c.errors)),
    one('fallbacks', formatCount(c.fallbacks)),
    one('rate-limited', formatCount(c.limited)),
    one('budget-blocked', formatCount(c.budgetBlocked)),
    one('cost', formatUsd(c.costUsd)),
  ];
  for (const [title, counts] of [
    ['routes', c.routes],
    ['serving targets', c.targets],
    ['statuses', c.statuses],
    ['guardrail verdicts', c.guardrails],
  ] as const) {
    const keys = Object.keys(counts).sort((x, y) => (counts[y] ?? 0) - (counts[x] ?? 0));
    if (keys.length === 0) continue;
    lines.push('', paint('bold', `  ${title}`));
    for (const key of keys.slice(0, maxRows))
      lines.push(one(`  ${terminalSafe(key, NAME_WIDTH)}`, formatCount(counts[key] ?? 0)));
    if (keys.length > maxRows) lines.push(paint('dim', `    … ${formatCount(keys.length - maxRows)} more`));
  }
  return lines;
}

function comparison(r: ReplayReport, paint: Paint, maxRows: number): string[] {
  if (r.comparison === 'none') return candidateOnly(r, paint, maxRows);
  const b: ReplaySide = r.baseline;
  const c: ReplaySide = r.candidate;
  const lines = [
    paint('dim', `  baseline: ${terminalSafe(b.label, 70)}`),
    paint('dim', `  candidate: ${terminalSafe(c.label, 70)}`),
    paint(
      'bold',
      `  ${''.padEnd(LABEL)}${'baseline'.padStart(COLUMN)}${'candidate'.padStart(COLUMN)}  change`,
    ),
    countRow(paint, 'requests', b.requests, c.requests, 'neither'),
    countRow(paint, 'errors (status ≥ 400)', b.errors, c.errors, 'up'),
    countRow(paint, 'fallbacks', b.fallbacks, c.fallbacks, 'up'),
  ];
  const causes = unionKeys(
    b.fallbackCauses as Record<string, number>,
    c.fallbackCauses as Record<string, number>,
  );
  for (const cause of causes.slice(0, maxRows)) {
    const before = (b.fallbackCauses as Record<string, number>)[cause] ?? 0;
    const after = (c.fallbackCauses as Record<string, number>)[cause] ?? 0;
    lines.push(countRow(paint, `  after ${cause}`, before, after, 'up'));
  }
  const rates = cacheRates(r);
  const rate = (x: number | null): string => (x === null ? '-' : `${(x * 100).toFixed(1)}%`);
  const points =
    rates.baseline !== null && rates.candidate !== null ? (rates.candidate - rates.baseline) * 100 : 0;
  lines.push(
    row(paint, 'cache hit rate', rate(rates.baseline), rate(rates.candidate), {
      text: `${points > 0 ? '+' : ''}${points.toFixed(1)} pts`,
      sign: Math.abs(points) < 0.05 ? 0 : Math.sign(points),
      worse: 'down',
    }),
    countRow(paint, 'rate-limited', b.limited, c.limited, 'up'),
    countRow(paint, 'budget-blocked', b.budgetBlocked, c.budgetBlocked, 'up'),
    row(paint, 'cost', formatUsd(b.costUsd), formatUsd(c.costUsd), {
      text: formatCostDelta(b.costUsd, c.costUsd),
      sign: Math.abs(c.costUsd - b.costUsd) <= 1e-9 ? 0 : Math.sign(c.costUsd - b.costUsd),
      worse: 'up',
    }),
  );
  for (const [title, before, after] of [
    ['routes', b.routes, c.routes],
    ['serving targets', b.targets, c.targets],
    ['statuses', b.statuses, c.statuses],
    ['guardrail verdicts', b.guardrails, c.guardrails],
  ] as const) {
    const rows = tableRows(paint, title, before, after, maxRows);
    if (rows.length > 0) lines.push('', ...rows);
  }
  return lines;
}

function changeKinds(r: ReplayReport, paint: Paint): string[] {
  const present = CHANGE_KINDS.filter((k) => r.changeKinds[k].count > 0);
  if (present.length === 0) return [];
  const lines = [paint('bold', 'how requests changed (one request can change in several ways)')];
  const width = Math.max(...present.map((k) => CHANGE_KIND_TEXT[k].length));
  for (const kind of present) {
    const { count, examples } = r.changeKinds[kind];
    const bad = kind === 'new_error' || kind === 'newly_limited' || kind === 'newly_blocked';
    const label = `  ${CHANGE_KIND_TEXT[kind].padEnd(width)}${formatCount(count).padStart(8)}`;
    const ids = examples.map((id) => terminalSafe(id, ID_WIDTH)).join(', ');
    lines.push(`${bad ? paint('red', label) : label}${ids === '' ? '' : paint('dim', `  e.g. ${ids}`)}`);
  }
  return lines;
}

function changeLine(c: ReplayChange, paint: Paint, lineWidth: number): string[] {
  const kinds = c.kinds.map((k) => k.replace('_', '-')).join(', ');
  const cost = c.kinds.includes('cost') ? ` ${formatUsd(c.before.costUsd)}` : '';
  const costAfter = c.kinds.includes('cost') ? ` ${formatUsd(c.after.costUsd)}` : '';
  const before = `${terminalSafe(describeOutcome(c.before), 60)}${cost}`;
  const after = `${terminalSafe(describeOutcome(c.after), 60)}${costAfter}`;
  const worse = c.after.status >= 400 && c.before.status < 400;
  return [
    `  ${paint('dim', `line ${String(c.line).padStart(lineWidth)}`)}  ${terminalSafe(c.requestId, ID_WIDTH * 2)}  ${paint('dim', `[${kinds}]`)}`,
    `  ${''.padEnd(lineWidth + 5)}  ${before}  →  ${worse ? paint('red', after) : paint('cyan', after)}`,
  ];
}

function changedRequests(r: ReplayReport, paint: Paint, shown: number): string[] {
  if (r.changed === 0 || shown <= 0) return [];
  const list = r.changes.slice(0, shown);
  if (list.length === 0) return [];
  const lines = [
    paint(
      'bold',
      `first ${formatCount(list.length)} of ${formatCount(r.changed)} changed requests (baseline → candidate)`,
    ),
  ];
  const lineWidth = Math.max(...list.map((c) => String(c.line).length));
  for (const c of list) lines.push(...changeLine(c, paint, lineWidth));
  const rest = r.changed - list.length;
  if (rest > 0) {
    const listed = Math.min(r.changes.length, r.changesCap);
    const where =
      listed < r.changed
        ? `--json and --html list the first ${formatCount(listed)}; the counts above are exact`
        : '--json and --html list them all';
    lines.push(paint('dim', `  … ${formatCount(rest)} more (${where})`));
  }
  return lines;
}

function malformedLines(r: ReplayReport, paint: Paint, maxRows: number): string[] {
  if (r.malformed.count === 0) return [];
  const lines = [paint('yellow', `${plural(r.malformed.count, 'malformed line')} (skipped, never replayed)`)];
  for (const m of r.malformed.lines.slice(0, maxRows)) {
    lines.push(`  line ${m.line}: ${terminalSafe(m.message, 100)}`);
  }
  const rest = r.malformed.count - Math.min(maxRows, r.malformed.lines.length);
  if (rest > 0) lines.push(paint('dim', `  … ${formatCount(rest)} more`));
  return lines;
}
