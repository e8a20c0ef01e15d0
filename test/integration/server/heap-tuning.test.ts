/**
 * `switchyard serve` sizes its own heap (cli/heap-tuning.ts): the young generation stays within
 * its cap through start-up and a burst of requests (JSON answers, which promote little, so the
 * lower cap), and grows under the burst (the start-up hold is released), read from the process's own Prometheus metrics. With `SWITCHYARD_HEAP_TUNING=off` V8 grows it past the cap in the same run, which
 * shows the check can fail. If a Node release stops reading the flags at run time, this fails:
 * the tuning would then silently do nothing.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { YOUNG_SEMI_SPACE_LOW_MB, YOUNG_SEMI_SPACE_MB } from '../../../cli/heap-tuning.js';
import { type ServeProcess, startServe } from './child.js';
import { chatBody, policyYaml } from './helpers.js';

let dir = '';
const started: ServeProcess[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'switchyard-heap-'));
  writeFileSync(join(dir, 'policy.yaml'), policyYaml());
});

afterAll(async () => {
  await Promise.all(started.splice(0).map((p) => p.stop()));
  rmSync(dir, { recursive: true, force: true });
});

async function newSpaceAfterBurst(env: Record<string, string>): Promise<number> {
  const p = await startServe(
    ['--policy', join(dir, 'policy.yaml'), '--no-watch', '--log-level', 'warn'],
    30_000,
    env,
  );
  started.push(p);
  const body = JSON.stringify(chatBody({ messages: [{ role: 'user', content: 'x'.repeat(2000) }] }));
  // Enough requests, 50 at a time, that V8's default young generation grows past the cap: a
  // request allocates less than it did, and 500 of them, 25 at a time, no longer made it grow.
  for (let wave = 0; wave < 40; wave++) {
    await Promise.all(
      Array.from({ length: 50 }, () =>
        fetch(`${p.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        }).then((r) => r.text()),
      ),
    );
  }
  const metrics = await (await fetch(`${p.url}/metrics`)).text();
  const m = /^nodejs_heap_space_size_total_bytes\{space="new"\} (\d+)$/m.exec(metrics);
  if (m === null) throw new Error('no new-space size in /metrics');
  await p.stop();
  return Number(m[1]);
}

describe('the serve process sizes its young generation', () => {
  it(`keeps it within ${YOUNG_SEMI_SPACE_LOW_MB} MB per semi-space through start-up and a burst of JSON answers; V8's default grows past ${YOUNG_SEMI_SPACE_MB} MB`, async () => {
    const cap = 2 * YOUNG_SEMI_SPACE_MB * 1024 * 1024;
    const tuned = await newSpaceAfterBurst({});
    expect(tuned).toBeLessThanOrEqual(2 * YOUNG_SEMI_SPACE_LOW_MB * 1024 * 1024);
    // Held at V8's initial 1 MB during start-up only: under load it grows again.
    expect(tuned).toBeGreaterThan(1024 * 1024);
    expect(await newSpaceAfterBurst({ SWITCHYARD_HEAP_TUNING: 'off' })).toBeGreaterThan(cap);
  }, 120_000);
});
