/**
 * `switchyard batch run`: results in the Batch API output shape, exit codes, `--resume` after an
 * interruption (each custom_id exactly once), input problems with line numbers, usage errors.
 */
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliIo, main } from '../../../cli/main.js';

const POLICY = `switchyard: v1
policy: { name: cli-batch, version: "1" }
providers:
  demo: { kind: mock, latency: 20ms }
  bad: { kind: mock, sequence: [bad_request] }
models:
  fast: { provider: demo, model: fast-1 }
  broken: { provider: bad, model: broken-1 }
jobs: { concurrency: 3 }
routes:
  - name: broken
    when: { model: broken }
    targets: [broken]
  - name: chat
    targets: [fast]
`;

function lines(n: number, brokenAt = -1): string {
  return Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      custom_id: `c${i}`,
      method: 'POST',
      url: i % 5 === 4 ? '/v1/embeddings' : '/v1/chat/completions',
      body:
        i % 5 === 4
          ? { model: 'e', input: `text ${i}` }
          : { model: i === brokenAt ? 'broken' : 'x', messages: [{ role: 'user', content: `m${i}` }] },
    }),
  ).join('\n');
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sy-cli-batch-'));
  writeFileSync(join(dir, 'p.yaml'), POLICY);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(
  argv: string[],
  signals?: EventEmitter,
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: {},
    ...(signals === undefined ? {} : { signals }),
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

const readOut = (path: string) =>
  readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map(
      (l) => JSON.parse(l) as { custom_id: string; response: { status_code: number; body: unknown } | null },
    );

describe('switchyard batch run', () => {
  it('writes one Batch API output line per request (chat and embeddings) and exits 0', async () => {
    const input = join(dir, 'ok.jsonl');
    writeFileSync(input, lines(10));
    const out = join(dir, 'ok-out.jsonl');
    const r = await run(['batch', 'run', input, '--policy', join(dir, 'p.yaml'), '--out', out]);
    expect(r.stderr).toContain('10 requests: 10 succeeded, 0 failed');
    expect(r.code).toBe(0);
    const got = readOut(out);
    expect(got.map((l) => l.custom_id).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `c${i}`).sort());
    expect(got.find((l) => l.custom_id === 'c4')?.response?.body).toMatchObject({ object: 'list' });
    expect(got.find((l) => l.custom_id === 'c0')?.response?.body).toMatchObject({
      object: 'chat.completion',
    });
  });

  it('prints results on stdout without --out, and exits 1 when a request failed', async () => {
    const input = join(dir, 'fail.jsonl');
    writeFileSync(input, lines(3, 1));
    const r = await run(['batch', 'run', input, '--policy', join(dir, 'p.yaml')]);
    expect(r.code).toBe(1);
    const got = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(got.find((l) => l.custom_id === 'c1').response.status_code).toBe(400);
    expect(r.stderr).toContain('2 succeeded, 1 failed');
  });

  it('stops on SIGINT with a valid partial file; --resume finishes it with each custom_id once', async () => {
    const input = join(dir, 'long.jsonl');
    writeFileSync(input, lines(60));
    const out = join(dir, 'long-out.jsonl');
    const signals = new EventEmitter();
    const running = run(
      ['batch', 'run', input, '--policy', join(dir, 'p.yaml'), '--out', out, '--concurrency', '2'],
      signals,
    );
    // let some requests finish, then interrupt
    for (let i = 0; i < 500; i++) {
      const written = (() => {
        try {
          return readFileSync(out, 'utf8').split('\n').length - 1;
        } catch {
          return 0;
        }
      })();
      if (written >= 3) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    signals.emit('SIGINT');
    const first = await running;
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(/interrupted: \d+ of 60 requests done/);
    const partial = readOut(out).length;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(60);

    const again = await run(['batch', 'run', input, '--policy', join(dir, 'p.yaml'), '--out', out]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('--resume');

    const resumed = await run([
      'batch',
      'run',
      input,
      '--policy',
      join(dir, 'p.yaml'),
      '--out',
      out,
      '--resume',
    ]);
    expect(resumed.code).toBe(0);
    const ids = readOut(out).map((l) => l.custom_id);
    expect(ids.length).toBe(60);
    expect(new Set(ids).size).toBe(60);
  });

  it('reports input problems with their line numbers and runs nothing (exit 2: an input error)', async () => {
    const input = join(dir, 'bad.jsonl');
    writeFileSync(input, `${lines(1)}\n{oops\n${lines(1)}\n`);
    const out = join(dir, 'bad-out.jsonl');
    const r = await run(['batch', 'run', input, '--policy', join(dir, 'p.yaml'), '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${input}:2: invalid_json_line`);
    expect(r.stderr).toContain(`${input}:3: duplicate_custom_id`);
    expect(r.stderr).toContain('nothing was run');
  });

  it('usage errors exit 2', async () => {
    expect((await run(['batch'])).code).toBe(2);
    expect((await run(['batch', 'walk'])).code).toBe(2);
    expect((await run(['batch', 'run', join(dir, 'ok.jsonl')])).stderr).toContain('--policy');
    expect(
      (await run(['batch', 'run', join(dir, 'missing.jsonl'), '--policy', join(dir, 'p.yaml')])).code,
    ).toBe(2);
    expect(
      (
        await run([
          'batch',
          'run',
          join(dir, 'ok.jsonl'),
          '--policy',
          join(dir, 'p.yaml'),
          '--concurrency',
          '0',
        ])
      ).code,
    ).toBe(2);
    const help = await run(['batch', 'run', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: switchyard batch run');
  });
});
