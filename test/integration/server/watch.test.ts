/** The policy watcher: which changes count, Kubernetes ConfigMap swaps and directories of fragments. */

import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
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

/**
 * A ConfigMap volume as the kubelet lays it out: `..2026_01/policy.yaml`, `..data` → `..2026_01`,
 * and `policy.yaml` → `..data/policy.yaml`.
 */
function configMapVolume(version: string): string {
  const dir = tempDir();
  mkdirSync(join(dir, '..2026_01'));
  writeFileSync(join(dir, '..2026_01', 'policy.yaml'), policyYaml({ version }));
  symlinkSync('..2026_01', join(dir, '..data'));
  symlinkSync(join('..data', 'policy.yaml'), join(dir, 'policy.yaml'));
  return dir;
}

/** What the kubelet does on an update: write the new version aside, then atomically re-point `..data`. */
function updateConfigMap(dir: string, stamp: string, version: string): void {
  mkdirSync(join(dir, `..2026_${stamp}`));
  writeFileSync(join(dir, `..2026_${stamp}`, 'policy.yaml'), policyYaml({ version }));
  symlinkSync(`..2026_${stamp}`, join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
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
    const dir = configMapVolume('cm-1');

    const server: SwitchyardServer = await createServer({
      policyPath: join(dir, 'policy.yaml'),
      port: 0,
      logger: false,
      watchDebounceMs: 30,
    });
    cleanups.push(() => server.close());
    expect(server.manager.current?.identity.version).toBe('cm-1');

    updateConfigMap(dir, '02', 'cm-2');
    rmSync(join(dir, '..2026_01'), { recursive: true });

    await waitFor(() => server.manager.current?.identity.version === 'cm-2', 'the swapped ConfigMap');
  });
});

// Each case waits for up to three reloads in turn, 8 s each at worst on a loaded CI machine: the
// file-wide 30 s would cut a slow but passing case short, so these cases get room for all three.
describe('hot reload when the watched path itself is replaced', { timeout: 60_000 }, () => {
  async function serveWatching(policyPath: string): Promise<SwitchyardServer> {
    const server = await createServer({ policyPath, port: 0, logger: false, watchDebounceMs: 30 });
    cleanups.push(() => server.close());
    return server;
  }

  async function expectVersion(server: SwitchyardServer, version: string): Promise<void> {
    await waitFor(() => server.manager.current?.identity.version === version, `version ${version}`, 8000);
    const res = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'special', messages: [{ role: 'user', content: 'hi' }] }),
      signal: AbortSignal.timeout(10_000),
    });
    expect(res.headers.get('x-switchyard-policy')).toMatch(new RegExp(`^demo@${version}\\+`));
  }

  it('a watched directory deleted and recreated', async () => {
    const parent = tempDir();
    const policies = join(parent, 'policies');
    mkdirSync(policies);
    writeFileSync(join(policies, 'policy.yaml'), policyYaml({ version: 'dir-1' }));
    const server = await serveWatching(policies);
    expect(server.manager.current?.identity.version).toBe('dir-1');

    rmSync(policies, { recursive: true });
    // The reload of the missing directory fails; the last good version keeps serving.
    await waitFor(
      () => server.manager.lastResult?.ok === false,
      'the failed reload of the missing directory',
    );
    expect(server.manager.current?.identity.version).toBe('dir-1');
    mkdirSync(policies);
    writeFileSync(join(policies, 'policy.yaml'), policyYaml({ version: 'dir-2' }));
    await expectVersion(server, 'dir-2');

    // And the new directory is watched in its turn.
    writeFileSync(join(policies, 'policy.yaml'), policyYaml({ version: 'dir-3' }));
    await expectVersion(server, 'dir-3');
  });

  it('a watched single file deleted and recreated', async () => {
    const dir = tempDir();
    const file = join(dir, 'policy.yaml');
    writeFileSync(file, policyYaml({ version: 'file-1' }));
    const server = await serveWatching(file);
    unlinkSync(file);
    await waitFor(() => server.manager.lastResult?.ok === false, 'the failed reload of the missing file');
    expect(server.manager.current?.identity.version).toBe('file-1');
    writeFileSync(file, policyYaml({ version: 'file-2' }));
    await expectVersion(server, 'file-2');
    writeFileSync(file, policyYaml({ version: 'file-3' }));
    await expectVersion(server, 'file-3');
  });

  it('a ConfigMap mounted as the policy directory: ..data swapped, files reached through it', async () => {
    const mount = configMapVolume('cmdir-1');
    const server = await serveWatching(mount);
    expect(server.manager.current?.identity.version).toBe('cmdir-1');

    for (const [n, version] of [
      ['02', 'cmdir-2'],
      ['03', 'cmdir-3'],
    ]) {
      updateConfigMap(mount, n, version);
      await expectVersion(server, version);
    }
  });

  it('the policy directory is a symlink, swapped atomically to another directory', async () => {
    const parent = tempDir();
    for (const v of ['1', '2', '3']) {
      mkdirSync(join(parent, `release-${v}`));
      writeFileSync(join(parent, `release-${v}`, 'policy.yaml'), policyYaml({ version: `link-${v}` }));
    }
    const current = join(parent, 'current');
    symlinkSync('release-1', current);
    const server = await serveWatching(current);
    expect(server.manager.current?.identity.version).toBe('link-1');

    for (const v of ['2', '3']) {
      symlinkSync(`release-${v}`, join(parent, 'current.tmp'));
      renameSync(join(parent, 'current.tmp'), current);
      await expectVersion(server, `link-${v}`);
    }
    // Edits inside the directory it points to now are seen too.
    writeFileSync(join(parent, 'release-3', 'policy.yaml'), policyYaml({ version: 'link-3b' }));
    await expectVersion(server, 'link-3b');
  });
});
