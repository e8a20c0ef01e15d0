/**
 * `switchyard test`: the policy unit tests. Every example policy ships with its tests and they
 * pass; a failing case says what it expected and got, with its file:line; a broken test file is
 * an error of the run, never a crash; JUnit for CI.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../../cli/main.js';
import { findPolicyTests, formatJUnit, runPolicyTests } from '../../../engine/index.js';

const root = join(import.meta.dirname, '../../..');
const policies = join(root, 'policies');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function scratch(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'sy-policy-tests-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const POLICY = `switchyard: v1
policy: { name: t, version: "1" }
providers:
  real: { kind: openai, baseUrl: "https://api.openai.com/v1", apiKey: "\${OPENAI_KEY_THAT_IS_NOT_SET}" }
models:
  primary: { provider: real, model: gpt-5 }
  backup: { provider: real, model: gpt-5-mini }
routes:
  - name: chat
    targets: [primary, backup]
    retry: { attempts: 0 }
`;

describe('policy tests', () => {
  it('every example policy ships with tests, and they all pass', async () => {
    const examples = readdirSync(policies, { withFileTypes: true })
      .filter((e) => e.isDirectory() || (e.name.endsWith('.yaml') && !e.name.endsWith('.test.yaml')))
      .map((e) => e.name.replace(/\.yaml$/, ''));
    const files = await findPolicyTests([policies]);
    for (const example of examples)
      expect(
        files.some((f) => f.includes(`/${example}`)),
        example,
      ).toBe(true);
    const run = await runPolicyTests(files);
    expect(run.errors).toEqual([]);
    const failed = run.results.filter((r) => !r.ok);
    expect(failed.map((r) => `${r.file}:${r.line} ${r.name}: ${r.failures.join('; ')}`)).toEqual([]);
    expect(run.results.length).toBeGreaterThanOrEqual(15);
  });

  it('says what a failing case expected and got, at its line; no provider key is needed', async () => {
    const dir = scratch({
      'p.yaml': POLICY,
      'p.test.yaml': `tests:
  - name: passes
    request: { model: gpt-5, content: hi }
    expect: { status: 200, target: primary }

  - name: fails
    request: { model: gpt-5, content: hi }
    targets: { primary: [overloaded] }
    expect: { status: 200, target: primary, attempts: ["primary:ok"], code: null }
`,
    });
    const run = await runPolicyTests(await findPolicyTests([dir]));
    expect(run.errors).toEqual([]);
    expect(run.results.map((r) => [r.name, r.line, r.ok])).toEqual([
      ['passes', 2, true],
      ['fails', 6, false],
    ]);
    expect(run.results[1].failures).toEqual([
      'target: expected "primary", got "backup"',
      'attempts: expected ["primary:ok"], got ["primary:overloaded","backup:ok"]',
    ]);
    const junit = formatJUnit(run);
    expect(junit).toContain('<testsuite name="');
    expect(junit).toContain('tests="2" failures="1"');
    expect(junit).toContain('line="6"');
    expect(junit).toContain(
      '<failure message="target: expected &quot;primary&quot;, got &quot;backup&quot;">',
    );
  });

  it('repeat and every test limits and caches on virtual time', async () => {
    const dir = scratch({
      'p.yaml': `${POLICY}    limits: [tiny]\n    cache: answers\nlimits:\n  tiny: { key: [route], requests: 2/min }\ncaches:\n  answers: { mode: exact, ttl: 30s }\n`,
      'p.test.yaml': `tests:
  - name: the third request within a minute is limited
    request: { content: hi }
    repeat: 3
    expect: { status: 429, code: rate_limited }
  - name: 20 s apart, the second is admitted and served from the cache within its ttl
    request: { content: hi }
    repeat: 2
    every: 20s
    expect: { status: 200, cache: hit, attempts: [] }
  - name: after the ttl the answer is fetched again
    request: { content: hi }
    repeat: 2
    every: 40s
    expect: { status: 200, cache: miss, attempts: ["primary:ok"] }
`,
    });
    const run = await runPolicyTests(await findPolicyTests([dir]));
    expect(run.errors).toEqual([]);
    expect(run.results.map((r) => `${r.name}: ${r.ok ? 'ok' : r.failures.join('; ')}`)).toEqual([
      'the third request within a minute is limited: ok',
      '20 s apart, the second is admitted and served from the cache within its ttl: ok',
      'after the ttl the answer is fetched again: ok',
    ]);
  });

  it('steps run on the same engine and clock: a limit refuses, names its rule, and frees up after a wait', async () => {
    const dir = scratch({
      'p.yaml': `${POLICY}    limits: [tiny]\nlimits:\n  tiny: { key: [route], requests: 2/min }\n`,
      'p.test.yaml': `tests:
  - name: two admitted, the third refused, and admitted again a minute later
    request: { content: hi }
    repeat: 2
    expect: { status: 200, limit: none }
    steps:
      - expect: { status: 429, limit: { kind: rate_limited, rule: tiny } }
      - wait: 1m
        expect: { status: 200, limit: none }
  - name: a wrong limit expectation says what happened
    request: { content: hi }
    repeat: 3
    expect: { limit: budget_exceeded }
    steps:
      - wait: 1m
        request: { content: other }
        expect: { status: 429 }
`,
    });
    const run = await runPolicyTests(await findPolicyTests([dir]));
    expect(run.errors).toEqual([]);
    expect(run.results.map((r) => [r.ok, r.failures])).toEqual([
      [true, []],
      [
        false,
        [
          'limit: expected "budget_exceeded", got ["rate_limited (tiny)"]',
          'steps[0] status: expected 429, got 200',
        ],
      ],
    ]);
  });

  it('"stream_cut after N chunks" breaks a stream after N chunks; timeout is silent', async () => {
    const dir = scratch({
      'p.yaml': POLICY.replace(
        'retry: { attempts: 0 }',
        'retry: { attempts: 0 }\n    timeout: { firstToken: 2s }',
      ),
      'p.test.yaml': `tests:
  - name: a cut after 8 chunks is reported in-band after them (by default the mock cuts after half, 5)
    request: { content: "one two three four five six seven eight", stream: true }
    targets: { primary: ["stream_cut after 8 chunks"] }
    expect: { attempts: ["primary:stream_cut"], code: stream_interrupted, content: "Echo: one two three four five six seven " }
  - name: a timeout falls back
    request: { content: hi }
    targets: { primary: [timeout] }
    expect: { status: 200, attempts: ["primary:first_token", "backup:ok"] }
  - name: two cut lengths for one target cannot run
    request: { content: hi }
    targets: { primary: ["stream_cut after 1 chunk", "stream_cut after 2 chunks"] }
    expect: {}
`,
      'q.test.yaml': `policy: p.yaml
tests:
  - name: an unknown outcome is refused
    request: { content: hi }
    targets: { primary: ["stream_cut after lots"] }
    expect: {}
`,
    });
    const run = await runPolicyTests(await findPolicyTests([dir]));
    expect(run.errors.map((e) => e.message)).toEqual([expect.stringContaining('tests.0.targets.primary')]);
    expect(run.results.map((r) => [r.name, r.failures])).toEqual([
      ['a cut after 8 chunks is reported in-band after them (by default the mock cuts after half, 5)', []],
      ['a timeout falls back', []],
      [
        'two cut lengths for one target cannot run',
        ['the case could not run: targets.primary: one cut length per target (got 1 and 2 chunks)'],
      ],
    ]);
  });

  it('reports a broken test file as an error of the run, with what is wrong', async () => {
    const dir = scratch({
      'p.yaml': POLICY,
      'p.test.yaml': 'tests:\n  - name: x\n    request: { model: 1 }\n    expect: {}\n',
      'q.test.yaml': 'policy: missing.yaml\ntests:\n  - name: y\n    request: {}\n    expect: {}\n',
    });
    const run = await runPolicyTests(await findPolicyTests([dir]));
    expect(run.results).toEqual([]);
    expect(run.errors.map((e) => e.message)).toEqual([
      expect.stringContaining('tests.0.request.model'),
      expect.stringContaining('does not validate'),
    ]);
  });

  it('the command prints one line per case and the N passed, N failed summary; exit 1 on failure', async () => {
    const dir = scratch({
      'p.yaml': POLICY,
      'p.test.yaml': 'tests:\n  - name: wrong\n    request: { content: hi }\n    expect: { status: 503 }\n',
    });
    let out = '';
    const io = {
      stdout: {
        write: (s: string) => {
          out += s;
        },
      },
      stderr: { write: () => undefined },
      env: {},
    };
    const code = await main(['test', dir], io as never);
    expect(code).toBe(1);
    expect(out).toContain('FAIL');
    expect(out).toContain('p.test.yaml:2 wrong');
    expect(out).toContain('status: expected 503, got 200');
    expect(out.trimEnd().split('\n').at(-1)).toBe('0 passed, 1 failed');
  });
});
