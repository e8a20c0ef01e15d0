import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine, parsePolicy } from '../../../engine/index.js';
import {
  createRecorder,
  type RecordedLine,
  readRecording,
  validateRecordedLine,
} from '../../../engine/replay/record.js';

const POLICY = `
switchyard: v1
policy: { name: rec, version: "7" }
providers:
  flaky: { kind: mock, sequence: [overloaded, ok] }
  steady: { kind: mock }
models:
  primary: { provider: flaky, model: mock-primary, price: { input: 1, output: 2 } }
  backup: { provider: steady, model: mock-backup, price: { input: 1, output: 2 } }
tenants:
  acme: { keys: ["sk-acme-secret"], labels: { tier: paid } }
routes:
  - name: chat
    when: { model: gpt-5 }
    targets: [primary, backup]
    retry: { attempts: 0 }
`;

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

describe('engine recording', () => {
  it('records every completed request (JSON, stream, refusals) with what served it, never the key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sy-rec-'));
    dirs.push(dir);
    const path = join(dir, 'traffic.jsonl');
    const loaded = parsePolicy([{ file: 'p.yaml', text: POLICY }]);
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.diagnostics));
    const recorder = createRecorder({ path, content: 'hash' });
    const engine = createEngine(loaded.policy, { recorder });
    const auth = { authorization: 'Bearer sk-acme-secret' };
    const body = { model: 'gpt-5', messages: [{ role: 'user', content: 'very private words' }] };

    const first = await engine.handle({ body, headers: { ...auth, 'x-request-id': 'req-1' } });
    expect(first.status).toBe(200);
    const streamed = await engine.handle({
      body: { ...body, stream: true },
      headers: auth,
      requestId: 'req-2',
    });
    if (streamed.kind !== 'stream') throw new Error('expected a stream');
    for await (const _frame of streamed.events) {
      // drain
    }
    await streamed.done;
    const unknownKey = await engine.handle({
      body,
      headers: { authorization: 'Bearer nope' },
      requestId: 'req-3',
    });
    expect(unknownKey.status).toBe(401);
    const noRoute = await engine.handle({
      body: { ...body, model: 'other' },
      headers: auth,
      requestId: 'req-4',
    });
    expect(noRoute.status).toBe(404);
    const notAnObject = await engine.handle({ body: 'nope', headers: auth, requestId: 'req-5' });
    expect(notAnObject.status).toBe(400);

    await new Promise((r) => setImmediate(r));
    await recorder.close();
    await engine.close();

    const text = await readFile(path, 'utf8');
    expect(text).not.toContain('sk-acme-secret');
    expect(text).not.toContain('very private words');
    const lines = [];
    for await (const line of readRecording(path)) lines.push(line);
    for (const line of lines) expect(validateRecordedLine(line).ok).toBe(true);
    const byId = new Map(lines.map((l) => [l.requestId, l]));
    // Refusals are recorded too, the malformed body among them (with nothing of its body).
    expect([...byId.keys()].sort()).toEqual(['req-1', 'req-2', 'req-3', 'req-4', 'req-5']);
    expect(byId.get('req-5')!).toMatchObject({
      decision: { route: null },
      outcome: { status: 400, errorCode: 'invalid_request' },
      request: { body: {} },
    });

    const r1 = byId.get('req-1')!;
    expect(r1.policy).toMatchObject({ name: 'rec', version: '7' });
    expect(r1.tenant).toBe('acme');
    expect(r1.decision.route).toBe('chat');
    expect(r1.decision.targets).toEqual(['primary', 'backup']);
    expect(r1.attempts.map((a) => `${a.target}:${a.outcome}`)).toEqual(['primary:overloaded', 'backup:ok']);
    expect(r1.outcome).toMatchObject({ status: 200, kind: 'json', target: 'backup' });

    const r2 = byId.get('req-2')!;
    expect(r2.outcome).toMatchObject({ status: 200, kind: 'stream', target: 'primary' });
    expect(r2.outcome.usage).not.toBeNull();

    expect(byId.get('req-3')!).toMatchObject({
      tenant: null,
      decision: { route: null },
      outcome: { status: 401 },
    });
    expect(byId.get('req-4')!.outcome).toMatchObject({ status: 404, errorCode: 'no_route' });
  });
});

const LIMITS_POLICY = `
switchyard: v1
policy: { name: rec-limits, version: "1" }
providers:
  steady: { kind: mock }
models:
  main: { provider: steady, model: mock-main, price: { input: 1000, output: 1000 } }
  cheap: { provider: steady, model: mock-cheap, price: { input: 1, output: 1 } }
  left: { provider: steady, model: mock-left }
  right: { provider: steady, model: mock-right }
tenants:
  acme: { keys: ["sk-acme-secret"] }
limits:
  tiny: { key: [tenant], requests: 1/hour }
  one-per-target: { key: [target], requests: 1/hour }
budgets:
  capped: { key: [tenant], usd: 0.001/day, onExceeded: { downgradeTo: [cheap] } }
routes:
  - name: limited
    when: { model: limited }
    targets: [cheap]
    limits: [tiny]
  - name: budgeted
    when: { model: budgeted }
    targets: [main]
    budgets: [capped]
  - name: per-target
    when: { model: per-target }
    targets: [left, right]
    limits: [one-per-target]
`;

describe('engine recording: limit and budget outcomes', () => {
  it('records what limits and budgets did: a refusal, a downgrade, a skipped target; nothing when none acted', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sy-rec-'));
    dirs.push(dir);
    const path = join(dir, 'traffic.jsonl');
    const loaded = parsePolicy([{ file: 'p.yaml', text: LIMITS_POLICY }]);
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.diagnostics));
    const recorder = createRecorder({ path, content: 'drop' });
    const engine = createEngine(loaded.policy, { recorder });
    const send = async (model: string, requestId: string): Promise<number> => {
      const res = await engine.handle({
        body: { model, messages: [{ role: 'user', content: 'a long enough question for some tokens' }] },
        headers: { authorization: 'Bearer sk-acme-secret' },
        requestId,
      });
      return res.status;
    };
    expect(await send('limited', 'limited-1')).toBe(200);
    expect(await send('limited', 'limited-2')).toBe(429);
    expect(await send('budgeted', 'budget-1')).toBe(200);
    // The first answer's cost is recorded against the budget once it is complete.
    await new Promise((r) => setTimeout(r, 20));
    expect(await send('budgeted', 'budget-2')).toBe(200);
    expect(await send('per-target', 'target-1')).toBe(200);
    expect(await send('per-target', 'target-2')).toBe(200);
    await new Promise((r) => setImmediate(r));
    await recorder.close();
    await engine.close();

    const byId = new Map<string, RecordedLine>();
    for await (const line of readRecording(path)) byId.set(line.requestId, line);
    expect(byId.get('limited-1')?.limits).toBeUndefined();
    expect(byId.get('limited-2')?.limits).toEqual([
      {
        kind: 'rate_limited',
        target: null,
        rules: ['tiny'],
        retryAfterMs: expect.any(Number),
        degraded: false,
      },
    ]);
    expect(byId.get('limited-2')?.outcome).toMatchObject({ status: 429, errorCode: 'rate_limited' });
    expect(byId.get('budget-1')?.limits).toBeUndefined();
    expect(byId.get('budget-2')?.limits).toEqual([
      { kind: 'downgraded', target: null, rules: ['capped'], retryAfterMs: null, degraded: false },
    ]);
    expect(byId.get('budget-2')?.outcome.target).toBe('cheap');
    expect(byId.get('target-1')?.limits).toBeUndefined();
    expect(byId.get('target-2')?.limits).toEqual([
      {
        kind: 'target_rate_limited',
        target: 'left',
        rules: ['one-per-target'],
        retryAfterMs: expect.any(Number),
        degraded: false,
      },
    ]);
    expect(byId.get('target-2')?.outcome.target).toBe('right');
  });
});
