/**
 * Record, then replay: the real server records real traffic (the `openai` SDK as the client, a
 * misbehaving HTTP upstream answering 503s, 429s, slow first tokens and cut streams), then
 * `replayRecording` replays it offline under the same policy (nothing changes, every answer from
 * the recording), under changed policies (the expected kinds of change), and with a scenario
 * outage.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CompiledPolicy,
  parsePolicy,
  parseScenario,
  type ReplayReport,
  replayRecording,
} from '../../../engine/index.js';
import { createServer } from '../../../server/app.js';
import { startUpstream, type Upstream } from '../../support/upstream.js';

let upstream: Upstream;
const dir = mkdtempSync(join(tmpdir(), 'sy-replay-server-'));
const recording = join(dir, 'traffic.jsonl');

function policyText(o: { order?: string; limit?: string; version?: string } = {}): string {
  return `switchyard: v1
policy: { name: recorded, version: "${o.version ?? '1'}" }
providers:
  up: { kind: openai, baseUrl: "${upstream.url}", apiKey: sk-upstream-test }
models:
  primary: { provider: up, model: m-primary, price: { input: 3, output: 6 }, retry: { attempts: 1, backoff: { initial: 20ms, max: 20ms } } }
  backup: { provider: up, model: m-backup, price: { input: 1, output: 2 } }
tenants:
  acme: { keys: [sk-acme] }
  globex: { keys: [sk-globex] }
defaults:
  timeout: { connect: 2s, firstToken: 400ms, idle: 2s, total: 10s }
limits:
  per-tenant: { key: [tenant], requests: ${o.limit ?? '8/min'} }
caches:
  answers: { mode: exact, ttl: 1m }
routes:
  - name: chat
    when: { model: gpt-5 }
    targets: [${o.order ?? 'primary, backup'}]
    limits: [per-tenant]
    cache: answers
  - name: fast
    targets: [backup]
`;
}

function compiled(text: string): CompiledPolicy {
  const loaded = parsePolicy([{ file: 'recorded.yaml', text }]);
  if (!loaded.ok) throw new Error(loaded.diagnostics.map((d) => d.message).join('\n'));
  return loaded.policy;
}

let live: CompiledPolicy;
const REQUESTS = 36;

beforeAll(async () => {
  upstream = await startUpstream({ latencyMs: 15 });
  // The primary misbehaves on a counter of its own calls; the backup always answers.
  let primaryCalls = 0;
  upstream.setHandler((req) => {
    const body = req.body as { model?: string; stream?: boolean };
    if (body.model !== 'm-primary') return { kind: 'ok' };
    const n = primaryCalls++;
    if (n % 6 === 1) return { kind: 'status', status: 503 };
    if (n % 6 === 3) return { kind: 'status', status: 429, retryAfter: '0' };
    if (n % 9 === 4) return { kind: 'slow_first_token', delayMs: 700 };
    if (body.stream === true && n % 5 === 0) return { kind: 'cut', afterChunks: 1 };
    return { kind: 'ok' };
  });
  const text = policyText();
  live = compiled(text);
  const policyFile = join(dir, 'policy.yaml');
  writeFileSync(policyFile, text);
  const server = await createServer({
    policyPath: policyFile,
    host: '127.0.0.1',
    port: 0,
    logger: false,
    watch: false,
    record: { path: recording, content: 'hash' },
  });
  try {
    const clients = {
      acme: new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'sk-acme', maxRetries: 0 }),
      globex: new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'sk-globex', maxRetries: 0 }),
    };
    for (let i = 0; i < REQUESTS; i++) {
      const client = i % 4 === 0 ? clients.globex : clients.acme;
      const model = i % 7 === 6 ? 'gpt-mini' : 'gpt-5';
      const messages = [{ role: 'user' as const, content: `question ${i % 9}` }];
      try {
        if (i % 3 === 0) {
          const stream = await client.chat.completions.create({ model, messages, stream: true });
          for await (const _chunk of stream) {
            // read to the end, as an application does
          }
        } else {
          await client.chat.completions.create({ model, messages });
        }
      } catch {
        // 429s, 5xx and cut streams are part of the traffic
      }
    }
  } finally {
    await server.close();
  }
}, 60_000);

afterAll(async () => {
  await upstream?.close();
  rmSync(dir, { recursive: true, force: true });
});

function outcomes(): { status: number; attempts: { outcome: string }[]; outcome: { errorCode?: string } }[] {
  return readFileSync(recording, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

describe('a server recording, replayed', () => {
  it('records every request, faults included', () => {
    const lines = outcomes();
    expect(lines).toHaveLength(REQUESTS);
    const classes = new Set(lines.flatMap((l) => l.attempts.map((a) => a.outcome)));
    for (const c of ['ok', 'overloaded', 'rate_limited', 'first_token']) expect(classes).toContain(c);
    expect(lines.some((l) => l.outcome.errorCode === 'rate_limited')).toBe(true);
  });

  it('under the policy that recorded it: nothing changes and every upstream answer is the recorded one', async () => {
    const report = await replayRecording(live, recording);
    expect(report).toMatchObject({ total: REQUESTS, changed: 0, unreplayable: 0, simulatedAnswers: 0 });
    expect(report.recordedAnswers).toBe(outcomes().reduce((n, l) => n + l.attempts.length, 0));
    expect(report.candidate.limited).toBeGreaterThan(0);
    expect(report.candidate.cacheHits).toBeGreaterThan(0);
    expect(report.candidate.fallbacks).toBeGreaterThan(0);
    const { label: _a, ...candidate } = report.candidate;
    const { label: _b, ...baseline } = report.baseline;
    expect(candidate).toEqual(baseline);
  });

  it('under a changed policy: the changes of the kinds the change implies', async () => {
    const reordered = await replayRecording(
      compiled(policyText({ order: 'backup, primary', version: '2' })),
      recording,
    );
    expect(reordered.changed).toBeGreaterThan(0);
    const kinds = (r: ReplayReport) =>
      Object.entries(r.changeKinds)
        .filter(([, k]) => k.count > 0)
        .map(([name]) => name);
    // The backup first: the primary's answers are now the backup's, cheaper, and its faults are gone.
    expect(kinds(reordered)).toEqual(expect.arrayContaining(['target', 'cost']));
    expect(reordered.changeKinds.route.count).toBe(0);
    expect(reordered.changeKinds.newly_limited.count).toBe(0);
    for (const c of reordered.changes)
      expect(c.after.target === null || c.after.target === 'backup').toBe(true);

    const tighter = await replayRecording(compiled(policyText({ limit: '3/min', version: '3' })), recording);
    expect(tighter.changeKinds.newly_limited.count).toBeGreaterThan(0);
    expect(tighter.changeKinds.new_error.count).toBe(tighter.changeKinds.newly_limited.count);
    for (const c of tighter.changes.filter((ch) => ch.kinds.includes('newly_limited')))
      expect(c.after).toMatchObject({ status: 429, errorCode: 'rate_limited', limited: true });
  });

  it('with a scenario outage of the primary: its traffic falls back, and the answers it replaced are simulated', async () => {
    const scenario = parseScenario(
      'outage.yaml',
      'events: [{ model: primary, from: "+0s", for: 1h, outage: 503 }]',
      [live],
    );
    if (!scenario.ok) throw new Error('scenario');
    const report = await replayRecording(live, recording, { scenario: scenario.scenario });
    expect(report.candidate.targets.primary ?? 0).toBe(0);
    expect(report.changeKinds.target.count).toBeGreaterThan(0);
    expect(report.simulatedAnswers).toBeGreaterThan(0);
    expect(report.candidate.fallbackCauses.overloaded).toBeGreaterThan(
      report.baseline.fallbackCauses.overloaded ?? 0,
    );
  });
});
