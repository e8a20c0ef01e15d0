/**
 * Batch lines through providers' native batch APIs (engine/jobs/native.ts), end to end: a job
 * runner on a real directory and a real engine, against a fake upstream implementing OpenAI's
 * Files and Batch endpoints and Anthropic's Message Batches on a socket (the mock provider's
 * offline batches too). Lines of a `batch: { native: true }` route go to one provider batch,
 * their answers land in the output file under their custom_ids, their cost is the model's
 * `batchPrice`, a restart mid-sub-batch polls it again without resubmitting, lines the provider
 * batch failed or expired run through the route's ordinary plan, and a cancel cancels it.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEngine, type Engine, jobs, parsePolicy } from '../../../engine/index.js';
import { type FakeBatchApi, type FakeBatchOptions, startFakeBatchApi } from '../../support/fake-batch-api.js';

const KEY = 'sk-acme-native';
const UPSTREAM_KEY = 'sk-upstream-native-secret';

interface PolicyOptions {
  readonly kind: 'openai' | 'anthropic' | 'mock';
  readonly origin?: string;
  readonly minRequests?: number;
  readonly batchPrice?: boolean;
  /** Guardrails on the background route. */
  readonly guarded?: boolean;
  /** A request rate limit on the background route. */
  readonly limit?: string;
  /** The budget (USD per day). */
  readonly budget?: number;
}

function policyYaml(o: PolicyOptions): string {
  const provider =
    o.kind === 'openai'
      ? `{ kind: openai, baseUrl: "${o.origin}/v1", apiKey: ${UPSTREAM_KEY} }`
      : o.kind === 'anthropic'
        ? `{ kind: anthropic, baseUrl: "${o.origin}", apiKey: ${UPSTREAM_KEY} }`
        : '{ kind: mock, batchLatency: 100ms }';
  const batchPrice = o.batchPrice === false ? '' : ', batchPrice: { input: 5, output: 10 }';
  return `switchyard: v1
policy: { name: native, version: "1" }
providers:
  up: ${provider}
models:
  big: { provider: up, model: up-model, price: { input: 10, output: 20 }${batchPrice} }
tenants:
  acme: { keys: [${KEY}] }
budgets:
  spend: { key: [tenant], usd: ${o.budget ?? 1000}/day }
${
  o.guarded === true
    ? `guardrails:
  words: { kind: keywords, stage: input, action: block, keywords: [forbidden] }
  pii: { kind: pii, stage: input, action: redact, entities: [email] }
  leak: { kind: keywords, stage: output, action: block, keywords: ["question 3"] }
`
    : ''
}${o.limit === undefined ? '' : `limits:\n  pace: { key: [tenant], requests: ${o.limit} }\n`}routes:
  - name: background
    when: { header.x-switchyard-job: batch }
    targets: [big]
    budgets: [spend]${o.guarded === true ? '\n    guardrails: [words, pii, leak]' : ''}${o.limit === undefined ? '' : '\n    limits: [pace]'}
    batch: { native: true, minRequests: ${o.minRequests ?? 3} }
  - name: chat
    targets: [big]
    budgets: [spend]
`;
}

function engineFor(yaml: string): Engine {
  const loaded = parsePolicy([{ file: 'p.yaml', text: yaml }], { env: {} });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.diagnostics));
  return createEngine(loaded.policy);
}

function requestLines(n: number, content = (i: number) => `question ${i}`): string {
  return Array.from(
    { length: n },
    (_, i) =>
      `${JSON.stringify({ custom_id: `req ${i}/x`, method: 'POST', url: '/v1/chat/completions', body: { model: 'big', messages: [{ role: 'user', content: content(i) }] } })}\n`,
  ).join('');
}

async function waitFor<T>(probe: () => T | null | undefined | false, ms = 15_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== null && v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function readJsonl(path: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(path, 'utf8');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The answer text of each custom_id across the output and error files (null: no answer). */
async function answers(store: jobs.JobStore, job: jobs.JobRecord): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  for (const f of [job.output_file_id, job.error_file_id]) {
    if (f === null) continue;
    for (const line of await readJsonl(store.dataPath(f))) {
      const id = String(line.custom_id);
      expect(out.has(id), `custom_id ${id} twice`).toBe(false);
      const body = (line.response as { body?: { choices?: { message: { content: string } }[] } } | null)
        ?.body;
      out.set(id, body?.choices?.[0]?.message.content ?? null);
    }
  }
  return out;
}

async function spent(engine: Engine): Promise<number> {
  const report = await engine.spend();
  return (
    report.budgets.find((b) => b.name === 'spend')?.keys.find((k) => k.key.includes('acme'))?.spentUsd ?? 0
  );
}

let dir: string;
let api: FakeBatchApi | null = null;
const runners: jobs.JobRunner[] = [];
const engines: Engine[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sy-native-'));
});
afterEach(async () => {
  for (const r of runners.splice(0)) await r.stop(100);
  for (const e of engines.splice(0)) await e.close();
  await api?.close();
  api = null;
  await rm(dir, { recursive: true, force: true });
});

async function fake(options: FakeBatchOptions = {}): Promise<FakeBatchApi> {
  api = await startFakeBatchApi(options);
  return api;
}

async function runnerOn(yaml: string) {
  const store = await jobs.JobStore.open(dir);
  const engine = engineFor(yaml);
  engines.push(engine);
  const runner = new jobs.JobRunner({ store, engine: () => engine, concurrency: 2, nativePollMs: 20 });
  runners.push(runner);
  await runner.start();
  return { store, engine, runner };
}

async function submit(
  store: jobs.JobStore,
  runner: jobs.JobRunner,
  n: number,
  content?: (i: number) => string,
): Promise<jobs.JobRecord> {
  const file = await store.saveUpload(
    Readable.from([Buffer.from(requestLines(n, content))]),
    { filename: 'in.jsonl', purpose: 'batch', owner: 'acme', createdAt: 1, expiresAt: null },
    1 << 20,
  );
  const created = await runner.createBatch(
    {
      owner: 'acme',
      inputFileId: file.file.id,
      endpoint: '/v1/chat/completions',
      completionWindow: '24h',
      metadata: null,
    },
    jobs.JOB_ENDPOINTS,
  );
  if (!created.ok) throw new Error(JSON.stringify(created.refusal));
  return created.value;
}

const finished = (runner: jobs.JobRunner, id: string) => () => {
  const job = runner.get(id, 'acme');
  return job !== null && (job.status === 'completed' || job.status === 'cancelled' || job.status === 'failed')
    ? job
    : null;
};

const count = (a: FakeBatchApi, method: string, path: string) =>
  a.requests.filter((r) => r.method === method && r.path === path).length;

describe('native batches (OpenAI Batch API)', () => {
  it('sends the lines as one provider batch; answers land under their custom_ids, priced at batchPrice; a failed line falls back', async () => {
    const a = await fake({ fail: (id) => id === 'l1' });
    const { store, engine, runner } = await runnerOn(policyYaml({ kind: 'openai', origin: a.origin }));
    const job = await submit(store, runner, 5);
    const done = await waitFor(finished(runner, job.id));
    expect(done.status).toBe('completed');
    expect(jobs.batchObject(done)).toMatchObject({ request_counts: { total: 5, completed: 5, failed: 0 } });
    expect(a.batches.size).toBe(1);
    expect([...a.batches.values()][0]).toMatchObject({ kind: 'openai', lines: 5 });
    expect(count(a, 'POST', '/v1/files')).toBe(1);
    // The upload carried the provider's key as its ordinary calls do.
    expect(a.requests.find((r) => r.path === '/v1/files')?.headers.authorization).toBe(
      `Bearer ${UPSTREAM_KEY}`,
    );
    const got = await answers(store, done);
    expect(got.get('req 0/x')).toBe('Batch answer to: question 0');
    expect(got.get('req 1/x')).toBe('Direct answer to: question 1');
    expect(got.get('req 4/x')).toBe('Batch answer to: question 4');
    expect(got.size).toBe(5);
    // The one line that fell back ran through the ordinary plan, once.
    expect(count(a, 'POST', '/v1/chat/completions')).toBe(1);
    // 4 native answers at batchPrice (1000 × 5 + 500 × 10 per M = $0.01), 1 ordinary at price ($0.02).
    expect(await spent(engine)).toBeCloseTo(4 * 0.01 + 0.02, 6);
    expect(done.input_tokens).toBe(5000);
  });

  it('fewer lines than minRequests run as ordinary requests', async () => {
    const a = await fake();
    const { store, runner } = await runnerOn(
      policyYaml({ kind: 'openai', origin: a.origin, minRequests: 10 }),
    );
    const done = await waitFor(finished(runner, (await submit(store, runner, 4)).id));
    expect(done.status).toBe('completed');
    expect(a.batches.size).toBe(0);
    expect(count(a, 'POST', '/v1/chat/completions')).toBe(4);
  });

  it('without batchPrice, native answers cost the full price', async () => {
    const a = await fake();
    const { store, engine, runner } = await runnerOn(
      policyYaml({ kind: 'openai', origin: a.origin, batchPrice: false }),
    );
    const done = await waitFor(finished(runner, (await submit(store, runner, 3)).id));
    expect(done.status).toBe('completed');
    expect(a.batches.size).toBe(1);
    expect(await spent(engine)).toBeCloseTo(3 * 0.02, 6);
  });

  it('an expired provider batch: every line runs through the ordinary plan', async () => {
    const a = await fake({ endStatus: 'expired' });
    const { store, runner } = await runnerOn(policyYaml({ kind: 'openai', origin: a.origin }));
    const done = await waitFor(finished(runner, (await submit(store, runner, 3)).id));
    expect(done.status).toBe('completed');
    const got = await answers(store, done);
    expect(got.size).toBe(3);
    for (const text of got.values()) expect(text).toMatch(/^Direct answer/);
    expect(count(a, 'POST', '/v1/chat/completions')).toBe(3);
  });

  it('a restart mid-sub-batch polls it again instead of resubmitting', async () => {
    const a = await fake({ pollsToEnd: 4 });
    const yaml = policyYaml({ kind: 'openai', origin: a.origin });
    const first = await runnerOn(yaml);
    const job = await submit(first.store, first.runner, 4);
    await waitFor(
      () =>
        a.batches.size === 1 &&
        a.requests.some((r) => r.method === 'GET' && r.path.startsWith('/v1/batches/')),
    );
    await first.runner.stop(1000);
    expect(first.runner.get(job.id, 'acme')?.status).toBe('in_progress');
    const journal = await readFile(join(first.store.jobDir(job.id), 'journal.jsonl'), 'utf8');
    expect(journal).toContain('"sub":');

    const second = await runnerOn(yaml);
    const done = await waitFor(finished(second.runner, job.id));
    expect(done.status).toBe('completed');
    expect(a.batches.size).toBe(1);
    expect(count(a, 'POST', '/v1/files')).toBe(1);
    expect(count(a, 'POST', '/v1/batches')).toBe(1);
    expect(count(a, 'POST', '/v1/chat/completions')).toBe(0);
    const got = await answers(second.store, done);
    expect([...got.keys()].sort()).toEqual(['req 0/x', 'req 1/x', 'req 2/x', 'req 3/x']);
    for (const text of got.values()) expect(text).toMatch(/^Batch answer/);
  });

  it('cancelling the job cancels the provider batch; the lines it never answered are batch_cancelled', async () => {
    const a = await fake({ pollsToEnd: 1_000_000 });
    const { store, runner } = await runnerOn(policyYaml({ kind: 'openai', origin: a.origin }));
    const job = await submit(store, runner, 3);
    await waitFor(() => a.batches.size === 1);
    const cancelled = await runner.cancel(job.id, 'acme', 'batch');
    expect(cancelled.ok).toBe(true);
    const done = await waitFor(finished(runner, job.id));
    expect(done.status).toBe('cancelled');
    expect([...a.batches.values()][0].cancelled).toBe(true);
    const errors = await readJsonl(store.dataPath(done.error_file_id as string));
    expect(errors.map((l) => (l.error as { code: string }).code)).toEqual([
      'batch_cancelled',
      'batch_cancelled',
      'batch_cancelled',
    ]);
    expect(count(a, 'POST', '/v1/chat/completions')).toBe(0);
  });

  it('input guardrails run before submission (blocked: not sent; redacted: sent redacted), output guardrails on the answers', async () => {
    const a = await fake();
    const { store, runner } = await runnerOn(policyYaml({ kind: 'openai', origin: a.origin, guarded: true }));
    const content = (i: number) =>
      i === 0 ? 'question 0 is forbidden' : i === 1 ? 'question 1 from jane@example.com' : `question ${i}`;
    const done = await waitFor(finished(runner, (await submit(store, runner, 4, content)).id));
    expect(done.status).toBe('completed');
    expect([...a.batches.values()][0]).toMatchObject({ lines: 3 });
    const upload = a.requests.find((r) => r.path === '/v1/files')?.text ?? '';
    expect(upload).toContain('question 1 from');
    expect(upload).not.toContain('jane@example.com');
    expect(upload).not.toContain('forbidden');
    const lines = [
      ...(await readJsonl(store.dataPath(done.output_file_id as string))),
      ...(await readJsonl(store.dataPath(done.error_file_id as string))),
    ];
    const byId = new Map(
      lines.map((l) => [
        String(l.custom_id),
        l.response as { status_code: number; body: { error?: { code: string } } },
      ]),
    );
    expect(byId.get('req 0/x')).toMatchObject({
      status_code: 400,
      body: { error: { code: 'guardrail_blocked' } },
    });
    expect(byId.get('req 1/x')?.status_code).toBe(200);
    expect(byId.get('req 2/x')?.status_code).toBe(200);
    // The answer to line 3 came back through the batch and was blocked on its way out.
    expect(byId.get('req 3/x')).toMatchObject({ body: { error: { code: 'guardrail_blocked' } } });
    expect(count(a, 'POST', '/v1/chat/completions')).toBe(0);
  });

  it('a job cancelled just before a crash: the next start cancels its provider batch and finishes cancelled', async () => {
    const a = await fake({ pollsToEnd: 1_000_000 });
    const yaml = policyYaml({ kind: 'openai', origin: a.origin });
    const first = await runnerOn(yaml);
    const job = await submit(first.store, first.runner, 3);
    await waitFor(() => a.batches.size === 1);
    await first.runner.stop(1000);
    // The cancel was saved, then the process died before it reached the provider.
    const path = join(first.store.jobDir(job.id), 'job.json');
    const saved = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    await writeFile(path, JSON.stringify({ ...saved, status: 'cancelling', cancelling_at: 2 }));
    const second = await runnerOn(yaml);
    const done = await waitFor(finished(second.runner, job.id));
    expect(done.status).toBe('cancelled');
    expect([...a.batches.values()][0].cancelled).toBe(true);
    expect(count(a, 'POST', '/v1/batches')).toBe(1);
    expect(count(a, 'POST', '/v1/chat/completions')).toBe(0);
  });

  it("answers refused by the gateway's own rate limit wait and are offered again, never lost", async () => {
    const a = await fake();
    const { store, runner } = await runnerOn(policyYaml({ kind: 'openai', origin: a.origin, limit: '4/s' }));
    const done = await waitFor(finished(runner, (await submit(store, runner, 6)).id));
    expect(done.status).toBe('completed');
    expect(jobs.batchObject(done)).toMatchObject({ request_counts: { total: 6, completed: 6, failed: 0 } });
    const got = await answers(store, done);
    expect(got.size).toBe(6);
    for (const text of got.values()) expect(text).toMatch(/^Batch answer/);
    expect(count(a, 'POST', '/v1/chat/completions')).toBe(0);
  });

  it('a budget exceeded when the answers arrive does not refuse them: they are paid for, their cost counts', async () => {
    const a = await fake();
    const { store, engine, runner } = await runnerOn(
      policyYaml({ kind: 'openai', origin: a.origin, budget: 0.015 }),
    );
    const done = await waitFor(finished(runner, (await submit(store, runner, 3)).id));
    expect(jobs.batchObject(done)).toMatchObject({ request_counts: { total: 3, completed: 3, failed: 0 } });
    expect(await spent(engine)).toBeCloseTo(0.03, 6);
    // The budget is exceeded now: an ordinary request is refused.
    const after = await engine.handle({
      body: { model: 'big', messages: [{ role: 'user', content: 'more' }] },
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect(after.status).toBe(429);
  });

  it('interactive and deferred requests are never sent natively', async () => {
    const a = await fake();
    const { engine, runner } = await runnerOn(
      policyYaml({ kind: 'openai', origin: a.origin, minRequests: 1 }),
    );
    const answer = await engine.handle({
      body: { model: 'big', messages: [{ role: 'user', content: 'now' }] },
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect(answer.status).toBe(200);
    const deferred = await runner.createDeferred({
      owner: 'acme',
      endpoint: '/v1/chat/completions',
      body: { model: 'big', messages: [{ role: 'user', content: 'later' }] },
      headers: {},
    });
    if (!deferred.ok) throw new Error('not created');
    await waitFor(() => runner.get(deferred.value.id, 'acme')?.status === 'completed');
    expect(a.batches.size).toBe(0);
    expect(count(a, 'POST', '/v1/chat/completions')).toBe(2);
  });
});

describe('native batches (Anthropic Message Batches)', () => {
  it('sends translated requests as one message batch and reads the results back as chat completions', async () => {
    const a = await fake({ fail: (id) => id === 'l2' });
    const { store, engine, runner } = await runnerOn(policyYaml({ kind: 'anthropic', origin: a.origin }));
    const done = await waitFor(finished(runner, (await submit(store, runner, 3)).id));
    expect(done.status).toBe('completed');
    expect([...a.batches.values()]).toEqual([{ kind: 'anthropic', lines: 3, cancelled: false }]);
    const post = a.requests.find((r) => r.path === '/v1/messages/batches');
    expect(post?.headers['x-api-key']).toBe(UPSTREAM_KEY);
    const params =
      (post?.json as { requests: { custom_id: string; params: { model: string } }[] } | undefined)
        ?.requests ?? [];
    expect(params.map((r) => r.custom_id)).toEqual(['l0', 'l1', 'l2']);
    expect(params[0].params.model).toBe('up-model');
    const got = await answers(store, done);
    expect(got.get('req 0/x')).toBe('Batch answer to: question 0');
    expect(got.get('req 2/x')).toBe('Direct answer to: question 2');
    expect(count(a, 'POST', '/v1/messages')).toBe(1);
    expect(await spent(engine)).toBeCloseTo(2 * 0.01 + 0.02, 6);
  });
});

describe('native batches (mock provider, offline)', () => {
  it('completes after its batchLatency; every line answered once', async () => {
    const { store, runner } = await runnerOn(policyYaml({ kind: 'mock' }));
    const done = await waitFor(finished(runner, (await submit(store, runner, 4)).id));
    expect(done.status).toBe('completed');
    const got = await answers(store, done);
    expect(got.get('req 3/x')).toBe('Echo: question 3');
    expect(got.size).toBe(4);
    const journal = await readFile(join(store.jobDir(done.id), 'journal.jsonl'), 'utf8');
    expect(journal).toMatch(/"subEnd":"mockbatch_1","status":"completed"/);
  });
});
