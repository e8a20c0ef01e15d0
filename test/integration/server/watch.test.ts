/** The policy watcher: which changes count, Kubernetes ConfigMap swaps and directories of fragments. */

import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type SwitchyardServer } from '../../../server/app.js';
import { isRelevantChange, watchPolicy } from '../../../server/watch.js';
import { policyYaml, waitFor } from './helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-watch-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('isRelevantChange', () => {
  const root = '/etc/switchyard';
  it.each([
    ['policy.yaml', 'policy.yaml', true],
    ['other.yaml', 'policy.yaml', false],
    ['.policy.yaml.swp', 'policy.yaml', false],
    ['..data', 'policy.yaml', true],
    ['..2026_11_23/policy.yaml', 'policy.yaml', false],
    ['routes/chat.yaml', null, true],
    ['routes/chat.yml', null, true],
    ['chat.test.yaml', null, false],
    ['.hidden/chat.yaml', null, false],
    ['notes.md', null, false],
    ['..data', null, true],
  ])('%s (file %s) → %s', (rel, single, expected) => {
    expect(isRelevantChange(root, join(root, rel), single)).toBe(expected);
  });

  it('ignores paths outside the root', () => {
    expect(isRelevantChange(root, '/etc/other/policy.yaml', 'policy.yaml')).toBe(false);
  });
});

describe('watchPolicy', () => {
  it('debounces a burst of writes in a fragment directory into one callback', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a.yaml'), 'a: 1');
    let calls = 0;
    const watcher = await watchPolicy({ policyPath: dir, debounceMs: 80, onChange: () => calls++ });
    cleanups.push(() => watcher.close());
    await watcher.ready;
    for (let i = 0; i < 5; i++) writeFileSync(join(dir, 'a.yaml'), `a: ${i}`);
    writeFileSync(join(dir, 'notes.txt'), 'irrelevant');
    await waitFor(() => calls > 0, 'a change callback');
    await new Promise((r) => setTimeout(r, 200));
    expect(calls).toBe(1);
  });

  it('a Kubernetes ConfigMap swap (..data symlink) reloads the policy', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, '..2026_01'));
    writeFileSync(join(dir, '..2026_01', 'policy.yaml'), policyYaml({ version: 'cm-1' }));
    symlinkSync('..2026_01', join(dir, '..data'));
    symlinkSync(join('..data', 'policy.yaml'), join(dir, 'policy.yaml'));

    const server: SwitchyardServer = await createServer({
      policyPath: join(dir, 'policy.yaml'),
      port: 0,
      logger: false,
      watchDebounceMs: 30,
    });
    cleanups.push(() => server.close());
    expect(server.manager.current?.identity.version).toBe('cm-1');

    // What the kubelet does: write the new version aside, then atomically re-point `..data`.
    mkdirSync(join(dir, '..2026_02'));
    writeFileSync(join(dir, '..2026_02', 'policy.yaml'), policyYaml({ version: 'cm-2' }));
    symlinkSync('..2026_02', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    rmSync(join(dir, '..2026_01'), { recursive: true });

    await waitFor(() => server.manager.current?.identity.version === 'cm-2', 'the swapped ConfigMap');
  });
});
