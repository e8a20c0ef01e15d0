/**
 * The replay report as one self-contained HTML file, for a reviewer who opens it from a CI
 * artifact: headline figures, the CI gates' verdict, charts (timeline, targets baseline vs
 * candidate, change kinds) drawn by Chart.js inlined into the file, and tables (baseline vs
 * candidate, cost, routes/targets/statuses/guardrails, changed requests, malformed lines).
 *
 * Offline and inert by construction:
 * - nothing is fetched: Chart.js (the UMD build, read from the installed package) and the
 *   page's own script are inline, and a Content-Security-Policy `default-src 'none'` allows
 *   exactly those two scripts and the one stylesheet by their SHA-256 hashes, nothing else;
 * - every text from the report is escaped (`html-markup.ts`), and the chart data is a JSON
 *   block written so that no string can close it; even an injected `<script>` would not run,
 *   since its hash is not in the policy.
 * Bounded: tables are cut (`maxChangedRows`, `maxTableRows`), the timeline is merged into at
 * most `MAX_BUCKETS` points, so the file stays a few hundred KB whatever the traffic.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { GateVerdict } from '../replay-gates.js';
import {
  CHANGE_KINDS,
  type ChangeKind,
  type ReplayBucket,
  type ReplayChange,
  type ReplayOutcome,
  type ReplayReport,
} from '../replay-report.js';
import { CLIENT_SCRIPT } from './html-client.js';
import { html, jsonForScript, type SafeHtml } from './html-markup.js';
import {
  CHANGE_KIND_TEXT,
  cacheRates,
  formatCostDelta,
  formatCount,
  formatDelta,
  formatElapsed,
  formatShare,
  formatSpan,
  formatUsd,
  formatWidth,
  relativeChange,
  sortedCounts,
  unionKeys,
} from './text.js';

export interface HtmlReportOptions {
  /** The CI gates' verdict, shown as a banner at the top. */
  readonly gates?: GateVerdict;
  /** Changed requests listed in the table (default 1,000). */
  readonly maxChangedRows?: number;
  /** Rows per route/target/status/guardrail table (default 50). */
  readonly maxTableRows?: number;
}

/** The timeline is merged into at most this many points (a chart cannot show more anyway). */
export const MAX_BUCKETS = 360;
/** Targets drawn in the chart; the rest are summed into one bar. */
const MAX_CHART_TARGETS = 12;

let chartJs: Promise<string> | null = null;

/**
 * Chart.js's UMD build, from the installed package (resolved like any dependency, so it works
 * from a source checkout and from `node_modules/switchyard`), made safe to inline.
 */
function loadChartJs(): Promise<string> {
  chartJs ??= (async () => {
    let main: string;
    try {
      main = createRequire(import.meta.url).resolve('chart.js');
    } catch (err) {
      throw new Error('the HTML report needs the chart.js package, which is not installed', { cause: err });
    }
    const dist = dirname(main);
    let source: string;
    try {
      source = await readFile(join(dist, 'chart.umd.min.js'), 'utf8');
    } catch {
      source = await readFile(join(dist, 'chart.umd.js'), 'utf8');
    }
    // No source map to fetch, and no `</script` that would end the element early.
    return source.replace(/\n\/\/# sourceMappingURL=\S*\s*$/, '\n').replace(/<\/(script)/gi, '<\\/$1');
  })().catch((err: unknown) => {
    chartJs = null;
    throw err;
  });
  return chartJs;
}

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

// ---------------------------------------------------------------------------------------------
// Chart data

interface ChartData {
  timeline: {
    labels: string[];
    requests: number[];
    baselineErrors: number[];
    candidateErrors: number[];
    candidateFallbacks: number[];
    candidateLimited: number[];
    changed: number[];
  };
  targets: { labels: string[]; baseline: number[]; candidate: number[] };
  kinds: { labels: string[]; counts: number[]; tone: ('bad' | 'good' | 'neutral')[] };
}

const BUCKET_FIELDS = [
  'requests',
  'baselineErrors',
  'candidateErrors',
  'candidateFallbacks',
  'candidateLimited',
  'candidateCacheHits',
  'changed',
] as const;

/** Merges runs of consecutive buckets so that at most `max` remain (sums; the first start). */
export function coarsenTimeline(buckets: readonly ReplayBucket[], max: number): ReplayBucket[] {
  if (buckets.length <= max) return [...buckets];
  const group = Math.ceil(buckets.length / max);
  const out: ReplayBucket[] = [];
  for (let i = 0; i < buckets.length; i += group) {
    const run = buckets.slice(i, i + group);
    const merged: Record<string, number | string> = { start: run[0]?.start ?? '' };
    for (const field of BUCKET_FIELDS) merged[field] = run.reduce((sum, b) => sum + b[field], 0);
    out.push(merged as unknown as ReplayBucket);
  }
  return out;
}

/** Bucket labels in UTC: `12:05` within a day, `12-07 12:05` across days, seconds when needed. */
function bucketLabels(buckets: readonly ReplayBucket[], bucketMs: number): string[] {
  const times = buckets.map((b) => Date.parse(b.start));
  const first = times[0] ?? 0;
  const last = times[times.length - 1] ?? 0;
  const days = new Date(first).toISOString().slice(0, 10) !== new Date(last).toISOString().slice(0, 10);
  return times.map((t) => {
    if (Number.isNaN(t)) return '?';
    const iso = new Date(t).toISOString();
    const clock = bucketMs < 60_000 ? iso.slice(11, 19) : iso.slice(11, 16);
    return days ? `${iso.slice(5, 10)} ${clock}` : clock;
  });
}

function chartData(report: ReplayReport): ChartData {
  const group = Math.ceil(report.timeline.buckets.length / MAX_BUCKETS) || 1;
  const buckets = coarsenTimeline(report.timeline.buckets, MAX_BUCKETS);
  const targets = unionKeys(report.baseline.targets, report.candidate.targets);
  const top = targets.slice(0, MAX_CHART_TARGETS);
  const rest = targets.slice(MAX_CHART_TARGETS);
  const sumRest = (t: Readonly<Record<string, number>>): number => rest.reduce((s, k) => s + (t[k] ?? 0), 0);
  const kinds = CHANGE_KINDS.filter((k) => report.changeKinds[k].count > 0);
  return {
    timeline: {
      labels: bucketLabels(buckets, report.timeline.bucketMs * group),
      requests: buckets.map((b) => b.requests),
      baselineErrors: buckets.map((b) => b.baselineErrors),
      candidateErrors: buckets.map((b) => b.candidateErrors),
      candidateFallbacks: buckets.map((b) => b.candidateFallbacks),
      candidateLimited: buckets.map((b) => b.candidateLimited),
      changed: buckets.map((b) => b.changed),
    },
    targets: {
      labels: [...top, ...(rest.length > 0 ? [`${rest.length} others`] : [])],
      baseline: [
        ...top.map((k) => report.baseline.targets[k] ?? 0),
        ...(rest.length > 0 ? [sumRest(report.baseline.targets)] : []),
      ],
      candidate: [
        ...top.map((k) => report.candidate.targets[k] ?? 0),
        ...(rest.length > 0 ? [sumRest(report.candidate.targets)] : []),
      ],
    },
    kinds: {
      labels: kinds.map((k) => CHANGE_KIND_TEXT[k]),
      counts: kinds.map((k) => report.changeKinds[k].count),
      tone: kinds.map((k) => KIND_TONE[k]),
    },
  };
}

const KIND_TONE: Readonly<Record<ChangeKind, 'bad' | 'good' | 'neutral'>> = {
  route: 'neutral',
  target: 'neutral',
  status: 'neutral',
  new_error: 'bad',
  fixed_error: 'good',
  newly_limited: 'bad',
  newly_blocked: 'bad',
  cost: 'neutral',
};

// ---------------------------------------------------------------------------------------------
// Markup

const STYLE = `
:root { --fg: #0f172a; --muted: #64748b; --line: #e2e8f0; --bg: #f8fafc; --card: #fff;
  --bad: #b91c1c; --bad-bg: #fef2f2; --good: #15803d; --good-bg: #f0fdf4; --warn: #b45309; --accent: #2563eb; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
main { max-width: 1240px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 32px 0 10px; }
h3 { font-size: 13px; margin: 0 0 8px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
.sub { color: var(--muted); margin: 0; overflow-wrap: anywhere; }
code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 12.5px; }
.banner { margin: 18px 0 0; padding: 12px 16px; border-radius: 8px; border: 1px solid; }
.banner.pass { background: var(--good-bg); border-color: #bbf7d0; }
.banner.fail { background: var(--bad-bg); border-color: #fecaca; }
.banner strong { display: block; margin-bottom: 4px; }
.banner ul { margin: 0; padding-left: 0; list-style: none; }
.banner li { margin: 2px 0; }
.tag { display: inline-block; min-width: 40px; padding: 0 6px; margin-right: 6px; border-radius: 4px;
  font-size: 11px; font-weight: 700; text-align: center; color: #fff; }
.tag.pass { background: var(--good); } .tag.fail { background: var(--bad); }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(140px, 1fr)); gap: 12px; margin: 20px 0 0; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
.card .n { font-size: 24px; font-weight: 650; font-variant-numeric: tabular-nums; }
.card .l { color: var(--muted); font-size: 12px; }
.card.warn .n { color: var(--warn); } .card.bad .n { color: var(--bad); }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; margin-top: 12px; }
.panel { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; min-width: 0; }
.panel.wide { grid-column: 1 / -1; }
.chart { position: relative; height: 260px; }
.wide .chart { height: 300px; }
.empty { color: var(--muted); font-style: italic; margin: 8px 0; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 12px; background: #f1f5f9; position: sticky; top: 0; }
td.num, th.num { text-align: right; white-space: nowrap; }
th.narrow { width: 1%; }
.up { color: var(--bad); } .down { color: var(--good); }
.tables { display: grid; grid-template-columns: repeat(auto-fit, minmax(340px, 1fr)); gap: 12px; }
.more { color: var(--muted); font-size: 12px; margin: 6px 0 0; }
.kind { display: inline-block; padding: 0 6px; margin: 1px 2px 1px 0; border-radius: 4px; font-size: 11px;
  background: #e0e7ff; color: #3730a3; white-space: nowrap; }
.kind.bad { background: #fee2e2; color: var(--bad); } .kind.good { background: #dcfce7; color: var(--good); }
#changes td.id { overflow-wrap: anywhere; min-width: 140px; max-width: 320px; }
#changes td.outcome { white-space: nowrap; }
#changes td.kinds { min-width: 180px; }
#changes td.outcome b { color: var(--accent); }
.scroll { max-height: 640px; overflow: auto; border: 1px solid var(--line); border-radius: 8px; background: var(--card); }
.scroll table th { border-bottom: 1px solid var(--line); }
.filters { display: flex; gap: 8px; align-items: center; margin: 0 0 8px; color: var(--muted); }
.filters input, .filters select { font: inherit; padding: 4px 8px; border: 1px solid var(--line); border-radius: 6px; }
.filters input { width: 280px; }
footer { margin-top: 36px; color: var(--muted); font-size: 12px; }
@media (max-width: 800px) { .charts { grid-template-columns: 1fr; } }
`;

function deltaCell(before: number, after: number, worseUp: boolean | null, text?: string): SafeHtml {
  const delta = after - before;
  const shown = text ?? formatDelta(delta);
  if (Math.abs(delta) <= 1e-9 || worseUp === null)
    return html`<td class="num">${Math.abs(delta) <= 1e-9 ? '' : shown}</td>`;
  const bad = worseUp ? delta > 0 : delta < 0;
  return html`<td class="num ${bad ? 'up' : 'down'}">${shown}</td>`;
}

function countRow(label: string, before: number, after: number, worseUp: boolean | null): SafeHtml {
  return html`<tr><td>${label}</td><td class="num">${formatCount(before)}</td><td class="num">${formatCount(after)}</td>${deltaCell(before, after, worseUp)}</tr>`;
}

function gatesBanner(verdict: GateVerdict | undefined): SafeHtml {
  if (verdict === undefined || verdict.results.length === 0) return html``;
  const n = verdict.results.length;
  const title = verdict.passed
    ? `All ${n} CI gate${n === 1 ? '' : 's'} passed`
    : `${verdict.failures.length} of ${n} CI gate${n === 1 ? '' : 's'} failed`;
  return html`<section class="banner ${verdict.passed ? 'pass' : 'fail'}" id="gates"><strong>${title}</strong><ul>${verdict.results.map(
    (r) =>
      html`<li><span class="tag ${r.passed ? 'pass' : 'fail'}">${r.passed ? 'PASS' : 'FAIL'}</span><code>${r.gate.source}</code> — ${r.message}</li>`,
  )}</ul></section>`;
}

function card(value: string, label: string, tone: '' | 'warn' | 'bad' = ''): SafeHtml {
  return html`<div class="card ${tone}"><div class="n">${value}</div><div class="l">${label}</div></div>`;
}

function costLabel(r: ReplayReport): string {
  const delta = r.candidate.costUsd - r.baseline.costUsd;
  if (Math.abs(delta) <= 1e-9) return 'cost, same as the baseline';
  return `cost, ${formatCostDelta(r.baseline.costUsd, r.candidate.costUsd)} vs the baseline`;
}

function cards(r: ReplayReport): SafeHtml {
  const answers = r.recordedAnswers + r.simulatedAnswers;
  return html`<section class="cards">
${card(formatCount(r.total), 'requests read')}
${card(formatCount(r.unchanged), `unchanged (${formatShare(r.unchanged, r.total)})`)}
${card(formatCount(r.changed), `changed (${formatShare(r.changed, r.total)})`, r.changed > 0 ? 'warn' : '')}
${card(formatCount(r.unreplayable), 'unreplayable', r.unreplayable > 0 ? 'warn' : '')}
${card(formatCount(r.simulatedAnswers), `simulated answers (${formatShare(r.simulatedAnswers, answers)} of ${formatCount(answers)})`, r.simulatedAnswers > 0 ? 'warn' : '')}
${card(formatUsd(r.candidate.costUsd), costLabel(r), r.candidate.costUsd - r.baseline.costUsd > 1e-9 ? 'bad' : '')}
${card(formatCount(r.malformed.count), 'malformed lines', r.malformed.count > 0 ? 'bad' : '')}
</section>`;
}

function chartPanel(id: string, title: string, hasData: boolean, empty: string, wide = false): SafeHtml {
  return html`<div class="panel${wide ? ' wide' : ''}"><h3>${title}</h3>${
    hasData
      ? html`<div class="chart"><canvas id="${id}" role="img" aria-label="${title}"></canvas></div>`
      : html`<p class="empty">${empty}</p>`
  }</div>`;
}

function sideTable(r: ReplayReport): SafeHtml {
  const b = r.baseline;
  const c = r.candidate;
  const rates = cacheRates(r);
  const rate = (x: number | null): string => (x === null ? '-' : `${(x * 100).toFixed(1)}%`);
  const points =
    rates.baseline !== null && rates.candidate !== null ? (rates.candidate - rates.baseline) * 100 : 0;
  const causes = unionKeys(
    b.fallbackCauses as Record<string, number>,
    c.fallbackCauses as Record<string, number>,
  );
  return html`<table>
<thead><tr><th></th><th class="num">baseline</th><th class="num">candidate</th><th class="num">change</th></tr></thead>
<tbody>
${countRow('requests', b.requests, c.requests, null)}
${countRow('errors (status ≥ 400)', b.errors, c.errors, true)}
${countRow('fallbacks', b.fallbacks, c.fallbacks, true)}
${causes.map((k) =>
  countRow(
    `   after ${k}`,
    (b.fallbackCauses as Record<string, number>)[k] ?? 0,
    (c.fallbackCauses as Record<string, number>)[k] ?? 0,
    true,
  ),
)}
<tr><td>cache hit rate</td><td class="num">${rate(rates.baseline)}</td><td class="num">${rate(rates.candidate)}</td>${
    Math.abs(points) < 0.05
      ? html`<td class="num"></td>`
      : html`<td class="num ${points < 0 ? 'up' : 'down'}">${points > 0 ? '+' : ''}${points.toFixed(1)} pts</td>`
  }</tr>
${countRow('rate-limited', b.limited, c.limited, true)}
${countRow('budget-blocked', b.budgetBlocked, c.budgetBlocked, true)}
<tr><td>cost</td><td class="num">${formatUsd(b.costUsd)}</td><td class="num">${formatUsd(c.costUsd)}</td>${deltaCell(b.costUsd, c.costUsd, true, formatCostDelta(b.costUsd, c.costUsd))}</tr>
</tbody></table>`;
}

function costTable(r: ReplayReport): SafeHtml {
  const b = r.baseline;
  const c = r.candidate;
  const per = (cost: number, n: number): string => (n === 0 ? '-' : formatUsd(cost / n));
  const rel = relativeChange(b.costUsd, c.costUsd);
  return html`<table>
<thead><tr><th></th><th class="num">baseline</th><th class="num">candidate</th><th class="num">change</th></tr></thead>
<tbody>
<tr><td>total cost (USD)</td><td class="num">${formatUsd(b.costUsd)}</td><td class="num">${formatUsd(c.costUsd)}</td>${deltaCell(b.costUsd, c.costUsd, true, formatUsd(c.costUsd - b.costUsd, true))}</tr>
<tr><td>relative change</td><td class="num"></td><td class="num"></td><td class="num">${rel ?? (c.costUsd > 0 ? 'from $0' : '')}</td></tr>
<tr><td>per request</td><td class="num">${per(b.costUsd, b.requests)}</td><td class="num">${per(c.costUsd, c.requests)}</td><td class="num"></td></tr>
<tr><td>requests whose cost changed</td><td class="num"></td><td class="num">${formatCount(r.changeKinds.cost.count)}</td><td class="num"></td></tr>
</tbody></table>`;
}

function countsTable(
  title: string,
  a: Readonly<Record<string, number>>,
  b: Readonly<Record<string, number>>,
  maxRows: number,
): SafeHtml {
  const keys = unionKeys(a, b);
  if (keys.length === 0) return html``;
  return html`<div class="panel"><h3>${title}</h3><table>
<thead><tr><th></th><th class="num">baseline</th><th class="num">candidate</th><th class="num">change</th></tr></thead>
<tbody>${keys.slice(0, maxRows).map((k) => countRow(k, a[k] ?? 0, b[k] ?? 0, null))}</tbody></table>${
    keys.length > maxRows
      ? html`<p class="more">… ${formatCount(keys.length - maxRows)} more in the JSON report</p>`
      : ''
  }</div>`;
}

function kindBadge(kind: ChangeKind): SafeHtml {
  const tone = KIND_TONE[kind];
  return html`<span class="kind${tone === 'neutral' ? '' : ` ${tone}`}">${kind.replace('_', ' ')}</span>`;
}

function kindsTable(r: ReplayReport): SafeHtml {
  const present = CHANGE_KINDS.filter((k) => r.changeKinds[k].count > 0);
  if (present.length === 0) return html`<p class="empty">No request changed.</p>`;
  return html`<table>
<thead><tr><th>kind</th><th class="num">requests</th><th class="num">share</th><th>examples</th></tr></thead>
<tbody>${present.map((k) => {
    const { count, examples } = r.changeKinds[k];
    return html`<tr><td>${kindBadge(k)} ${CHANGE_KIND_TEXT[k]}</td><td class="num">${formatCount(count)}</td><td class="num">${formatShare(count, r.total)}</td><td class="mono">${examples.join(', ')}</td></tr>`;
  })}</tbody></table>`;
}

/** One side of a changed request, `route · target · status · cost`; what differs is emphasised. */
function outcomeCell(o: ReplayOutcome, other: ReplayOutcome): SafeHtml {
  const mark = (text: string, differs: boolean): SafeHtml => (differs ? html`<b>${text}</b>` : html`${text}`);
  const status = html`${mark(String(o.status), o.status !== other.status)}${o.errorCode === null ? '' : html` <span class="mono">${o.errorCode}</span>`}`;
  return html`<td class="outcome">${mark(o.route ?? '(no route)', o.route !== other.route)} · ${mark(o.target ?? 'no target', o.target !== other.target)} · ${status} · ${mark(formatUsd(o.costUsd), Math.abs(o.costUsd - other.costUsd) > 1e-9)}</td>`;
}

function changeRow(c: ReplayChange): SafeHtml {
  return html`<tr data-kinds="${c.kinds.join(' ')}"><td class="num">${c.line}</td><td class="mono id">${c.requestId}</td><td class="kinds">${c.kinds.map(kindBadge)}</td>${outcomeCell(c.before, c.after)}${outcomeCell(c.after, c.before)}</tr>`;
}

function changesSection(r: ReplayReport, maxRows: number): SafeHtml {
  if (r.changed === 0) return html`<p class="empty">No request changed.</p>`;
  const rows = r.changes.slice(0, maxRows);
  const listed = rows.length;
  const notListed = r.changed - listed;
  const why =
    notListed === 0
      ? ''
      : r.changes.length > listed
        ? ` (the first ${formatCount(listed)} of ${formatCount(r.changed)}; the JSON report lists ${formatCount(r.changes.length)})`
        : ` (the first ${formatCount(listed)} of ${formatCount(r.changed)}: the replay keeps ${formatCount(r.changesCap)}; the counts above are exact)`;
  return html`<div class="filters"><label>filter <input id="changes-filter" type="search" placeholder="request id, route, target, status…"></label>
<label>kind <select id="changes-kind"><option value="">any</option>${CHANGE_KINDS.filter(
    (k) => r.changeKinds[k].count > 0,
  ).map(
    (k) => html`<option value="${k}">${k.replace('_', ' ')}</option>`,
  )}</select></label><span><span id="changes-shown">${formatCount(listed)}</span> shown${why}</span></div>
<div class="scroll"><table id="changes">
<thead><tr><th class="num">line</th><th>request id</th><th>changed</th><th>baseline: route · target · status · cost</th><th>candidate</th></tr></thead>
<tbody>${rows.map(changeRow)}</tbody></table></div>`;
}

function malformedSection(r: ReplayReport, maxRows: number): SafeHtml {
  if (r.malformed.count === 0) return html``;
  const rows = r.malformed.lines.slice(0, maxRows);
  return html`<h2>Malformed lines (${formatCount(r.malformed.count)}, skipped)</h2>
<div class="panel"><table><thead><tr><th class="num narrow">line</th><th>why</th></tr></thead><tbody>${rows.map(
    (m) => html`<tr><td class="num">${m.line}</td><td class="mono">${m.message}</td></tr>`,
  )}</tbody></table>${
    r.malformed.count > rows.length
      ? html`<p class="more">… ${formatCount(r.malformed.count - rows.length)} more</p>`
      : ''
  }</div>`;
}

function unreplayableSection(r: ReplayReport): SafeHtml {
  const reasons = sortedCounts(r.unreplayableReasons);
  if (reasons.length === 0) return html``;
  return html`<div class="panel"><h3>Unreplayable, by reason</h3><table><tbody>${reasons.map(
    ([why, n]) => html`<tr><td>${why}</td><td class="num">${formatCount(n)}</td></tr>`,
  )}</tbody></table></div>`;
}

/**
 * Renders `report` as a self-contained HTML page (a few hundred KB, most of it Chart.js).
 *
 * @example
 * await writeFile('replay.html', await renderReplayHtml(report, { gates: evaluateGates(report, gates) }));
 */
export async function renderReplayHtml(
  report: ReplayReport,
  options: HtmlReportOptions = {},
): Promise<string> {
  const maxChangedRows = options.maxChangedRows ?? 1000;
  const maxTableRows = options.maxTableRows ?? 50;
  const chart = await loadChartJs();
  const data = chartData(report);
  const r = report;
  // A span is known when the traffic had timestamps for its requests.
  const span = r.traffic.from === null && r.total > 0 ? '' : `, ${formatSpan(r.traffic.from, r.traffic.to)}`;
  const noTimeline =
    r.total === 0 ? 'No requests in the traffic.' : 'The replay kept no timeline for this traffic.';
  const body = html`<main>
<header>
<h1>Replay report</h1>
<p class="sub">candidate <code>${r.policy}</code> against baseline <code>${r.baseline.label}</code></p>
<p class="sub">traffic <code>${r.traffic.path}</code> (${r.traffic.format})${span} · seed ${r.seed}${
    r.scenario === null ? '' : html` · scenario <code>${r.scenario}</code>`
  } · replayed in ${formatElapsed(r.elapsedMs)}</p>
</header>
${gatesBanner(options.gates)}
${cards(r)}
<section class="charts">
${chartPanel('chart-timeline', `Timeline, per ${formatWidth(r.timeline.bucketMs * (Math.ceil(r.timeline.buckets.length / MAX_BUCKETS) || 1))}`, data.timeline.labels.length > 0, noTimeline, true)}
${chartPanel('chart-targets', 'Serving targets, baseline vs candidate', data.targets.labels.length > 0, 'No request was served by a target.')}
${chartPanel('chart-kinds', 'How requests changed', data.kinds.labels.length > 0, 'No request changed.')}
</section>
<h2>Baseline vs candidate</h2>
<section class="tables">
<div class="panel"><h3>Outcomes</h3>${sideTable(r)}</div>
<div class="panel"><h3>Cost</h3>${costTable(r)}</div>
</section>
<section class="tables">
${countsTable('Routes', r.baseline.routes, r.candidate.routes, maxTableRows)}
${countsTable('Serving targets', r.baseline.targets, r.candidate.targets, maxTableRows)}
${countsTable('Statuses', r.baseline.statuses, r.candidate.statuses, maxTableRows)}
${countsTable('Guardrail verdicts', r.baseline.guardrails, r.candidate.guardrails, maxTableRows)}
${unreplayableSection(r)}
</section>
<h2>How requests changed <span class="sub">(a request can change in several ways)</span></h2>
<div class="panel">${kindsTable(r)}</div>
<h2>Changed requests (${formatCount(r.changed)})</h2>
${changesSection(r, maxChangedRows)}
${malformedSection(r, maxTableRows)}
<footer>Generated by <code>switchyard replay</code> · report schema <code>${r.schema}</code> · charts by Chart.js (MIT), inlined: this file works offline.</footer>
</main>`;
  const csp = [
    "default-src 'none'",
    `script-src ${sha256(chart)} ${sha256(CLIENT_SCRIPT)}`,
    `style-src ${sha256(STYLE)}`,
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="switchyard replay">
<title>${html`Replay: ${r.policy}`}</title>
<style>${STYLE}</style>
</head>
<body>
${body}
<script type="application/json" id="report-data">${jsonForScript(data)}</script>
<script>${chart}</script>
<script>${CLIENT_SCRIPT}</script>
</body>
</html>
`;
}
