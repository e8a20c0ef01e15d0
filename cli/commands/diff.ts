/**
 * `switchyard diff <old> <new>`: what changes from one policy to another, structurally and in
 * the decisions of requests sampled from both policies' match space. Exit 0 (or, with
 * `--exit-code`, 1 when anything changed), 1 when a policy does not validate, 2 on usage errors.
 */
import { OUTPUT_OPTIONS, parseCommandArgs } from '../args.js';
import { type CliIo, loadEngine, parseFormat, requireExisting, UsageError, useColor } from '../io.js';

export const DIFF_HELP = `Usage: switchyard diff <old policy> <new policy> [options]

Shows what changes from one policy (file or directory) to the other: providers, models, tenants,
limits, budgets, caches, guardrails and routes added, removed or changed, in words; then the
requests, sampled from both policies' match space (models, tenants, metadata, headers their
routes name), whose route or attempt order differs. Nothing is sent upstream; no keys needed.

Options:
  --samples <n>          How many requests to sample (default: 500)
  --seed <n>             Seed of the sample (default: 1)
  --format <human|json>  Output format (default: human)
  --exit-code            Exit 1 when anything changed (as git diff --exit-code)
  -h, --help             Show this help

Exit codes: 0 done (with --exit-code: nothing changed), 1 a policy does not validate (or, with
--exit-code, something changed), 2 usage error or a missing policy path.
`;

const FORMATS = ['human', 'json'] as const;

export async function runDiff(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommandArgs(
    args,
    {
      samples: { type: 'string' },
      seed: { type: 'string' },
      'exit-code': { type: 'boolean' },
      ...OUTPUT_OPTIONS,
    },
    DIFF_HELP,
    io,
  );
  if (parsed === null) return 0;
  const { values, positionals } = parsed;
  if (positionals.length !== 2) throw new UsageError('diff needs two policies: the old one and the new one');
  const format = parseFormat(values.format, FORMATS, 'human');
  const count = (name: string, raw: string | undefined, fallback: number): number => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > 1_000_000)
      throw new UsageError(`--${name} must be a whole number from 1 to 1000000`);
    return n;
  };
  const samples = count('samples', values.samples, 500);
  const seed = count('seed', values.seed, 1);
  for (const path of positionals) await requireExisting(path);
  const engine = await loadEngine('loadPolicyWithoutSecrets', 'diffPolicies', 'formatDiff', 'formatHuman');
  const policies = [];
  for (const path of positionals) {
    // Keys are not needed to compare decisions: a secret that is not set is a placeholder here.
    const { loaded } = await engine.loadPolicyWithoutSecrets(path);
    if (!loaded.ok) {
      const color = useColor(io, values['no-color'] ? false : values.color);
      io.stderr.write(
        `${path} does not validate:\n${engine.formatHuman(loaded.diagnostics, loaded.sources, { color })}`,
      );
      return 1;
    }
    policies.push(loaded.policy);
  }
  const diff = engine.diffPolicies(policies[0], policies[1], { samples, seed });
  io.stdout.write(format === 'json' ? `${JSON.stringify(diff, null, 2)}\n` : engine.formatDiff(diff));
  const changed = diff.structural.length > 0 || diff.changed.length > 0;
  return values['exit-code'] === true && changed ? 1 : 0;
}
