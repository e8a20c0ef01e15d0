/**
 * Loading next to live traffic: the compile in slices gives the event loop turns and builds the
 * same policy as the one-go compile; the worker-backed loader gives the same result as
 * `loadPolicy`, diagnostics included.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compilePolicy, compilePolicyInSlices } from '../../../engine/compile/compile.js';
import { loadPolicy } from '../../../engine/compile/load-policy.js';
import { createPolicyLoader } from '../../../engine/compile/off-thread.js';
import { decide } from '../../../engine/decide.js';
import { ctxFor, policyFrom } from './helpers.js';

function manyRoutes(n: number): string {
  const lines = ['routes:'];
  for (let i = 0; i < n; i++)
    lines.push(`  - name: r${i}`, `    when: { model: m-${i} }`, '    targets: [fast, strong]');
  lines.push('  - name: rest', '    targets: [strong]');
  return lines.join('\n');
}

describe('compilePolicyInSlices', () => {
  it('builds the same policy as compilePolicy, frozen, and lets other work run in between', async () => {
    const policy = policyFrom(manyRoutes(200));
    const whole = compilePolicy(policy);
    let turns = 0;
    const tick = (): void => {
      turns++;
      if (!done) setImmediate(tick);
    };
    let done = false;
    setImmediate(tick);
    const sliced = await compilePolicyInSlices(policy, {}, 0);
    done = true;
    expect(turns).toBeGreaterThan(100);
    expect(sliced.identity).toEqual(whole.identity);
    expect(sliced.routes.map((r) => r.name)).toEqual(whole.routes.map((r) => r.name));
    expect(Object.isFrozen(sliced)).toBe(true);
    expect(Object.isFrozen(sliced.routes[150].definition.when)).toBe(true);
    expect(Object.isFrozen(sliced.document.routes)).toBe(true);
    for (const model of ['m-0', 'm-150', 'nope']) {
      const body = { model, messages: [{ role: 'user', content: 'hi' }] };
      expect(decide(sliced, ctxFor(sliced, { body }))).toEqual(decide(whole, ctxFor(whole, { body })));
    }
  });
});

describe('createPolicyLoader', () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-loader-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const header = [
    'switchyard: v1',
    'policy: { name: off-thread, version: "1" }',
    'providers: { demo: { kind: mock } }',
    'models:',
    '  fast: { provider: demo, model: fast-1 }',
    '  strong: { provider: demo, model: strong-1 }',
    'recording: { path: ./traffic.jsonl }',
  ].join('\n');

  it('loads in a worker what loadPolicy loads on this thread, and reports the same diagnostics', async () => {
    const good = join(dir, 'good.yaml');
    writeFileSync(good, `${header}\n${manyRoutes(50)}\n`);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, `${header}\nroutes:\n  - name: x\n    targets: [missing]\n`);
    const errors: Error[] = [];
    const loader = createPolicyLoader({ idleMs: 200, onWorkerError: (err) => errors.push(err) });
    try {
      const here = await loadPolicy(good);
      const there = await loader.load(good);
      expect(errors).toEqual([]);
      if (!here.ok || !there.ok) throw new Error('expected both loads to succeed');
      expect(there.policy.identity).toEqual(here.policy.identity);
      expect(there.policy.recording).toEqual(here.policy.recording);
      expect(there.policy.recording?.path).toBe(join(dir, 'traffic.jsonl'));
      expect(there.files).toEqual(here.files);
      expect(Object.isFrozen(there.policy.document)).toBe(true);

      const failedHere = await loadPolicy(bad);
      const failedThere = await loader.load(bad);
      expect(failedThere.ok).toBe(false);
      expect(failedThere.diagnostics).toEqual(failedHere.diagnostics);
      expect([...failedThere.sources]).toEqual([...failedHere.sources]);

      // After the worker's idle time it stops; the next load starts another one.
      await new Promise((resolve) => setTimeout(resolve, 400));
      const again = await loader.load(good);
      expect(again.ok && again.policy.identity.hash).toBe(here.policy.identity.hash);
      expect(errors).toEqual([]);
    } finally {
      await loader.close();
    }
  }, 60_000);

  it('loads the first policy in a child process with the same result, diagnostics included', async () => {
    const good = join(dir, 'child-good.yaml');
    writeFileSync(good, `${header}\n${manyRoutes(20)}\n`);
    const bad = join(dir, 'child-bad.yaml');
    writeFileSync(bad, `${header}\nroutes:\n  - name: x\n    targets: [missing]\n`);
    for (const [file, ok] of [
      [good, true],
      [bad, false],
    ] as const) {
      const errors: Error[] = [];
      const loader = createPolicyLoader({ firstLoadIn: 'process', onWorkerError: (err) => errors.push(err) });
      try {
        const here = await loadPolicy(file);
        const there = await loader.load(file);
        expect(errors).toEqual([]);
        expect(there.ok).toBe(ok);
        expect(there.diagnostics).toEqual(here.diagnostics);
        expect([...there.sources]).toEqual([...here.sources]);
        expect(there.files).toEqual(here.files);
        if (here.ok && there.ok) {
          expect(there.policy.identity).toEqual(here.policy.identity);
          expect(there.policy.recording?.path).toBe(join(dir, 'traffic.jsonl'));
        }
        // The next load goes to the worker, with the same answer.
        const next = await loader.load(file);
        expect(next.diagnostics).toEqual(here.diagnostics);
        expect(errors).toEqual([]);
      } finally {
        await loader.close();
      }
    }
  }, 60_000);

  it('runs that first load in a child process (node at process.execPath), and on this thread if it fails', async () => {
    const file = join(dir, 'child-fallback.yaml');
    writeFileSync(file, `${header}\n${manyRoutes(1)}\n`);
    const execPath = process.execPath;
    // No node there: the child cannot start, which only the child-process path notices.
    process.execPath = join(dir, 'no-node-here');
    const errors: Error[] = [];
    const loader = createPolicyLoader({ firstLoadIn: 'process', onWorkerError: (err) => errors.push(err) });
    try {
      const loaded = await loader.load(file);
      expect(loaded.ok).toBe(true);
      expect(errors.map((e) => e.message).join('\n')).toMatch(/ENOENT|no-node-here/);
    } finally {
      process.execPath = execPath;
      await loader.close();
    }
  }, 60_000);

  it('passes the environment of each load to the worker', async () => {
    const file = join(dir, 'env.yaml');
    writeFileSync(file, `${header.replace('version: "1"', `version: "\${VERSION}"`)}\n${manyRoutes(1)}\n`);
    const loader = createPolicyLoader();
    try {
      const a = await loader.load(file, { env: { VERSION: 'a' } });
      const b = await loader.load(file, { env: { VERSION: 'b' } });
      expect(a.ok && a.policy.identity.version).toBe('a');
      expect(b.ok && b.policy.identity.version).toBe('b');
    } finally {
      await loader.close();
    }
  }, 60_000);
});
