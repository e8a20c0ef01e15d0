/**
 * Cache benchmarks: key computation, store hits (memory and, when redis-server is installed,
 * Redis), stream replay and assembly. Run with `npx tsx bench/cache.ts`. Latencies are per
 * operation; fast operations are timed in batches (per-op = batch time / batch size) so the timer's
 * own cost does not dominate, and p50/p99 are over batches.
 */
import { compileCacheKey, requestCacheKey } from '../engine/cache/keys.js';
import { MemoryCacheStore } from '../engine/cache/memory-store.js';
import { RedisCacheStore } from '../engine/cache/redis-store.js';
import type { CachedAnswer } from '../engine/cache/store.js';
import { assembleStream, replayStream } from '../engine/cache/stream.js';
import type { RequestContext } from '../engine/types.js';
import { startRedis } from '../test/support/redis.js';

interface Row {
  readonly name: string;
  readonly opsPerSec: number;
  readonly p50us: number;
  readonly p99us: number;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/** Memory store rows: many quick calls per timed batch. */
const MEMORY_OPS = { batch: 1_000, batches: 200, async: true };
/** Redis rows: one network round trip per timed batch. */
const REDIS_OPS = { batch: 1, batches: 5_000, async: true };

async function measure(
  name: string,
  op: () => unknown | Promise<unknown>,
  options: { batch: number; batches: number; async?: boolean },
): Promise<Row> {
  // Warm up (JIT, connection).
  for (let i = 0; i < options.batch * 5; i++) {
    const r = op();
    if (options.async) await r;
  }
  const perOp: number[] = [];
  let total = 0n;
  for (let b = 0; b < options.batches; b++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < options.batch; i++) {
      const r = op();
      if (options.async) await r;
    }
    const elapsed = process.hrtime.bigint() - start;
    total += elapsed;
    perOp.push(Number(elapsed) / options.batch / 1_000);
  }
  perOp.sort((a, b) => a - b);
  const ops = options.batch * options.batches;
  return {
    name,
    opsPerSec: ops / (Number(total) / 1e9),
    p50us: percentile(perOp, 0.5),
    p99us: percentile(perOp, 0.99),
  };
}

function ctx(body: Record<string, unknown>, headers: Record<string, string> = {}): RequestContext {
  return {
    path: '/v1/chat/completions',
    endpoint: 'chat',
    model: String(body.model),
    body,
    headers,
    tenant: 'acme',
    labels: {},
    metadata: { app: 'support' },
    stream: false,
    tools: false,
    inputTokens: 0,
    inputChars: 0,
    seed: 0,
  };
}

const lorem = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor. ';
const small = ctx({
  model: 'gpt-5',
  temperature: 0,
  messages: [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: 'What is the capital of France?' },
  ],
});
const large = ctx({
  model: 'gpt-5',
  temperature: 0.2,
  max_tokens: 1024,
  tools: Array.from({ length: 5 }, (_, i) => ({
    type: 'function',
    function: { name: `tool_${i}`, parameters: { type: 'object', properties: { q: { type: 'string' } } } },
  })),
  messages: Array.from({ length: 20 }, (_, i) => ({
    role: i % 2 === 0 ? 'user' : 'assistant',
    content: lorem.repeat(6),
  })),
});
const idempotent = ctx(small.body as Record<string, unknown>, { 'idempotency-key': 'req-123' });

function answer(chars: number): CachedAnswer {
  return {
    body: {
      id: 'chatcmpl-1',
      object: 'chat.completion',
      created: 1_700_000_000,
      model: 'gpt-5-nano',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: lorem.repeat(Math.ceil(chars / lorem.length)).slice(0, chars),
          },
          finish_reason: 'stop',
        },
      ],
      usage: { prompt_tokens: 20, completion_tokens: 100, total_tokens: 120 },
    },
    model: 'gpt-5-nano',
    usage: { promptTokens: 20, completionTokens: 100, totalTokens: 120 },
    storedAt: 0,
    target: 'fast',
  };
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const keyOf = compileCacheKey({
    cache: 'faq',
    fields: ['model', 'messages', 'temperature', 'tools', 'metadata.app'],
  });
  const wholeBody = compileCacheKey({ cache: 'faq' });
  const largeChars = JSON.stringify(large.body).length;

  rows.push(
    await measure('key: small request (2 msgs)', () => keyOf(small, 'chat'), { batch: 1_000, batches: 200 }),
  );
  rows.push(
    await measure(
      `key: large request (20 msgs, 5 tools, ${(largeChars / 1024).toFixed(1)} KiB)`,
      () => keyOf(large, 'chat'),
      {
        batch: 100,
        batches: 200,
      },
    ),
  );
  rows.push(
    await measure('key: whole body (default), large', () => wholeBody(large, 'chat'), {
      batch: 100,
      batches: 200,
    }),
  );
  rows.push(
    await measure('key: idempotency key', () => requestCacheKey(keyOf, 'faq', idempotent, 'chat'), {
      batch: 1_000,
      batches: 200,
    }),
  );

  const memory = new MemoryCacheStore({ maxEntries: 100_000 });
  const small1k = answer(1_000);
  const big8k = answer(8_000);
  await memory.set('s', small1k, 3_600_000, 0);
  await memory.set('b', big8k, 3_600_000, 0);
  rows.push(await measure('memory get hit (1 KB answer)', () => memory.get('s', 1), MEMORY_OPS));
  rows.push(await measure('memory get hit (8 KB answer)', () => memory.get('b', 1), MEMORY_OPS));
  rows.push(await measure('memory get miss', () => memory.get('none', 1), MEMORY_OPS));
  let n = 0;
  rows.push(
    await measure(
      'memory set (1 KB answer)',
      () => memory.set(`k${n++ % 50_000}`, small1k, 3_600_000, 0),
      MEMORY_OPS,
    ),
  );

  rows.push(
    await measure('replay as SSE (1 KB answer, usage)', () => replayStream(small1k, { includeUsage: true }), {
      batch: 1_000,
      batches: 100,
    }),
  );
  const data = (replayStream(small1k, { includeUsage: true }) ?? []).map((f) => f.slice(6, -2));
  rows.push(
    await measure('assemble stream (1 KB answer)', () => assembleStream(data), {
      batch: 1_000,
      batches: 100,
    }),
  );

  const server = await startRedis();
  if (server === null) console.log('redis-server not installed: Redis rows skipped');
  else {
    const redis = new RedisCacheStore({ url: server.url });
    const deadline = Date.now() + 5_000;
    while (!redis.connected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await redis.set('s', small1k, 3_600_000, 0);
    await redis.set('b', big8k, 3_600_000, 0);
    rows.push(await measure('redis get hit (1 KB answer)', () => redis.get('s', 1), REDIS_OPS));
    rows.push(await measure('redis get hit (8 KB answer)', () => redis.get('b', 1), REDIS_OPS));
    rows.push(await measure('redis get miss', () => redis.get('none', 1), REDIS_OPS));
    rows.push(
      await measure(
        'redis set (1 KB answer)',
        () => redis.set(`k${n++ % 5_000}`, small1k, 60_000, 0),
        REDIS_OPS,
      ),
    );
    await redis.close();
    await server.stop();
  }

  const width = Math.max(...rows.map((r) => r.name.length));
  console.log(
    `${'operation'.padEnd(width)} | ${'ops/s'.padStart(11)} | ${'p50 µs'.padStart(8)} | ${'p99 µs'.padStart(8)}`,
  );
  console.log(`${'-'.repeat(width)}-|-${'-'.repeat(11)}-|-${'-'.repeat(8)}-|-${'-'.repeat(8)}`);
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(width)} | ${Math.round(r.opsPerSec).toLocaleString('en-US').padStart(11)} | ${r.p50us.toFixed(2).padStart(8)} | ${r.p99us.toFixed(2).padStart(8)}`,
    );
  }
  console.log(`node ${process.version}, ${process.platform}/${process.arch}`);
}

await main();
