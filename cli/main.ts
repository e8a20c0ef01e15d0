/**
 * The `switchyard` command line: a thin dispatcher over one module per command. `main` never
 * throws: usage mistakes and internal failures become a message on stderr and exit code 2 (a
 * stack trace only with SWITCHYARD_DEBUG=1); policy problems are exit code 1.
 *
 * @example
 * process.exitCode = await main(process.argv.slice(2));
 */

import { BATCH_HELP, runBatch } from './commands/batch.js';
import { DIFF_HELP, runDiff } from './commands/diff.js';
import { EXPLAIN_HELP, runExplain } from './commands/explain.js';
import { REPLAY_HELP, runReplay } from './commands/replay.js';
import { runSchema, SCHEMA_HELP } from './commands/schema.js';
import { runServe, SERVE_HELP } from './commands/serve.js';
import { runTest, TEST_HELP } from './commands/test.js';
import { runValidate, VALIDATE_HELP } from './commands/validate.js';
import { CliError, type CliIo, packageVersion, UsageError } from './io.js';

export type { CliIo } from './io.js';

interface Command {
  summary: string;
  help: string;
  run(args: string[], io: CliIo): Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  validate: { summary: 'Check a policy and print its diagnostics', help: VALIDATE_HELP, run: runValidate },
  explain: { summary: 'Show the route and plan a request would get', help: EXPLAIN_HELP, run: runExplain },
  test: { summary: 'Run the policy tests (*.test.yaml), offline', help: TEST_HELP, run: runTest },
  diff: { summary: 'Show what changes from one policy to another', help: DIFF_HELP, run: runDiff },
  replay: {
    summary: 'Run a policy over recorded traffic and report what changes',
    help: REPLAY_HELP,
    run: runReplay,
  },
  serve: { summary: 'Run the OpenAI-compatible gateway', help: SERVE_HELP, run: runServe },
  batch: { summary: 'Run a batch file of requests through a policy', help: BATCH_HELP, run: runBatch },
  schema: { summary: 'Print the policy JSON Schema', help: SCHEMA_HELP, run: runSchema },
};

export const MAIN_HELP = `Usage: switchyard <command> [options]

Declarative, policy-driven routing for LLM API traffic.

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(10)}${c.summary}`)
  .join('\n')}
  help      Show help for a command

Options:
  -h, --help     Show this help
  --version      Print the version

Run "switchyard <command> --help" for the options of a command.
`;

/** Errors from node:util parseArgs (unknown option, missing value, ...) are usage errors. */
function isParseArgsError(err: unknown): err is Error {
  return (
    err instanceof Error &&
    'code' in err &&
    typeof err.code === 'string' &&
    err.code.startsWith('ERR_PARSE_ARGS')
  );
}

function closestCommand(name: string): string | undefined {
  return Object.keys(COMMANDS).find((c) => c.startsWith(name.slice(0, 3)) && name.length >= 3);
}

async function dispatch(argv: string[], io: CliIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.stderr.write(MAIN_HELP);
    return 2;
  }
  if (first === '--help' || first === '-h') {
    io.stdout.write(MAIN_HELP);
    return 0;
  }
  if (first === 'help') {
    const topic = rest[0];
    if (topic === undefined) {
      io.stdout.write(MAIN_HELP);
      return 0;
    }
    const command = Object.hasOwn(COMMANDS, topic) ? COMMANDS[topic] : undefined;
    if (command === undefined) throw new UsageError(`unknown command "${topic}"`);
    io.stdout.write(command.help);
    return 0;
  }
  if (first === '--version' || first === 'version') {
    io.stdout.write(`${await packageVersion()}\n`);
    return 0;
  }
  const command = Object.hasOwn(COMMANDS, first) ? COMMANDS[first] : undefined;
  if (command === undefined) {
    const guess = closestCommand(first);
    throw new UsageError(
      first.startsWith('-')
        ? `unknown option "${first}"`
        : `unknown command "${first}"${guess === undefined ? '' : ` (did you mean "${guess}"?)`}`,
    );
  }
  return command.run(rest, io);
}

export async function main(argv: string[], io?: CliIo): Promise<number> {
  const out: CliIo = io ?? { stdout: process.stdout, stderr: process.stderr };
  const env = out.env ?? process.env;
  try {
    return await dispatch(argv, out);
  } catch (err) {
    if (err instanceof UsageError || isParseArgsError(err)) {
      out.stderr.write(`switchyard: ${err.message}\nRun "switchyard --help" for usage.\n`);
      return 2;
    }
    const message = err instanceof Error ? err.message : String(err);
    out.stderr.write(
      err instanceof CliError ? `switchyard: ${message}\n` : `switchyard: internal error: ${message}\n`,
    );
    if (env.SWITCHYARD_DEBUG === '1' && err instanceof Error && err.stack !== undefined) {
      out.stderr.write(`${err.stack}\n`);
    }
    return 2;
  }
}
