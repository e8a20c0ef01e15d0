/**
 * Limit check cost: one `acquire` on one limit, and a full `RateLimiter.admit` of a limit with a
 * requests and a tokens rate (two acquires, all or nothing), on the memory store and on Redis
 * (a throwaway local redis-server, when installed). Keys are spread over 1,000 tenants with a
 * capacity large enough that nearly every check is admitted (the refused path costs the same).
 *
 * - sequential: one check at a time; latency percentiles per check (memory: per batch of
 *   {@link BATCH}, as one check is near the timer's resolution).
 * - concurrent: {@link CONCURRENCY} checks in flight (Redis only), throughput only.
 *
 * Run: `npx tsx bench/limits.ts` (optionally `BENCH_MS=2000`).
 */
import { type CompiledLimit, compileLimit, RateLimiter } from '../engine/limits/limiter.js';
import { MemoryStore } from '../engine/limits/memory-store.js';
import { RedisStore } from '../engine/limits/redis-store.js';
import { ResilientStore } from '../engine/limits/resilient-store.js';
import type { LimiterStore } from '../engine/limits/store.js';
import type { RequestContext } from '../engine/types.js';
import { startRedis } from '../test/support/redis.js';

const DURATION_MS = Number(process.env.BENCH_MS ?? 1000);
const BATCH = 32;
const CONCURRENCY = 64;
const TENANTS = 1000;

function compiled(): CompiledLimit {
  const r = compileLimit('bench', {
    key: ['tenant'],
    requests: '100000000/min',
    tokens: '100000000000/min',
  });
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

const LIMIT = compiled();
const CONTEXTS: RequestContext[] = Array.from({ length: TENANTS }, (_, i) => ({
  path: '/v1/chat/completions',
  endpoint: 'chat',
  model: 'gpt-5',
  body: { model: 'gpt-5', max_tokens: 256 },
  headers: {},
  tenant: `tenant-${i}`,
  labels: {},
  metadata: {},
  stream: false,
  tools: false,
  inputTokens: 120,
  inputChars: 480,
  seed: i,
}));

interface Row {
  readonly store: string;
  readonly op: string;
  readonly mode: string;
  readonly ops: number;
  readonly opsPerSec: number;
  readonly p50us: number | null;
  readonly p99us: number | null;
}

function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

type Op = (i: number, now: number) => Promise<unknown>;

async function sequential(store: string, op: string, run: Op, batch: number): Promise<Row> {
  const samples: number[] = [];
  let i = 0;
  const warmEnd = performance.now() + Math.min(300, DURATION_MS / 3);
  while (performance.now() < warmEnd) await run(i++, 1e12 + i);
  const start = performance.now();
  const end = start + DURATION_MS;
  let ops = 0;
  while (performance.now() < end) {
    const t = process.hrtime.bigint();
    for (let b = 0; b < batch; b++) await run(i++, 1e12 + i);
    samples.push(Number(process.hrtime.bigint() - t) / 1000 / batch);
    ops += batch;
  }
  const elapsed = performance.now() - start;
  samples.sort((a, b) => a - b);
  return {
    store,
    op,
    mode: 'sequential',
    ops,
    opsPerSec: (ops / elapsed) * 1000,
    p50us: percentile(samples, 0.5),
    p99us: percentile(samples, 0.99),
  };
}

async function concurrent(store: string, op: string, run: Op): Promise<Row> {
  let i = 0;
  let ops = 0;
  const start = performance.now();
  const end = start + DURATION_MS;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        await run(i++, 1e12 + i);
        ops++;
      }
    }),
  );
  const elapsed = performance.now() - start;
  return {
    store,
    op,
    mode: `${CONCURRENCY} in flight`,
    ops,
    opsPerSec: (ops / elapsed) * 1000,
    p50us: null,
    p99us: null,
  };
}

function ops(store: LimiterStore): { acquire: Op; admit: Op } {
  const limiter = new RateLimiter({ storeFor: () => store });
  const params = LIMIT.kinds[0].params;
  return {
    acquire: (i, now) =>
      store.acquire(`${LIMIT.kinds[0].keyPrefix}tenant=tenant-${i % TENANTS}`, params, 1, now),
    admit: async (i, now) => {
      const a = await limiter.admit([LIMIT], { ctx: CONTEXTS[i % TENANTS], route: 'chat' }, now);
      await a.reservation.reconcile(300, now);
    },
  };
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const memory = ops(new MemoryStore());
  rows.push(await sequential('memory', 'acquire (1 limit)', memory.acquire, BATCH));
  rows.push(await sequential('memory', 'admit+reconcile (req+tok)', memory.admit, BATCH));

  const server = await startRedis();
  if (server === null) {
    console.warn('redis-server is not installed: Redis rows skipped');
  } else {
    const redis = new RedisStore({ url: server.url, commandTimeoutMs: 1_000 });
    await redis.ready();
    const timed = ops(new ResilientStore(redis, { onStoreError: 'open', timeoutMs: 100 }));
    const untimed = ops(new ResilientStore(redis, { onStoreError: 'open', timeoutMs: 0 }));
    const r = ops(redis);
    rows.push(await sequential('redis', 'acquire (1 limit)', r.acquire, 1));
    rows.push(await sequential('redis+resilient(timer)', 'acquire (1 limit)', timed.acquire, 1));
    rows.push(await sequential('redis+resilient(timeoutMs 0)', 'acquire (1 limit)', untimed.acquire, 1));
    rows.push(await sequential('redis', 'admit+reconcile (req+tok)', r.admit, 1));
    rows.push(await concurrent('redis', 'acquire (1 limit)', r.acquire));
    rows.push(await concurrent('redis', 'admit+reconcile (req+tok)', r.admit));
    await redis.close();
    await server.stop();
  }

  const fmt = (n: number | null, digits = 1) => (n === null ? '-' : n.toFixed(digits));
  console.log(`\nlimit checks, ${DURATION_MS} ms per row, node ${process.version}\n`);
  console.log('| store | operation | mode | ops/s | p50 (µs) | p99 (µs) |');
  console.log('|---|---|---|---:|---:|---:|');
  for (const row of rows) {
    console.log(
      `| ${row.store} | ${row.op} | ${row.mode} | ${Math.round(row.opsPerSec).toLocaleString('en-US')} | ${fmt(row.p50us, 2)} | ${fmt(row.p99us, 2)} |`,
    );
  }
}

await main();
