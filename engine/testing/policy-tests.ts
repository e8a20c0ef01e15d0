/**
 * Policy unit tests (`switchyard test`): `*.test.yaml` files next to policies, each a list of
 * cases: a request, what each target does, and what must come of it (route, attempts in order,
 * status, error code, cache outcome, guardrail verdicts, headers, answer text). They run offline
 * and in no time: every provider of the policy is replaced by the in-process mock, one per model,
 * answering with the outcomes the case scripts (`ok`, `overloaded`, `silent` for a timeout,
 * `stream_cut`, ...), on a virtual clock, through the same engine the server runs. A mock echoes
 * the last user message unless the case (or the policy's own mock provider) gives a `reply`.
 *
 * A test file:
 *
 * ```yaml
 * policy: quickstart.yaml          # relative to this file; default: this file's name without .test
 * tests:
 *   - name: falls back when the primary is overloaded
 *     request: { model: gpt-5, content: hi }      # or messages, stream, tenant, headers, metadata, path, body
 *     targets: { primary: [overloaded], backup: [ok] }
 *     expect: { status: 200, route: chat, attempts: [primary:overloaded, backup:ok] }
 * ```
 *
 * `repeat: N` sends the request N times (`every: 1s` of virtual time apart) and checks the last
 * answer, which is how limits, caches and breakers are tested. `steps:` lists later steps on the
 * same engine and clock (`wait`, a `request` that replaces fields, `repeat`, `every`, `expect`).
 * Outcomes are the mock's, plus `timeout` (= `silent`) and `stream_cut after N chunks`;
 * `expect.limit` checks what the limits and budgets did (`none`, a kind, or `{ kind, rule }`).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { type CompiledPolicy, compilePolicy } from '../compile/compile.js';
import { loadPolicy, type PolicyResult } from '../compile/load-policy.js';
import type { GuardrailVerdict } from '../guardrails/index.js';
import type { Attachments } from '../policy/attachments.js';
import type { Diagnostic } from '../policy/diagnostics.js';
import { formatHuman } from '../policy/format.js';
import type { Policy } from '../policy/types.generated.js';
import type { RecordedLimit } from '../replay/record.js';
import { createEngine } from '../runtime/engine.js';
import { lazyRequire } from '../shared/lazy-require.js';
import { parseDuration } from '../shared/units.js';
import { VirtualClock } from '../shared/virtual-clock.js';
import type { ClassResult, EngineResponse, RequestInput } from '../types.js';
import { CUT_AFTER } from './outcomes.js';
import type { PolicyTestCase, PolicyTestExpect, PolicyTestRequest, PolicyTestStep } from './test-file.js';

// The YAML parser loads when a file is first parsed (shared/lazy-require.ts).
const yaml = lazyRequire<typeof import('yaml')>('yaml');

/**
 * The test-file schema (zod), loaded by the first `runPolicyTests`: zod costs ~8 MB of private
 * memory at import, which the server and embedders that never run policy tests should not pay.
 */
async function testFileSchema(): Promise<typeof import('./test-file.js').TestFile> {
  return (await import('./test-file.js')).TestFile;
}

export type { PolicyTestCase } from './test-file.js';

export interface PolicyTestResult {
  readonly file: string;
  /** 1-based line of the case in its file. */
  readonly line: number;
  readonly name: string;
  readonly ok: boolean;
  /** One line per unmet expectation: `what: expected X, got Y`. */
  readonly failures: readonly string[];
  readonly durationMs: number;
}

export interface PolicyTestRun {
  readonly results: readonly PolicyTestResult[];
  /** Problems that kept a file from running at all (a bad test file, a policy that fails validation). */
  readonly errors: readonly { readonly file: string; readonly message: string }[];
}

/** Every `*.test.yaml` under `paths` (files or directories, recursively), sorted. */
export async function findPolicyTests(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  const walk = async (path: string): Promise<void> => {
    const s = await stat(path);
    if (s.isFile()) {
      if (path.endsWith('.test.yaml') || path.endsWith('.test.yml')) out.push(path);
      return;
    }
    for (const entry of await readdir(path, { withFileTypes: true })) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      await walk(join(path, entry.name));
    }
  };
  for (const p of paths) await walk(p);
  return [...new Set(out)].sort();
}

const MISSING_VARIABLE = /^environment variable (\w+) is not set and has no default$/;

/**
 * Loads the policy with the environment; a variable that is not set and has no default (a
 * provider key, most often) becomes a placeholder, since tests never call a real provider: CI
 * needs no secrets. Any other problem fails the file.
 */
export async function loadPolicyWithoutSecrets(
  path: string,
  environment: Readonly<Record<string, string | undefined>> = process.env,
): Promise<{ loaded: PolicyResult; placeholders: string[]; placeholderWarnings: Diagnostic[] }> {
  const env: Record<string, string | undefined> = { ...environment };
  const first = await loadPolicy(path, { env });
  if (first.ok) return { loaded: first, placeholders: [], placeholderWarnings: [] };
  const errors = first.diagnostics.filter((d) => d.severity === 'error');
  const missing = errors.map((d) =>
    d.code === 'PARSE_ENV_MISSING' ? MISSING_VARIABLE.exec(d.message)?.[1] : undefined,
  );
  if (missing.length === 0 || missing.some((m) => m === undefined))
    return { loaded: first, placeholders: [], placeholderWarnings: [] };
  const names = [...new Set(missing as string[])];
  for (const name of names) env[name] = `placeholder-${name}`;
  // Each place a missing variable is used, as a warning: machine-readable outputs (JSON, SARIF)
  // carry what the human output says in a line.
  const placeholderWarnings = errors.map(
    (d): Diagnostic => ({
      ...d,
      severity: 'warning',
      message: `${d.message}; checked with a placeholder (serve needs it)`,
    }),
  );
  return { loaded: await loadPolicy(path, { env }), placeholders: names, placeholderWarnings };
}

/**
 * A target's scripted outcomes as the mock's sequence: `timeout` is the mock's `silent`, and
 * `stream_cut after N chunks` its `stream_cut` with `cutAfter: N` (one N per target).
 */
function mockOutcomes(
  target: string,
  outcomes: readonly string[],
): { sequence: string[]; cutAfter: number | null } {
  let cutAfter: number | null = null;
  const sequence = outcomes.map((outcome) => {
    if (outcome === 'timeout') return 'silent';
    const cut = CUT_AFTER.exec(outcome);
    if (cut === null) return outcome;
    const n = Number(cut[1]);
    if (cutAfter !== null && cutAfter !== n)
      throw new Error(`targets.${target}: one cut length per target (got ${cutAfter} and ${n} chunks)`);
    cutAfter = n;
    return 'stream_cut';
  });
  return { sequence, cutAfter };
}

/** The policy with every provider replaced by a mock per model, scripted by the case. */
function scripted(document: Policy, testCase: PolicyTestCase): Policy {
  const providers: Record<string, unknown> = {};
  const models: Record<string, unknown> = {};
  for (const [name, model] of Object.entries(document.models ?? {})) {
    if (model === undefined) continue;
    const script = testCase.targets?.[name];
    const spec = Array.isArray(script) ? { outcomes: script } : (script ?? {});
    const { sequence, cutAfter } = mockOutcomes(name, spec.outcomes ?? ['ok']);
    const provider = `test-${name}`;
    // A policy's own mock keeps its reply and timing unless the case says otherwise.
    const original = document.providers?.[model.provider];
    const mock =
      original?.kind === 'mock'
        ? (original as { reply?: string; latency?: string; chunkDelay?: string })
        : {};
    const reply = spec.reply ?? mock.reply;
    const latency = spec.latency ?? mock.latency;
    providers[provider] = {
      kind: 'mock',
      sequence,
      ...(cutAfter === null ? {} : { cutAfter }),
      ...(reply === undefined ? {} : { reply }),
      ...(latency === undefined ? {} : { latency }),
      ...(mock.chunkDelay === undefined ? {} : { chunkDelay: mock.chunkDelay }),
    };
    models[name] = { ...model, provider };
  }
  return { ...document, providers, models } as Policy;
}

function requestOf(testCase: PolicyTestCase, r: PolicyTestRequest, policy: CompiledPolicy): RequestInput {
  const headers: Record<string, string> = { ...(r.headers ?? {}) };
  if (r.tenant !== undefined) {
    for (const [key, info] of policy.tenantsByKey) {
      if (info.name === r.tenant) {
        headers.authorization = `Bearer ${key}`;
        break;
      }
    }
  }
  const body: Record<string, unknown> = {
    model: r.model ?? 'test-model',
    messages: r.messages ?? [{ role: 'user', content: r.content ?? 'hello' }],
    ...(r.stream === undefined ? {} : { stream: r.stream }),
    ...(r.metadata === undefined ? {} : { metadata: r.metadata }),
    ...(r.body ?? {}),
  };
  return {
    body,
    headers,
    ...(r.path === undefined ? {} : { path: r.path }),
    ...(testCase.classes === undefined ? {} : { classes: testCase.classes }),
  };
}

/** A case's stated classes must name declared classifiers and their labels: a typo is a failure. */
function statedClassProblems(testCase: PolicyTestCase, policy: CompiledPolicy): string[] {
  const out: string[] = [];
  for (const [name, label] of Object.entries(testCase.classes ?? {})) {
    const c = policy.classification.classifiers.get(name);
    if (c === undefined) out.push(`classes: the policy declares no classifier ${JSON.stringify(name)}`);
    else if (!c.labels.includes(label))
      out.push(`classes: ${JSON.stringify(label)} is not a label of ${name} (${c.labels.join(', ')})`);
  }
  return out;
}

interface Observed {
  readonly response: EngineResponse;
  readonly text: string;
  readonly code: string | null;
  readonly verdicts: readonly GuardrailVerdict[];
  /** What the classifiers said (the request's recording line). */
  readonly classes: readonly ClassResult[];
  /** What the route's limits and budgets did (the request's recording line). */
  readonly limits: readonly RecordedLimit[];
}

async function observe(
  response: EngineResponse,
): Promise<{ text: string; code: string | null; meta: EngineResponse['meta'] }> {
  if (response.kind === 'json') {
    const body = response.body as {
      error?: { code?: string };
      choices?: { message?: { content?: string } }[];
    };
    return {
      text: body.choices?.[0]?.message?.content ?? '',
      code: body.error?.code ?? null,
      meta: response.meta,
    };
  }
  let text = '';
  let code: string | null = null;
  for await (const frame of response.events) {
    if (!frame.startsWith('data: {')) continue;
    const chunk = JSON.parse(frame.slice(6)) as {
      error?: { code?: string };
      choices?: { delta?: { content?: string } }[];
    };
    if (chunk.error !== undefined) code = chunk.error.code ?? null;
    for (const c of chunk.choices ?? []) text += c.delta?.content ?? '';
  }
  return { text, code, meta: await response.done };
}

function compare(e: PolicyTestExpect, o: Observed, meta: EngineResponse['meta']): string[] {
  const failures: string[] = [];
  const check = (what: string, expected: unknown, actual: unknown): void => {
    if (JSON.stringify(expected) !== JSON.stringify(actual))
      failures.push(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  };
  if (e.status !== undefined) check('status', e.status, o.response.status);
  if (e.route !== undefined) check('route', e.route, meta.route);
  if (e.target !== undefined) check('target', e.target, meta.target);
  if (e.attempts !== undefined)
    check(
      'attempts',
      e.attempts,
      meta.attempts.map((a) => `${a.target}:${a.outcome}`),
    );
  if (e.code !== undefined) check('code', e.code, o.code);
  if (e.cache !== undefined) check('cache', e.cache, meta.cache);
  if (e.limit !== undefined) failures.push(...limitProblems(e.limit, o.limits));
  if (e.content !== undefined && !o.text.includes(e.content))
    failures.push(
      `content: expected the answer to contain ${JSON.stringify(e.content)}, got ${JSON.stringify(o.text)}`,
    );
  for (const [name, value] of Object.entries(e.headers ?? {}))
    check(`header ${name}`, value, o.response.headers[name] ?? null);
  for (const [name, label] of Object.entries(e.classes ?? {})) {
    check(`class ${name}`, label, o.classes.find((c) => c.classifier === name)?.label ?? null);
  }
  for (const [name, outcome] of Object.entries(e.guardrails ?? {})) {
    const verdicts: string[] = o.verdicts.filter((v) => v.guardrail === name).map((v) => v.outcome);
    if (!verdicts.includes(outcome))
      failures.push(
        `guardrail ${name}: expected ${JSON.stringify(outcome)}, got ${JSON.stringify(verdicts)}`,
      );
  }
  return failures;
}

/** `expect.limit`: `none`, or a limit event of that kind (and rule) among the request's. */
function limitProblems(
  expected: NonNullable<PolicyTestExpect['limit']>,
  events: readonly RecordedLimit[],
): string[] {
  const got = events.map((e) => (e.rules.length === 0 ? e.kind : `${e.kind} (${e.rules.join(', ')})`));
  if (expected === 'none') {
    return events.length === 0 ? [] : [`limit: expected none, got ${JSON.stringify(got)}`];
  }
  const { kind, rule } = typeof expected === 'string' ? { kind: expected, rule: undefined } : expected;
  const found = events.some((e) => e.kind === kind && (rule === undefined || e.rules.includes(rule)));
  if (found) return [];
  const want = rule === undefined ? kind : `${kind} (${rule})`;
  return [`limit: expected ${JSON.stringify(want)}, got ${got.length === 0 ? 'none' : JSON.stringify(got)}`];
}

/** The 1-based line of each case in the file, in order. */
function caseLines(text: string): number[] {
  const lineCounter = new (yaml().LineCounter)();
  const doc = yaml().parseDocument(text, { lineCounter });
  const tests = yaml().isMap(doc.contents) ? doc.contents.get('tests', true) : undefined;
  if (!yaml().isSeq(tests)) return [];
  return tests.items.map((item) => {
    const offset = (item as { range?: [number, number, number] }).range?.[0] ?? 0;
    return lineCounter.linePos(offset).line;
  });
}

async function runCase(
  document: Policy,
  attachments: Attachments,
  testCase: PolicyTestCase,
): Promise<string[]> {
  const compiled = compilePolicy(scripted(document, testCase), { attachments });
  const clock = new VirtualClock({ auto: true, start: Date.UTC(2026, 0, 1) });
  const verdicts: GuardrailVerdict[] = [];
  let classes: readonly ClassResult[] = [];
  let limits: readonly RecordedLimit[] = [];
  const stated = statedClassProblems(testCase, compiled);
  if (stated.length > 0) return stated;
  const engine = createEngine(compiled, {
    clock,
    random: () => 0.5,
    onGuardrail: (v) => verdicts.push(v),
    // Only to learn what the classifiers and limits did; nothing is written.
    recorder: {
      record: (entry) => {
        classes = entry.classes ?? [];
        limits = entry.limits ?? [];
      },
    },
  });
  // The case itself is the first step; `steps` lists the later ones, on the same engine and clock.
  const steps: { label: string; step: PolicyTestStep }[] = [
    {
      label: '',
      step: {
        request: testCase.request,
        expect: testCase.expect,
        ...(testCase.repeat === undefined ? {} : { repeat: testCase.repeat }),
        ...(testCase.every === undefined ? {} : { every: testCase.every }),
      },
    },
    ...(testCase.steps ?? []).map((step, i) => ({ label: `steps[${i}] `, step })),
  ];
  const failures: string[] = [];
  try {
    for (const { label, step } of steps) {
      const durations: { wait: number; every: number } = { wait: 0, every: 0 };
      for (const key of ['wait', 'every'] as const) {
        const text = step[key];
        if (text === undefined) continue;
        const parsed = parseDuration(text);
        if (!parsed.ok) return [`${label}${key}: ${parsed.error}`];
        durations[key] = parsed.value;
      }
      if (durations.wait > 0) await clock.advance(durations.wait);
      const request = { ...testCase.request, ...(step.request ?? {}) };
      const input = requestOf(testCase, request, compiled);
      const repeat = step.repeat ?? 1;
      let last: Observed | null = null;
      let lastMeta: EngineResponse['meta'] | null = null;
      for (let i = 0; i < repeat; i++) {
        verdicts.length = 0;
        classes = [];
        limits = [];
        if (i > 0 && durations.every > 0) await clock.advance(durations.every);
        const response = await engine.handle(input);
        const seen = await observe(response);
        // Let background accounting (cache writes, limit reconciliation) settle before the next one.
        await new Promise((r) => setImmediate(r));
        last = { response, text: seen.text, code: seen.code, verdicts: [...verdicts], classes, limits };
        lastMeta = seen.meta;
      }
      if (last === null || lastMeta === null) return [`${label}no request was sent`];
      if (step.expect !== undefined) {
        for (const f of compare(step.expect, last, lastMeta)) failures.push(`${label}${f}`);
      }
    }
    return failures;
  } finally {
    await engine.close();
  }
}

/** The policy a test file is about: `policy:` relative to it, else its name without `.test`. */
async function policyPathOf(file: string, declared: string | undefined): Promise<string> {
  if (declared !== undefined) return resolve(dirname(file), declared);
  const base = basename(file).replace(/\.test\.ya?ml$/, '');
  for (const candidate of [`${base}.yaml`, `${base}.yml`, base, '.']) {
    const path = resolve(dirname(file), candidate);
    try {
      const s = await stat(path);
      if (candidate !== '.' || s.isDirectory()) return path;
    } catch {
      // try the next one
    }
  }
  return resolve(dirname(file), `${base}.yaml`);
}

/** Runs every case of every test file; never throws (a broken file is an error of the run). */
export async function runPolicyTests(files: readonly string[]): Promise<PolicyTestRun> {
  const results: PolicyTestResult[] = [];
  const errors: { file: string; message: string }[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      errors.push({ file, message: `cannot read: ${err instanceof Error ? err.message : String(err)}` });
      continue;
    }
    const doc = yaml().parseDocument(text);
    if (doc.errors.length > 0) {
      errors.push({ file, message: `not valid YAML: ${doc.errors[0].message}` });
      continue;
    }
    const parsed = (await testFileSchema()).safeParse(doc.toJS());
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      errors.push({ file, message: `${issue.path.join('.') || '(file)'}: ${issue.message}` });
      continue;
    }
    const policyPath = await policyPathOf(file, parsed.data.policy);
    const { loaded } = await loadPolicyWithoutSecrets(policyPath);
    if (!loaded.ok) {
      errors.push({
        file,
        message: `the policy ${policyPath} does not validate:\n${formatHuman(loaded.diagnostics, loaded.sources)}`,
      });
      continue;
    }
    const lines = caseLines(text);
    for (const [i, testCase] of parsed.data.tests.entries()) {
      const started = performance.now();
      let failures: string[];
      try {
        failures = await runCase(loaded.policy.document, loaded.attachments, testCase);
      } catch (err) {
        failures = [`the case could not run: ${err instanceof Error ? err.message : String(err)}`];
      }
      results.push({
        file,
        line: lines[i] ?? 1,
        name: testCase.name,
        ok: failures.length === 0,
        failures,
        durationMs: performance.now() - started,
      });
    }
  }
  return { results, errors };
}

export { formatJUnit } from './junit.js';
