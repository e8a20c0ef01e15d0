/**
 * `switchyard replay --policy <path> --traffic <file.jsonl>`: runs a policy over recorded traffic
 * on virtual time and reports what it decides and what changed against the recording. Exit 0,
 * or 1 when `--max-changed` is exceeded or the policy does not validate; 2 on usage errors.
 */
import { stat, writeFile } from 'node:fs/promises';
import { OUTPUT_OPTIONS, parseCommandArgs } from '../args.js';
import { type CliIo, loadEngine, parseFormat, UsageError, useColor } from '../io.js';

export const REPLAY_HELP = `Usage: switchyard replay --policy <file|dir> --traffic <recording.jsonl> [options]

Replays a recording made by \`serve --record\` under a policy, on a virtual clock set to each
request's recorded arrival: limits, budgets, cache TTLs and breakers see the traffic's own pace.
Each model answers with the outcomes the recording saw from it, in order; calls the recording
never saw answer ok and are counted as simulated. Reports requests per route, target and status,
and every request whose route, status or serving target differs from the recording.

Options:
  --policy <path>          The policy to replay (required)
  --traffic <file>         The recording, JSON lines (required)
  --json <file>            Also write the full report as JSON
  --max-changed <n|n%>     Exit 1 when more requests than this changed (a CI gate)
  --format <human|json>    Output format (default: human)
  -h, --help               Show this help

Exit codes: 0 done (within --max-changed), 1 over the gate or the policy does not validate, 2 usage error.
`;

const FORMATS = ['human', 'json'] as const;

export async function runReplay(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommandArgs(
    args,
    {
      policy: { type: 'string' },
      traffic: { type: 'string' },
      json: { type: 'string' },
      'max-changed': { type: 'string' },
      ...OUTPUT_OPTIONS,
    },
    REPLAY_HELP,
    io,
  );
  if (parsed === null) return 0;
  const { values, positionals } = parsed;
  if (positionals.length > 0)
    throw new UsageError(`replay takes no positional arguments (got ${positionals.join(' ')})`);
  if (values.policy === undefined) throw new UsageError('replay needs --policy <file|dir>');
  if (values.traffic === undefined) throw new UsageError('replay needs --traffic <recording.jsonl>');
  const format = parseFormat(values.format, FORMATS, 'human');
  const gate = values['max-changed'];
  const gateMatch = gate === undefined ? null : /^(\d+(?:\.\d+)?)(%?)$/.exec(gate);
  if (gate !== undefined && gateMatch === null)
    throw new UsageError('--max-changed takes a count or a percentage, e.g. 5 or 2.5%');
  for (const [flag, path] of [
    ['--policy', values.policy],
    ['--traffic', values.traffic],
  ] as const) {
    try {
      await stat(path);
    } catch {
      throw new UsageError(`${flag}: no such file or directory: ${path}`);
    }
  }
  const engine = await loadEngine(
    'loadPolicyWithoutSecrets',
    'replayRecording',
    'formatReplay',
    'formatHuman',
  );
  const { loaded } = await engine.loadPolicyWithoutSecrets(values.policy);
  if (!loaded.ok) {
    const color = useColor(io, values['no-color'] ? false : values.color);
    io.stderr.write(
      `${values.policy} does not validate:\n${engine.formatHuman(loaded.diagnostics, loaded.sources, { color })}`,
    );
    return 1;
  }
  const report = await engine.replayRecording(loaded.policy, values.traffic);
  if (values.json !== undefined) await writeFile(values.json, `${JSON.stringify(report, null, 2)}\n`);
  io.stdout.write(format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : engine.formatReplay(report));
  if (gateMatch !== null) {
    const limit = gateMatch[2] === '%' ? (Number(gateMatch[1]) / 100) * report.total : Number(gateMatch[1]);
    if (report.changed > limit) {
      io.stdout.write(`changed ${report.changed} > --max-changed ${gate}\n`);
      return 1;
    }
  }
  return 0;
}
