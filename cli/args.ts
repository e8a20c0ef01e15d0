/**
 * Argument parsing every command shares: strict `node:util` parsing, positionals allowed (a
 * command that takes none says so), and `-h` / `--help`, which prints the command's help.
 */

import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { CliIo } from './io.js';

type CommandOptions = NonNullable<ParseArgsConfig['options']>;

const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const;

interface CommandConfig<O extends CommandOptions> {
  args: string[];
  allowPositionals: true;
  strict: true;
  options: O & typeof HELP_OPTION;
}

export type CommandArgs<O extends CommandOptions> = ReturnType<typeof parseArgs<CommandConfig<O>>>;

/**
 * Parses `args` against `options` plus `--help`. When help is asked for, prints `help` to stdout
 * and returns null: the command then exits 0. Unknown options throw (node's ERR_PARSE_ARGS_*
 * errors, a usage error for `main`).
 *
 * @example
 * const parsed = parseCommandArgs(args, { policy: { type: 'string' } }, SERVE_HELP, io);
 * if (parsed === null) return 0;
 */
export function parseCommandArgs<const O extends CommandOptions>(
  args: string[],
  options: O,
  help: string,
  io: CliIo,
): CommandArgs<O> | null {
  const config: CommandConfig<O> = {
    args,
    allowPositionals: true,
    strict: true,
    options: { ...options, ...HELP_OPTION },
  };
  const parsed = parseArgs(config);
  // `values` is generic here; `help` is the boolean added above.
  if ((parsed.values as { help?: boolean }).help === true) {
    io.stdout.write(help);
    return null;
  }
  return parsed;
}

/** The output options of the commands that print a report: `--format`, `--color`, `--no-color`. */
export const OUTPUT_OPTIONS = {
  format: { type: 'string' },
  color: { type: 'boolean' },
  'no-color': { type: 'boolean' },
} as const;
