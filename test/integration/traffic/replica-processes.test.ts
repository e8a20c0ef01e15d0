/**
 * Accuracy across replicas, with real processes: two `switchyard serve` processes share one
 * Redis and one limit of N requests per window; a concurrent burst spread over both admits
 * exactly N in total. Skipped, with the reason printed, without redis-server.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_NODE_ARGS } from '../../support/cli-process.js';
import { mockPolicyYaml } from '../../support/policies.js';
import { type RedisServer, redisAvailable, redisSkipReason, startRedis } from '../../support/redis.js';

if (!redisAvailable) console.warn(redisSkipReason);

const root = join(import.meta.dirname, '../../..');
const LIMIT = 40;
const BURST = 150;

let redis: RedisServer | null = null;
let dir = '';
const children: ChildProcess[] = [];

function startServer(policyPath: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [...CLI_NODE_ARGS, 'serve', '--policy', policyPath, '--port', '0', '--no-watch', '--log-level', 'warn'],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${out}${err}`)), 20_000);
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1], child });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}: ${out}${err}`));
    });
  });
}

beforeAll(async () => {
  redis = await startRedis();
  dir = await mkdtemp(join(tmpdir(), 'sy-replicas-'));
});

afterAll(async () => {
  for (const child of children) {
    if (child.exitCode === null) {
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    }
  }
  await redis?.stop();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!redisAvailable)('two gateway processes sharing one Redis', () => {
  it(`admit exactly ${LIMIT} of ${BURST} concurrent requests`, async () => {
    if (redis === null) throw new Error('redis-server did not start');
    const policyPath = join(dir, 'policy.yaml');
    await writeFile(
      policyPath,
      mockPolicyYaml({
        name: 'replicas',
        models: '  echo: { provider: demo, model: mock-echo }',
        sections: `stores:
  redis: { url: "${redis.url}", commandTimeout: 2s }
limits:
  shared: { key: [route], requests: ${LIMIT}/hour, store: redis, onStoreError: closed }
`,
        routes: `  - name: chat
    targets: [echo]
    limits: [shared]`,
      }),
    );
    const [a, b] = await Promise.all([startServer(policyPath), startServer(policyPath)]);
    const body = JSON.stringify({ model: 'gpt-5', messages: [{ role: 'user', content: 'hi' }] });
    // Let both replicas finish connecting to Redis before the burst (closed mode refuses while not ready).
    for (let i = 0; i < 50; i++) {
      const readiness = await Promise.all([a, b].map((s) => fetch(`${s.url}/readyz`).then((r) => r.status)));
      if (readiness.every((s) => s === 200)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // Concurrent waves over both replicas. Waves (not one 150-wide burst) and a 2 s command
    // timeout keep each Redis call inside its bound on a loaded 2-core CI machine, where a
    // timed-out call would be refused by `onStoreError: closed` and blur what this test measures.
    const send = (i: number) =>
      fetch(`${(i % 2 === 0 ? a : b).url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      }).then(async (r) => {
        await r.arrayBuffer();
        return r.status;
      });
    const statuses: number[] = [];
    for (let wave = 0; wave < BURST; wave += 25) {
      const size = Math.min(25, BURST - wave);
      statuses.push(...(await Promise.all(Array.from({ length: size }, (_, i) => send(wave + i)))));
    }
    const admitted = statuses.filter((s) => s === 200).length;
    const limited = statuses.filter((s) => s === 429).length;
    console.info(`replicas: admitted ${admitted} of ${BURST} (limit ${LIMIT}), 429: ${limited}`);
    expect(admitted).toBe(LIMIT);
    expect(limited).toBe(BURST - LIMIT);
  });
});
