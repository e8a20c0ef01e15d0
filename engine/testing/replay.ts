/**
 * `switchyard replay`: run a policy over recorded traffic (a `serve --record` file) and report what
 * it decides, and what changed against what the recording says was decided.
 *
 * How the replay simulates the world (the rule the report's counts refer to):
 * - Time is a virtual clock set to each request's recorded arrival, so limits, budgets, cache
 *   TTLs and breakers see the traffic's own pace; a day replays in seconds.
 * - Every provider is replaced by an offline mock, one per model. A model answers, call after
 *   call, with the outcomes the recording saw from it, in order (`ok`, `overloaded`, a timeout as
 *   silence until the deadline, `stream_cut`, ...). Calls beyond what the recording saw of a model
 *   (a target the recording never called, or called less) answer `ok` and are counted as
 *   *simulated*. Replaying under the policy that made the recording therefore calls every model
 *   exactly as recorded (P16).
 * - A request is rebuilt from its line: path, recorded headers, the recorded seed of weighted
 *   choices, body as recorded (message text may be hashed: routing and limits do not read it),
 *   and the tenant's key in the replayed policy.
 *
 * Every line is `unchanged` (same route, same final status, same serving target), `changed`, or
 * `unreplayable` (its tenant is unknown to the policy); `unchanged + changed + unreplayable =
 * total`. Lines the reader cannot parse are reported with their line numbers, never a crash.
 */
import type { CompiledPolicy } from '../compile/compile.js';
import { compilePolicy } from '../compile/compile.js';
import type { Policy } from '../policy/types.generated.js';
import type { RecordedLine, RecordingWarning } from '../replay/record.js';
import { readRecording } from '../replay/record.js';
import { createEngine } from '../runtime/engine.js';
import { VirtualClock } from '../shared/virtual-clock.js';
import type { EngineResponse, ErrorClass, RequestInput } from '../types.js';

/** A recorded outcome class as the mock reproduces it. */
const MOCK_OUTCOME: Readonly<Record<'ok' | ErrorClass, string>> = {
  ok: 'ok',
  connect: 'connect',
  timeout: 'silent',
  first_token: 'silent',
  idle: 'stream_cut',
  rate_limited: 'rate_limited',
  overloaded: 'overloaded',
  server_error: 'server_error',
  context_length: 'context_length',
  content_policy: 'content_policy',
  bad_request: 'bad_request',
  auth: 'auth',
  stream_cut: 'stream_cut',
  malformed: 'malformed',
  guardrail: 'ok',
};

export interface ReplayChange {
  readonly requestId: string;
  /** 1-based position of the request among the recording's readable lines. */
  readonly index: number;
  readonly before: string;
  readonly after: string;
}

export interface ReplayReport {
  readonly policy: string;
  readonly total: number;
  readonly unchanged: number;
  readonly changed: number;
  readonly unreplayable: number;
  /** Upstream answers the recording did not have (see the simulation rule). */
  readonly simulatedAnswers: number;
  readonly routes: Readonly<Record<string, number>>;
  readonly targets: Readonly<Record<string, number>>;
  readonly statuses: Readonly<Record<string, number>>;
  /** Route or status or serving target changed: every one, in file order. */
  readonly changes: readonly ReplayChange[];
  readonly malformedLines: readonly RecordingWarning[];
}

/** The outcomes each model gave, in order, over the whole recording (first pass). */
async function recordedOutcomes(path: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for await (const line of readRecording(path)) {
    for (const a of line.attempts) {
      let list = out.get(a.target);
      if (list === undefined) {
        list = [];
        out.set(a.target, list);
      }
      list.push(MOCK_OUTCOME[a.outcome] ?? 'ok');
    }
  }
  return out;
}

/** The policy with each model behind its own mock, answering as the recording saw it. */
function scripted(document: Policy, outcomes: ReadonlyMap<string, string[]>): Policy {
  const providers: Record<string, unknown> = {};
  const models: Record<string, unknown> = {};
  for (const [name, model] of Object.entries(document.models ?? {})) {
    if (model === undefined) continue;
    const provider = `replay-${name}`;
    // After the recorded outcomes, a model answers `ok` (simulated).
    providers[provider] = { kind: 'mock', sequence: [...(outcomes.get(name) ?? []), 'ok'] };
    models[name] = { ...model, provider };
  }
  return { ...document, providers, models } as Policy;
}

function inputOf(line: RecordedLine, policy: CompiledPolicy): RequestInput | null {
  // The recorded seed, so weighted choices draw as they did (whatever the random port says now).
  const headers: Record<string, string> = {
    ...line.request.headers,
    'x-switchyard-seed': String(line.request.seed),
  };
  if (line.tenant !== null) {
    let key: string | null = null;
    for (const [k, info] of policy.tenantsByKey) {
      if (info.name === line.tenant) {
        key = k;
        break;
      }
    }
    if (key === null) return null;
    headers.authorization = `Bearer ${key}`;
  }
  // A recorded /v1/responses or /v1/messages request is kept as its internal chat translation.
  const internal = line.request.endpoint === 'responses' || line.request.endpoint === 'messages';
  return {
    body: line.request.body,
    headers,
    path: line.request.path,
    requestId: line.requestId,
    ...(internal ? { internal } : {}),
  };
}

function describe(route: string | null, status: number, target: string | null): string {
  return `${route ?? '(no route)'} ${status}${target === null ? '' : ` ${target}`}`;
}

async function finish(
  response: EngineResponse,
): Promise<{ status: number; target: string | null; route: string | null; attempts: number }> {
  if (response.kind === 'json') {
    return {
      status: response.status,
      target: response.meta.target,
      route: response.meta.route,
      attempts: response.meta.attempts.length,
    };
  }
  for await (const _frame of response.events) {
    // drained: the stream's end is what settles its accounting
  }
  const meta = await response.done;
  return { status: response.status, target: meta.target, route: meta.route, attempts: meta.attempts.length };
}

function count(into: Record<string, number>, key: string): void {
  into[key] = (into[key] ?? 0) + 1;
}

/**
 * Replays the recording at `path` under `policy` (a compiled candidate).
 * @example
 * const report = await replayRecording(candidate.policy, 'traffic.jsonl');
 * console.log(formatReplay(report));
 */
export async function replayRecording(policy: CompiledPolicy, path: string): Promise<ReplayReport> {
  const outcomes = await recordedOutcomes(path);
  const compiled = compilePolicy(scripted(policy.document, outcomes));
  let clock: VirtualClock | null = null;
  const calls = new Map<string, number>();
  let engine: ReturnType<typeof createEngine> | null = null;
  const routes: Record<string, number> = {};
  const targets: Record<string, number> = {};
  const statuses: Record<string, number> = {};
  const changes: ReplayChange[] = [];
  let total = 0;
  let unchanged = 0;
  let unreplayable = 0;
  const reader = readRecording(path);
  try {
    let lineNo = 0;
    for await (const line of reader) {
      lineNo++;
      total++;
      const at = Date.parse(line.time);
      if (clock === null || engine === null) {
        clock = new VirtualClock({ auto: true, start: at });
        engine = createEngine(compiled, {
          clock,
          random: () => 0.5,
          onAttempt: (a) => calls.set(a.target, (calls.get(a.target) ?? 0) + 1),
        });
      }
      if (at > clock.now()) await clock.advanceTo(at);
      const input = inputOf(line, compiled);
      if (input === null) {
        unreplayable++;
        continue;
      }
      const got = await finish(await engine.handle(input));
      count(routes, got.route ?? '(no route)');
      if (got.target !== null) count(targets, got.target);
      count(statuses, String(got.status));
      const before = describe(line.decision.route, line.outcome.status, line.outcome.target);
      const after = describe(got.route, got.status, got.target);
      if (before === after) unchanged++;
      else changes.push({ requestId: line.requestId, index: lineNo, before, after });
    }
  } finally {
    await engine?.close();
  }
  let simulatedAnswers = 0;
  for (const [model, n] of calls) simulatedAnswers += Math.max(0, n - (outcomes.get(model)?.length ?? 0));
  const { name, version, hash } = policy.identity;
  return {
    policy: `${name}@${version} (${hash.slice(0, 12)})`,
    total,
    unchanged,
    changed: changes.length,
    unreplayable,
    simulatedAnswers,
    routes,
    targets,
    statuses,
    changes,
    malformedLines: reader.warnings,
  };
}

/** The report for people: the counts at a glance, then where traffic went, then what changed. */
export function formatReplay(report: ReplayReport): string {
  const table = (title: string, counts: Readonly<Record<string, number>>): string[] => [
    title,
    ...Object.entries(counts)
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `  ${String(n).padStart(7)}  ${k}`),
  ];
  const out = [
    `replayed ${report.total} request${report.total === 1 ? '' : 's'} under ${report.policy}`,
    `  ${report.unchanged} unchanged, ${report.changed} changed, ${report.unreplayable} unreplayable` +
      (report.simulatedAnswers > 0
        ? `; ${report.simulatedAnswers} upstream answer(s) simulated (not in the recording)`
        : ''),
    '',
    ...table('routes', report.routes),
    ...table('serving targets', report.targets),
    ...table('statuses', report.statuses),
  ];
  if (report.changes.length > 0) {
    out.push('', 'changed (recorded → replayed):');
    for (const c of report.changes.slice(0, 20))
      out.push(`  #${c.index} ${c.requestId}: ${c.before}  →  ${c.after}`);
    if (report.changes.length > 20)
      out.push(`  ... and ${report.changes.length - 20} more (--json lists them all)`);
  }
  if (report.malformedLines.length > 0) {
    out.push(
      '',
      `${report.malformedLines.length} line(s) skipped: ${report.malformedLines
        .map((w) => w.line)
        .slice(0, 20)
        .join(', ')}`,
    );
  }
  return `${out.join('\n')}\n`;
}
