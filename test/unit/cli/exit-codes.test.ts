/**
 * One exit-code contract for every command: 0 ok, 1 problems found (an invalid policy, a failing
 * test, a gate exceeded), 2 usage or input error (an unknown flag, a missing argument, a path
 * that does not exist, an unreadable input). CI tells a typo in the command line from a policy
 * with problems by the code alone.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliIo, main } from '../../../cli/main.js';
import { mockPolicyYaml } from '../../support/policies.js';

async function run(argv: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: {},
  };
  return { code: await main(argv, io), stdout, stderr };
}

let dir: string;
const at = (name: string): string => join(dir, name);
const MISSING = 'no-such-policy.yaml';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sy-exit-'));
  writeFileSync(
    at('valid.yaml'),
    mockPolicyYaml({
      name: 'ok',
      models: '  fast: { provider: demo, model: m }',
      routes: '  - name: chat\n    targets: [fast]',
    }),
  );
  writeFileSync(
    at('invalid.yaml'),
    mockPolicyYaml({
      name: 'bad',
      models: '  fast: { provider: demo, model: m }',
      routes: '  - name: chat\n    targetz: [fast]',
    }),
  );
  writeFileSync(
    at('request.json'),
    JSON.stringify({ body: { model: 'gpt', messages: [{ role: 'user', content: 'hi' }] } }),
  );
  writeFileSync(at('traffic.jsonl'), '');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('exit codes', () => {
  const missingFile: [string, () => string[], string][] = [
    ['validate', () => ['validate', at(MISSING)], MISSING],
    ['explain', () => ['explain', '--policy', at(MISSING), '--request', at('request.json')], MISSING],
    [
      'explain (request file)',
      () => ['explain', '--policy', at('valid.yaml'), '--request', at('gone.json')],
      'gone.json',
    ],
    ['test', () => ['test', at('no-such-dir')], 'no-such-dir'],
    ['diff', () => ['diff', at(MISSING), at('valid.yaml')], MISSING],
    ['diff (second)', () => ['diff', at('valid.yaml'), at(MISSING)], MISSING],
    ['replay', () => ['replay', '--policy', at(MISSING), '--traffic', at('traffic.jsonl')], MISSING],
    [
      'replay (traffic)',
      () => ['replay', '--policy', at('valid.yaml'), '--traffic', at('gone.jsonl')],
      'gone.jsonl',
    ],
    ['serve', () => ['serve', '--policy', at(MISSING), '--port', '0'], MISSING],
  ];
  it.each(missingFile)('%s with a path that does not exist → 2, naming it', async (_name, argv, name) => {
    const r = await run(argv());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no such file or directory|ENOENT/);
    expect(r.stderr).toContain(name);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  const badFlag: [string, string[]][] = [
    ['validate', ['validate', '--bogus', 'x.yaml']],
    ['explain', ['explain', '--bogus']],
    ['test', ['test', '--bogus']],
    ['diff', ['diff', '--bogus', 'a', 'b']],
    ['replay', ['replay', '--bogus']],
    ['serve', ['serve', '--bogus']],
    ['schema', ['schema', '--bogus']],
    ['(none)', ['--bogus']],
  ];
  it.each(badFlag)('%s with an unknown flag → 2', async (_name, argv) => {
    const r = await run(argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Unknown option '--bogus'|unknown option "--bogus"/);
  });

  const badValue: [string, string[]][] = [
    ['validate --format', ['validate', '--format', 'xml', 'x.yaml']],
    ['explain without --request', ['explain', '--policy', 'x.yaml']],
    ['diff with one policy', ['diff', 'a.yaml']],
    ['diff --samples', ['diff', '--samples', 'many', 'a', 'b']],
    ['replay --max-changed', ['replay', '--policy', 'p', '--traffic', 't', '--max-changed', 'lots']],
    ['serve --record-content', ['serve', '--policy', 'p.yaml', '--record-content', 'everything']],
    [
      'serve --no-record with --record',
      ['serve', '--policy', 'p.yaml', '--no-record', '--record', 't.jsonl'],
    ],
    ['schema with an argument', ['schema', 'extra']],
  ];
  it.each(badValue)('%s → 2', async (_name, argv) => {
    expect((await run(argv)).code).toBe(2);
  });

  const badLease: [string, string[], RegExp][] = [
    ['without --jobs-redis', ['--jobs-lease', '5s'], /--jobs-lease needs --jobs-redis/],
    [
      'not a duration',
      ['--jobs-redis', 'redis://127.0.0.1:1', '--jobs-lease', 'soon'],
      /--jobs-lease must be/,
    ],
    ['too short', ['--jobs-redis', 'redis://127.0.0.1:1', '--jobs-lease', '200ms'], /from 1s to 10m/],
    ['too long', ['--jobs-redis', 'redis://127.0.0.1:1', '--jobs-lease', '11m'], /from 1s to 10m/],
  ];
  it.each(badLease)('serve --jobs-lease %s → 2, saying why', async (_name, flags, message) => {
    const r = await run(['serve', '--policy', at('valid.yaml'), '--port', '0', ...flags]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  const problems: [string, () => string[]][] = [
    ['validate', () => ['validate', at('invalid.yaml')]],
    ['explain', () => ['explain', '--policy', at('invalid.yaml'), '--request', at('request.json')]],
    ['diff', () => ['diff', at('valid.yaml'), at('invalid.yaml')]],
    ['diff --exit-code with a change', () => ['diff', '--exit-code', at('valid.yaml'), at('other.yaml')]],
    ['replay', () => ['replay', '--policy', at('invalid.yaml'), '--traffic', at('traffic.jsonl')]],
  ];
  it.each(problems)('%s with problems found → 1', async (_name, argv) => {
    writeFileSync(
      at('other.yaml'),
      mockPolicyYaml({
        name: 'ok',
        models: '  fast: { provider: demo, model: m2 }',
        routes: '  - name: chat\n    targets: [fast]',
      }),
    );
    expect((await run(argv())).code).toBe(1);
  });

  it('serve with a valid policy whose recording file cannot be written → 1, saying why', async () => {
    writeFileSync(
      at('unrecordable.yaml'),
      `${mockPolicyYaml({ name: 'ok', models: '  fast: { provider: demo, model: m }', routes: '  - name: chat\n    targets: [fast]' })}recording: { path: no-such-dir/traffic.jsonl }\n`,
    );
    const r = await run([
      'serve',
      '--policy',
      at('unrecordable.yaml'),
      '--port',
      '0',
      '--log-level',
      'silent',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot serve; not serving');
    expect(r.stderr).toMatch(/cannot write the recording file .*no-such-dir.*traffic\.jsonl \(ENOENT\)/);
  });

  it('serve with a --record file that cannot be written → 2', async () => {
    const r = await run([
      'serve',
      '--policy',
      at('valid.yaml'),
      '--port',
      '0',
      '--record',
      at('no-dir/t.jsonl'),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('cannot write the recording file');
  });

  it.each([
    ['validate', () => ['validate', at('valid.yaml')]],
    ['explain', () => ['explain', '--policy', at('valid.yaml'), '--request', at('request.json')]],
    ['diff', () => ['diff', at('valid.yaml'), at('valid.yaml')]],
    ['schema', () => ['schema']],
  ] as [string, () => string[]][])('%s with nothing wrong → 0', async (_name, argv) => {
    expect((await run(argv())).code).toBe(0);
  });
});
