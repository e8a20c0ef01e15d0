import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../../cli/main.js';

const root = join(import.meta.dirname, '../../..');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function run(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const io = {
    stdout: {
      write: (s: string) => {
        out += s;
      },
    },
    stderr: {
      write: (s: string) => {
        out += s;
      },
    },
    env: {},
  };
  const code = await main(args, io as never);
  return { code, out };
}

describe('switchyard diff', () => {
  it('says what changed, in words and in decisions; --exit-code exits 1 on a change', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-diff-'));
    dirs.push(dir);
    const changed = readFileSync(join(root, 'policies/quickstart.yaml'), 'utf8')
      .replace('targets: [primary, backup]', 'targets: [backup, primary]')
      .replace(
        '  echo:    { provider: steady, model: "*" }',
        '  echo:    { provider: steady, model: "*" }\n  spare:   { provider: steady, model: mock-spare }',
      );
    writeFileSync(join(dir, 'q.yaml'), changed);
    const { code, out } = await run([
      'diff',
      join(root, 'policies/quickstart.yaml'),
      join(dir, 'q.yaml'),
      '--exit-code',
    ]);
    expect(code).toBe(1);
    expect(out).toContain('~ route "chat": targets [primary, backup] → [backup, primary]');
    expect(out).toContain('+ model "spare"');
    expect(out).toMatch(/behaviour: [1-9]\d* of \d+ sampled requests decide differently/);
    expect(out).toContain('chat [primary, backup]  →  chat [backup, primary]');
  });

  it('reports nothing for the same policy, and exits 0 with --exit-code', async () => {
    const path = join(root, 'policies/support-bot');
    const { code, out } = await run(['diff', path, path, '--exit-code']);
    expect(code).toBe(0);
    expect(out).toContain('no structural change');
    expect(out).toMatch(/behaviour: 0 of \d+ sampled requests/);
  });

  it('needs exactly two policies', async () => {
    expect((await run(['diff', join(root, 'policies/quickstart.yaml')])).code).toBe(2);
  });
});
