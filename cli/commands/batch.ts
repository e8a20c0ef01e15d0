/**
 * `switchyard batch run <requests.jsonl> --policy <path>`: the Batch API's work in this process,
 * without a server. Every request of the input file (Batch API input lines) goes through the
 * policy as a job request (the same runner loop as the server's batches), with bounded
 * concurrency and a progress bar on a terminal; one result line per request, in the Batch API's
 * output shape, goes to `--out` (or stdout). `--resume` continues an `--out` file: requests
 * already in it are skipped. SIGINT/SIGTERM stop starting requests and let those in flight end
 * (a second signal cuts them); what was written stays valid for `--resume`.
 */

import { setMaxListeners } from 'node:events';
import { stat } from 'node:fs/promises';
import cliProgress from 'cli-progress';
import { parseCommandArgs } from '../args.js';
import { CliError, type CliIo, envOf, loadEngine, type SignalSource, UsageError, useColor } from '../io.js';
import { showsProgress } from '../progress.js';

export const BATCH_HELP = `Usage: switchyard batch run <requests.jsonl> --policy <file|dir> [options]

Runs every request of a batch input file (OpenAI Batch API lines: {"custom_id", "method": "POST",
"url": "/v1/chat/completions" or "/v1/embeddings", "body"}) through the policy, in this process:
the same routes, limits, budgets, guardrails as the gateway, with the header x-switchyard-job:
batch. Writes one line per request in the Batch API output shape:
{"id", "custom_id", "response": {"status_code", "request_id", "body"}, "error"}.

Options:
  --policy <path>       The policy (required); provider keys come from the environment
  --out <file>          Write results here (default: stdout)
  --resume              Continue an existing --out file: requests already in it are skipped
  --concurrency <n>     Requests in flight at once (default: the policy's jobs.concurrency)
  --quiet               No progress bar (it is shown only on a terminal anyway)
  -h, --help            Show this help

SIGINT or SIGTERM stops starting requests and lets those in flight finish (a second one cuts
them); run again with --resume to finish.

Exit codes: 0 every request answered 2xx, 1 some request failed, the run was interrupted, or the
policy does not validate, 2 usage or input error (a line of the input file is not a valid request:
every such line is listed and nothing runs).
`;

export async function runBatch(args: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === '-h' || sub === '--help') {
    io.stdout.write(BATCH_HELP);
    return 0;
  }
  if (sub !== 'run') {
    throw new UsageError(
      sub === undefined
        ? 'batch needs a subcommand: batch run <requests.jsonl>'
        : `unknown batch subcommand "${sub}" (try "batch run")`,
    );
  }
  const parsed = parseCommandArgs(
    rest,
    {
      policy: { type: 'string' },
      out: { type: 'string' },
      resume: { type: 'boolean' },
      concurrency: { type: 'string' },
      quiet: { type: 'boolean' },
    },
    BATCH_HELP,
    io,
  );
  if (parsed === null) return 0;
  const { values, positionals } = parsed;
  if (positionals.length !== 1)
    throw new UsageError('batch run takes one input file: batch run <requests.jsonl> --policy <path>');
  const input = positionals[0];
  if (values.policy === undefined) throw new UsageError('batch run needs --policy <file|dir>');
  let concurrency: number | undefined;
  if (values.concurrency !== undefined) {
    concurrency = Number(values.concurrency);
    if (!/^\d+$/.test(values.concurrency) || concurrency < 1 || concurrency > 1000) {
      throw new UsageError(`--concurrency must be an integer from 1 to 1000 (got "${values.concurrency}")`);
    }
  }
  if (values.resume && values.out === undefined) throw new UsageError('--resume needs --out <file>');
  try {
    await stat(input);
  } catch {
    throw new UsageError(`no such file: ${input}`);
  }
  if (values.out !== undefined && !values.resume) {
    const existing = await stat(values.out).catch(() => null);
    if (existing !== null && existing.size > 0) {
      throw new UsageError(`${values.out} already exists; pass --resume to continue it, or remove it`);
    }
  }

  const engineApi = await loadEngine('loadPolicy', 'createEngine', 'formatHuman');
  const { jobs, systemClock } = await import('../../engine/index.js');
  const loaded = await engineApi.loadPolicy(values.policy, { env: envOf(io) });
  if (!loaded.ok) {
    io.stderr.write(
      `${values.policy} does not validate:\n${engineApi.formatHuman(loaded.diagnostics, loaded.sources, { color: useColor(io, undefined) })}`,
    );
    return 1;
  }
  const policy = loaded.policy;
  const checked = await jobs.checkInputFile(input, { endpoint: null, maxRequests: policy.jobs.maxRequests });
  if (checked.problems.length > 0) {
    for (const p of checked.problems) {
      io.stderr.write(`${input}${p.line === null ? '' : `:${p.line}`}: ${p.code}: ${p.message}\n`);
    }
    io.stderr.write(`${checked.problems.length} problem(s) in ${input}; nothing was run\n`);
    // An input error, like a bad request file for explain or an unreadable traffic file for replay.
    return 2;
  }

  const previous = values.out !== undefined && values.resume ? await jobs.recoverOutput(values.out) : null;
  const writer = values.out === undefined ? null : new jobs.JournalWriter(values.out);
  const engine = engineApi.createEngine(policy);
  const slots = new jobs.Slots(() => concurrency ?? policy.jobs.concurrency);
  const jobId = jobs.newId('batch_');
  const halt = new AbortController();
  const cut = new AbortController();
  // One listener per request in flight (up to the concurrency), each removed when it ends.
  setMaxListeners(0, cut.signal);
  const wakeup = new jobs.Wakeup();
  let succeeded = previous?.succeeded ?? 0;
  let failed = previous?.failed ?? 0;
  const total = checked.total;

  // On a terminal only (never in CI logs or pipes), as the replay's bar (cli/progress.ts).
  const bar = showsProgress(io, values.quiet === true)
    ? new cliProgress.SingleBar(
        {
          stream: io.stderr as unknown as NodeJS.WritableStream,
          format: 'batch {bar} {value}/{total} requests | {failed} failed | ETA {eta_formatted}',
          barsize: 24,
          clearOnComplete: true,
          // A hidden cursor would stay hidden if the user interrupts; leave it alone.
          hideCursor: false,
          etaBuffer: 50,
        },
        cliProgress.Presets.shades_classic,
      )
    : null;
  bar?.start(total, succeeded + failed, { failed });

  const signals: SignalSource = io.signals ?? process;
  let interrupts = 0;
  const onSignal = (): void => {
    interrupts++;
    if (interrupts === 1) {
      halt.abort(new Error('interrupted'));
      wakeup.notify();
    } else {
      cut.abort(new Error('interrupted'));
    }
  };
  signals.on('SIGINT', onSignal);
  signals.on('SIGTERM', onSignal);
  const lines = jobs.jobLines(input, null);
  let result: Awaited<ReturnType<typeof jobs.executeJob>>;
  try {
    result = await jobs.executeJob({
      lines,
      isDone: (line) => previous?.done.has(line.customId) === true,
      slots,
      priority: 'low',
      haltSignal: halt.signal,
      wakeup,
      clock: systemClock,
      halted: () => (halt.signal.aborted ? 'interrupted' : null),
      run: (line, deferrals) =>
        jobs.runJobLine(engine, line, {
          jobId,
          jobKind: 'batch',
          tenant: null,
          headers: {},
          deferrals,
          signal: cut.signal,
        }),
      onDone: async (_line, outcome) => {
        const text = `${JSON.stringify(outcome.out)}\n`;
        if (writer !== null) await writer.append(outcome.out);
        else io.stdout.write(text);
        if (outcome.ok) succeeded++;
        else failed++;
        bar?.update(succeeded + failed, { failed });
      },
    });
  } finally {
    signals.off('SIGINT', onSignal);
    signals.off('SIGTERM', onSignal);
    bar?.stop();
    await lines.return(undefined);
    await writer?.close();
    await engine.close();
  }
  if (result.kind === 'broken') {
    throw new CliError(
      result.problem?.message ??
        `writing the results failed: ${result.error instanceof Error ? result.error.message : String(result.error)}`,
    );
  }
  const done = succeeded + failed;
  const where = values.out === undefined ? '' : ` (results in ${values.out})`;
  if (result.kind === 'halted') {
    io.stderr.write(
      `interrupted: ${done} of ${total} requests done${where}; run again with --resume to finish\n`,
    );
    return 1;
  }
  io.stderr.write(`${done} requests: ${succeeded} succeeded, ${failed} failed${where}\n`);
  return failed === 0 ? 0 : 1;
}
