/**
 * Jobs shared by replicas through Redis (engine/jobs/redis-store.ts), on a real redis-server
 * (skipped with the printed reason when it is not installed):
 * - two runners on one Redis: the one running a job dies mid-job (its connection is cut, its
 *   lease not released); the other takes the job over once the lease expired, and every line is
 *   journaled exactly once, in the results exactly once;
 * - a job created on one runner is seen and cancelled from the other, which stops the owner's work;
 * - Redis killed mid-job (and brought back with its data): the job pauses, then completes, each
 *   line journaled once;
 * - Redis loses its data: the replicas stop answering for the lost jobs.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { jobs } from '../../../engine/index.js';
import { RedisJobStore } from '../../../engine/jobs/redis-store.js';
import {
  batch,
  countingEngine,
  customIds,
  policyYaml,
  requestLines,
  upload,
  waitFor,
} from '../../support/jobs.js';
import { type RedisServer, redisAvailable, redisSkipReason, startRedis } from '../../support/redis.js';

if (!redisAvailable) console.warn(redisSkipReason);

let redis: RedisServer | null = null;
let dataDir = '';
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'sy-jobs-redis-'));
  redis = await startRedis({ persistDir: dataDir });
});
afterAll(async () => {
  await redis?.stop();
  if (dataDir !== '') await rm(dataDir, { recursive: true, force: true });
});

let stores: RedisJobStore[] = [];
let runners: jobs.JobRunner[] = [];
afterEach(async () => {
  for (const r of runners) await r.stop(0);
  for (const s of stores) await s.close();
  runners = [];
  stores = [];
});

const LEASE_MS = 400;

async function replica(prefix: string, name: string, latency = 'latency: 20ms') {
  const store = await RedisJobStore.open({ url: (redis as RedisServer).url, prefix, chunkBytes: 2048 });
  stores.push(store);
  const { engine, seen } = countingEngine(policyYaml('', latency));
  const runner = new jobs.JobRunner({
    store,
    engine: () => engine,
    concurrency: 2,
    leaseMs: LEASE_MS,
    replica: name,
  });
  runners.push(runner);
  await runner.start();
  return { store, runner, seen };
}

/** Two replicas on a fresh prefix, and a batch of `lines` requests created on the first. */
async function twoReplicasAndABatch(lines: number, latency?: string) {
  const prefix = `p${randomBytes(4).toString('hex')}:`;
  const a = await replica(prefix, 'replica-a', latency);
  const b = await replica(prefix, 'replica-b', latency);
  const file = await upload(a.store, requestLines(lines));
  const job = await batch(a.runner, file.file.id);
  return { prefix, a, b, job };
}

/** How many times each request index is in the job's journal. */
async function journalCounts(store: jobs.JobStorage, jobId: string): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  for await (const r of store.records(jobId, () => true, false)) {
    const i = (r as { i?: unknown }).i;
    if (typeof i === 'number') counts.set(i, (counts.get(i) ?? 0) + 1);
  }
  return counts;
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => `r${i}`).sort();

describe.skipIf(!redisAvailable)('jobs on Redis shared by replicas', () => {
  it('a runner dies mid-job: the other takes the job over after the lease, each line once', async () => {
    const { a, b, job } = await twoReplicasAndABatch(30);
    await waitFor(() => job.completed >= 5);
    // Replica A dies: its connection to Redis is gone, its lease is not released.
    await a.store.close();
    const done = await waitFor(() => {
      const j = b.runner.get(job.id, 'acme');
      return j?.status === 'completed' ? j : null;
    }, 20_000);
    expect(done.completed).toBe(30);
    const counts = await journalCounts(b.store, job.id);
    expect(counts.size).toBe(30);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect(await customIds(b.store, done)).toEqual(ids(30));
    // B ran only what A had not journaled (plus, at most, what A had in flight when it died).
    expect(b.seen.length).toBeLessThanOrEqual(30 - 5);
    expect(b.seen.length + a.seen.length).toBeLessThanOrEqual(30 + 2);
  });

  it('a runner shuts down mid-job: it releases the lease, and the other resumes the job', async () => {
    const { a, b, job } = await twoReplicasAndABatch(30);
    await waitFor(() => job.completed >= 5);
    await a.runner.stop(5_000);
    const before = job.completed;
    const done = await waitFor(() => {
      const j = b.runner.get(job.id, 'acme');
      return j?.status === 'completed' ? j : null;
    }, 20_000);
    // Nothing cut: what A had in flight finished and was journaled; B ran exactly the rest.
    expect(b.seen).toHaveLength(30 - before);
    expect(a.seen.length + b.seen.length).toBe(30);
    expect(await customIds(b.store, done)).toEqual(ids(30));
  });

  it('a job created on one replica is seen and cancelled on the other, which stops the owner', async () => {
    const { b, job } = await twoReplicasAndABatch(40, 'latency: 40ms');
    await waitFor(() => b.runner.get(job.id, 'acme'));
    await waitFor(() => job.completed >= 2);
    const cancelled = await b.runner.cancel(job.id, 'acme', 'batch');
    expect(cancelled.ok && cancelled.value.status).toBe('cancelling');
    // A (the owner) stops and finishes the job as cancelled; B sees it.
    const done = await waitFor(() => {
      const j = b.runner.get(job.id, 'acme');
      return j?.status === 'cancelled' ? j : null;
    }, 10_000);
    expect(job.status).toBe('cancelled');
    expect(done.completed).toBeLessThan(40);
    expect(b.seen).toEqual([]);
    expect(await customIds(b.store, done)).toEqual(ids(40));
  });

  it('Redis killed mid-job: the job pauses and completes once Redis is back, each line once', async () => {
    const prefix = `p${randomBytes(4).toString('hex')}:`;
    const a = await replica(prefix, 'replica-a');
    const file = await upload(a.store, requestLines(30));
    const job = await batch(a.runner, file.file.id);
    await waitFor(() => job.completed >= 5);
    await (redis as RedisServer).stop();
    await waitFor(() => !a.store.available);
    await new Promise((r) => setTimeout(r, 300));
    expect(a.runner.get(job.id, 'acme')?.status).toBe('in_progress');
    await (redis as RedisServer).start();
    const done = await waitFor(() => {
      const j = a.runner.get(job.id, 'acme');
      return j?.status === 'completed' ? j : null;
    }, 20_000);
    const counts = await journalCounts(a.store, job.id);
    expect(counts.size).toBe(30);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect(done.completed).toBe(30);
    expect(await customIds(a.store, done)).toEqual(ids(30));
  });

  it('Redis loses its data: the replicas stop answering for the lost jobs', async () => {
    const { prefix, a, b, job } = await twoReplicasAndABatch(3);
    await waitFor(() => b.runner.get(job.id, 'acme')?.status === 'completed');
    // Past the "just created" margin, then the data is gone (a restart without persistence).
    await new Promise((r) => setTimeout(r, 2_100));
    const raw = new Redis((redis as RedisServer).url);
    const keys = await raw.keys(`${prefix}*`);
    if (keys.length > 0) await raw.del(...keys);
    await raw.quit();
    // Both views refresh within half a lease.
    await waitFor(() => a.runner.get(job.id, 'acme') === null && b.runner.get(job.id, 'acme') === null);
    expect(b.runner.list('acme', 'batch', null, 10).data).toEqual([]);
  });
});
