/**
 * The `switchyard` command line: a thin dispatcher over one module per command. `main` never
 * throws: usage mistakes and internal failures become a message on stderr and exit code 2 (a
 * stack trace only with SWITCHYARD_DEBUG=1); policy problems are exit code 1.
 *
 * @example
 * process.exitCode = await main(process.argv.slice(2));
 */

import { CliError, type CliIo, packageVersion, UsageError } from './io.js';

export type { CliIo } from './io.js';

/** A command's help text and entry point, from its module. */
interface Loaded {
  help: string;
  run(args: string[], io: CliIo): Promise<number>;
}

interface Command {
  summary: string;
  /**
   * Imports the command's module when it runs (or its help is asked for), so one command does
   * not load every other's dependencies: `serve` never loads replay's report and progress bar,
   * `validate` never loads the gateway.
   */
  load(): Promise<Loaded>;
}

const COMMANDS: Record<string, Command> = {
  validate: {
    summary: 'Check a policy and print its diagnostics',
    load: () => import('./commands/validate.js').then((m) => ({ help: m.VALIDATE_HELP, run: m.runValidate })),
  },
  explain: {
    summary: 'Show the route and plan a request would get',
    load: () => import('./commands/explain.js').then((m) => ({ help: m.EXPLAIN_HELP, run: m.runExplain })),
  },
  test: {
    summary: 'Run the policy tests (*.test.yaml), offline',
    load: () => import('./commands/test.js').then((m) => ({ help: m.TEST_HELP, run: m.runTest })),
  },
  diff: {
    summary: 'Show what changes from one policy to another',
    load: () => import('./commands/diff.js').then((m) => ({ help: m.DIFF_HELP, run: m.runDiff })),
  },
  replay: {
    summary: 'Run a policy over recorded traffic and report what changes',
    load: () => import('./commands/replay.js').then((m) => ({ help: m.REPLAY_HELP, run: m.runReplay })),
  },
  serve: {
    summary: 'Run the OpenAI-compatible gateway',
    load: () => import('./commands/serve.js').then((m) => ({ help: m.SERVE_HELP, run: m.runServe })),
  },
  batch: {
    summary: 'Run a batch file of requests through a policy',
    load: () => import('./commands/batch.js').then((m) => ({ help: m.BATCH_HELP, run: m.runBatch })),
  },
  schema: {
    summary: 'Print the policy JSON Schema',
    load: () => import('./commands/schema.js').then((m) => ({ help: m.SCHEMA_HELP, run: m.runSchema })),
  },
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
    io.stdout.write((await command.load()).help);
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
  return (await command.load()).run(rest, io);
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
