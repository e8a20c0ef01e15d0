/**
 * Formatting shared by the replay report's renderers (terminal, HTML) and its CI gates: counts,
 * money, shares, one outcome in a few words, and text from user traffic made safe to print.
 */
import type { ChangeKind, ReplayOutcome, ReplayReport } from '../replay-report.js';

const COUNT = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** `12,345`. */
export function formatCount(n: number): string {
  return COUNT.format(n);
}

/**
 * US dollars with as many decimals as LLM prices need to be told apart: `$12.35`, `$0.0123`,
 * `$0.000045`. `signed` prefixes `+` to positive amounts (deltas).
 */
export function formatUsd(amount: number, signed = false): string {
  const abs = Math.abs(amount);
  const digits = abs >= 1 ? 2 : abs >= 0.01 ? 4 : 6;
  // Trailing zeros past the cents say nothing: $0.0021, not $0.002100.
  const fixed = abs.toFixed(digits).replace(/(\.\d\d\d*?)0+$/, '$1');
  const text = Number(fixed) === 0 ? '$0' : `$${fixed}`;
  if (amount < 0 && text !== '$0') return `-${text}`;
  return signed && amount > 0 ? `+${text}` : text;
}

/** `part` as a share of `whole`, one decimal: `7.5%`; `-` when the whole is zero. */
export function formatShare(part: number, whole: number): string {
  return whole === 0 ? '-' : `${((part / whole) * 100).toFixed(1)}%`;
}

/** A signed count delta: `+18`, `-3`, `0`. */
export function formatDelta(delta: number): string {
  return delta > 0 ? `+${formatCount(delta)}` : formatCount(delta);
}

/** The relative change from `before` to `after`: `+4.2%`, `-18.0%`; null when `before` is zero. */
export function relativeChange(before: number, after: number): string | null {
  if (before === 0) return null;
  const pct = ((after - before) / before) * 100;
  return `${pct > 0 ? '+' : ''}${pct.toFixed(1)}%`;
}

/** A cost delta with its relative change: `+$0.0123 (+4.2%)`. */
export function formatCostDelta(before: number, after: number): string {
  const delta = after - before;
  if (Math.abs(delta) <= 1e-9) return '0';
  const rel = relativeChange(before, after);
  return `${formatUsd(delta, true)}${rel === null ? '' : ` (${rel})`}`;
}

/** How each change kind reads in a report. */
export const CHANGE_KIND_TEXT: Readonly<Record<ChangeKind, string>> = {
  route: 'route changed',
  target: 'serving target changed',
  status: 'status changed',
  new_error: 'new error',
  fixed_error: 'error fixed',
  newly_limited: 'newly rate-limited',
  newly_blocked: 'newly blocked (budget or guardrail)',
  cost: 'cost changed',
};

/** One side's outcome in a few words: `chat 200 primary`, `chat 429 rate_limited`. */
export function describeOutcome(o: ReplayOutcome): string {
  const parts = [o.route ?? '(no route)', String(o.status)];
  if (o.target !== null) parts.push(o.target);
  if (o.errorCode !== null) parts.push(o.errorCode);
  return parts.join(' ');
}

// C0 and C1 controls, DEL, and the bidirectional overrides and isolates, which can make printed
// text read differently from what it is ("Trojan Source").
const UNSAFE_FOR_TERMINAL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text from user traffic (request ids, routes, error messages, file lines) made safe for a
 * terminal: control characters become `\u{..}` escapes, so an id cannot move the cursor, change
 * colours or hide itself; longer than `max` characters is cut with `…`.
 */
export function terminalSafe(text: string, max = Number.POSITIVE_INFINITY): string {
  const safe = text.replace(
    UNSAFE_FOR_TERMINAL,
    (c) => `\\u{${c.codePointAt(0)?.toString(16).padStart(2, '0')}}`,
  );
  const chars = Array.from(safe);
  return chars.length <= max ? safe : `${chars.slice(0, Math.max(1, max - 1)).join('')}…`;
}

/** Entries of a count table, largest first, then by name (stable whatever the map order). */
export function sortedCounts(counts: Readonly<Record<string, number>>): [string, number][] {
  return Object.entries(counts).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/**
 * The union of two count tables' keys, ordered by the larger of the two counts: the rows of a
 * baseline-vs-candidate table.
 */
export function unionKeys(
  a: Readonly<Record<string, number>>,
  b: Readonly<Record<string, number>>,
): string[] {
  const max = new Map<string, number>();
  for (const table of [a, b])
    for (const [k, n] of Object.entries(table)) max.set(k, Math.max(max.get(k) ?? 0, n));
  return [...max.entries()]
    .sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))
    .map(([k]) => k);
}

/** Each side's cache hit rate, 0..1 (null when it looked nothing up). */
export function cacheRates(report: ReplayReport): { baseline: number | null; candidate: number | null } {
  const rate = (hits: number, lookups: number): number | null => (lookups === 0 ? null : hits / lookups);
  return {
    baseline: rate(report.baseline.cacheHits, report.baseline.cacheLookups),
    candidate: rate(report.candidate.cacheHits, report.candidate.cacheLookups),
  };
}

/** An ISO instant as `2026-12-07 12:00:05 UTC` (the report's times are UTC). */
export function formatInstant(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** The traffic's time span: `2026-12-07 12:00:00 → 12:59:59 UTC` (the date once when it is one day). */
export function formatSpan(from: string | null, to: string | null): string {
  if (from === null) return 'no requests';
  const start = formatInstant(from);
  const end = formatInstant(to ?? from);
  if (start.slice(0, 10) === end.slice(0, 10) && start.length === end.length) {
    return `${start.slice(0, -4)} → ${end.slice(11)}`;
  }
  return `${start.slice(0, -4)} → ${end}`;
}

/** A bucket width: `1 min`, `5 min`, `30 s`, `1 h`, `250 ms`. */
export function formatWidth(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['min', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size} ${unit}`;
  }
  return formatElapsed(ms);
}

/** A duration in the largest sensible unit: `850 ms`, `12.3 s`, `4 min 05 s`. */
export function formatElapsed(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}
