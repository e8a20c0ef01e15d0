import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../cli/main.js';
import {
  createEngine,
  createRecorder,
  GATE_METRICS,
  loadPolicy,
  VirtualClock,
} from '../../../engine/index.js';

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
    expect(out).toContain('1 malformed line (skipped, never replayed)\n  line 21: ');
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
      changes: { before: { route: string; status: number; target: string }; after: unknown }[];
    };
    expect(report.total).toBe(20);
    expect(report.changed).toBeGreaterThan(0);
    expect(report.unchanged + report.changed).toBe(20);
    // Each request the primary served is now served by the backup, which the recording never saw
    // answer it: one simulated answer each.
    expect(report.simulatedAnswers).toBe(report.changed);
    for (const c of report.changes) {
      // The backup's prices are lower: the cost changes too.
      expect(c).toMatchObject({
        kinds: ['target', 'cost'],
        before: { route: 'chat', status: 200, target: 'primary' },
        after: { route: 'chat', status: 200, target: 'backup' },
      });
    }
    expect(out).toContain(`FAIL  --max-changed 0  ${report.changed} requests changed`);
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
    expect(out).toContain('2,000 unchanged, 0 changed, 0 unreplayable');
    expect(code).toBe(0);
  });

  it('the server-recorded sample (three tenants, streams, failures, cache repeats, 429s) replays unchanged', async () => {
    const { code, out } = await run([
      'replay',
      '--policy',
      join(root, 'policies/shared-gateway.yaml'),
      '--traffic',
      join(root, 'examples/traffic/shared-gateway.jsonl'),
      '--fail-on',
      'changed:0,simulated:0,malformed:0',
    ]);
    expect(out).toContain('3,000 unchanged, 0 changed, 0 unreplayable');
    // What makes it realistic is in the report: limited requests, fallbacks and cache hits.
    expect(out).toMatch(/rate-limited\s+[1-9]\d*\s+[1-9]\d*/);
    expect(out).toMatch(/fallbacks\s+[1-9]\d*\s+[1-9]\d*/);
    expect(out).toMatch(/cache hit rate\s+[1-9][\d.]*%/);
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

describe('switchyard replay: reports and CI gates', () => {
  const XSS = '<img src=x onerror=alert(1)>';
  const hostile = join(dir, 'hostile.jsonl');
  const quickstart = join(root, 'policies/quickstart.yaml');

  async function runSplit(args: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const code = await main(args, {
      stdout: { write: (s: string) => (out += s) },
      stderr: { write: (s: string) => (err += s) },
      env: {},
    } as never);
    return { code, out, err };
  }

  beforeAll(async () => {
    const loaded = await loadPolicy(quickstart);
    if (!loaded.ok) throw new Error('quickstart');
    const recorder = createRecorder({ path: hostile, content: 'drop' });
    const clock = new VirtualClock({ auto: true, start: Date.UTC(2026, 11, 7, 12) });
    const engine = createEngine(loaded.policy, { clock, recorder });
    for (let i = 0; i < 10; i++) {
      await engine.handle({
        body: { model: 'gpt-5', messages: [{ role: 'user', content: `q${i}` }] },
        headers: { 'x-request-id': `h${i}${XSS}` },
      });
      await new Promise((resolve) => setImmediate(resolve));
      await clock.advance(500);
    }
    await recorder.close();
    await engine.close();
  });

  it('exit 0 within the gates, and the verdict says which passed', async () => {
    const { code, out } = await run([
      'replay',
      '--policy',
      quickstart,
      '--traffic',
      traffic,
      '--fail-on',
      'new-errors,changed',
      '--fail-on',
      'cost-increase:10%',
      '--quiet',
    ]);
    expect(out).toContain('PASS  new-errors');
    expect(out).toContain('PASS  cost-increase:10%');
    expect(out).toContain('gates passed (3 of 3)');
    expect(code).toBe(0);
  });

  it('exit 1 outside a gate, naming the gate and why', async () => {
    const { code, out } = await run([
      'replay',
      '--policy',
      candidate,
      '--traffic',
      traffic,
      '--fail-on',
      'new-errors,changed-target:5%',
    ]);
    expect(code).toBe(1);
    expect(out).toContain('PASS  new-errors');
    expect(out).toMatch(
      /FAIL {2}changed-target:5% {2}\d+ requests changed serving target \(\d+\.\d%\); allowed 5% = 1\n/,
    );
    expect(out).toContain('gates failed: 1 of 2 (changed-target:5%)');
    expect(
      (await run(['replay', '--policy', candidate, '--traffic', traffic, '--fail-on', 'changed-target:100%']))
        .code,
    ).toBe(0);
  });

  it('exit 2 on a bad gate or an output that cannot be written, before replaying', async () => {
    const typo = await runSplit([
      'replay',
      '--policy',
      candidate,
      '--traffic',
      traffic,
      '--fail-on',
      'new-eror',
    ]);
    expect(typo.code).toBe(2);
    expect(typo.err).toContain('--fail-on: unknown gate "new-eror" (did you mean "new-errors"?)');
    const limit = await runSplit([
      'replay',
      '--policy',
      candidate,
      '--traffic',
      traffic,
      '--fail-on',
      'changed:many',
    ]);
    expect(limit.code).toBe(2);
    expect(limit.err).toContain('the limit after ":" is a number or a percentage');
    const html = await runSplit([
      'replay',
      '--policy',
      candidate,
      '--traffic',
      traffic,
      '--html',
      join(dir, 'no-such-dir', 'r.html'),
    ]);
    expect(html.code).toBe(2);
    expect(html.err).toContain('--html: no such directory to write into');
    expect(html.out).toBe('');
  });

  it('--format json keeps stdout one JSON document; the verdict goes to stderr', async () => {
    const { code, out, err } = await runSplit([
      'replay',
      '--policy',
      candidate,
      '--traffic',
      traffic,
      '--format',
      'json',
      '--max-changed',
      '0',
    ]);
    expect(code).toBe(1);
    const report = JSON.parse(out) as { schema: string; changed: number };
    expect(report.schema).toBe('switchyard.replay-report/1');
    expect(err).toContain(`FAIL  --max-changed 0  ${report.changed} requests changed`);
  });

  it('--html writes one offline page with the gates and the changed requests, ids escaped', async () => {
    const file = join(dir, 'report.html');
    const { code } = await run([
      'replay',
      '--policy',
      candidate,
      '--traffic',
      hostile,
      '--html',
      file,
      '--fail-on',
      'new-errors',
    ]);
    expect(code).toBe(0);
    const page = readFileSync(file, 'utf8');
    expect(page).toContain("default-src 'none'");
    expect(page).toContain('All 1 CI gate passed');
    expect(page).not.toContain(XSS);
    expect(page).toMatch(/<td class="mono id">h\d&lt;img src=x onerror=alert\(1\)&gt;<\/td>/);
    expect(page.match(/<script\b/gi)).toHaveLength(3);
  });

  it('the help names every gate', async () => {
    const { out } = await run(['replay', '--help']);
    for (const metric of Object.keys(GATE_METRICS)) expect(out).toMatch(new RegExp(`^  ${metric} `, 'm'));
  });
});
