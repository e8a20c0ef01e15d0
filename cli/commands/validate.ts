/**
 * `switchyard validate <file|dir> [--format human|json|sarif]`: exit 0 when the policy has no
 * errors (warnings are printed), 1 when it has errors, 2 on a usage error.
 */

import { stat } from 'node:fs/promises';
import { parseCommandArgs } from '../args.js';
import {
  type CliIo,
  envOf,
  jsonText,
  loadEngine,
  packageVersion,
  parseFormat,
  UsageError,
  useColor,
} from '../io.js';

export const VALIDATE_HELP = `Usage: switchyard validate <file|dir> [options]

Loads, validates and compiles a policy and prints every problem found.

Options:
  --format <human|json|sarif>  Output format (default: human)
  --color / --no-color         Force colours on or off (default: on for a terminal)
  -h, --help                   Show this help

Exit codes: 0 valid (warnings allowed), 1 errors found, 2 usage or internal error.
`;

const FORMATS = ['human', 'json', 'sarif'] as const;

export async function runValidate(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommandArgs(
    args,
    { format: { type: 'string' }, color: { type: 'boolean' }, 'no-color': { type: 'boolean' } },
    VALIDATE_HELP,
    io,
  );
  if (parsed === null) return 0;
  const { values, positionals } = parsed;
  const format = parseFormat(values.format, FORMATS, 'human');
  if (positionals.length === 0) throw new UsageError('validate needs a policy file or directory');
  if (positionals.length > 1) throw new UsageError(`validate takes one path (got ${positionals.length})`);
  const path = positionals[0];
  // A path that does not exist is a usage error (exit 2), so CI can tell a typo in the command
  // from a policy with problems (exit 1).
  try {
    await stat(path);
  } catch {
    throw new UsageError(`no such file or directory: ${path}`);
  }

  const engine = await loadEngine('loadPolicy', 'formatHuman', 'formatJson', 'formatSarif');
  const result = await engine.loadPolicy(path, { env: envOf(io) });
  const diagnostics = result.diagnostics;

  if (format === 'json') {
    io.stdout.write(jsonText(engine.formatJson(diagnostics)));
  } else if (format === 'sarif') {
    const sarif = engine.formatSarif(diagnostics, { toolVersion: await packageVersion() });
    io.stdout.write(jsonText(sarif));
  } else {
    const color = useColor(io, values['no-color'] ? false : values.color);
    if (diagnostics.length > 0) io.stdout.write(engine.formatHuman(diagnostics, result.sources, { color }));
    if (result.ok) {
      const { name, version, hash } = result.policy.identity;
      const files = result.files.length;
      io.stdout.write(
        `${diagnostics.length > 0 ? '\n' : ''}ok: policy ${name} ${version} is valid ` +
          `(${files} file${files === 1 ? '' : 's'}, hash ${hash.slice(0, 12)})\n`,
      );
    }
  }
  return result.ok ? 0 : 1;
}
