import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliIo, main } from '../../../cli/main.js';
import { mockPolicyYaml } from '../../support/policies.js';

interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

/** `serve` on valid.yaml in this process, as the tests below drive it (no watch, no log lines). */
function serveValid(io: CliIo): Promise<number> {
  return main(
    ['serve', '--policy', file('valid.yaml'), '--port', '0', '--no-watch', '--log-level', 'silent'],
    io,
  );
}

/** Waits (up to 5 s) until the listening line is on stdout. */
async function listening(stdout: () => string): Promise<void> {
  for (let i = 0; i < 200 && !stdout().includes('listening'); i++)
    await new Promise((r) => setTimeout(r, 25));
}

async function run(argv: string[], env: Record<string, string | undefined> = {}): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env,
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

const demoPolicy = (version: string, models: string, routes: string): string =>
  mockPolicyYaml({ name: 'demo', version, models, routes });

const VALID = demoPolicy(
  '1.2.3',
  `  fast: { provider: demo, model: fast-1 }
  strong: { provider: demo, model: strong-1 }`,
  `  - name: classification
    when: { metadata.task: classification }
    targets: [fast]
  - name: chat
    targets: [fast, strong]`,
);

// Line 7: the unused model.
const WITH_WARNING = demoPolicy(
  '1',
  `  fast: { provider: demo, model: fast-1 }
  unused: { provider: demo, model: unused-1 }`,
  `  - name: chat
    targets: [fast]`,
);

// Line 9: a misspelt key in the route.
const WITH_ERROR = demoPolicy(
  '1',
  '  fast: { provider: demo, model: fast-1 }',
  `  - name: chat
    targetz: [fast]`,
);

let dir: string;
const file = (name: string): string => join(dir, name);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'switchyard-cli-'));
  writeFileSync(file('valid.yaml'), VALID);
  writeFileSync(file('warning.yaml'), WITH_WARNING);
  writeFileSync(file('error.yaml'), WITH_ERROR);
  writeFileSync(
    file('request.json'),
    JSON.stringify({ body: { model: 'gpt-x', messages: [{ role: 'user', content: 'hi' }] }, headers: {} }),
  );
  writeFileSync(
    file('classify.json'),
    JSON.stringify({
      body: {
        model: 'gpt-x',
        messages: [{ role: 'user', content: 'hi' }],
        metadata: { task: 'classification' },
      },
    }),
  );
  writeFileSync(file('bare-body.json'), JSON.stringify({ model: 'x', messages: [] }));
  writeFileSync(file('broken.json'), '{ "body": ');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('switchyard validate', () => {
  it('exits 0 on a valid policy and names it', async () => {
    const r = await run(['validate', file('valid.yaml')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/ok: policy demo 1\.2\.3 is valid/);
    expect(r.stderr).toBe('');
  });

  it('prints warnings and still exits 0', async () => {
    const r = await run(['validate', file('warning.yaml')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/warning\.yaml:7:\d+: warning SEM_UNUSED/);
    expect(r.stdout).toMatch(/0 errors, 1 warning/);
    expect(r.stdout).toMatch(/ok: policy demo 1 is valid/);
  });

  it('exits 1 with file:line:col diagnostics on errors', async () => {
    const r = await run(['validate', file('error.yaml')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/error\.yaml:9:\d+: error \w+/);
    expect(r.stdout).toMatch(/did you mean "targets"\?/);
    expect(r.stdout).not.toMatch(/ok: policy/);
  });

  it('validates a directory of fragments', async () => {
    const r = await run(['validate', dir]);
    // The directory holds three full policies: duplicate names across fragments are errors.
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/PARSE_(DUPLICATE_NAME|FRAGMENT_CONFLICT)/);
  });

  it('--format json prints formatJson', async () => {
    const ok = await run(['validate', file('warning.yaml'), '--format', 'json']);
    expect(ok.code).toBe(0);
    const okReport = JSON.parse(ok.stdout);
    expect(okReport.ok).toBe(true);
    expect(okReport.diagnostics).toHaveLength(1);
    expect(okReport.diagnostics[0]).toMatchObject({ code: 'SEM_UNUSED', severity: 'warning', line: 7 });

    const bad = await run(['validate', file('error.yaml'), '--format=json']);
    expect(bad.code).toBe(1);
    const badReport = JSON.parse(bad.stdout);
    expect(badReport.ok).toBe(false);
    const error = badReport.diagnostics.find((d: { severity: string }) => d.severity === 'error');
    expect(error).toMatchObject({ line: 9, hint: 'targets' });
    expect(typeof error.pointer).toBe('string');
  });

  it('--format sarif prints a SARIF 2.1.0 log with the package version', async () => {
    const r = await run(['validate', file('error.yaml'), '--format', 'sarif']);
    expect(r.code).toBe(1);
    const sarif = JSON.parse(r.stdout);
    expect(sarif.version).toBe('2.1.0');
    expect(sarif.runs[0].tool.driver.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(sarif.runs[0].results.length).toBeGreaterThan(0);
  });

  it('a path that does not exist is a usage error (exit 2): CI tells a typo from a bad policy', async () => {
    const r = await run(['validate', file('nope.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no such file or directory/);
  });

  it.each([
    [['validate'], /needs a policy file/],
    [['validate', 'a.yaml', 'b.yaml'], /no such file or directory: a\.yaml/],
    [['validate', 'a.yaml', '--bogus'], /Unknown option '--bogus'/],
    [['validate', 'a.yaml', '--format', 'xml'], /--format must be one of human, json, sarif/],
    [['validate', 'a.yaml', '--format'], /argument missing/],
  ])('usage error %j → exit 2', async (argv, message) => {
    const r = await run(argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe('');
  });
});

/** `switchyard explain` with the policy and request files named (in the test directory). */
const explain = (policy: string, request: string, ...options: string[]) =>
  run(['explain', '--policy', file(policy), '--request', file(request), ...options]);

describe('switchyard explain', () => {
  it('--format json gives the route, targets, skipped routes and the plan', async () => {
    const r = await explain('valid.yaml', 'request.json', '--format', 'json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.policy).toMatchObject({ name: 'demo', version: '1.2.3' });
    expect(report.policy.hash).toMatch(/^[0-9a-f]{16,}$/);
    expect(report.route).toBe('chat');
    expect(report.targets).toEqual(['fast', 'strong']);
    expect(report.skipped).toHaveLength(1);
    expect(report.skipped[0].route).toBe('classification');
    expect(report.skipped[0].reason).toMatch(/metadata\.task/);
    expect(report.plan.maxAttempts).toBeGreaterThan(0);
    expect(report.plan.timeout.totalMs).toBeGreaterThan(0);
    expect(report.plan.targets[0]).toMatchObject({ name: 'fast', provider: 'demo', upstreamModel: 'fast-1' });
    expect(report.plan.targets[0].retry.attempts).toBeGreaterThanOrEqual(0);
  });

  it('the first route wins when it matches', async () => {
    const r = await explain('valid.yaml', 'classify.json', '--format', 'json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.route).toBe('classification');
    expect(report.skipped).toEqual([]);
    expect(report.targets).toEqual(['fast']);
  });

  it('human output names the matched route, the skipped routes and the plan', async () => {
    const r = await explain('valid.yaml', 'request.json');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/matched route: chat/);
    expect(r.stdout).toMatch(/routes that did not match:\n\s+- classification: .*metadata\.task/);
    expect(r.stdout).toMatch(/1\. fast -> demo\/fast-1/);
    expect(r.stdout).toMatch(/2\. strong -> demo\/strong-1/);
    expect(r.stdout).toMatch(/timeouts: connect \S+, first token \S+, idle \S+, total \S+/);
    expect(r.stdout).toMatch(/retries: /);
  });

  it('needs no provider key: an unset secret is a placeholder and a warning, never printed', async () => {
    const root = new URL('../../../', import.meta.url).pathname;
    const r = await run(
      ['explain', '--policy', `${root}policies/code-generation.yaml`, '--request', file('request.json')],
      { OPENAI_API_KEY: undefined, ANTHROPIC_API_KEY: undefined },
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('warning: ${OPENAI_API_KEY} is not set; explained with a placeholder');
    expect(r.stdout).toMatch(/matched route: /);
    const json = await run(
      [
        'explain',
        '--policy',
        `${root}policies/code-generation.yaml`,
        '--request',
        file('request.json'),
        '--format',
        'json',
      ],
      { OPENAI_API_KEY: undefined, ANTHROPIC_API_KEY: undefined },
    );
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).route).toEqual(expect.any(String));
  });

  it('an invalid policy prints its diagnostics and exits 1', async () => {
    const human = await explain('error.yaml', 'request.json');
    expect(human.code).toBe(1);
    expect(human.stderr).toMatch(/error\.yaml:9:\d+: error/);
    const json = await explain('error.yaml', 'request.json', '--format', 'json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout).ok).toBe(false);
  });

  it.each([
    ['missing.json', /cannot read request file .*missing\.json \(ENOENT\)/],
    ['broken.json', /is not valid JSON/],
    ['bare-body.json', /has no "body".*wrap it as \{ "body": \.\.\. \}/],
  ])('a bad request file (%s) exits 2 with a clear message', async (name, message) => {
    const r = await explain('valid.yaml', name);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('missing --policy or --request is a usage error', async () => {
    expect((await run(['explain', '--request', file('request.json')])).code).toBe(2);
    const r = await run(['explain', '--policy', file('valid.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--request/);
  });
});

describe('switchyard (dispatcher)', () => {
  it('schema prints the policy JSON Schema', async () => {
    const r = await run(['schema']);
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.stdout);
    expect(schema.$schema).toMatch(/2020-12/);
    expect(schema.title).toMatch(/Switchyard policy/);
  });

  it('unknown command → exit 2 with a suggestion', async () => {
    const r = await run(['validat']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command "validat" \(did you mean "validate"\?\)/);
  });

  it('no command prints usage to stderr and exits 2', async () => {
    const r = await run([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Usage: switchyard <command>/);
  });

  it('--help, help <command> and --version', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/validate\s+Check a policy/);
    const cmdHelp = await run(['help', 'serve']);
    expect(cmdHelp.code).toBe(0);
    expect(cmdHelp.stdout).toMatch(/--body-limit/);
    const sub = await run(['explain', '--help']);
    expect(sub.code).toBe(0);
    expect(sub.stdout).toMatch(/--request/);
    const version = await run(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('serve validates its arguments before starting anything', async () => {
    expect((await run(['serve'])).code).toBe(2);
    expect((await run(['serve', '--policy', 'p.yaml', '--port', 'http'])).stderr).toMatch(/--port must be/);
    expect((await run(['serve', '--policy', 'p.yaml', '--body-limit', 'lots'])).code).toBe(2);
    for (const bad of ['soon', '30h', '5 minutes', '']) {
      const r = await run(['serve', '--policy', 'p.yaml', '--shutdown-grace', bad]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--shutdown-grace must be a duration/);
    }
    expect((await run(['serve', '--policy', 'p.yaml', '--shutdown-grace', '-1s'])).code).toBe(2);
    const format = await run(['serve', '--policy', 'p.yaml', '--log-format', 'fancy']);
    expect(format.code).toBe(2);
    expect(format.stderr).toMatch(/--log-format must be one of auto, pretty, json/);
  });

  it('--shutdown-grace takes 30s, 500ms, 1m or plain milliseconds', async () => {
    const { parseDuration } = await import('../../../cli/commands/serve.js');
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('1500')).toBe(1500);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('0')).toBe(0);
    expect(parseDuration('25h')).toBeNull();
    expect(parseDuration('abc')).toBeNull();
    expect((await run(['help', 'serve'])).stdout).toMatch(/--shutdown-grace <d>.*\n.*default: 30s/);
  });

  it('serve exits 1 with diagnostics when the first load fails', async () => {
    const r = await run([
      'serve',
      '--policy',
      file('error.yaml'),
      '--port',
      '0',
      '--no-watch',
      '--log-level',
      'silent',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not valid; not serving/);
    expect(r.stderr).toMatch(/error\.yaml:9:\d+: error/);
  });

  it('serve runs until SIGTERM, reloads on SIGHUP, and exits 0 after draining', async () => {
    const { EventEmitter } = await import('node:events');
    const signals = new EventEmitter();
    let stdout = '';
    const io: CliIo = {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: () => true },
      signals: {
        on: (s, l) => signals.on(s, l),
        off: (s, l) => signals.off(s, l),
      },
      env: {},
    };
    const done = serveValid(io);
    await listening(() => stdout);
    const url = /listening on (\S+)/.exec(stdout)?.[1];
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(stdout).toMatch(/policy demo 1\.2\.3/);
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    signals.emit('SIGHUP');
    signals.emit('SIGTERM');
    expect(await done).toBe(0);
  });

  it('serve listens for SIGINT and SIGTERM before it prints the listening line that scripts wait for', async () => {
    const { EventEmitter } = await import('node:events');
    const signals = new EventEmitter();
    let stdout = '';
    // What a script sees when it reads the line: could its Ctrl-C meet the default action instead?
    let handledAtLine: number[] | null = null;
    const io: CliIo = {
      stdout: {
        write: (s: string) => {
          if (s.includes('listening on'))
            handledAtLine = [signals.listenerCount('SIGINT'), signals.listenerCount('SIGTERM')];
          stdout += s;
          return true;
        },
      },
      stderr: { write: () => true },
      signals: { on: (s, l) => signals.on(s, l), off: (s, l) => signals.off(s, l) },
      env: {},
    };
    const done = serveValid(io);
    await listening(() => stdout);
    expect(handledAtLine).toEqual([1, 1]);
    signals.emit('SIGINT');
    expect(await done).toBe(0);
  });
});
