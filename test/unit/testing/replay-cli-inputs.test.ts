/**
 * `switchyard replay`'s input flags: --baseline, --scenario, --seed, --traffic-format, --rate,
 * --tenant. Mistakes in them exit 2 with a message naming the flag (a scenario's problems with
 * their file:line:column), before anything is replayed.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../cli/main.js';
import { loadPolicy } from '../../../engine/index.js';
import { recordTraffic } from '../../support/replay-traffic.js';

const root = join(import.meta.dirname, '../../..');
const quickstart = join(root, 'policies/quickstart.yaml');
const dir = mkdtempSync(join(tmpdir(), 'sy-replay-inputs-'));
const traffic = join(dir, 'traffic.jsonl');
const batch = join(dir, 'batch.jsonl');
const candidate = join(dir, 'candidate.yaml');

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io = {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    env: {},
  };
  const code = await main(['replay', '--quiet', ...args], io as never);
  return { code, out, err };
}

beforeAll(async () => {
  const loaded = await loadPolicy(quickstart);
  if (!loaded.ok) throw new Error('quickstart');
  await recordTraffic(
    loaded.policy,
    traffic,
    Array.from({ length: 12 }, (_, i) => ({ model: 'gpt-5', gapMs: 500, content: `q${i}` })),
  );
  writeFileSync(
    batch,
    Array.from({ length: 5 }, (_, i) =>
      JSON.stringify({
        custom_id: `b${i}`,
        method: 'POST',
        url: '/v1/chat/completions',
        body: { model: 'gpt-5', messages: [{ role: 'user', content: `b${i}` }] },
      }),
    ).join('\n'),
  );
  writeFileSync(
    candidate,
    readFileSync(quickstart, 'utf8').replace('targets: [primary, backup]', 'targets: [backup, primary]'),
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('replay input flags', () => {
  it('--baseline compares with another policy replayed the same way', async () => {
    const json = join(dir, 'baseline.json');
    const { code } = await run([
      '--policy',
      candidate,
      '--baseline',
      quickstart,
      '--traffic',
      traffic,
      '--json',
      json,
    ]);
    expect(code).toBe(0);
    const report = JSON.parse(readFileSync(json, 'utf8'));
    expect(report.comparison).toBe('policy');
    expect(report.baseline.label).toMatch(/^quickstart@/);
    expect(report.changed).toBeGreaterThan(0);
  });

  it('--scenario applies a valid file; a broken one exits 2 listing each problem at its place', async () => {
    const good = join(dir, 'good.yaml');
    writeFileSync(good, 'events:\n  - { provider: flaky, from: "+0s", for: 1h, outage: 503 }\n');
    const json = join(dir, 'scenario.json');
    const ok = await run(['--policy', quickstart, '--traffic', traffic, '--scenario', good, '--json', json]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(readFileSync(json, 'utf8'))).toMatchObject({
      scenario: good,
      candidate: { targets: { backup: 12 } },
    });

    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      'events:\n  - provider: flakey\n    from: "+0s"\n    for: 5m\n    outage: 503\n    latncy: 2s\n',
    );
    const failed = await run(['--policy', quickstart, '--traffic', traffic, '--scenario', bad]);
    expect(failed.code).toBe(2);
    expect(failed.err).toContain(`${bad}:2:15: no provider "flakey" in the policy (did you mean "flaky"?)`);
    expect(failed.err).toContain(`${bad}:6:5: unknown key "latncy" (did you mean "latency"?)`);
    expect(failed.out).toBe('');
  });

  it('--traffic-format, --rate and --tenant for traffic no Switchyard recorded', async () => {
    const json = join(dir, 'batch.json');
    const { code } = await run([
      '--policy',
      quickstart,
      '--traffic',
      batch,
      '--rate',
      '120/min',
      '--json',
      json,
    ]);
    expect(code).toBe(0);
    const report = JSON.parse(readFileSync(json, 'utf8'));
    expect(report).toMatchObject({
      comparison: 'none',
      tenant: null,
      total: 5,
      traffic: { format: 'batch', from: '2000-01-01T00:00:00.000Z', to: '2000-01-01T00:00:02.000Z' },
    });
    expect((await run(['--policy', quickstart, '--traffic', batch, '--traffic-format', 'plain'])).code).toBe(
      0,
    );
  });

  it('mistakes exit 2 and say which flag', async () => {
    const base = ['--policy', quickstart, '--traffic', traffic];
    const cases: [string[], string][] = [
      [['--traffic-format', 'csv'], '--traffic-format must be one of switchyard, batch, plain'],
      [['--seed', '1.5'], '--seed takes an integer'],
      [['--baseline', join(dir, 'nope.yaml')], '--baseline: no such file or directory'],
      [['--scenario', join(dir, 'nope.yaml')], '--scenario: no such file'],
    ];
    for (const [args, message] of cases) {
      const r = await run([...base, ...args]);
      expect(r.code).toBe(2);
      expect(r.err).toContain(message);
    }
    const rate = await run(['--policy', quickstart, '--traffic', batch, '--rate', 'quickly']);
    expect(rate).toMatchObject({ code: 2, err: expect.stringContaining('--rate: invalid rate "quickly"') });
    const tenant = await run(['--policy', quickstart, '--traffic', batch, '--tenant', 'acme']);
    expect(tenant).toMatchObject({ code: 2, err: expect.stringContaining('declares no tenant "acme"') });
    const odd = join(dir, 'odd.jsonl');
    writeFileSync(odd, '{"rows": [1, 2]}\n');
    const unknown = await run(['--policy', quickstart, '--traffic', odd]);
    expect(unknown).toMatchObject({
      code: 2,
      err: expect.stringContaining('cannot tell the traffic format'),
    });
  });
});
