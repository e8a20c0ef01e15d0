import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadPolicy, parsePolicy } from '../../../engine/index.js';

const BASE = `switchyard: v1
policy: { name: p, version: "1" }
providers:
  demo: { kind: mock }
models:
  fast: { provider: demo, model: m }
routes:
  - name: chat
    targets: [fast]
`;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sy-compile-rec-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('compile: recording', () => {
  it('is null without a block', () => {
    const loaded = parsePolicy([{ file: 'p.yaml', text: BASE }]);
    expect(loaded.ok && loaded.policy.recording).toBeNull();
  });

  it('resolves a relative path against the fragment that declares it, with defaults filled in', async () => {
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'main.yaml'), BASE);
    writeFileSync(
      join(dir, 'sub', 'recording.yaml'),
      'recording:\n  path: ../logs/traffic.jsonl\n  headers: [X-Team, x-team, x-tenant-tier]\n',
    );
    const loaded = await loadPolicy(dir, { env: {} });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.diagnostics));
    expect(loaded.policy.recording).toEqual({
      path: resolve(dir, 'logs', 'traffic.jsonl'),
      content: 'hash',
      headers: ['x-team', 'x-tenant-tier'],
      rotate: null,
    });
  });

  it('keeps an absolute path, and parses the rotation size', () => {
    const abs = join(dir, 'abs.jsonl');
    const loaded = parsePolicy([
      {
        file: 'p.yaml',
        text: `${BASE}recording: { path: "${abs}", content: drop, rotate: { size: 10mb } }\n`,
      },
    ]);
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.diagnostics));
    expect(loaded.policy.recording).toEqual({
      path: abs,
      content: 'drop',
      headers: [],
      rotate: { maxBytes: 10 * 1024 * 1024, keep: 5 },
    });
  });

  it('changing the block is a new version (a reload swaps it in)', () => {
    const a = parsePolicy([{ file: 'p.yaml', text: `${BASE}recording: { path: a.jsonl }\n` }]);
    const b = parsePolicy([{ file: 'p.yaml', text: `${BASE}recording: { path: b.jsonl }\n` }]);
    if (!a.ok || !b.ok) throw new Error('invalid');
    expect(a.policy.identity.hash).not.toBe(b.policy.identity.hash);
  });
});
