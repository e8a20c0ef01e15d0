import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../cli/main.js';
import { createEngine, createRecorder, loadPolicy, VirtualClock } from '../../../engine/index.js';

const root = join(import.meta.dirname, '../../..');
const dir = mkdtempSync(join(tmpdir(), 'sy-replay-cli-'));
const traffic = join(dir, 'traffic.jsonl');
const candidate = join(dir, 'candidate.yaml');

async function run(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const write = (s: string): void => {
    out += s;
  };
  const code = await main(args, { stdout: { write }, stderr: { write }, env: {} } as never);
  return { code, out };
}

beforeAll(async () => {
  const loaded = await loadPolicy(join(root, 'policies/quickstart.yaml'));
  if (!loaded.ok) throw new Error('quickstart');
  const recorder = createRecorder({ path: traffic, content: 'drop' });
  const clock = new VirtualClock({ auto: true, start: Date.UTC(2026, 11, 7, 12) });
  const engine = createEngine(loaded.policy, { clock, recorder });
  for (let i = 0; i < 20; i++) {
    await engine.handle({
      body: { model: 'gpt-5', messages: [{ role: 'user', content: `q${i}` }] },
      headers: { 'x-request-id': `r${i}` },
    });
    await new Promise((resolve) => setImmediate(resolve));
    await clock.advance(500);
  }
  await recorder.close();
  await engine.close();
  appendFileSync(traffic, '{"v": 1, "this line was torn\n');
  writeFileSync(
    candidate,
    readFileSync(join(root, 'policies/quickstart.yaml'), 'utf8').replace(
      'targets: [primary, backup]',
      'targets: [backup, primary]',
    ),
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('switchyard replay', () => {
  it('under the policy that recorded it, nothing changes; a torn line is reported, not fatal', async () => {
    const { code, out } = await run([
      'replay',
      '--policy',
      join(root, 'policies/quickstart.yaml'),
      '--traffic',
      traffic,
    ]);
    expect(code).toBe(0);
    expect(out).toContain('replayed 20 requests under quickstart@');
    expect(out).toContain('20 unchanged, 0 changed, 0 unreplayable');
    expect(out).toContain('1 line(s) skipped: 21');
  });

  it('a candidate that reorders the targets changes what the primary served; --max-changed gates it', async () => {
    const json = join(dir, 'report.json');
    const args = ['replay', '--policy', candidate, '--traffic', traffic];
    const { code, out } = await run([...args, '--max-changed', '0', '--json', json]);
    expect(code).toBe(1);
    const report = JSON.parse(readFileSync(json, 'utf8')) as {
      total: number;
      unchanged: number;
      changed: number;
      simulatedAnswers: number;
      changes: { before: string; after: string }[];
    };
    expect(report.total).toBe(20);
    expect(report.changed).toBeGreaterThan(0);
    expect(report.unchanged + report.changed).toBe(20);
    // Each request the primary served is now served by the backup, which the recording never saw
    // answer it: one simulated answer each.
    expect(report.simulatedAnswers).toBe(report.changed);
    for (const c of report.changes)
      expect(c).toMatchObject({ before: 'chat 200 primary', after: 'chat 200 backup' });
    expect(out).toContain(`changed ${report.changed} > --max-changed 0`);
    expect((await run([...args, '--max-changed', '100%'])).code).toBe(0);
  });

  it('the sample recording in examples/ replays unchanged under the policy that recorded it', async () => {
    const { code, out } = await run([
      'replay',
      '--policy',
      join(root, 'policies/quickstart.yaml'),
      '--traffic',
      join(root, 'examples/traffic/quickstart.jsonl'),
      '--max-changed',
      '0',
    ]);
    expect(out).toContain('2000 unchanged, 0 changed, 0 unreplayable');
    expect(code).toBe(0);
  });

  it('usage errors exit 2', async () => {
    expect((await run(['replay', '--traffic', traffic])).code).toBe(2);
    expect((await run(['replay', '--policy', candidate, '--traffic', join(dir, 'missing.jsonl')])).code).toBe(
      2,
    );
    expect(
      (await run(['replay', '--policy', candidate, '--traffic', traffic, '--max-changed', 'lots'])).code,
    ).toBe(2);
  });
});
