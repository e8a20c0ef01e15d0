/**
 * Two gateway servers sharing their jobs through one Redis (`jobsRedis`, `serve --jobs-redis`),
 * with the real `openai` SDK: a batch uploaded and created on A is polled, downloaded and
 * cancelled on B; a deferred request made on A is answered on B; with Redis down, every files
 * and jobs call answers 503 `job_store_unavailable` (a JSON error, no stack) until it is back;
 * a bad jobs Redis configuration refuses the start with a clear message. On a real redis-server
 * (skipped with the printed reason when it is not installed).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, redisAvailable, redisSkipReason, startRedis } from '../../support/redis.js';
import { startServer, type TestServer } from './helpers.js';

if (!redisAvailable) console.warn(redisSkipReason);

const KEY = 'sk-acme-replicas';

const POLICY = `switchyard: v1
policy: { name: replicas, version: "1" }
providers:
  demo: { kind: mock, latency: 5ms }
  slow: { kind: mock, latency: 200ms }
models:
  fast: { provider: demo, model: fast-1 }
  slow: { provider: slow, model: slow-1 }
tenants:
  acme: { keys: [${KEY}] }
jobs: { concurrency: 2 }
routes:
  - name: slow
    when: { model: slow }
    targets: [slow]
  - name: chat
    targets: [fast]
`;

function requests(n: number, model = 'gpt-x'): string {
  return Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      custom_id: `req-${i}`,
      method: 'POST',
      url: '/v1/chat/completions',
      body: { model, messages: [{ role: 'user', content: `question ${i}` }] },
    }),
  ).join('\n');
}

async function until<T>(probe: () => Promise<T>, done: (v: T) => boolean, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe().catch((err: unknown) => err as T);
    if (done(v)) return v;
    if (Date.now() > end) throw new Error(`timed out; last: ${String(v)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Uploads `text` and creates a batch of it, through `client`. */
async function createBatch(client: OpenAI, text: string) {
  const file = await client.files.create({
    file: await toFile(Buffer.from(text), 'in.jsonl'),
    purpose: 'batch',
  });
  const batch = await client.batches.create({
    input_file_id: file.id,
    endpoint: '/v1/chat/completions',
    completion_window: '24h',
  });
  return { file, batch };
}

let redis: RedisServer | null = null;
let dataDir = '';
let a: TestServer;
let b: TestServer;
let onA: OpenAI;
let onB: OpenAI;

describe.skipIf(!redisAvailable)('two gateways sharing jobs through Redis', () => {
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'sy-replicas-redis-'));
    redis = await startRedis({ persistDir: dataDir });
    const jobsRedis = { url: (redis as RedisServer).url, prefix: `gw${randomBytes(3).toString('hex')}:` };
    a = await startServer(POLICY, { jobsRedis });
    b = await startServer(POLICY, { jobsRedis });
    onA = new OpenAI({ baseURL: `${a.server.url}/v1`, apiKey: KEY, maxRetries: 0 });
    onB = new OpenAI({ baseURL: `${b.server.url}/v1`, apiKey: KEY, maxRetries: 0 });
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await redis?.stop();
    if (dataDir !== '') await rm(dataDir, { recursive: true, force: true });
  });

  it('a batch created on A is polled and downloaded on B', async () => {
    const { file, batch: created } = await createBatch(onA, requests(6));
    const done = await until(
      () => onB.batches.retrieve(created.id),
      (v) => v?.status === 'completed',
    );
    expect(done.request_counts).toMatchObject({ total: 6, completed: 6, failed: 0 });
    const text = await (await onB.files.content(done.output_file_id as string)).text();
    const ids = text
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { custom_id: string }).custom_id)
      .sort();
    expect(ids).toEqual(Array.from({ length: 6 }, (_, i) => `req-${i}`).sort());
    // B lists it too, and sees A's upload.
    expect((await onB.batches.list()).data.map((x) => x.id)).toContain(created.id);
    expect((await onB.files.retrieve(file.id)).bytes).toBe(Buffer.byteLength(requests(6)));
  });

  it('a batch created on A is cancelled from B: the owner stops, both see it cancelled', async () => {
    const { batch: created } = await createBatch(onA, requests(30, 'slow'));
    await until(
      () => onB.batches.retrieve(created.id),
      (v) => v?.status === 'in_progress',
    );
    const cancelling = await onB.batches.cancel(created.id);
    expect(cancelling.status).toBe('cancelling');
    const done = await until(
      () => onA.batches.retrieve(created.id),
      (v) => v?.status === 'cancelled',
    );
    expect(done.request_counts?.completed ?? 0).toBeLessThan(30);
    // B's view follows A's save within milliseconds (an event), not in the same instant.
    await until(
      () => onB.batches.retrieve(created.id),
      (v) => v?.status === 'cancelled',
    );
    const errors = await (await onB.files.content(done.error_file_id as string)).text();
    expect(errors).toContain('batch_cancelled');
  });

  it("a replica's lease on a job lasts --jobs-lease (leaseMs), renewed while the job runs", async () => {
    const prefix = `lease${randomBytes(3).toString('hex')}:`;
    const c = await startServer(POLICY, {
      jobsRedis: { url: (redis as RedisServer).url, prefix, leaseMs: 1500 },
    });
    const raw = new Redis((redis as RedisServer).url);
    try {
      const onC = new OpenAI({ baseURL: `${c.server.url}/v1`, apiKey: KEY, maxRetries: 0 });
      // 12 slow requests, two at a time: about 1.2 s of work, past one renewal (every 500 ms).
      const { batch: created } = await createBatch(onC, requests(12, 'slow'));
      const ttls: number[] = [];
      await until(
        async () => {
          const ttl = await raw.pttl(`${prefix}job:${created.id}:owner`);
          if (ttl > 0) ttls.push(ttl);
          return (await onC.batches.retrieve(created.id)).status;
        },
        (status) => status === 'completed',
      );
      // The default lease is 30 s: every TTL seen here is within the 1.5 s asked for.
      expect(ttls.length).toBeGreaterThan(5);
      expect(Math.max(...ttls)).toBeLessThanOrEqual(1500);
      // Renewed while the batch ran (the work outlasted a third of the lease).
      expect(ttls.some((t, i) => i > 0 && t > ttls[i - 1])).toBe(true);
    } finally {
      raw.disconnect();
      await c.close();
    }
  });

  it('a deferred request made on A is answered on B', async () => {
    const res = await fetch(`${a.server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${KEY}`,
        'content-type': 'application/json',
        'x-switchyard-defer': 'true',
      },
      body: JSON.stringify({ model: 'gpt-x', messages: [{ role: 'user', content: 'later' }] }),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const polled = await until(
      async () =>
        (await (
          await fetch(`${b.server.url}/v1/jobs/${id}`, { headers: { authorization: `Bearer ${KEY}` } })
        ).json()) as { status: string; response: { status_code: number } | null },
      (v) => v?.status === 'completed',
    );
    expect(polled.response?.status_code).toBe(200);
  });

  it('with Redis down, jobs calls answer 503 job_store_unavailable; then work again', async () => {
    const file = await onA.files.create({
      file: await toFile(Buffer.from(requests(2)), 'in.jsonl'),
      purpose: 'batch',
    });
    await (redis as RedisServer).stop();
    const down = await until(
      () => fetch(`${b.server.url}/v1/files/${file.id}`, { headers: { authorization: `Bearer ${KEY}` } }),
      (r) => r instanceof Response && r.status === 503,
    );
    const body = (await down.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('job_store_unavailable');
    expect(JSON.stringify(body)).not.toMatch(/\bat .+\.(ts|js):\d+/);
    const create = await fetch(`${a.server.url}/v1/batches`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        input_file_id: file.id,
        endpoint: '/v1/chat/completions',
        completion_window: '24h',
      }),
    });
    expect(create.status).toBe(503);
    await (redis as RedisServer).start();
    const back = await until(
      () => onB.files.retrieve(file.id),
      (v) => (v as { id?: string })?.id === file.id,
    );
    expect(back.bytes).toBeGreaterThan(0);
  });
});

describe.skipIf(!redisAvailable)('a bad jobs Redis configuration', () => {
  it('refuses to start with a clear message', async () => {
    await expect(startServer(POLICY, { jobsRedis: { url: 'http://127.0.0.1:1' } })).rejects.toThrow(
      /jobs Redis URL must look like redis:\/\//,
    );
    await expect(
      startServer(POLICY, { jobsRedis: { url: 'redis://127.0.0.1:6379', prefix: 'bad prefix' } }),
    ).rejects.toThrow(/key prefix/);
    await expect(
      startServer(POLICY, { jobsRedis: { url: 'redis://127.0.0.1:6379' }, jobsDir: '/tmp/x' }),
    ).rejects.toThrow(/both a jobs directory and a jobs Redis/);
    await expect(
      startServer(POLICY, { jobsRedis: { url: 'redis://user:secret@127.0.0.1:1' } }),
    ).rejects.toThrow(/cannot use the jobs Redis at redis:\/\/user:\*\*\*@127\.0\.0\.1:1/);
  });
});
