/**
 * `switchyard replay --policy <path> --traffic <file.jsonl>`: runs a policy over recorded traffic
 * on virtual time and reports what it decides and what changed against the baseline: a terminal
 * summary (or `--format json`), `--json` and `--html` files, a progress bar on a terminal, and CI
 * gates (`--max-changed`, `--fail-on`). Exit 0 within the gates; 1 outside them or when the policy
 * does not validate; 2 on usage or input errors (bad flags or gates, a missing file, an output
 * that cannot be written).
 */
import { stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type {
  CompiledPolicy,
  Gate,
  ReplayOptions,
  ReplayReport,
  Scenario,
  TrafficFormatName,
} from '../../engine/index.js';
import { OUTPUT_OPTIONS, parseCommandArgs } from '../args.js';
import { CliError, type CliIo, jsonText, loadEngine, parseFormat, UsageError, useColor } from '../io.js';
import { createReplayProgress } from '../progress.js';

export const REPLAY_HELP = `Usage: switchyard replay --policy <file|dir> --traffic <traffic.jsonl> [options]

Replays traffic under a policy, on a virtual clock set to each request's arrival: limits,
budgets, cache TTLs and breakers see the traffic's own pace. A target the recording called for
a request answers as it did; any other call is simulated from what the recording saw of that
model (or a default), and a --scenario adds outages, latency and 429s (docs/replay.md). Reports,
baseline against candidate, requests per route and target, errors, fallbacks, cache hits,
limited and blocked requests, cost, and every request whose outcome changed, with how it changed.

Options:
  --policy <path>          The candidate policy (required)
  --traffic <file>         The traffic, JSON lines (required): a \`serve --record\` recording, an
                           OpenAI Batch API input file, or one chat-completion body per line
  --traffic-format <f>     switchyard, batch or plain (default: detected from the first line)
  --baseline <path>        Compare with this policy, replayed the same way (default: the
                           recorded decisions; batch and plain traffic: no comparison)
  --scenario <file>        Upstream outages, latency and 429 rates during the replay (YAML)
  --seed <n>               Seed of every simulated draw (default: 1)
  --rate <n/s>             Batch and plain lines without a timestamp arrive at this rate,
                           e.g. 10/s or 600/min (default: 10/s)
  --tenant <name>          Batch and plain lines are sent as this tenant (default: the
                           policy's first tenant, or none)
  --json <file>            Also write the full report as JSON
  --html <file>            Also write a self-contained HTML report (charts, tables; works offline)
  --max-changed <n|n%>     A CI gate: fail when more requests changed (= --fail-on changed:<n|n%>)
  --fail-on <gates>        CI gates, comma-separated, repeatable (see below)
  -q, --quiet              No progress bar (there is none either when stderr is not a terminal)
  --format <human|json>    Output format on stdout (default: human)
  --color, --no-color      Colours on or off (default: on a terminal, unless NO_COLOR is set)
  -h, --help               Show this help

Gates: <name>[:<n>|:<n>%]; no limit means any occurrence fails; n% is a share of all requests
(of the baseline cost for cost-increase, where a plain n is US dollars; of all lines for
malformed; of all upstream answers for simulated). A gate fails when its measure is above it.
  changed           requests whose outcome changed in any way
  changed-route     requests that take another route
  changed-target    requests served by another target
  changed-status    requests answered with another status
  new-errors        requests answered with an error where the baseline succeeded
  newly-limited     requests refused by a rate or concurrency limit the baseline let through
  newly-blocked     requests blocked by a budget or guardrail the baseline let through
  cost-increase     candidate cost minus baseline cost
  unreplayable      requests the candidate could not replay (e.g. an unknown tenant)
  malformed         traffic lines that could not be read
  simulated         upstream answers simulated rather than reproduced from the recording
Example: --fail-on new-errors,newly-limited:10,cost-increase:5%,changed-route:2%

Exit codes: 0 done and within the gates, 1 a gate failed or the policy does not validate,
2 usage or input error.
`;

const FORMATS = ['human', 'json'] as const;
/** The engine's TRAFFIC_FORMATS (a type import keeps the engine loaded lazily). */
const TRAFFIC_FORMATS: readonly TrafficFormatName[] = ['switchyard', 'batch', 'plain'];

/** The command's options, in one place. */
const OPTIONS = {
  policy: { type: 'string' },
  traffic: { type: 'string' },
  json: { type: 'string' },
  html: { type: 'string' },
  'max-changed': { type: 'string' },
  'fail-on': { type: 'string', multiple: true },
  quiet: { type: 'boolean', short: 'q' },
  'traffic-format': { type: 'string' },
  baseline: { type: 'string' },
  scenario: { type: 'string' },
  seed: { type: 'string' },
  rate: { type: 'string' },
  tenant: { type: 'string' },
  ...OUTPUT_OPTIONS,
} as const;

type Engine = Awaited<ReturnType<typeof loadReplayEngine>>;

function loadReplayEngine() {
  return loadEngine(
    'loadPolicyWithoutSecrets',
    'loadScenario',
    'replayRecording',
    'formatReplayReport',
    'renderReplayHtml',
    'parseGates',
    'parseGateLimit',
    'evaluateGates',
    'formatGateVerdict',
    'formatHuman',
  );
}

/** `--max-changed` and every `--fail-on`, parsed before the replay runs (mistakes exit 2 at once). */
function gatesOf(engine: Engine, maxChanged: string | undefined, failOn: readonly string[]): Gate[] {
  const gates: Gate[] = [];
  if (maxChanged !== undefined) {
    const limit = engine.parseGateLimit(maxChanged);
    if (limit === null) throw new UsageError('--max-changed takes a count or a percentage, e.g. 5 or 2.5%');
    gates.push({ source: `--max-changed ${maxChanged}`, metric: 'changed', limit });
  }
  for (const spec of failOn) {
    const parsed = engine.parseGates(spec);
    if (!parsed.ok) throw new UsageError(`--fail-on: ${parsed.message}`);
    gates.push(...parsed.gates);
  }
  return gates;
}

async function mustExist(flag: string, path: string, what: string): Promise<void> {
  try {
    await stat(path);
  } catch {
    throw new UsageError(`${flag}: no such ${what}: ${path}`);
  }
}

async function writeOutput(flag: string, path: string, text: string): Promise<void> {
  try {
    await writeFile(path, text);
  } catch (err) {
    throw new CliError(`${flag}: cannot write ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export async function runReplay(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommandArgs(args, OPTIONS, REPLAY_HELP, io);
  if (parsed === null) return 0;
  const { values, positionals } = parsed;
  if (positionals.length > 0)
    throw new UsageError(`replay takes no positional arguments (got ${positionals.join(' ')})`);
  if (values.policy === undefined) throw new UsageError('replay needs --policy <file|dir>');
  if (values.traffic === undefined) throw new UsageError('replay needs --traffic <recording.jsonl>');
  const format = parseFormat(values.format, FORMATS, 'human');
  const color = useColor(io, values['no-color'] ? false : values.color);
  const engine = await loadReplayEngine();
  const gates = gatesOf(engine, values['max-changed'], values['fail-on'] ?? []);
  const trafficFormat = values['traffic-format'];
  if (trafficFormat !== undefined && !(TRAFFIC_FORMATS as readonly string[]).includes(trafficFormat))
    throw new UsageError(`--traffic-format must be one of ${TRAFFIC_FORMATS.join(', ')}`);
  if (values.seed !== undefined && !(/^\d{1,10}$/.test(values.seed) && Number(values.seed) <= 0xffffffff))
    throw new UsageError('--seed takes an integer from 0 to 4294967295');
  await mustExist('--policy', values.policy, 'file or directory');
  await mustExist('--traffic', values.traffic, 'file or directory');
  if (values.baseline !== undefined) await mustExist('--baseline', values.baseline, 'file or directory');
  if (values.scenario !== undefined) await mustExist('--scenario', values.scenario, 'file');
  for (const flag of ['--json', '--html'] as const) {
    const path = values[flag === '--json' ? 'json' : 'html'];
    if (path !== undefined) await mustExist(flag, dirname(path), 'directory to write into');
  }

  const load = async (path: string): Promise<CompiledPolicy | null> => {
    const { loaded } = await engine.loadPolicyWithoutSecrets(path);
    if (loaded.ok) return loaded.policy;
    io.stderr.write(
      `${path} does not validate:\n${engine.formatHuman(loaded.diagnostics, loaded.sources, { color })}`,
    );
    return null;
  };
  const policy = await load(values.policy);
  if (policy === null) return 1;
  const baseline = values.baseline === undefined ? undefined : await load(values.baseline);
  if (baseline === null) return 1;
  let scenario: Scenario | undefined;
  if (values.scenario !== undefined) {
    const checked = await engine.loadScenario(
      values.scenario,
      baseline === undefined ? [policy] : [policy, baseline],
    );
    if (!checked.ok) {
      for (const p of checked.problems) {
        const hint = p.hint === undefined ? '' : ` (did you mean "${p.hint}"?)`;
        io.stderr.write(`${p.file}:${p.line}:${p.column}: ${p.message}${hint}\n`);
      }
      return 2;
    }
    scenario = checked.scenario;
  }
  const options: ReplayOptions = {
    ...(baseline === undefined ? {} : { baseline }),
    ...(scenario === undefined ? {} : { scenario }),
    ...(values.seed === undefined ? {} : { seed: Number(values.seed) }),
    ...(trafficFormat === undefined ? {} : { format: trafficFormat as TrafficFormatName }),
    ...(values.rate === undefined ? {} : { rate: values.rate }),
    ...(values.tenant === undefined ? {} : { tenant: values.tenant }),
  };
  const progress = createReplayProgress(io, { quiet: values.quiet === true });
  let report: ReplayReport;
  try {
    report = await engine.replayRecording(policy, values.traffic, {
      ...options,
      onProgress: progress.onProgress,
    });
  } catch (err) {
    // An input the replay cannot start with (an unknown format or tenant, a bad rate): exit 2.
    if (err instanceof Error && err.name === 'ReplayInputError') throw new CliError(err.message);
    throw err;
  } finally {
    progress.stop();
  }

  const verdict = engine.evaluateGates(report, gates);
  if (values.json !== undefined) await writeOutput('--json', values.json, jsonText(report));
  if (values.html !== undefined) {
    await writeOutput('--html', values.html, await engine.renderReplayHtml(report, { gates: verdict }));
  }
  if (format === 'json') {
    io.stdout.write(jsonText(report));
    // stdout stays one JSON document; the verdict goes to the log.
    io.stderr.write(engine.formatGateVerdict(verdict));
  } else {
    io.stdout.write(engine.formatReplayReport(report, { color }));
    const gateText = engine.formatGateVerdict(verdict, { color });
    if (gateText !== '') io.stdout.write(`\n${gateText}`);
  }
  return verdict.passed ? 0 : 1;
}
