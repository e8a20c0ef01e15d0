import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  evaluateGates,
  formatReplayReport,
  parseGates,
  type ReplayChange,
  type ReplayReport,
  renderReplayHtml,
} from '../../../engine/index.js';
import { coarsenTimeline, MAX_BUCKETS } from '../../../engine/testing/replay-render/html.js';
import { escapeHtml, jsonForScript } from '../../../engine/testing/replay-render/html-markup.js';
import { formatUsd, terminalSafe } from '../../../engine/testing/replay-render/text.js';
import { emptyReport, emptySide, kindsOf, outcome, sampleReport } from '../../support/replay-reports.js';

const XSS = '<img src=x onerror=alert(1)>';
const CLOSE = '</script><script>alert(2)</script>';
const QUOTES = `primary"'&`;

/** A report whose every text from traffic carries markup, quotes or terminal escapes. */
function hostileReport(): ReplayReport {
  const before = outcome({ route: `chat${XSS}`, target: QUOTES, errorCode: null });
  const after = outcome({
    route: `chat${XSS}`,
    target: CLOSE,
    status: 502,
    errorCode: `bad${XSS}`,
    costUsd: 0,
  });
  const change: ReplayChange = {
    requestId: `r1${XSS}\u001b[2J\r`,
    line: 4,
    kinds: kindsOf(before, after),
    before,
    after,
  };
  const base = emptyReport();
  const kinds = { ...base.changeKinds };
  for (const k of change.kinds) kinds[k] = { count: 1, examples: [change.requestId] };
  return {
    ...base,
    policy: `evil${XSS}@1`,
    traffic: {
      path: `/tmp/${XSS}.jsonl`,
      format: 'plain',
      from: '2026-12-07T12:00:00.000Z',
      to: '2026-12-07T12:00:00.000Z',
    },
    scenario: `s${XSS}.yaml`,
    total: 1,
    changed: 1,
    baseline: {
      ...emptySide(`base${XSS}`),
      requests: 1,
      routes: { [`chat${XSS}`]: 1 },
      targets: { [QUOTES]: 1 },
      statuses: { '200': 1 },
      guardrails: { [`pii${XSS}:block`]: 1 },
      costUsd: 0.0012,
    },
    candidate: {
      ...emptySide(`cand${XSS}`),
      requests: 1,
      routes: { [`chat${XSS}`]: 1 },
      targets: { [CLOSE]: 1 },
      statuses: { '502': 1 },
      errors: 1,
    },
    unreplayableReasons: { [`why${XSS}`]: 0 },
    changeKinds: kinds,
    changes: [change],
    timeline: {
      bucketMs: 60_000,
      buckets: [
        {
          start: '2026-12-07T12:00:00.000Z',
          requests: 1,
          baselineErrors: 0,
          candidateErrors: 1,
          candidateFallbacks: 0,
          candidateLimited: 0,
          candidateCacheHits: 0,
          changed: 1,
        },
      ],
    },
    malformed: { count: 1, lines: [{ line: 9, message: `bad ${XSS} \u001b]0;title\u0007` }] },
  };
}

/** A report far bigger than any table shows: 100,000 changes, 5,000 targets, 20,000 buckets. */
function hugeReport(): ReplayReport {
  const base = sampleReport(500);
  const targets: Record<string, number> = {};
  for (let i = 0; i < 5000; i++) targets[`target-${i}`] = i;
  const change = base.changes[0] as ReplayChange;
  const changes = Array.from({ length: 100_000 }, (_, i) => ({
    ...change,
    requestId: `req-${i}`,
    line: i + 1,
  }));
  const bucket = base.timeline.buckets[0];
  if (bucket === undefined) throw new Error('sample has buckets');
  return {
    ...base,
    total: 200_000,
    unchanged: 100_000,
    changed: 100_000,
    unreplayable: 0,
    changes,
    changesCap: 100_000,
    candidate: { ...base.candidate, targets },
    timeline: { bucketMs: 1000, buckets: Array.from({ length: 20_000 }, () => bucket) },
    malformed: {
      count: 3000,
      lines: Array.from({ length: 3000 }, (_, i) => ({ line: i * 2 + 1, message: 'Unexpected token' })),
    },
  };
}

describe('formatReplayReport (terminal)', () => {
  it('reads at a glance: headline, side by side, change kinds with examples, first changes, malformed lines', () => {
    const report = sampleReport();
    const text = formatReplayReport(report);
    expect(text).toContain(`replayed 2,000 requests under ${report.policy}`);
    expect(text).toContain(
      `${report.unchanged.toLocaleString('en-US')} unchanged, ${report.changed} changed, ${report.unreplayable} unreplayable`,
    );
    expect(text).toContain('2026-12-07 12:00:00 → 12:59:59 UTC');
    expect(text).toMatch(/errors \(status ≥ 400\)\s+0\s+36\s+\+36/);
    expect(text).toMatch(
      new RegExp(
        `cost\\s+\\${formatUsd(report.baseline.costUsd)}\\s+\\${formatUsd(report.candidate.costUsd)}\\s+-\\$0\\.2585 \\(-8\\.1%\\)`,
      ),
    );
    expect(text).toMatch(/serving target changed\s+189 {2}e\.g\. req-2vvj-17, /);
    expect(text).toContain(`first 10 of 189 changed requests (baseline → candidate)`);
    expect(text).toContain('chat 200 primary $0.0021  →  chat 200 cheap $0.0007');
    expect(text).toContain('… 179 more (--json and --html list them all)');
    expect(text).toContain('line 17: Unexpected end of JSON input');
    expect(text).toContain('line 1204: not a recorded request');
    expect(text).not.toContain('\u001b[');
  });

  it('colours only when asked', () => {
    const text = formatReplayReport(sampleReport(), { color: true });
    expect(text).toContain('\u001b[1mreplayed 2,000 requests');
    expect(text).toContain('\u001b[31m+36\u001b[0m');
  });

  it('with nothing to compare with (plain input, no --baseline), only the candidate column shows', () => {
    const sample = sampleReport(50);
    const text = formatReplayReport({ ...sample, comparison: 'none' });
    expect(text).toContain('baseline: none');
    expect(text).not.toMatch(/baseline\s+candidate\s+change/);
    expect(text).toMatch(new RegExp(`requests\\s+${sample.candidate.requests}\\n`));
    // With a baseline the two columns are there.
    expect(formatReplayReport(sample)).toMatch(/baseline\s+candidate\s+change/);
  });

  it('an empty report says so and lists nothing', () => {
    const text = formatReplayReport(emptyReport());
    expect(text).toContain('replayed 0 requests under quickstart@1 (0123456789ab)');
    expect(text).toContain('0 unchanged, 0 changed, 0 unreplayable');
    expect(text).toContain('no requests');
    expect(text).toMatch(/cache hit rate\s+-\s+-\n/);
    expect(text).not.toContain('how requests changed');
    expect(text).not.toContain('malformed');
  });

  it('text from the traffic cannot drive the terminal', () => {
    const text = formatReplayReport(hostileReport(), { color: false });
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/);
    expect(text).toContain('r1<img src=x onerror=alert(1)>\\u{1b}[2J\\u{0d}');
    expect(text).toContain('line 9: bad <img src=x onerror=alert(1)> \\u{1b}]0;title\\u{07}');
    expect(terminalSafe('a\u202eb')).toBe('a\\u{202e}b');
    expect(terminalSafe('abcdefgh', 5)).toBe('abcd…');
  });

  it('a huge report stays a screenful: tables and lists are cut, counts stay exact', () => {
    const text = formatReplayReport(hugeReport());
    expect(text.split('\n').length).toBeLessThan(160);
    expect(text).toContain('… 4,991 more');
    expect(text).toContain('… 99,990 more (--json and --html list them all)');
    expect(text).toContain('3,000 malformed lines (skipped, never replayed)');
    expect(text).toContain('… 2,988 more');
  });
});

function between(text: string, open: string, close: string): string[] {
  const out: string[] = [];
  let at = text.indexOf(open);
  while (at !== -1) {
    const start = at + open.length;
    const end = text.indexOf(close, start);
    out.push(text.slice(start, end));
    at = text.indexOf(open, end);
  }
  return out;
}

const hash = (s: string): string => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;

describe('renderReplayHtml', () => {
  it('is one offline file: Chart.js inline, a CSP allowing only its own scripts and style by hash', async () => {
    const page = await renderReplayHtml(sampleReport());
    expect(page).toMatch(/^<!doctype html>/);
    expect(page).toContain('Chart.js v4');
    expect(page).not.toMatch(/<(script|link|img|iframe)\b[^>]*\s(src|href)=/i);
    expect(page).not.toContain('sourceMappingURL');
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(page)?.[1] ?? '';
    expect(csp).toContain("default-src 'none'");
    const scripts = between(page, '<script>', '</script>');
    expect(scripts).toHaveLength(2);
    expect(csp).toContain(`script-src ${scripts.map(hash).join(' ')};`);
    const styles = between(page, '<style>', '</style>');
    expect(styles).toHaveLength(1);
    expect(csp).toContain(`style-src ${hash(styles[0] ?? '')};`);
    expect(csp).not.toContain('unsafe');
    expect(page.length).toBeLessThan(700_000);
  });

  it('escapes everything from the report; the only scripts are its own three', async () => {
    const report = hostileReport();
    const page = await renderReplayHtml(report, {
      gates: evaluateGates(report, [
        { source: XSS, metric: 'new-errors', limit: { kind: 'absolute', value: 0 } },
      ]),
    });
    expect(page).not.toContain(XSS);
    expect(page).toContain(escapeHtml(`r1${XSS}`));
    expect(page).toContain(escapeHtml(`evil${XSS}@1`));
    expect(page).toContain(escapeHtml(`/tmp/${XSS}.jsonl`));
    expect(page).toContain(escapeHtml(`bad${XSS}`));
    expect(page).toContain('primary&quot;&#39;&amp;');
    expect(page.match(/<script\b/gi)).toHaveLength(3);
    expect(page.match(/<\/script/gi)).toHaveLength(3);
    // The chart data names the hostile target, escaped for a script element.
    const data = between(page, '<script type="application/json" id="report-data">', '</script>')[0] ?? '';
    expect(JSON.parse(data).targets.labels).toContain(CLOSE);
  });

  it('shows the gates verdict as a banner', async () => {
    const report = sampleReport();
    const parsed = parseGates('new-errors,cost-increase:10%');
    if (!parsed.ok) throw new Error(parsed.message);
    const page = await renderReplayHtml(report, { gates: evaluateGates(report, parsed.gates) });
    expect(page).toContain('<section class="banner fail" id="gates"><strong>1 of 2 CI gates failed</strong>');
    expect(page).toContain(
      '<span class="tag fail">FAIL</span><code>new-errors</code> — 36 requests newly answered',
    );
    expect(page).toContain('<span class="tag pass">PASS</span><code>cost-increase:10%</code>');
  });

  it('an empty report renders without charts and says why', async () => {
    const page = await renderReplayHtml(emptyReport());
    expect(page).not.toContain('<canvas');
    expect(page).toContain('No requests in the traffic.');
    expect(page).toContain('No request changed.');
  });

  it('a huge report stays a few hundred KB: rows cut, timeline merged, counts exact', async () => {
    const page = await renderReplayHtml(hugeReport());
    expect(page.length).toBeLessThan(1_500_000);
    expect(page.match(/<tr data-kinds=/g)).toHaveLength(1000);
    expect(page).toContain('(the first 1,000 of 100,000; the JSON report lists 100,000)');
    expect(page).toContain('… 4,953 more in the JSON report');
    const data = JSON.parse(between(page, 'id="report-data">', '</script>')[0] ?? '{}');
    expect(data.timeline.labels.length).toBeLessThanOrEqual(MAX_BUCKETS);
    expect(data.targets.labels).toHaveLength(13);
    expect(data.targets.labels[12]).toBe('4991 others');
  });

  it('merging the timeline keeps every sum and at most the maximum of points', () => {
    const buckets = hugeReport().timeline.buckets.slice(0, 1001);
    const merged = coarsenTimeline(buckets, 100);
    expect(merged.length).toBeLessThanOrEqual(100);
    const sum = (bs: typeof buckets, f: 'requests' | 'changed') => bs.reduce((s, b) => s + b[f], 0);
    expect(sum(merged, 'requests')).toBe(sum(buckets, 'requests'));
    expect(sum(merged, 'changed')).toBe(sum(buckets, 'changed'));
    expect(merged[0]?.start).toBe(buckets[0]?.start);
  });

  it('writes JSON that no string can break out of', () => {
    const text = jsonForScript({ a: '</script><!--\u2028&' });
    expect(text).not.toMatch(/[<>&\u2028]/);
    expect(JSON.parse(text)).toEqual({ a: '</script><!--\u2028&' });
  });
});
