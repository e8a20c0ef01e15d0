/**
 * Classify, then route, end to end: the real server on 127.0.0.1:0 with a real HTTP upstream
 * (port 0) answering both the triage model (the classifier) and the route targets. A request a
 * route without class conditions takes never reaches the triage model; a classified request
 * reaches it once per distinct input (the cache); the recording keeps the label; and replaying
 * the recording reproduces every decision without calling the classifier again.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CompiledPolicy, parsePolicy, replayRecording } from '../../../engine/index.js';
import { createServer } from '../../../server/app.js';
import { startUpstream, type Upstream } from '../../support/upstream.js';

let upstream: Upstream;
const dir = mkdtempSync(join(tmpdir(), 'sy-classify-'));
const recording = join(dir, 'traffic.jsonl');
let live: CompiledPolicy;

function policyText(): string {
  return `switchyard: v1
policy: { name: classify, version: "1" }
providers:
  up: { kind: openai, baseUrl: "${upstream.url}", apiKey: sk-upstream-test }
models:
  triage: { provider: up, model: m-triage, price: { input: 0.5, output: 1 } }
  small: { provider: up, model: m-small, price: { input: 1, output: 2 } }
  coder: { provider: up, model: m-coder, price: { input: 3, output: 6 } }
classifiers:
  task: { kind: model, model: triage, labels: { code: "programming", chat: "anything else" }, default: chat }
routes:
  - name: pinned
    when: { model: m-small }
    targets: [small]
  - name: coding
    when: { class.task: code }
    targets: [coder]
  - name: default
    targets: [small]
`;
}

interface Sent {
  readonly status: number;
  readonly route: string | null;
  readonly target: string | null;
}

const sent: Sent[] = [];
let triageCalls = 0;
let triagePrompt = '';
let metricsText = '';

beforeAll(async () => {
  upstream = await startUpstream();
  upstream.setHandler((req) => {
    const body = req.body as { model?: string; messages?: { role: string; content: string }[] };
    if (body.model !== 'm-triage') return { kind: 'ok' };
    triageCalls++;
    triagePrompt = body.messages?.[0]?.content ?? '';
    const user = body.messages?.at(-1)?.content ?? '';
    return { kind: 'ok', reply: user.includes('code') ? ' Code.\n' : 'chat' };
  });
  const text = policyText();
  const loaded = parsePolicy([{ file: 'classify.yaml', text }]);
  if (!loaded.ok) throw new Error(loaded.diagnostics.map((d) => d.message).join('\n'));
  live = loaded.policy;
  const policyFile = join(dir, 'policy.yaml');
  writeFileSync(policyFile, text);
  const server = await createServer({
    policyPath: policyFile,
    host: '127.0.0.1',
    port: 0,
    logger: false,
    watch: false,
    record: { path: recording, content: 'keep' },
  });
  try {
    const requests: [string, string][] = [
      ['m-small', 'write code for me'],
      ['gpt-5', 'write code for me'],
      ['gpt-5', 'write code for me'],
      ['gpt-5', 'hello there'],
    ];
    for (const [model, content] of requests) {
      const res = await fetch(`${server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model, messages: [{ role: 'user', content }] }),
      });
      await res.json();
      sent.push({
        status: res.status,
        route: res.headers.get('x-switchyard-route'),
        target: res.headers.get('x-switchyard-target'),
      });
    }
    metricsText = await (await fetch(`${server.url}/metrics`)).text();
  } finally {
    await server.close();
  }
}, 60_000);

afterAll(async () => {
  await upstream?.close();
  rmSync(dir, { recursive: true, force: true });
});

function lines(): {
  decision: { route: string };
  classes?: { classifier: string; label: string; source: string; costUsd: number }[];
  outcome: { costUsd: number };
}[] {
  return readFileSync(recording, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

describe('classify, then route, through the server', () => {
  it('routes on the label, and classifies only what a class route needs, once per distinct input', () => {
    expect(sent).toEqual([
      { status: 200, route: 'pinned', target: 'small' },
      { status: 200, route: 'coding', target: 'coder' },
      { status: 200, route: 'coding', target: 'coder' },
      { status: 200, route: 'default', target: 'small' },
    ]);
    // The pinned request paid nothing; the repeated one was a cache hit.
    expect(triageCalls).toBe(2);
    expect(triagePrompt).toContain('Labels: code, chat');
  });

  it('records the label, how it was obtained and what it cost', () => {
    const recorded = lines();
    expect(recorded.map((l) => l.classes?.map((c) => `${c.label}/${c.source}`) ?? null)).toEqual([
      null,
      ['code/model'],
      ['code/cache'],
      ['chat/model'],
    ]);
    const cost = recorded[1].classes?.[0]?.costUsd ?? 0;
    expect(cost).toBeGreaterThan(0);
    expect(recorded[1].outcome.costUsd - recorded[2].outcome.costUsd).toBeCloseTo(cost, 12);
  });

  it('counts classifications in the metrics, by classifier, label and source', () => {
    expect(metricsText).toMatch(
      /switchyard_classifications_total\{classifier="task",label="code",source="model"\} 1/,
    );
    expect(metricsText).toMatch(
      /switchyard_classifications_total\{classifier="task",label="code",source="cache"\} 1/,
    );
    expect(metricsText).toMatch(
      /switchyard_classifications_total\{classifier="task",label="chat",source="model"\} 1/,
    );
  });

  it('replays every decision without calling the classifier again', async () => {
    const before = triageCalls;
    const report = await replayRecording(live, recording);
    expect(report).toMatchObject({ total: 4, changed: 0, unreplayable: 0, simulatedAnswers: 0 });
    expect(triageCalls).toBe(before);
  });
});
