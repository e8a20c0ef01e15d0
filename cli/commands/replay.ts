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
import type { Gate, ReplayReport } from '../../engine/index.js';
import { OUTPUT_OPTIONS, parseCommandArgs } from '../args.js';
import { CliError, type CliIo, jsonText, loadEngine, parseFormat, UsageError, useColor } from '../io.js';
import { createReplayProgress } from '../progress.js';
import { fromLegacyReport } from '../replay-legacy-adapter.js';

export const REPLAY_HELP = `Usage: switchyard replay --policy <file|dir> --traffic <recording.jsonl> [options]

Replays a recording made by \`serve --record\` under a policy, on a virtual clock set to each
request's recorded arrival: limits, budgets, cache TTLs and breakers see the traffic's own pace.
Each model answers with the outcomes the recording saw from it, in order; calls the recording
never saw answer ok and are counted as simulated. Reports, baseline against candidate, requests
per route and target, errors, fallbacks, cache hits, limited and blocked requests, cost, and
every request whose outcome changed, with how it changed.

Options:
  --policy <path>          The candidate policy (required)
  --traffic <file>         The recording, JSON lines (required)
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

/** The command's options, in one place. */
const OPTIONS = {
  policy: { type: 'string' },
  traffic: { type: 'string' },
  json: { type: 'string' },
  html: { type: 'string' },
  'max-changed': { type: 'string' },
  'fail-on': { type: 'string', multiple: true },
  quiet: { type: 'boolean', short: 'q' },
  ...OUTPUT_OPTIONS,
} as const;

type Engine = Awaited<ReturnType<typeof loadReplayEngine>>;

function loadReplayEngine() {
  return loadEngine(
    'loadPolicyWithoutSecrets',
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
  await mustExist('--policy', values.policy, 'file or directory');
  await mustExist('--traffic', values.traffic, 'file or directory');
  for (const flag of ['--json', '--html'] as const) {
    const path = values[flag === '--json' ? 'json' : 'html'];
    if (path !== undefined) await mustExist(flag, dirname(path), 'directory to write into');
  }

  const { loaded } = await engine.loadPolicyWithoutSecrets(values.policy);
  if (!loaded.ok) {
    io.stderr.write(
      `${values.policy} does not validate:\n${engine.formatHuman(loaded.diagnostics, loaded.sources, { color })}`,
    );
    return 1;
  }
  const progress = createReplayProgress(io, { quiet: values.quiet === true });
  let report: ReplayReport;
  try {
    // TEMPORARY until the new replay lands: then this block is
    //   report = await engine.replayRecording(loaded.policy, values.traffic, { onProgress: progress.onProgress });
    // and cli/replay-legacy-adapter.ts is deleted.
    const started = performance.now();
    const legacy = await engine.replayRecording(loaded.policy, values.traffic);
    report = fromLegacyReport(legacy, values.traffic, performance.now() - started);
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
