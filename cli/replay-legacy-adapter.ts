/**
 * TEMPORARY — delete this file when `replayRecording` returns the report contract
 * (`engine/testing/replay-report.ts`) and takes `{ onProgress }`. It converts the old report
 * (route/status/target per change, as strings; candidate tables only) into the contract so that
 * the renderers, gates and CLI flags work today. What the old report does not know is left
 * empty: costs, cache, limits, guardrails, fallbacks, the timeline, recorded answers, seed.
 * Once the new replay lands, this file no longer type-checks (the old fields are gone), which is
 * the signal to delete it and call `replayRecording(policy, path, { onProgress })` directly.
 */
import type { ChangeKind, ReplayChange, ReplayOutcome, ReplayReport, ReplaySide } from '../engine/index.js';
import type { EngineModule } from './io.js';

type LegacyReport = Awaited<ReturnType<EngineModule['replayRecording']>>;

const KINDS: readonly ChangeKind[] = [
  'route',
  'target',
  'status',
  'new_error',
  'fixed_error',
  'newly_limited',
  'newly_blocked',
  'cost',
];

/** The old `describe()`: `${route ?? '(no route)'} ${status}[ ${target}]`. */
function parseOutcome(text: string): ReplayOutcome {
  const noRoute = '(no route) ';
  const route = text.startsWith(noRoute) ? null : text.slice(0, text.indexOf(' '));
  const rest = text.slice(route === null ? noRoute.length : route.length + 1);
  const space = rest.indexOf(' ');
  const status = Number(space === -1 ? rest : rest.slice(0, space));
  const target = space === -1 ? null : rest.slice(space + 1);
  return {
    route,
    target,
    status,
    errorCode: null,
    attempts: target === null ? [] : [target],
    costUsd: 0,
    cache: null,
    limited: status === 429,
    budgetBlocked: false,
    guardrailBlocked: false,
  };
}

function side(
  label: string,
  routes: Record<string, number>,
  targets: Record<string, number>,
  statuses: Record<string, number>,
): ReplaySide {
  const requests = Object.values(statuses).reduce((s, n) => s + n, 0);
  const errors = Object.entries(statuses).reduce((s, [code, n]) => s + (Number(code) >= 400 ? n : 0), 0);
  return {
    label,
    requests,
    routes,
    targets,
    statuses,
    errors,
    fallbacks: 0,
    fallbackCauses: {},
    cacheLookups: 0,
    cacheHits: 0,
    limited: statuses['429'] ?? 0,
    budgetBlocked: 0,
    guardrails: {},
    costUsd: 0,
  };
}

function shift(table: Record<string, number>, key: string | null, by: number): void {
  if (key === null) return;
  const n = (table[key] ?? 0) + by;
  if (n === 0) delete table[key];
  else table[key] = n;
}

export function fromLegacyReport(legacy: LegacyReport, trafficPath: string, elapsedMs: number): ReplayReport {
  const routes = { ...legacy.routes };
  const targets = { ...legacy.targets };
  const statuses = { ...legacy.statuses };
  const kinds = Object.fromEntries(KINDS.map((k) => [k, { count: 0, examples: [] as string[] }])) as Record<
    ChangeKind,
    { count: number; examples: string[] }
  >;
  const changes: ReplayChange[] = legacy.changes.map((c) => {
    const before = parseOutcome(c.before);
    const after = parseOutcome(c.after);
    // The baseline's tables are the candidate's with each change undone.
    shift(routes, after.route ?? '(no route)', -1);
    shift(routes, before.route ?? '(no route)', 1);
    shift(targets, after.target, -1);
    shift(targets, before.target, 1);
    shift(statuses, String(after.status), -1);
    shift(statuses, String(before.status), 1);
    const changed: ChangeKind[] = [];
    if (before.route !== after.route) changed.push('route');
    if (before.target !== after.target) changed.push('target');
    if (before.status !== after.status) changed.push('status');
    if (before.status < 400 && after.status >= 400) changed.push('new_error');
    if (before.status >= 400 && after.status < 400) changed.push('fixed_error');
    if (!before.limited && after.limited) changed.push('newly_limited');
    for (const k of changed) {
      kinds[k].count++;
      if (kinds[k].examples.length < 5) kinds[k].examples.push(c.requestId);
    }
    return { requestId: c.requestId, line: c.index, kinds: changed, before, after };
  });
  return {
    schema: 'switchyard.replay-report/1',
    policy: legacy.policy,
    traffic: { path: trafficPath, format: 'switchyard', from: null, to: null },
    seed: 0,
    scenario: null,
    total: legacy.total,
    unchanged: legacy.unchanged,
    changed: legacy.changed,
    unreplayable: legacy.unreplayable,
    unreplayableReasons:
      legacy.unreplayable > 0 ? { 'tenant unknown to the policy': legacy.unreplayable } : {},
    recordedAnswers: 0,
    simulatedAnswers: legacy.simulatedAnswers,
    baseline: side('recording', routes, targets, statuses),
    candidate: side(legacy.policy, { ...legacy.routes }, { ...legacy.targets }, { ...legacy.statuses }),
    changeKinds: kinds,
    changes,
    changesCap: legacy.changes.length,
    timeline: { bucketMs: 60_000, buckets: [] },
    malformed: {
      count: legacy.malformedLines.length,
      lines: legacy.malformedLines.map((w) => ({ line: w.line, message: w.message })),
    },
    elapsedMs,
  };
}
