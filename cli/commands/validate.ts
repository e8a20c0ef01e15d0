/**
 * `switchyard validate <file|dir>... [--each] [--format human|json|sarif]`: exit 0 when every
 * policy has no errors (warnings are printed), 1 when one has errors, 2 on a usage error. Each
 * path is one policy (a directory: its fragments merged); `--each` validates every file and
 * subdirectory of a directory as a policy of its own (a folder of separate example policies).
 */

import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { OUTPUT_OPTIONS, parseCommandArgs } from '../args.js';
import {
  type CliIo,
  envOf,
  jsonText,
  loadEngine,
  packageVersion,
  parseFormat,
  requireExisting,
  UsageError,
  useColor,
} from '../io.js';

export const VALIDATE_HELP = `Usage: switchyard validate <file|dir>... [options]

Loads, validates and compiles each policy and prints every problem found. A directory is one
policy whose fragments are merged; to check a folder of separate policies, pass --each.

Options:
  --each                       Validate every policy file and subdirectory of each directory
                               on its own (*.test.yaml files are skipped)
  --format <human|json|sarif>  Output format (default: human)
  --color / --no-color         Force colours on or off (default: on for a terminal)
  -h, --help                   Show this help

Exit codes: 0 valid (warnings allowed), 1 errors found, 2 usage or internal error.
`;

const FORMATS = ['human', 'json', 'sarif'] as const;

export async function runValidate(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommandArgs(
    args,
    {
      each: { type: 'boolean' },
      ...OUTPUT_OPTIONS,
    },
    VALIDATE_HELP,
    io,
  );
  if (parsed === null) return 0;
  const { values, positionals } = parsed;
  const format = parseFormat(values.format, FORMATS, 'human');
  if (positionals.length === 0) throw new UsageError('validate needs a policy file or directory');
  for (const path of positionals) await requireExisting(path);
  const paths = values.each === true ? await eachPolicy(positionals) : positionals;
  if (paths.length > 1 && format !== 'human') {
    throw new UsageError(`--format ${format} validates one policy at a time (got ${paths.length})`);
  }
  let failed = 0;
  for (const path of paths) {
    if (paths.length > 1) io.stdout.write(`${path}\n`);
    if (!(await validateOne(path, format, values, io))) failed++;
    if (paths.length > 1) io.stdout.write('\n');
  }
  if (paths.length > 1) io.stdout.write(`${paths.length - failed} of ${paths.length} policies valid\n`);
  return failed === 0 ? 0 : 1;
}

/** The policies of `--each`: a directory's policy files and subdirectories, each on its own. */
async function eachPolicy(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const path of paths) {
    if (!(await stat(path)).isDirectory()) {
      out.push(path);
      continue;
    }
    for (const entry of (await readdir(path, { withFileTypes: true })).sort((a, b) =>
      a.name < b.name ? -1 : 1,
    )) {
      if (entry.name.startsWith('.')) continue;
      if (entry.isDirectory()) out.push(join(path, entry.name));
      else if (/\.ya?ml$/.test(entry.name) && !/\.test\.ya?ml$/.test(entry.name))
        out.push(join(path, entry.name));
    }
  }
  return out;
}

async function validateOne(
  path: string,
  format: (typeof FORMATS)[number],
  values: { color?: boolean; 'no-color'?: boolean },
  io: CliIo,
): Promise<boolean> {
  const engine = await loadEngine('loadPolicyWithoutSecrets', 'formatHuman', 'formatJson', 'formatSarif');
  // Validating needs no secrets: a variable that is not set (a provider key) is a placeholder
  // and a warning here; only `serve` needs the real value.
  const {
    loaded: result,
    placeholders,
    placeholderWarnings,
  } = await engine.loadPolicyWithoutSecrets(path, envOf(io));
  const diagnostics = result.diagnostics;

  if (format === 'json') {
    io.stdout.write(jsonText(engine.formatJson([...placeholderWarnings, ...diagnostics])));
  } else if (format === 'sarif') {
    const sarif = engine.formatSarif([...placeholderWarnings, ...diagnostics], {
      toolVersion: await packageVersion(),
    });
    io.stdout.write(jsonText(sarif));
  } else {
    const color = useColor(io, values['no-color'] ? false : values.color);
    for (const name of placeholders) {
      io.stdout.write(`warning: \${${name}} is not set; validated with a placeholder (serve needs it)\n`);
    }
    if (diagnostics.length > 0) io.stdout.write(engine.formatHuman(diagnostics, result.sources, { color }));
    if (result.ok) {
      const { name, version, hash } = result.policy.identity;
      const files = result.files.length;
      io.stdout.write(
        `${diagnostics.length > 0 ? '\n' : ''}ok: policy ${name} ${version} is valid ` +
          `(${files} file${files === 1 ? '' : 's'}, hash ${hash.slice(0, 12)})\n`,
      );
    } else if (
      diagnostics.some((d) => d.code === 'PARSE_FRAGMENT_CONFLICT' && d.pointer.startsWith('/policy'))
    ) {
      // Several files each declaring their own `policy:` are separate policies, not fragments.
      io.stdout.write(
        `\nhint: ${path} holds several complete policies (each file has its own \`policy:\`); ` +
          `to validate each on its own: switchyard validate --each ${path}\n`,
      );
    }
  }
  return result.ok;
}
