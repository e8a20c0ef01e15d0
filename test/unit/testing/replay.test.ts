/**
 * `replayRecording`: the report contract filled from real recordings (made by the engine on
 * virtual time, requests overlapping), batch and plain traffic, `--baseline`, scenarios, capped
 * lists with exact counts, malformed lines, progress; every report validated against
 * schemas/replay-report.schema.json.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CompiledPolicy,
  parsePolicy,
  parseScenario,
  type ReplayProgress,
  type ReplayReport,
  replayRecording,
  type Scenario,
} from '../../../engine/index.js';
import { recordTraffic, type TrafficRequest } from '../../support/replay-traffic.js';

const root = join(import.meta.dirname, '../../..');
const schema = JSON.parse(readFileSync(join(root, 'schemas/replay-report.schema.json'), 'utf8'));
const validate = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true }).compile(schema);

function valid(report: ReplayReport): ReplayReport {
  const ok = validate(JSON.parse(JSON.stringify(report)));
  expect(validate.errors ?? []).toEqual([]);
  expect(ok).toBe(true);
  expect(report.unchanged + report.changed + report.unreplayable).toBe(report.total);
  const bucketed = report.timeline.buckets.reduce((n, b) => n + b.requests, 0);
  expect(bucketed).toBe(report.unchanged + report.changed);
  expect(report.changes.length).toBeLessThanOrEqual(Math.min(report.changed, report.changesCap));
  const lines = report.changes.map((c) => c.line);
  expect(lines).toEqual([...lines].sort((a, b) => a - b));
  return report;
}

interface PolicyOptions {
  order?: string;
  limit?: string;
  version?: string;
  breaker?: boolean;
}

function policyText(o: PolicyOptions = {}): string {
  return `switchyard: v1
policy: { name: rp, version: "${o.version ?? '1'}" }
providers:
  flaky: { kind: mock, latency: 300ms, chunkDelay: 20ms, sequence: [ok, overloaded, overloaded, ok, server_error, ok, ok] }
  steady: { kind: mock, latency: 50ms, chunkDelay: 10ms }
models:
  primary: { provider: flaky, model: m-primary, price: { input: 1, output: 2 }${o.breaker === false ? '' : ', breaker: { failures: 2, window: 5s, cooldown: 2s }'} }
  backup: { provider: steady, model: m-backup, price: { input: 0.5, output: 1 } }
  spare: { provider: steady, model: m-spare, price: { input: 0.1, output: 0.1 } }
  fresh: { provider: steady, model: m-fresh }
tenants:
  acme: { keys: [k-acme] }
  globex: { keys: [k-globex] }
limits:
  per-tenant: { key: [tenant], requests: ${o.limit ?? '6/5s'} }
caches:
  answers: { mode: exact, ttl: 20s }
routes:
  - name: chat
    when: { model: gpt-5 }
    targets: [${o.order ?? 'primary, backup'}]
    retry: { attempts: 0 }
    limits: [per-tenant]
    cache: answers
  - name: other
    targets: [spare]
`;
}

function policy(o: PolicyOptions = {}): CompiledPolicy {
  const loaded = parsePolicy([{ file: 'rp.yaml', text: policyText(o) }]);
  if (!loaded.ok) throw new Error(loaded.diagnostics.map((d) => d.message).join('\n'));
  return loaded.policy;
}

const live = policy();
const dir = mkdtempSync(join(tmpdir(), 'sy-replay-'));
const recording = join(dir, 'recording.jsonl');

/** 60 requests over ~15 s, two tenants, a fifth streamed, repeated questions, overlapping answers. */
const TRAFFIC: TrafficRequest[] = Array.from({ length: 60 }, (_, i) => ({
  model: i % 10 === 9 ? 'other' : 'gpt-5',
  stream: i % 5 === 0,
  key: i % 3 === 0 ? 'k-globex' : 'k-acme',
  content: `question ${i % 7}`,
  gapMs: 100 + ((i * 37) % 300),
}));

beforeAll(async () => {
  await recordTraffic(live, recording, TRAFFIC);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function recordedLines(): Record<string, unknown>[] {
  return readFileSync(recording, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

function scenario(text: string, policies: CompiledPolicy[] = [live]): Scenario {
  const r = parseScenario('s.yaml', text, policies);
  if (!r.ok) throw new Error(r.problems.map((p) => p.message).join('\n'));
  return r.scenario;
}

describe('replaying a recording', () => {
  it('under the policy that made it: nothing changes, every answer comes from the recording, both sides agree', async () => {
    const report = valid(await replayRecording(live, recording));
    const lines = recordedLines();
    expect(report).toMatchObject({
      schema: 'switchyard.replay-report/1',
      comparison: 'recording',
      total: 60,
      unchanged: 60,
      changed: 0,
      unreplayable: 0,
      simulatedAnswers: 0,
      lateArrivals: 0,
      malformed: { count: 0, lines: [] },
      traffic: { format: 'switchyard', from: '2026-12-07T09:00:00.000Z' },
    });
    const attempts = lines.reduce((n, l) => n + (l.attempts as unknown[]).length, 0);
    expect(report.recordedAnswers).toBe(attempts);
    const { label: _b, ...baseline } = report.baseline;
    const { label: _c, ...candidate } = report.candidate;
    expect(candidate).toEqual(baseline);
    // The traffic exercised what a replay must reproduce: limits, cache hits, a breaker, fallbacks.
    expect(report.candidate.limited).toBeGreaterThan(0);
    expect(report.candidate.cacheHits).toBeGreaterThan(0);
    expect(report.candidate.fallbacks).toBeGreaterThan(0);
    expect(report.candidate.fallbackCauses.overloaded).toBeGreaterThan(0);
    expect(report.baseline.label).toBe('recording');
    expect(report.candidate.label).toMatch(/^rp@1 \([0-9a-f]{12}\)$/);
  });

  it('a changed policy: each kind of change counted, with examples and the outcomes on both sides', async () => {
    const candidate = policy({ order: 'backup, primary', limit: '3/5s', version: '2' });
    const report = valid(await replayRecording(candidate, recording));
    expect(report.changed).toBeGreaterThan(0);
    expect(report.changeKinds.target.count).toBeGreaterThan(0);
    expect(report.changeKinds.cost.count).toBeGreaterThan(0);
    expect(report.changeKinds.newly_limited.count).toBeGreaterThan(0);
    expect(report.changeKinds.new_error.count).toBeGreaterThanOrEqual(report.changeKinds.newly_limited.count);
    expect(report.changeKinds.route.count).toBe(0);
    for (const kind of Object.values(report.changeKinds)) {
      expect(kind.count).toBeLessThanOrEqual(report.changed);
      expect(kind.examples.length).toBe(Math.min(5, kind.count));
    }
    const limited = report.changes.filter((c) => c.kinds.includes('newly_limited'));
    expect(limited[0]).toMatchObject({
      before: { limited: false },
      after: { status: 429, errorCode: 'rate_limited', limited: true, target: null },
    });
    expect(report.changeKinds.newly_limited.examples).toEqual(limited.slice(0, 5).map((c) => c.requestId));
    // The backup first: the requests the primary served are now the backup's, simulated where
    // the recording never had the backup answer that request.
    expect(report.simulatedAnswers).toBeGreaterThan(0);
    expect(report.candidate.limited).toBeGreaterThan(report.baseline.limited);
  });

  it('the changes list is capped while every count stays exact, and lists the first changes in file order', async () => {
    const candidate = policy({ order: 'backup, primary', version: '3' });
    const full = await replayRecording(candidate, recording);
    const capped = valid(await replayRecording(candidate, recording, { changesCap: 3 }));
    expect(full.changed).toBeGreaterThan(3);
    expect(capped.changed).toBe(full.changed);
    expect(capped.changeKinds).toEqual(full.changeKinds);
    expect(capped.changes).toEqual(full.changes.slice(0, 3));
    expect(capped.changesCap).toBe(3);
  });

  it('same inputs and seed give the same report; the seed changes only simulated draws', async () => {
    const candidate = policy({ order: 'spare, backup', version: '4' });
    const strip = (r: ReplayReport) => ({ ...r, elapsedMs: 0 });
    const a = await replayRecording(candidate, recording, { seed: 5 });
    const b = await replayRecording(candidate, recording, { seed: 5 });
    expect(strip(b)).toEqual(strip(a));
    // `spare` was recorded on the other route only: chat's calls to it are drawn from its sample.
    expect(a.simulatedAnswers).toBeGreaterThan(0);
    expect(a.candidate.targets.spare).toBeGreaterThan(0);
  });

  it('a model the recording never saw answers ok after the default latency, and is counted as simulated', async () => {
    const report = valid(await replayRecording(policy({ order: 'fresh', version: '5' }), recording));
    // Every chat request the limit let through is served by `fresh` (cache hits by the one cached).
    expect(report.candidate.targets.fresh).toBe(report.candidate.routes.chat - report.candidate.limited);
    expect(report.candidate.errors).toBe(report.candidate.limited);
    expect(report.recordedAnswers).toBe(
      recordedLines()
        .filter((l) => (l.decision as { route: string }).route === 'other')
        .reduce((n, l) => n + (l.attempts as unknown[]).length, 0),
    );
  });

  it('lines out of arrival order are put back in order; malformed lines and unknown tenants are counted, never fatal', async () => {
    const path = join(dir, 'shuffled.jsonl');
    const lines = readFileSync(recording, 'utf8').trim().split('\n');
    // Swap neighbours (a recording lists requests as they end, not as they arrived).
    for (let i = 0; i + 1 < lines.length; i += 2) [lines[i], lines[i + 1]] = [lines[i + 1], lines[i]];
    const stranger = JSON.parse(lines[10]);
    stranger.tenant = 'initech';
    lines[10] = JSON.stringify(stranger);
    writeFileSync(
      path,
      `${lines.slice(0, 20).join('\n')}\nnot json at all\n\n${lines.slice(20).join('\n')}\n{"v":1,"time":"2026-12-07T09:00`,
    );
    const report = valid(await replayRecording(live, path));
    expect(report.total).toBe(60);
    expect(report.unreplayable).toBe(1);
    expect(report.unreplayableReasons).toEqual({ unknown_tenant: 1 });
    expect(report.lateArrivals).toBe(0);
    expect(report.malformed).toMatchObject({
      count: 2,
      lines: [
        { line: 21, message: expect.stringMatching(/^not JSON/) },
        { line: 63, message: expect.stringMatching(/^not JSON/) },
      ],
    });
    // One request gone (the stranger) may change what its neighbours meet (a limit, a cache
    // entry); everything else replays as recorded.
    expect(report.changed).toBeLessThanOrEqual(3);
  });

  it('a line out of order beyond the reorder window, or held back while too many are in flight, is replayed late and counted', async () => {
    const path = join(dir, 'reversed.jsonl');
    const lines = readFileSync(recording, 'utf8').trim().split('\n');
    writeFileSync(path, `${[...lines.slice(0, 10)].reverse().join('\n')}\n${lines.slice(10).join('\n')}\n`);
    expect((await replayRecording(live, path)).lateArrivals).toBe(0);
    const narrow = valid(await replayRecording(live, path, { reorderWindow: 2 }));
    expect(narrow.lateArrivals).toBeGreaterThan(0);
    expect(narrow.total).toBe(60);
    const crowded = valid(await replayRecording(live, recording, { maxInFlight: 1 }));
    expect(crowded.lateArrivals).toBeGreaterThan(0);
    expect(crowded.unchanged + crowded.changed).toBe(60);
  });

  it('reports progress at most every ~100 ms and once at the end, the bytes never going back', async () => {
    const seen: ReplayProgress[] = [];
    const started = performance.now();
    // A candidate whose calls the recording does not all hold: the replay pauses for a scan.
    await replayRecording(policy({ order: 'spare, backup', version: '8' }), recording, {
      onProgress: (p) => seen.push(p),
    });
    const elapsed = performance.now() - started;
    const size = statSync(recording).size;
    expect(seen.at(-1)).toEqual({ phase: 'replay', requests: 60, bytesRead: size, bytesTotal: size });
    expect(seen.length).toBeLessThanOrEqual(2 + elapsed / 100);
    for (let i = 1; i < seen.length; i++)
      expect(seen[i].bytesRead).toBeGreaterThanOrEqual(seen[i - 1].bytesRead);
  });
});

describe('tenants', () => {
  it('a policy that declares no tenants is sent the recorded requests without a key: nothing is unreplayable', async () => {
    const text = policyText({ version: '9' }).replace(/tenants:\n( {2}.*\n)+/, '');
    const loaded = parsePolicy([{ file: 'open.yaml', text }]);
    if (!loaded.ok) throw new Error(loaded.diagnostics.map((d) => d.message).join('\n'));
    const report = valid(await replayRecording(loaded.policy, recording));
    expect(report.unreplayable).toBe(0);
    expect(report.candidate.requests).toBe(60);
  });
});

describe('--baseline', () => {
  it('compares with the baseline policy replayed on the same upstream; a policy against itself changes nothing', async () => {
    const same = valid(await replayRecording(live, recording, { baseline: live }));
    expect(same).toMatchObject({ comparison: 'policy', changed: 0, unchanged: 60 });
    expect(same.baseline.label).toBe(same.candidate.label);
    expect(same.baselineAnswers).toEqual({
      recorded: same.recordedAnswers,
      simulated: same.simulatedAnswers,
    });

    const candidate = policy({ order: 'backup, primary', version: '6' });
    const versus = valid(await replayRecording(candidate, recording, { baseline: live }));
    const recorded = await replayRecording(candidate, recording);
    // The baseline replayed under the recording's own policy is the recording: same verdicts.
    expect(versus.changed).toBe(recorded.changed);
    expect(versus.changeKinds).toEqual(recorded.changeKinds);
  });
});

describe('scenarios', () => {
  it('an outage of a provider sends its traffic elsewhere, and the answers it replaced count as simulated', async () => {
    const outage = scenario(`events:
  - provider: flaky
    from: "+0s"
    for: 1h
    outage: 503
`);
    const report = valid(await replayRecording(live, recording, { scenario: outage }));
    expect(report.scenario).toBe('s.yaml');
    expect(report.candidate.targets.primary ?? 0).toBe(0);
    expect(report.changeKinds.target.count).toBeGreaterThan(0);
    expect(report.simulatedAnswers).toBeGreaterThan(0);
    expect(report.candidate.fallbackCauses.overloaded).toBeGreaterThan(
      report.baseline.fallbackCauses.overloaded ?? 0,
    );
  });

  it('a window limits an event to its time; latency added past the first-token timeout times calls out', async () => {
    const half = valid(
      await replayRecording(live, recording, {
        scenario: scenario('events: [{ model: primary, from: "+0s", to: "+5s", rateLimited: 100% }]'),
      }),
    );
    const all = await replayRecording(live, recording, {
      scenario: scenario('events: [{ model: primary, from: "+0s", to: "+1h", rateLimited: 100% }]'),
    });
    expect(half.changed).toBeGreaterThan(0);
    expect(half.changed).toBeLessThan(all.changed);
    expect(all.candidate.targets.primary ?? 0).toBe(0);
    expect(all.candidate.fallbackCauses.rate_limited).toBeGreaterThan(0);

    // The backup 2 minutes slower: past the built-in first-token timeout (60 s) of every call.
    const slow = valid(
      await replayRecording(live, recording, {
        scenario: scenario('events: [{ model: backup, from: "+0s", for: 1h, latency: 2m }]'),
      }),
    );
    expect(slow.candidate.targets.backup ?? 0).toBe(0);
    expect(slow.candidate.statuses['504']).toBeGreaterThan(0);
    expect(slow.changeKinds.new_error.count).toBeGreaterThan(0);
  });
});

describe('batch and plain traffic', () => {
  const batch = join(dir, 'batch.jsonl');
  const plain = join(dir, 'plain.jsonl');
  beforeAll(() => {
    const body = (i: number) => ({
      model: i % 4 === 3 ? 'other' : 'gpt-5',
      messages: [{ role: 'user', content: `b${i % 5}` }],
    });
    writeFileSync(
      batch,
      `${Array.from({ length: 30 }, (_, i) =>
        JSON.stringify({ custom_id: `job-${i}`, method: 'POST', url: '/v1/chat/completions', body: body(i) }),
      ).join('\n')}\n`,
    );
    writeFileSync(plain, `${Array.from({ length: 20 }, (_, i) => JSON.stringify(body(i))).join('\n')}\n`);
  });

  it('a batch file is detected; without --baseline nothing is compared; requests arrive at the rate, as the first tenant', async () => {
    const report = valid(await replayRecording(live, batch, { rate: '4/s' }));
    expect(report).toMatchObject({
      comparison: 'none',
      tenant: 'acme',
      total: 30,
      unchanged: 30,
      changed: 0,
      recordedAnswers: 0,
      traffic: { format: 'batch', from: '2000-01-01T00:00:00.000Z', to: '2000-01-01T00:00:07.250Z' },
      baseline: { label: 'none', requests: 0 },
    });
    expect(report.candidate.requests).toBe(30);
    // 6 per 5 s for one tenant at 4 requests a second: the limit refuses some.
    expect(report.candidate.limited).toBeGreaterThan(0);
    expect(report.simulatedAnswers).toBeGreaterThan(0);
    expect(report.candidate.costUsd).toBeGreaterThan(0);
  });

  it('with --baseline the batch is replayed under both; a plain file too, as another tenant', async () => {
    const candidate = policy({ limit: '60/5s', version: '7' });
    const report = valid(await replayRecording(candidate, batch, { baseline: live, rate: 4 }));
    expect(report.comparison).toBe('policy');
    expect(report.changeKinds.fixed_error.count).toBe(report.baseline.limited);
    expect(report.changes[0].requestId).toMatch(/^job-/);

    const plainReport = valid(await replayRecording(live, plain, { tenant: 'globex', baseline: live }));
    expect(plainReport).toMatchObject({
      tenant: 'globex',
      total: 20,
      changed: 0,
      traffic: { format: 'plain' },
    });
    expect(plainReport.changes).toEqual([]);
  });

  it('input the replay cannot start with is an error naming it: an unknown tenant, a bad rate, an unknown format', async () => {
    await expect(replayRecording(live, batch, { tenant: 'initech' })).rejects.toThrow(
      /declares no tenant "initech"/,
    );
    await expect(replayRecording(live, batch, { rate: 'fast' })).rejects.toThrow(/--rate/);
    const odd = join(dir, 'odd.jsonl');
    writeFileSync(odd, 'garbage\n{"hello": "world"}\n');
    await expect(replayRecording(live, odd)).rejects.toMatchObject({
      name: 'ReplayInputError',
      message: expect.stringContaining(`${odd}:2: cannot tell the traffic format`),
    });
    // Told the format, the same file is read line by line: one malformed line, no crash.
    const told = valid(await replayRecording(live, odd, { format: 'plain' }));
    expect(told.malformed).toMatchObject({ count: 1, lines: [{ line: 1 }] });
    expect(told.total).toBe(1);
  });
});
