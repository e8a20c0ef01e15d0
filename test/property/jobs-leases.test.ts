/**
 * Jobs shared through Redis (issue 14): whatever the interleaving of lease losses and takeovers
 * between two runners on one Redis, each request's result is journaled exactly once, and it
 * equals the request's answer run alone. The schedule is generated: after each generated pause
 * the job's lease is deleted (as when the owner stalls past its lease), so the owner loses the
 * job at its next renewal or write and either runner takes it over. On a real redis-server
 * (skipped with the printed reason when it is not installed); the mock provider answers from the
 * request's content, so "alone" is the same engine asked for that one request.
 */
import { randomBytes } from 'node:crypto';
import { fc, test } from '@fast-check/vitest';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { type Engine, jobs } from '../../engine/index.js';
import { RedisJobStore } from '../../engine/jobs/redis-store.js';
import { batch, countingEngine, policyYaml, upload, waitFor } from '../support/jobs.js';
import { type RedisServer, redisAvailable, redisSkipReason, startRedis } from '../support/redis.js';

if (!redisAvailable) console.warn(redisSkipReason);

/** Each run drives two runners through real time on a real Redis: fewer runs than pure properties. */
const NUM_RUNS = Math.min(Number(process.env.FC_NUM_RUNS ?? 25), 8);

let redis: RedisServer | null = null;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

function line(i: number, text: string): string {
  const body = { model: 'fast', messages: [{ role: 'user', content: `${i}: ${text}` }] };
  return `${JSON.stringify({ custom_id: `c${i}`, method: 'POST', url: '/v1/chat/completions', body })}\n`;
}

/** What a request answers alone: its status and choices (ids and timestamps aside). */
async function alone(engine: Engine, index: number, text: string): Promise<unknown> {
  const parsed = JSON.parse(line(index, text)) as {
    custom_id: string;
    url: string;
    body: Record<string, unknown>;
  };
  const outcome = await jobs.runJobLine(
    engine,
    { index, lineNumber: index + 1, customId: parsed.custom_id, url: parsed.url, body: parsed.body },
    {
      jobId: 'batch_alone',
      jobKind: 'batch',
      tenant: 'acme',
      headers: {},
      deferrals: 0,
      signal: new AbortController().signal,
    },
  );
  if (outcome.kind !== 'done') throw new Error(`unexpected ${outcome.kind}`);
  return essence(outcome.out);
}

function essence(out: unknown): unknown {
  const o = out as {
    custom_id: string;
    response: { status_code: number; body: { choices?: unknown } } | null;
  };
  return { custom_id: o.custom_id, status: o.response?.status_code, choices: o.response?.body.choices };
}

describe.skipIf(!redisAvailable)('jobs on Redis: lease losses and takeovers', () => {
  test.prop(
    [
      fc.array(fc.string({ minLength: 1, maxLength: 10 }), { minLength: 3, maxLength: 14 }),
      fc.array(fc.integer({ min: 0, max: 150 }), { maxLength: 4 }),
    ],
    { numRuns: NUM_RUNS },
  )('each request journaled exactly once, equal to running it alone', async (texts, pauses) => {
    const prefix = `lp${randomBytes(4).toString('hex')}:`;
    const url = (redis as RedisServer).url;
    const open = () => RedisJobStore.open({ url, prefix });
    const stores = [await open(), await open()];
    const engine = countingEngine(policyYaml('', 'latency: 15ms')).engine;
    const runners = stores.map(
      (store, k) =>
        new jobs.JobRunner({ store, engine: () => engine, concurrency: 2, leaseMs: 300, replica: `r${k}` }),
    );
    try {
      for (const r of runners) await r.start();
      const file = await upload(stores[0], texts.map((t, i) => line(i, t)).join(''));
      const { id } = await batch(runners[0], file.file.id);
      const admin = await open();
      stores.push(admin);
      const raw = new Redis(url);
      try {
        for (const pause of pauses) {
          await new Promise((r) => setTimeout(r, pause));
          // The owner's lease vanishes: it loses the job; either runner takes it over.
          await raw.del(`${prefix}job:${id}:owner`);
        }
      } finally {
        raw.disconnect();
      }
      await waitFor(() => runners.some((r) => r.get(id, 'acme')?.status === 'completed'), 20_000);
      const recorded = new Map<string, unknown[]>();
      for await (const r of admin.records(id, () => true, false)) {
        const rec = r as { out?: { custom_id: string } };
        if (rec.out === undefined) continue;
        recorded.set(rec.out.custom_id, [...(recorded.get(rec.out.custom_id) ?? []), essence(rec.out)]);
      }
      expect([...recorded.keys()].sort()).toEqual(texts.map((_, i) => `c${i}`).sort());
      for (const [i, t] of texts.entries()) {
        const results = recorded.get(`c${i}`) ?? [];
        expect(results, `c${i} journaled once`).toHaveLength(1);
        expect(results[0]).toEqual(await alone(engine, i, t));
      }
    } finally {
      for (const r of runners) await r.stop(0);
      for (const s of stores) await s.close();
    }
  });
});
