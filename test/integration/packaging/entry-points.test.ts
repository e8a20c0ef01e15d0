/**
 * What each public entry loads, recorded in a fresh process (test/support/record-modules.mjs: the
 * ESM resolve hook and the CommonJS cache). An embedder of `switchyard` pays for the engine only:
 * importing it, loading and running a policy without Redis loads none of the server's packages
 * (pino, prom-client, chokidar, busboy), no Redis client and no zod (policy tests only). Each
 * lazily loaded package is shown to load when it is used, so the checks cannot pass because the
 * recording saw nothing.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../support/cli-process.js';
import { mockPolicyYaml } from '../../support/policies.js';

const SERVER_PACKAGES = ['pino', 'prom-client', 'chokidar', '@fastify/busboy'];

let dir = '';
let runs = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sy-entry-points-'));
});

afterAll(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

/** The package of a loaded file, or null for files outside node_modules. */
function packageOf(path: string): string | null {
  const i = path.lastIndexOf('/node_modules/');
  if (i < 0) return null;
  const parts = path.slice(i + '/node_modules/'.length).split('/');
  return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
}

/** Runs `code` (an ES module body, in the repo root, TypeScript allowed) and returns the packages it loaded. */
async function packagesLoadedBy(code: string): Promise<Set<string>> {
  const paths = await modulesLoadedBy(code);
  return new Set(paths.map(packageOf).filter((p): p is string => p !== null));
}

/** Runs `code` as {@link packagesLoadedBy} does and returns the path of every module it loaded. */
async function modulesLoadedBy(code: string): Promise<string[]> {
  const out = join(dir, `modules-${runs++}.txt`);
  await new Promise<void>((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--import', './test/support/record-modules.mjs', '--input-type=module', '-e', code],
      { cwd: ROOT, env: { ...process.env, SWITCHYARD_RECORD_MODULES: out }, timeout: 60_000 },
      (err, _stdout, stderr) => (err === null ? resolve() : reject(new Error(`${err.message}\n${stderr}`))),
    );
  });
  const paths = (await readFile(out, 'utf8')).split('\n').filter((l) => l !== '');
  // The recording itself must have worked: the engine's own files are in it.
  expect(paths.some((p) => p.includes('/engine/'))).toBe(true);
  return paths;
}

const MEMORY_POLICY = mockPolicyYaml({
  name: 'embedded',
  models: '  echo: { provider: demo, model: mock-echo }',
  sections: 'limits:\n  rpm: { key: [route], requests: 100/min }\n',
  routes: '  - name: chat\n    targets: [echo]\n    limits: [rpm]',
});

const REDIS_POLICY = mockPolicyYaml({
  name: 'shared',
  models: '  echo: { provider: demo, model: mock-echo }',
  // Port 1: nothing listens; the store connects in the background and fails, which is fine here.
  sections:
    'stores:\n  redis: { url: "redis://127.0.0.1:1" }\nlimits:\n  rpm: { key: [route], requests: 100/min, store: redis, onStoreError: open }\n',
  routes: '  - name: chat\n    targets: [echo]\n    limits: [rpm]',
});

/** One OpenAI-kind route to a port nothing listens on. */
const HTTP_POLICY = [
  'switchyard: v1',
  'policy: { name: http, version: "1" }',
  'providers:',
  '  up: { kind: openai, baseUrl: "http://127.0.0.1:1/v1", apiKey: sk-test }',
  'models:',
  '  m: { provider: up, model: m-1 }',
  'defaults:',
  '  retry: { attempts: 0 }',
  'routes:',
  '  - name: chat',
  '    targets: [m]',
].join('\n');

/** Module code: parse `yaml`, start an engine, answer one chat request, close. */
function runPolicy(yaml: string): string {
  return `
const { parsePolicy, createEngine } = await import('./engine/index.ts');
const loaded = parsePolicy([{ file: 'p.yaml', text: ${JSON.stringify(yaml)} }], { env: {} });
if (!loaded.ok) throw new Error(JSON.stringify(loaded.diagnostics));
const engine = createEngine(loaded.policy);
const res = await engine.handle({ body: { model: 'gpt-5', messages: [{ role: 'user', content: 'hi' }] } });
if (res.status !== 200) throw new Error('status ' + res.status);
await engine.close();
`;
}

describe('the engine entry (switchyard)', () => {
  it('importing it loads no server package, no Redis client and no zod', async () => {
    const loaded = await packagesLoadedBy("await import('./engine/index.ts');");
    for (const name of [...SERVER_PACKAGES, 'ioredis', 'zod']) expect(loaded, name).not.toContain(name);
  });

  it('running a policy without Redis loads none of them either', async () => {
    const loaded = await packagesLoadedBy(runPolicy(MEMORY_POLICY));
    for (const name of [...SERVER_PACKAGES, 'ioredis', 'zod']) expect(loaded, name).not.toContain(name);
    expect(loaded).toContain('lru-cache'); // the in-memory limiter store: the policy did run
    // Its providers are all mocks: no upstream request, so no HTTP client either.
    expect(loaded).not.toContain('undici');
  });

  it('loads undici once a policy has a network provider', async () => {
    const imported = await packagesLoadedBy("await import('./engine/index.ts');");
    expect(imported).not.toContain('undici');
    const loaded = await packagesLoadedBy(`
const { parsePolicy, createEngine } = await import('./engine/index.ts');
const yaml = ${JSON.stringify(HTTP_POLICY)};
const loaded = parsePolicy([{ file: 'p.yaml', text: yaml }], { env: {} });
if (!loaded.ok) throw new Error(JSON.stringify(loaded.diagnostics));
const engine = createEngine(loaded.policy);
// Nothing listens on port 1: the call fails; undici was loaded when the engine was built.
const res = await engine.handle({ body: { model: 'gpt-5', messages: [{ role: 'user', content: 'hi' }] } });
if (res.status < 500) throw new Error('status ' + res.status);
await engine.close();
`);
    expect(loaded).toContain('undici');
  });

  it('loads ioredis once a policy names Redis', async () => {
    const loaded = await packagesLoadedBy(runPolicy(REDIS_POLICY));
    expect(loaded).toContain('ioredis');
    for (const name of SERVER_PACKAGES) expect(loaded, name).not.toContain(name);
  });

  it('a disk job store loads no Redis client; a Redis job store loads ioredis', async () => {
    const disk = await packagesLoadedBy(`
const { jobs } = await import('./engine/index.ts');
const { mkdtemp, rm } = await import('node:fs/promises');
const dir = await mkdtemp((await import('node:os')).tmpdir() + '/sy-ep-');
await jobs.JobStore.open(dir);
await rm(dir, { recursive: true, force: true });
`);
    expect(disk).not.toContain('ioredis');
    const redis = await packagesLoadedBy(`
const { jobs } = await import('./engine/index.ts');
// Nothing listens on port 1: opening fails after ioredis was loaded to try.
await jobs.RedisJobStore.open({ url: 'redis://127.0.0.1:1' }, 200).catch(() => undefined);
`);
    expect(redis).toContain('ioredis');
  });

  it('loads zod when policy tests run', async () => {
    const loaded = await packagesLoadedBy(`
const { runPolicyTests } = await import('./engine/index.ts');
await runPolicyTests(['policies/quickstart.test.yaml']);
`);
    expect(loaded).toContain('zod');
  });
});

describe('the server entry (switchyard/server)', () => {
  it('loads the server packages, chokidar only for a server that watches', async () => {
    const loaded = await packagesLoadedBy(
      "await import('./server/index.ts'); await import('./engine/index.ts');",
    );
    expect(loaded).toContain('pino');
    // prom-client loads with the first scrape (server/fast-metrics.ts), chokidar for a watcher.
    expect(loaded).not.toContain('prom-client');
    expect(loaded).not.toContain('chokidar');
    // The multipart parser loads with the first upload.
    expect(loaded).not.toContain('@fastify/busboy');
    // The HTTP layer is node:http: no web framework is loaded.
    expect(loaded).not.toContain('fastify');
  });
});

/** Code that serves the quickstart policy on a free port and asks it one chat question (200). */
const SERVE_QUICKSTART_AND_ASK = `
const { createServer } = await import('./server/index.ts');
const server = await createServer({ policyPath: 'policies/quickstart.yaml', port: 0, logger: false, watch: false });
const res = await fetch(server.url + '/v1/chat/completions', {
  method: 'POST', headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
});
if (res.status !== 200) throw new Error('status ' + res.status);
`;

describe('a serving gateway', () => {
  it('loads none of the tools a serving process never runs: tests, replay, diff', async () => {
    const serve = `${SERVE_QUICKSTART_AND_ASK}await server.close();
`;
    const tools = (paths: string[]): string[] =>
      paths.filter((p) =>
        /\/engine\/(testing\/|index\.ts$|replay\/(traffic|scenario|upstream)\.ts$)/.test(p),
      );
    const served = await modulesLoadedBy(serve);
    expect(served.some((p) => p.endsWith('/engine/serving.ts'))).toBe(true);
    expect(tools(served)).toEqual([]);
    // The public entry does load them: the check sees what it looks for.
    expect(tools(await modulesLoadedBy(`await import('./engine/index.ts');`))).not.toEqual([]);
  });

  it('loads the job runner and its stores only when a job store is configured', async () => {
    const jobsCode = (jobsDir: boolean): string => `
const { mkdtemp, rm } = await import('node:fs/promises');
const dir = await mkdtemp((await import('node:os')).tmpdir() + '/sy-ep-');
const { createServer } = await import('./server/index.ts');
const server = await createServer({
  policyPath: 'policies/quickstart.yaml', port: 0, logger: false, watch: false,
  ${jobsDir ? 'jobsDir: dir,' : ''}
});
const res = await fetch(server.url + '/v1/batches');
if (res.status !== ${jobsDir ? 200 : 404}) throw new Error('status ' + res.status);
await server.close();
await rm(dir, { recursive: true, force: true });
`;
    const runner = (paths: string[]): boolean => paths.some((p) => p.endsWith('/engine/jobs/runner.ts'));
    expect(runner(await modulesLoadedBy(jobsCode(false)))).toBe(false);
    expect(runner(await modulesLoadedBy(jobsCode(true)))).toBe(true);
  });
});

describe('the metrics', () => {
  it('load prom-client with the first scrape, not before; no OpenTelemetry API without tracing', async () => {
    const serveAnd = (scrape: boolean): string => `${SERVE_QUICKSTART_AND_ASK}await res.text();
if (${scrape}) {
  const text = await (await fetch(server.url + '/metrics')).text();
  if (!/^switchyard_requests_total\\{.*status="200"\\} 1$/m.test(text)) throw new Error('no request counted');
  if (!text.includes('process_cpu_seconds_total')) throw new Error('no default metrics');
}
await server.close();
`;
    const served = await packagesLoadedBy(serveAnd(false));
    expect(served).not.toContain('prom-client');
    // Nor the OpenTelemetry API while nothing is registered with it (engine/runtime/tracing.ts).
    expect(served).not.toContain('@opentelemetry/api');
    expect(await packagesLoadedBy(serveAnd(true))).toContain('prom-client');
  });
});

describe('the command line', () => {
  it('loads the module of the command it runs, not every command’s dependencies', async () => {
    const validate = await packagesLoadedBy(`
const { main } = await import('./cli/main.ts');
const io = { stdout: { write() { return true; } }, stderr: { write() { return true; } } };
const code = await main(['validate', 'policies/quickstart.yaml'], io);
if (code !== 0) throw new Error('validate exit ' + code);
`);
    expect(validate).toContain('ajv'); // validation ran
    // Neither the gateway's packages nor replay's progress bar.
    for (const name of [...SERVER_PACKAGES, 'cli-progress']) expect(validate, name).not.toContain(name);

    const help = await packagesLoadedBy(`
await import('./engine/index.ts');
const { main } = await import('./cli/main.ts');
const io = { stdout: { write() { return true; } }, stderr: { write() { return true; } } };
if ((await main(['help', 'replay'], io)) !== 0) throw new Error('help failed');
`);
    // A command's help loads that command's module (replay's, with its progress bar).
    expect(help).toContain('cli-progress');
  });
});

describe('the gateway with its first policy loaded off-thread (switchyard serve)', () => {
  /** Runs `code` in a fresh process and returns the packages in this thread's CommonJS cache. */
  async function mainThreadPackages(code: string): Promise<Set<string>> {
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', code],
        { cwd: ROOT, timeout: 60_000 },
        (err, out, stderr) => (err === null ? resolve(out) : reject(new Error(`${err.message}\n${stderr}`))),
      );
    });
    const paths = JSON.parse(stdout.trim().split('\n').at(-1) ?? '[]') as string[];
    // The generated recording-line validator (engine/replay) needs one 1 KB helper of ajv's
    // runtime, not ajv: that one file is not counted as loading ajv.
    const counted = paths.filter((p) => !p.includes('/node_modules/ajv/dist/runtime/'));
    return new Set(counted.map(packageOf).filter((p): p is string => p !== null));
  }

  const serveAndAnswer = (offThread: boolean): string => `
import { createRequire } from 'node:module';
const { createServer } = await import('./server/app.ts');
const server = await createServer({
  policyPath: 'policies/quickstart.yaml', port: 0, logger: false, watch: false,
  firstLoadOffThread: ${offThread},
});
if (!server.manager.ready) throw new Error('not serving');
const res = await fetch(server.url + '/v1/chat/completions', {
  method: 'POST', headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
});
if (res.status !== 200) throw new Error('status ' + res.status);
await server.close();
console.log(JSON.stringify(Object.keys(createRequire(import.meta.url).cache)));
`;

  it('never loads the YAML parser or ajv on the serving thread, and serves', async () => {
    const offThread = await mainThreadPackages(serveAndAnswer(true));
    expect(offThread).not.toContain('yaml');
    expect(offThread).not.toContain('ajv');
    // The same start on this thread loads both: the check sees what it looks for.
    const onThread = await mainThreadPackages(serveAndAnswer(false));
    expect(onThread).toContain('yaml');
    expect(onThread).toContain('ajv');
  });
});
