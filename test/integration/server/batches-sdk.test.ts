/**
 * The Files and Batch APIs and deferred requests with the real `openai` SDK against the server
 * on port 0: upload, create, poll, download, cancel, list; tenants see only their own jobs;
 * uploads are bounded; a server without `--jobs-dir` says so.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from './helpers.js';

const ACME = 'sk-acme-batches';
const GLOBEX = 'sk-globex-batches';

const POLICY = `switchyard: v1
policy: { name: batches, version: "1" }
providers:
  demo: { kind: mock, latency: 5ms }
  slow: { kind: mock, latency: 150ms }
models:
  fast: { provider: demo, model: fast-1, price: { input: 1, output: 2 } }
  slow: { provider: slow, model: slow-1 }
tenants:
  acme: { keys: [${ACME}] }
  globex: { keys: [${GLOBEX}] }
jobs: { concurrency: 2, maxFileSize: 64kb }
routes:
  - name: background
    when: { all: [{ header.x-switchyard-job: batch }, { model: routed }] }
    targets: [slow]
  - name: slow
    when: { model: slow }
    targets: [slow]
  - name: chat
    targets: [fast]
`;

function requests(n: number, model = 'gpt-x', prefix = 'req'): string {
  return Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      custom_id: `${prefix}-${i}`,
      method: 'POST',
      url: '/v1/chat/completions',
      body: { model, messages: [{ role: 'user', content: `question ${i}` }] },
    }),
  ).join('\n');
}

let t: TestServer;
let jobsDir: string;
let acme: OpenAI;
let globex: OpenAI;

beforeAll(async () => {
  jobsDir = mkdtempSync(join(tmpdir(), 'switchyard-jobs-'));
  t = await startServer(POLICY, { jobsDir });
  acme = new OpenAI({ baseURL: `${t.server.url}/v1`, apiKey: ACME, maxRetries: 0 });
  globex = new OpenAI({ baseURL: `${t.server.url}/v1`, apiKey: GLOBEX, maxRetries: 0 });
});

afterAll(async () => {
  await t?.close();
  rmSync(jobsDir, { recursive: true, force: true });
});

async function until<T>(probe: () => Promise<T>, done: (v: T) => boolean, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (done(v)) return v;
    if (Date.now() > end) throw new Error(`timed out; last: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('batches with the openai SDK', () => {
  it('upload, create, poll to completed, download: each custom_id once, OpenAI shapes', async () => {
    const file = await acme.files.create({
      file: await toFile(Buffer.from(requests(6)), 'in.jsonl'),
      purpose: 'batch',
    });
    expect(file).toMatchObject({
      object: 'file',
      purpose: 'batch',
      filename: 'in.jsonl',
      status: 'processed',
    });
    expect(file.id).toMatch(/^file-/);
    expect((await acme.files.retrieve(file.id)).bytes).toBe(file.bytes);

    const created = await acme.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
      metadata: { purpose: 'nightly' },
    });
    expect(created).toMatchObject({
      object: 'batch',
      status: 'validating',
      input_file_id: file.id,
      metadata: { purpose: 'nightly' },
    });
    const done = await until(
      () => acme.batches.retrieve(created.id),
      (b) => b.status === 'completed',
    );
    expect(done.request_counts).toEqual({ total: 6, completed: 6, failed: 0 });
    expect(done.completed_at).toBeGreaterThanOrEqual(done.created_at);
    expect(done.error_file_id).toBeNull();
    expect(done.usage?.total_tokens).toBeGreaterThan(0);

    const text = await (await acme.files.content(done.output_file_id as string)).text();
    const lines = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.custom_id).sort()).toEqual([0, 1, 2, 3, 4, 5].map((i) => `req-${i}`));
    const first = lines.find((l) => l.custom_id === 'req-0');
    expect(first).toMatchObject({
      id: expect.stringMatching(/^batch_req_/),
      response: { status_code: 200, request_id: expect.any(String), body: { object: 'chat.completion' } },
      error: null,
    });
    expect(first.response.body.choices[0].message.content).toBe('Echo: question 0');

    const page = await acme.batches.list();
    expect(page.data.map((b) => b.id)).toContain(created.id);
  });

  it('a route matches job traffic by its header (background work to another target)', async () => {
    const file = await acme.files.create({
      file: await toFile(Buffer.from(requests(1, 'routed')), 'r.jsonl'),
      purpose: 'batch',
    });
    const batch = await acme.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    const done = await until(
      () => acme.batches.retrieve(batch.id),
      (b) => b.status === 'completed',
    );
    const line = JSON.parse((await (await acme.files.content(done.output_file_id as string)).text()).trim());
    expect(line.response.body.model).toBe('slow-1');
  });

  it('cancel: status cancelling then cancelled, partial results, the rest in the error file', async () => {
    const file = await acme.files.create({
      file: await toFile(Buffer.from(requests(20, 'slow')), 'slow.jsonl'),
      purpose: 'batch',
    });
    const batch = await acme.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    await until(
      () => acme.batches.retrieve(batch.id),
      (b) => (b.request_counts?.completed ?? 0) >= 1,
    );
    const cancelling = await acme.batches.cancel(batch.id);
    expect(['cancelling', 'cancelled']).toContain(cancelling.status);
    const done = await until(
      () => acme.batches.retrieve(batch.id),
      (b) => b.status === 'cancelled',
    );
    expect(done.cancelled_at).not.toBeNull();
    const ids: string[] = [];
    for (const id of [done.output_file_id, done.error_file_id]) {
      if (id == null) continue;
      const text = await (await acme.files.content(id)).text();
      for (const l of text.trim().split('\n')) ids.push(JSON.parse(l).custom_id);
    }
    expect(ids.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `req-${i}`).sort());
    const errors = (await (await acme.files.content(done.error_file_id as string)).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(errors[0]).toMatchObject({ response: null, error: { code: 'batch_cancelled' } });
    await expect(acme.batches.cancel(batch.id)).resolves.toMatchObject({ status: 'cancelled' });
  });

  it('tenants are isolated: another tenant gets 404 for a batch and a file', async () => {
    const file = await acme.files.create({
      file: await toFile(Buffer.from(requests(1)), 'a.jsonl'),
      purpose: 'batch',
    });
    const batch = await acme.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    await expect(globex.batches.retrieve(batch.id)).rejects.toMatchObject({
      status: 404,
      code: 'job_not_found',
    });
    await expect(globex.files.retrieve(file.id)).rejects.toMatchObject({
      status: 404,
      code: 'file_not_found',
    });
    await expect(globex.files.content(file.id)).rejects.toMatchObject({ status: 404 });
    await expect(
      globex.batches.create({
        input_file_id: file.id,
        endpoint: '/v1/chat/completions',
        completion_window: '24h',
      }),
    ).rejects.toMatchObject({ status: 400, param: 'input_file_id' });
    expect((await globex.batches.list()).data).toEqual([]);
    const noKey = new OpenAI({ baseURL: `${t.server.url}/v1`, apiKey: 'sk-unknown', maxRetries: 0 });
    await expect(noKey.files.list()).rejects.toMatchObject({ status: 401, code: 'invalid_api_key' });
  });

  it('refuses bad requests with clear errors', async () => {
    await expect(
      acme.files.create({ file: await toFile(Buffer.from(requests(1)), 'a.jsonl'), purpose: 'fine-tune' }),
    ).rejects.toMatchObject({ status: 400, param: 'purpose' });
    await expect(
      acme.files.create({ file: await toFile(Buffer.alloc(70 * 1024, 'x'), 'big.jsonl'), purpose: 'batch' }),
    ).rejects.toMatchObject({ status: 413, code: 'file_too_large' });
    const file = await acme.files.create({
      file: await toFile(Buffer.from(requests(1)), 'a.jsonl'),
      purpose: 'batch',
    });
    await expect(
      acme.batches.create({
        input_file_id: file.id,
        endpoint: '/v1/images/generations',
        completion_window: '24h',
      }),
    ).rejects.toMatchObject({ status: 400, param: 'endpoint' });
    await expect(
      acme.batches.create({
        input_file_id: file.id,
        endpoint: '/v1/chat/completions',
        completion_window: '1h' as '24h',
      }),
    ).rejects.toMatchObject({ status: 400, param: 'completion_window' });
    await expect(acme.batches.retrieve('batch_nope')).rejects.toMatchObject({ status: 404 });
    await expect(acme.files.retrieve('../../etc/passwd')).rejects.toMatchObject({ status: 404 });
  });

  it('a batch whose file has bad lines fails with the line numbers', async () => {
    const text = `${requests(1)}\nnot json\n${requests(1)}`;
    const file = await acme.files.create({
      file: await toFile(Buffer.from(text), 'bad.jsonl'),
      purpose: 'batch',
    });
    const batch = await acme.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    const failed = await until(
      () => acme.batches.retrieve(batch.id),
      (b) => b.status === 'failed',
    );
    expect(failed.errors?.data?.map((e) => [e.code, e.line])).toEqual([
      ['invalid_json_line', 2],
      ['duplicate_custom_id', 3],
    ]);
  });

  it('a deferred request answers 202 with a job id at once; polling returns the answer', async () => {
    const { data, response } = await acme.chat.completions
      .create(
        { model: 'gpt-x', messages: [{ role: 'user', content: 'later please' }] },
        { headers: { 'x-switchyard-defer': 'true' } },
      )
      .withResponse();
    expect(response.status).toBe(202);
    const job = data as unknown as { id: string; object: string; status: string };
    expect(job).toMatchObject({ object: 'switchyard.job', status: 'validating' });
    expect(response.headers.get('location')).toBe(`/v1/jobs/${job.id}`);
    const done = await until(
      () =>
        acme.get<{
          status: string;
          response: { status_code: number; body: { choices: { message: { content: string } }[] } };
        }>(`/jobs/${job.id}`),
      (j) => j.status === 'completed',
    );
    expect(done.response.status_code).toBe(200);
    expect(done.response.body.choices[0].message.content).toBe('Echo: later please');
    await expect(globex.get(`/jobs/${job.id}`)).rejects.toMatchObject({ status: 404 });
    await expect(
      acme.chat.completions.create(
        { model: 'gpt-x', messages: [{ role: 'user', content: 'x' }], stream: true },
        { headers: { 'x-switchyard-defer': 'true' } },
      ),
    ).rejects.toMatchObject({ status: 400, param: 'stream' });
  });
});

describe('job metrics', () => {
  it('counts jobs by status and job requests by outcome', async () => {
    const text = await (await fetch(`${t.server.url}/metrics`)).text();
    expect(text).toMatch(/^switchyard_jobs\{status="completed"\} [1-9]/m);
    expect(text).toMatch(/^switchyard_job_requests_total\{outcome="ok"\} [1-9]/m);
    expect(text).toMatch(/^switchyard_job_requests_in_flight \d+/m);
  });
});

describe('the Files API over plain HTTP', () => {
  const auth = { authorization: `Bearer ${ACME}` };
  const url = (path: string) => `${t.server.url}${path}`;
  const errorOf = async (r: Response) =>
    ((await r.json()) as { error: { message: string; param: string | null; code: string } }).error;

  it('refuses a JSON body, an upload without a file, and two files', async () => {
    const json = await fetch(url('/v1/files'), {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ purpose: 'batch' }),
    });
    expect(json.status).toBe(400);
    expect((await errorOf(json)).message).toContain('multipart/form-data');

    const noFile = new FormData();
    noFile.append('purpose', 'batch');
    const r1 = await fetch(url('/v1/files'), { method: 'POST', headers: auth, body: noFile });
    expect(r1.status).toBe(400);
    expect((await errorOf(r1)).param).toBe('file');

    const two = new FormData();
    two.append('purpose', 'batch');
    two.append('file', new Blob([requests(1)]), 'a.jsonl');
    two.append('file', new Blob([requests(1)]), 'b.jsonl');
    const r2 = await fetch(url('/v1/files'), { method: 'POST', headers: auth, body: two });
    expect(r2.status).toBe(400);
    expect(await errorOf(r2)).toMatchObject({ code: 'invalid_request' });
  });

  it("lists, refuses to delete a running batch's input, deletes a file; names stay harmless", async () => {
    const form = new FormData();
    form.append('purpose', 'batch');
    form.append('file', new Blob([requests(8, 'slow')]), '../../evil\u0007name.jsonl');
    const created = await fetch(url('/v1/files'), { method: 'POST', headers: auth, body: form });
    expect(created.status).toBe(200);
    const file = (await created.json()) as { id: string; filename: string };
    expect(file.filename).toBe('evilname.jsonl');

    const list = (await (await fetch(url('/v1/files?purpose=batch&limit=2'), { headers: auth })).json()) as {
      object: string;
      data: { id: string }[];
      has_more: boolean;
    };
    expect(list.object).toBe('list');
    expect(list.data[0].id).toBe(file.id);
    expect(list.data).toHaveLength(2);
    expect(list.has_more).toBe(true);
    expect((await fetch(url('/v1/files?limit=0'), { headers: auth })).status).toBe(400);

    const batch = await acme.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    const busy = await fetch(url(`/v1/files/${file.id}`), { method: 'DELETE', headers: auth });
    expect(busy.status).toBe(409);
    expect((await errorOf(busy)).code).toBe('file_in_use');
    await acme.batches.cancel(batch.id);
    await until(
      () => acme.batches.retrieve(batch.id),
      (b) => b.status === 'cancelled',
    );
    await expect(acme.files.delete(file.id)).resolves.toEqual({ id: file.id, object: 'file', deleted: true });
    await expect(acme.files.retrieve(file.id)).rejects.toMatchObject({ status: 404 });
  });
});

describe('a server without --jobs-dir', () => {
  let plain: TestServer;
  beforeAll(async () => {
    plain = await startServer(POLICY);
  });
  afterAll(async () => {
    await plain?.close();
  });

  it('answers 404 jobs_disabled for files, batches and deferred requests', async () => {
    const client = new OpenAI({ baseURL: `${plain.server.url}/v1`, apiKey: ACME, maxRetries: 0 });
    await expect(client.batches.list()).rejects.toMatchObject({ status: 404, code: 'jobs_disabled' });
    await expect(
      client.files.create({ file: await toFile(Buffer.from('{}'), 'a.jsonl'), purpose: 'batch' }),
    ).rejects.toMatchObject({ status: 404, code: 'jobs_disabled' });
    await expect(
      client.chat.completions.create(
        { model: 'gpt-x', messages: [{ role: 'user', content: 'x' }] },
        { headers: { 'x-switchyard-defer': 'true' } },
      ),
    ).rejects.toMatchObject({ status: 404, code: 'jobs_disabled' });
    // and an ordinary request still works
    const ok = await client.chat.completions.create({
      model: 'gpt-x',
      messages: [{ role: 'user', content: 'x' }],
    });
    expect(ok.choices[0].message.content).toBe('Echo: x');
  });
});
