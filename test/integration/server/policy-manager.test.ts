/**
 * PolicyManager on a fake engine API: serialization and coalescing of reloads, failure handling,
 * rollback and the bounded history, without touching the disk.
 */

import { describe, expect, it } from 'vitest';
import type {
  CompiledPolicy,
  Diagnostic,
  Engine,
  FailedPolicy,
  LoadedPolicy,
} from '../../../engine/index.js';
import { type PolicyEngineApi, PolicyManager } from '../../../server/policy-manager.js';

type Outcome = { version: string } | { error: string };

function fakePolicy(version: string): CompiledPolicy {
  // Only the fields the manager and the server read; the rest is never touched by these tests.
  const partial = {
    identity: { name: 'fake', version, hash: `hash-${version}` },
    acceptedModels: [],
    requiresAuth: false,
  };
  return partial as unknown as CompiledPolicy;
}

function diagnostic(message: string): Diagnostic {
  return {
    code: 'SCHEMA_TEST',
    severity: 'error',
    message,
    file: 'p.yaml',
    line: 3,
    column: 5,
    pointer: '/routes',
  };
}

/** A fake API whose loads resolve when the test says so. */
function fakeApi(outcomes: Outcome[]) {
  const pending: (() => void)[] = [];
  let loads = 0;
  let active = 0;
  let maxActive = 0;
  const swaps: string[] = [];
  const api: PolicyEngineApi = {
    async loadPolicy(): Promise<LoadedPolicy | FailedPolicy> {
      const outcome = outcomes[Math.min(loads, outcomes.length - 1)];
      loads++;
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise<void>((resolve) => pending.push(resolve));
      active--;
      const base = { sources: new Map<string, string>(), files: ['p.yaml'] };
      return 'error' in outcome
        ? { ok: false, diagnostics: [diagnostic(outcome.error)], ...base }
        : { ok: true, policy: fakePolicy(outcome.version), diagnostics: [], attachments: new Map(), ...base };
    },
    createEngine(policy: CompiledPolicy): Engine {
      let current = policy;
      swaps.push(policy.identity.version);
      const engine = {
        get policy() {
          return current;
        },
        swap(next: CompiledPolicy) {
          if (next.identity.hash === current.identity.hash) return { changed: false };
          current = next;
          swaps.push(next.identity.version);
          return { changed: true };
        },
        async close() {},
      };
      return engine as unknown as Engine;
    },
  };
  const release = async (): Promise<void> => {
    for (let i = 0; i < 50 && pending.length === 0; i++) await new Promise((r) => setTimeout(r, 1));
    pending.shift()?.();
  };
  return { api, release, swaps, stats: () => ({ loads, maxActive }) };
}

describe('PolicyManager', () => {
  it('serializes reloads and coalesces the ones requested meanwhile into one', async () => {
    const fake = fakeApi([{ version: '1' }, { version: '2' }, { version: '3' }]);
    const manager = new PolicyManager({ policyPath: 'p.yaml', api: fake.api });
    const first = manager.start();
    // Requests made before the queued load starts join it: it has not read the file yet.
    expect(manager.reload('watch')).toBe(first);
    await new Promise((r) => setTimeout(r, 5));
    expect(fake.stats().loads).toBe(1);
    // The first load is running now: later requests coalesce into one reload after it.
    const second = manager.reload('watch');
    expect(second).not.toBe(first);
    const third = manager.reload('watch');
    const fourth = manager.reload('signal');
    expect(third).toBe(second);
    expect(fourth).toBe(second);
    await fake.release();
    expect((await first).active?.version).toBe('1');
    await fake.release();
    expect((await second).active?.version).toBe('2');
    expect(fake.stats()).toEqual({ loads: 2, maxActive: 1 });
    expect(manager.current?.identity.version).toBe('2');
  });

  it('a failed reload keeps the serving version and records the diagnostics', async () => {
    const fake = fakeApi([{ version: '1' }, { error: 'broken' }]);
    const results: boolean[] = [];
    const manager = new PolicyManager({
      policyPath: 'p.yaml',
      api: fake.api,
      onResult: (r) => results.push(r.ok),
    });
    const start = manager.start();
    await fake.release();
    await start;
    const reload = manager.reload();
    await fake.release();
    const failed = await reload;
    expect(failed).toMatchObject({ ok: false, changed: false, active: { version: '1' } });
    expect(failed.diagnostics[0].message).toBe('broken');
    expect(manager.ready).toBe(true);
    expect(manager.current?.identity.version).toBe('1');
    expect(manager.lastError?.diagnostics).toHaveLength(1);
    expect(fake.swaps).toEqual(['1']);
    expect(results).toEqual([true, false]);
  });

  it('a failed first load leaves it not ready; a later good load makes it ready', async () => {
    const fake = fakeApi([{ error: 'nope' }, { version: '1' }]);
    const manager = new PolicyManager({ policyPath: 'p.yaml', api: fake.api });
    const start = manager.start();
    await fake.release();
    expect((await start).ok).toBe(false);
    expect(manager.ready).toBe(false);
    expect(manager.engine).toBeNull();
    const reload = manager.reload();
    await fake.release();
    expect((await reload).changed).toBe(true);
    expect(manager.ready).toBe(true);
    expect(manager.lastError).toBeNull();
  });

  it('identical content is a no-op; history is bounded; rollback steps back', async () => {
    const outcomes: Outcome[] = [
      { version: '1' },
      { version: '1' },
      { version: '2' },
      { version: '3' },
      { version: '4' },
    ];
    const fake = fakeApi(outcomes);
    const manager = new PolicyManager({ policyPath: 'p.yaml', api: fake.api, historySize: 3 });
    for (let i = 0; i < outcomes.length; i++) {
      const p = i === 0 ? manager.start() : manager.reload();
      await fake.release();
      const r = await p;
      if (i === 1) expect(r).toMatchObject({ ok: true, changed: false });
    }
    expect(manager.history().map((v) => v.identity.version)).toEqual(['4', '3', '2']);
    expect((await manager.rollback()).active?.version).toBe('3');
    expect((await manager.rollback()).active?.version).toBe('2');
    const none = await manager.rollback();
    expect(none.ok).toBe(false);
    expect(manager.current?.identity.version).toBe('2');
    expect(fake.swaps).toEqual(['1', '2', '3', '4', '3', '2']);
  });

  it('a loader that throws is a failed result, never a rejection', async () => {
    const api: PolicyEngineApi = {
      loadPolicy: async () => {
        throw new Error('disk on fire');
      },
      createEngine: () => {
        throw new Error('unreachable');
      },
    };
    const manager = new PolicyManager({ policyPath: 'p.yaml', api });
    const result = await manager.start();
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/disk on fire/);
  });
});
