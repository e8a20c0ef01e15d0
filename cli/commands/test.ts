/**
 * `switchyard test [paths...]`: runs the policy unit tests (`*.test.yaml`) under the given files
 * or directories (default: the current directory), offline and on virtual time. Exit 0 when all
 * pass, 1 when any fails or a test file cannot run, 2 on a usage error.
 */
import { writeFile } from 'node:fs/promises';
import { OUTPUT_OPTIONS, parseCommandArgs } from '../args.js';
import { type CliIo, loadEngine, parseFormat, requireExisting, UsageError, useColor } from '../io.js';

export const TEST_HELP = `Usage: switchyard test [paths...] [options]

Runs the policy tests (*.test.yaml) found under the given files or directories (default: .).
Each case sends a request through the policy with every provider replaced by an offline mock
scripted by the case (ok, overloaded, rate_limited, timeout, "stream_cut after 3 chunks", ...),
on a virtual clock, and checks the route, the attempts, the status and error code, the cache, what
the limits did, the guardrail verdicts, headers and the answer; repeat, every and steps
(wait, another request) test limits, caches and breakers over time. Provider keys are not needed:
a missing \${SECRET} is a placeholder here.

Options:
  --format <human|json>   Output format (default: human)
  --junit <file>          Also write a JUnit XML report (for CI systems)
  --color / --no-color    Force colours on or off (default: on for a terminal)
  -h, --help              Show this help

Exit codes: 0 all passed, 1 a test failed or a test file could not run, 2 usage error.
`;

const FORMATS = ['human', 'json'] as const;

export async function runTest(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommandArgs(
    args,
    {
      junit: { type: 'string' },
      ...OUTPUT_OPTIONS,
    },
    TEST_HELP,
    io,
  );
  if (parsed === null) return 0;
  const { values, positionals } = parsed;
  const format = parseFormat(values.format, FORMATS, 'human');
  for (const path of positionals) await requireExisting(path);
  const engine = await loadEngine('findPolicyTests', 'runPolicyTests', 'formatJUnit');
  let files: string[];
  try {
    files = await engine.findPolicyTests(positionals.length === 0 ? ['.'] : positionals);
  } catch (err) {
    throw new UsageError(
      `cannot read ${positionals.join(' ') || '.'}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (files.length === 0) throw new UsageError(`no *.test.yaml files under ${positionals.join(' ') || '.'}`);
  const run = await engine.runPolicyTests(files);
  if (values.junit !== undefined) await writeFile(values.junit, engine.formatJUnit(run));
  const passed = run.results.filter((r) => r.ok).length;
  const failed = run.results.length - passed + run.errors.length;
  if (format === 'json') {
    io.stdout.write(
      `${JSON.stringify({ passed, failed, results: run.results, errors: run.errors }, null, 2)}\n`,
    );
  } else {
    const color = useColor(io, values['no-color'] ? false : values.color);
    const paint = (code: number, text: string): string => (color ? `\u001b[${code}m${text}\u001b[0m` : text);
    for (const e of run.errors) io.stdout.write(`${paint(31, 'ERROR')} ${e.file}: ${e.message}\n`);
    for (const r of run.results) {
      if (r.ok) io.stdout.write(`${paint(32, 'ok')}   ${r.file}:${r.line} ${r.name}\n`);
      else {
        io.stdout.write(`${paint(31, 'FAIL')} ${r.file}:${r.line} ${r.name}\n`);
        for (const f of r.failures) io.stdout.write(`       ${f}\n`);
      }
    }
    io.stdout.write(`\n${passed} passed, ${failed} failed\n`);
  }
  return failed === 0 ? 0 : 1;
}
