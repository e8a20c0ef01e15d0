/**
 * Replay reports for the renderers' and gates' tests: `emptyReport`, a realistic `sampleReport`
 * (deterministic), and `arbReplayReport`, a fast-check arbitrary of reports that keep the
 * contract's invariants (`unchanged + changed + unreplayable = total`, kind counts ≤ changed,
 * listed changes ≤ the cap).
 */
import fc from 'fast-check';
import { seededRandom } from '../../engine/compile/random.js';
import {
  CHANGE_KINDS,
  type ChangeKind,
  REPLAY_REPORT_SCHEMA,
  type ReplayBucket,
  type ReplayChange,
  type ReplayOutcome,
  type ReplayReport,
  type ReplaySide,
} from '../../engine/index.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export function emptySide(label: string): ReplaySide {
  return {
    label,
    requests: 0,
    routes: {},
    targets: {},
    statuses: {},
    errors: 0,
    fallbacks: 0,
    fallbackCauses: {},
    cacheLookups: 0,
    cacheHits: 0,
    limited: 0,
    budgetBlocked: 0,
    guardrails: {},
    costUsd: 0,
  };
}

function noKinds(): Record<ChangeKind, { count: number; examples: string[] }> {
  const kinds = {} as Record<ChangeKind, { count: number; examples: string[] }>;
  for (const k of CHANGE_KINDS) kinds[k] = { count: 0, examples: [] };
  return kinds;
}

/** A report of a traffic file with no readable request. */
export function emptyReport(overrides: Partial<ReplayReport> = {}): ReplayReport {
  return {
    schema: REPLAY_REPORT_SCHEMA,
    policy: 'quickstart@1 (0123456789ab)',
    traffic: { path: 'traffic.jsonl', format: 'switchyard', from: null, to: null },
    seed: 1,
    scenario: null,
    total: 0,
    unchanged: 0,
    changed: 0,
    unreplayable: 0,
    unreplayableReasons: {},
    recordedAnswers: 0,
    simulatedAnswers: 0,
    baseline: emptySide('recording'),
    candidate: emptySide('quickstart@1 (0123456789ab)'),
    changeKinds: noKinds(),
    changes: [],
    changesCap: 1000,
    timeline: { bucketMs: 60_000, buckets: [] },
    malformed: { count: 0, lines: [] },
    elapsedMs: 3,
    ...overrides,
  };
}

export function outcome(overrides: Partial<ReplayOutcome> = {}): ReplayOutcome {
  return {
    route: 'chat',
    target: 'primary',
    status: 200,
    errorCode: null,
    attempts: ['primary'],
    costUsd: 0.0012,
    cache: 'miss',
    limited: false,
    budgetBlocked: false,
    guardrailBlocked: false,
    ...overrides,
  };
}

/** The kinds of change between two outcomes, as the contract defines them. */
export function kindsOf(before: ReplayOutcome, after: ReplayOutcome): ChangeKind[] {
  const kinds: ChangeKind[] = [];
  if (before.route !== after.route) kinds.push('route');
  if (before.target !== after.target) kinds.push('target');
  if (before.status !== after.status) kinds.push('status');
  if (before.status < 400 && after.status >= 400) kinds.push('new_error');
  if (before.status >= 400 && after.status < 400) kinds.push('fixed_error');
  if (!before.limited && after.limited) kinds.push('newly_limited');
  const blocked = (o: ReplayOutcome): boolean => o.budgetBlocked || o.guardrailBlocked;
  if (!blocked(before) && blocked(after)) kinds.push('newly_blocked');
  if (Math.abs(before.costUsd - after.costUsd) > 1e-9) kinds.push('cost');
  return kinds;
}

/**
 * A realistic report: `n` requests over an hour, a candidate that moves 10% of `chat` to a
 * cheaper target, errors in a 5-minute outage, a few newly limited requests, malformed lines.
 * Built by simulating per request, so every aggregate agrees with the per-request outcomes.
 */
export function sampleReport(n = 2000, seed = 7): ReplayReport {
  const random = seededRandom(seed);
  const start = Date.UTC(2026, 11, 7, 12);
  const bucketMs = 60_000;
  const span = 3_600_000;
  const baseline = mutableSide('recording');
  const candidate = mutableSide('quickstart@2 (9f86d081884c)');
  const kinds = noKinds();
  const changes: ReplayChange[] = [];
  const buckets = new Map<number, Mutable<ReplayBucket>>();
  let unchanged = 0;
  let unreplayable = 0;
  let recordedAnswers = 0;
  let simulatedAnswers = 0;
  for (let i = 0; i < n; i++) {
    const at = start + Math.floor((i / n) * span);
    const b = Math.floor((at - start) / bucketMs);
    let bucket = buckets.get(b);
    if (bucket === undefined) {
      bucket = {
        start: new Date(start + b * bucketMs).toISOString(),
        requests: 0,
        baselineErrors: 0,
        candidateErrors: 0,
        candidateFallbacks: 0,
        candidateLimited: 0,
        candidateCacheHits: 0,
        changed: 0,
      };
      buckets.set(b, bucket);
    }
    bucket.requests++;
    if (random() < 0.004) {
      unreplayable++;
      continue;
    }
    const route = random() < 0.7 ? 'chat' : random() < 0.6 ? 'summarise' : 'embeddings-batch';
    const outage = b >= 20 && b < 25;
    const cacheHit = route === 'summarise' && random() < 0.3;
    const before = outcome({
      route,
      target: outage && random() < 0.5 ? 'backup' : route === 'chat' ? 'primary' : 'small',
      costUsd: cacheHit ? 0 : route === 'chat' ? 0.0021 : 0.0004,
      cache: route === 'summarise' ? (cacheHit ? 'hit' : 'miss') : null,
    });
    const fellBack = outage && before.target === 'backup';
    const withAttempts = {
      ...before,
      attempts: fellBack ? ['primary', 'backup'] : [before.target ?? 'primary'],
    };
    let after: ReplayOutcome = withAttempts;
    const roll = random();
    if (route === 'chat' && roll < 0.1) after = { ...withAttempts, target: 'cheap', costUsd: 0.0007 };
    else if (outage && roll < 0.25)
      after = { ...withAttempts, target: null, status: 503, errorCode: 'upstream_unavailable', costUsd: 0 };
    else if (roll > 0.995)
      after = {
        ...withAttempts,
        target: null,
        status: 429,
        errorCode: 'rate_limited',
        limited: true,
        costUsd: 0,
      };
    else if (roll > 0.99 && route === 'chat' && random() < 0.5)
      after = { ...withAttempts, route: 'summarise', target: 'small', costUsd: 0.0004 };
    else if (outage && roll > 0.9)
      after = { ...withAttempts, target: 'primary', attempts: ['primary'], status: 200, errorCode: null };
    const requestId = i === 3 ? 'req-<img src=x onerror=alert(1)>' : `req-${(i * 7919).toString(36)}-${i}`;
    for (const [side, o] of [
      [baseline, withAttempts],
      [candidate, after],
    ] as const) {
      side.requests++;
      count(side.routes, o.route ?? '(no route)');
      if (o.target !== null) count(side.targets, o.target);
      count(side.statuses, String(o.status));
      if (o.status >= 400) side.errors++;
      if (o.target !== null && o.attempts.length > 1 && o.attempts[0] !== o.target) {
        side.fallbacks++;
        count(side.fallbackCauses as Record<string, number>, 'overloaded');
      }
      if (o.cache !== null) side.cacheLookups++;
      if (o.cache === 'hit') side.cacheHits++;
      if (o.limited) side.limited++;
      if (o.budgetBlocked) side.budgetBlocked++;
      side.costUsd += o.costUsd;
    }
    if (route === 'chat') {
      count(baseline.guardrails, 'pii:redact');
      count(candidate.guardrails, 'pii:redact');
    }
    if (after.status >= 400) bucket.candidateErrors++;
    if (withAttempts.status >= 400) bucket.baselineErrors++;
    if (after.limited) bucket.candidateLimited++;
    if (after.cache === 'hit') bucket.candidateCacheHits++;
    if (after.attempts.length > 1) bucket.candidateFallbacks++;
    if (after.target === 'cheap') simulatedAnswers++;
    else if (after.target !== null) recordedAnswers += after.attempts.length;
    const changeKinds = kindsOf(withAttempts, after);
    if (changeKinds.length === 0) {
      unchanged++;
      continue;
    }
    bucket.changed++;
    for (const k of changeKinds) {
      kinds[k].count++;
      if (kinds[k].examples.length < 5) kinds[k].examples.push(requestId);
    }
    if (changes.length < 1000)
      changes.push({ requestId, line: i + 1, kinds: changeKinds, before: withAttempts, after });
  }
  return {
    ...emptyReport(),
    policy: candidate.label,
    traffic: {
      path: 'examples/traffic/quickstart.jsonl',
      format: 'switchyard',
      from: new Date(start).toISOString(),
      to: new Date(start + span - 1000).toISOString(),
    },
    seed,
    total: n,
    unchanged,
    changed: n - unchanged - unreplayable,
    unreplayable,
    unreplayableReasons: unreplayable > 0 ? { 'unknown tenant': unreplayable } : {},
    recordedAnswers,
    simulatedAnswers,
    baseline,
    candidate,
    changeKinds: kinds,
    changes,
    changesCap: 1000,
    timeline: { bucketMs, buckets: [...buckets.values()] },
    malformed: {
      count: 2,
      lines: [
        { line: 17, message: 'Unexpected end of JSON input' },
        { line: 1204, message: 'not a recorded request: missing "requestId"' },
      ],
    },
    elapsedMs: 412,
  };
}

function mutableSide(label: string): Mutable<ReplaySide> & {
  routes: Record<string, number>;
  targets: Record<string, number>;
  statuses: Record<string, number>;
  guardrails: Record<string, number>;
} {
  return { ...emptySide(label), routes: {}, targets: {}, statuses: {}, guardrails: {}, fallbackCauses: {} };
}

function count(into: Record<string, number>, key: string): void {
  into[key] = (into[key] ?? 0) + 1;
}

// ---------------------------------------------------------------------------------------------
// The arbitrary

/** Names as user traffic may send them: mostly plain, sometimes markup, quotes or controls. */
const arbName = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('chat', 'primary', 'backup', 'summarise', 'cheap') },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('<script>alert(1)</script>', '"><img src=x>', "'&amp;", '\u001b[2J'),
  },
);

const arbCounts = (max: number): fc.Arbitrary<Record<string, number>> =>
  fc.dictionary(arbName, fc.nat({ max }), { maxKeys: 5 });

const arbCost = fc.double({ min: 0, max: 1000, noNaN: true, noDefaultInfinity: true });

const arbOutcome: fc.Arbitrary<ReplayOutcome> = fc.record({
  route: fc.option(arbName),
  target: fc.option(arbName),
  status: fc.constantFrom(200, 400, 429, 502, 503),
  errorCode: fc.option(fc.constantFrom('rate_limited', 'budget_exceeded', 'upstream_unavailable')),
  attempts: fc.array(arbName, { maxLength: 3 }),
  costUsd: arbCost,
  cache: fc.constantFrom('hit', 'miss', 'bypass', null),
  limited: fc.boolean(),
  budgetBlocked: fc.boolean(),
  guardrailBlocked: fc.boolean(),
});

function arbSide(requests: number): fc.Arbitrary<ReplaySide> {
  return fc
    .record({
      label: arbName,
      routes: arbCounts(requests),
      targets: arbCounts(requests),
      statuses: arbCounts(requests),
      errors: fc.nat({ max: requests }),
      fallbacks: fc.nat({ max: requests }),
      fallbackCauses: fc.dictionary(
        fc.constantFrom('overloaded', 'timeout', 'rate_limited'),
        fc.nat({ max: requests }),
      ),
      cacheLookups: fc.nat({ max: requests }),
      limited: fc.nat({ max: requests }),
      budgetBlocked: fc.nat({ max: requests }),
      guardrails: arbCounts(requests),
      costUsd: arbCost,
    })
    .chain((s) => fc.nat({ max: s.cacheLookups }).map((cacheHits) => ({ ...s, requests, cacheHits })));
}

/** Reports that keep the contract's invariants, with names that may need escaping. */
export const arbReplayReport: fc.Arbitrary<ReplayReport> = fc
  .record({
    unchanged: fc.nat({ max: 5000 }),
    changed: fc.nat({ max: 5000 }),
    unreplayable: fc.nat({ max: 100 }),
  })
  .chain(({ unchanged, changed, unreplayable }) => {
    const total = unchanged + changed + unreplayable;
    const replayed = total - unreplayable;
    const kind = fc
      .nat({ max: changed })
      .chain((n) =>
        fc.array(arbName, { maxLength: Math.min(5, n) }).map((examples) => ({ count: n, examples })),
      );
    const kindsArb = fc.record(
      Object.fromEntries(CHANGE_KINDS.map((k) => [k, kind])) as Record<
        ChangeKind,
        fc.Arbitrary<{ count: number; examples: string[] }>
      >,
    );
    const change: fc.Arbitrary<ReplayChange> = fc.record({
      requestId: arbName,
      line: fc.integer({ min: 1, max: 1_000_000 }),
      kinds: fc.subarray([...CHANGE_KINDS], { minLength: 1 }),
      before: arbOutcome,
      after: arbOutcome,
    });
    return fc.record({
      schema: fc.constant(REPLAY_REPORT_SCHEMA),
      policy: arbName,
      traffic: fc.record({
        path: arbName,
        format: fc.constantFrom('switchyard' as const, 'batch' as const, 'plain' as const),
        from: fc.constant(total === 0 ? null : '2026-12-07T12:00:00.000Z'),
        to: fc.constant(total === 0 ? null : '2026-12-07T13:00:00.000Z'),
      }),
      seed: fc.nat(),
      scenario: fc.option(arbName),
      total: fc.constant(total),
      unchanged: fc.constant(unchanged),
      changed: fc.constant(changed),
      unreplayable: fc.constant(unreplayable),
      unreplayableReasons: fc.constant<Record<string, number>>(
        unreplayable > 0 ? { 'unknown tenant': unreplayable } : {},
      ),
      recordedAnswers: fc.nat({ max: 10_000 }),
      simulatedAnswers: fc.nat({ max: 10_000 }),
      baseline: arbSide(replayed),
      candidate: arbSide(replayed),
      changeKinds: kindsArb,
      changes: fc.array(change, { maxLength: Math.min(changed, 30) }),
      changesCap: fc.constant(1000),
      timeline: fc.record({
        bucketMs: fc.constant(60_000),
        buckets: fc.array(
          fc.record({
            start: fc.constant('2026-12-07T12:00:00.000Z'),
            requests: fc.nat({ max: 100 }),
            baselineErrors: fc.nat({ max: 100 }),
            candidateErrors: fc.nat({ max: 100 }),
            candidateFallbacks: fc.nat({ max: 100 }),
            candidateLimited: fc.nat({ max: 100 }),
            candidateCacheHits: fc.nat({ max: 100 }),
            changed: fc.nat({ max: 100 }),
          }),
          { maxLength: 20 },
        ),
      }),
      malformed: fc
        .array(fc.record({ line: fc.integer({ min: 1, max: 1_000_000 }), message: arbName }), {
          maxLength: 5,
        })
        .chain((lines) => fc.nat({ max: 50 }).map((extra) => ({ count: lines.length + extra, lines }))),
      elapsedMs: fc.nat({ max: 100_000 }),
    });
  });
