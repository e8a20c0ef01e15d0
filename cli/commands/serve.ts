/**
 * `switchyard serve --policy <file|dir>`: runs the gateway until SIGTERM or SIGINT, reloading the
 * policy on file changes and on SIGHUP. A policy that fails its first load is printed and the
 * command exits 1 without serving.
 *
 * Shutdown: the first SIGTERM/SIGINT drains for up to `--shutdown-grace`, cuts what is left (in
 * band, see server/lifecycle.ts) and exits 0. A second SIGTERM/SIGINT during the drain (at least
 * {@link REPEATED_SIGNAL_MS} after the first) cuts at once and exits 1: the process did not finish
 * its work, and an orchestrator or a shell should be able to tell.
 */

import type { NoPolicyError, ServerLoggerOptions } from '../../server/app.js';
import { LOG_FORMATS, type LogFormat, prettyDestination, resolveLogFormat } from '../../server/log-format.js';
import type { ReloadResult } from '../../server/policy-manager.js';
import { startTracing, type Tracing } from '../../server/tracing.js';
import { parseCommandArgs } from '../args.js';
import { startedServing } from '../heap-tuning.js';
import {
  CliError,
  type CliIo,
  loadServingEngine,
  requireExisting,
  type SignalSource,
  UsageError,
  useColor,
} from '../io.js';

export const SERVE_HELP = `Usage: switchyard serve --policy <file|dir> [options]

Runs the OpenAI-compatible gateway. The policy is watched and hot-reloaded; SIGHUP reloads it
too. SIGTERM or SIGINT drains in-flight requests and streams for up to the shutdown grace period,
ends what still runs with an in-band error, and exits 0; a second SIGTERM or SIGINT during the
drain (half a second or more after the first) does that at once and exits 1.

Options:
  --policy <path>       Policy file or directory (required)
  --port <n>            Port to listen on (default: 8080; 0 picks a free one)
  --host <addr>         Address to bind (default: 127.0.0.1; 0.0.0.0 for all interfaces)
  --body-limit <size>   Largest request body, e.g. 512kb, 1mb, 4mb (default: 1mb)
  --shutdown-grace <d>  How long shutdown waits for requests and streams: 30s, 500ms, or
                        plain milliseconds (default: 30s)
  --no-watch            Do not watch the policy files (reload with SIGHUP or POST /admin/reload)
  --log-level <level>   fatal, error, warn, info, debug, trace or silent (default: info)
  --log-format <f>      pretty (human-readable), json (one JSON object per line) or auto:
                        pretty when standard output is a terminal, else json (default: auto)
  --record <file>       Append one JSON line per request to <file> (format:
                        schemas/recorded-traffic.schema.json). Replaces the path of the
                        policy's \`recording\` block; records even without one
  --record-content <m>  Message text in recordings: keep, hash or drop; replaces the block's
                        \`content\` (default: the block's, else hash)
  --no-record           Record nothing, whatever the policy's \`recording\` block says
  --jobs-dir <dir>      Keep uploaded files, batches and deferred requests here; they
                        survive a restart and resume (without it, /v1/files, /v1/batches
                        and x-switchyard-defer answer 404 jobs_disabled)
  --jobs-redis <url>    Keep them in Redis instead (redis://host:port/db): replicas given
                        the same URL and prefix share the jobs, and a replica's unfinished
                        jobs are taken over when it dies. The URL may also come from
                        SWITCHYARD_JOBS_REDIS_URL (keeps a password off the command line)
  --jobs-redis-prefix <p>
                        Key prefix of the jobs in Redis (default: switchyard:jobs:)
  --jobs-lease <d>      How long a replica's hold on a job lasts in Redis, renewed every third
                        of it: a dead replica's jobs are taken over within about this long,
                        and a replica stalled longer loses its jobs (1s to 10m; default: 30s)
  -h, --help            Show this help

Environment:
  SWITCHYARD_ADMIN_TOKEN       Bearer token for /admin (without it, /admin answers 404)
  SWITCHYARD_JOBS_REDIS_URL    The Redis of --jobs-redis, when the option is not given
  OTEL_EXPORTER_OTLP_ENDPOINT  Export traces over OTLP/HTTP (a span per request and per upstream
                               attempt); the other OTEL_* variables apply (OTEL_SERVICE_NAME,
                               OTEL_EXPORTER_OTLP_HEADERS, ...). Unset: no tracing.

Exit codes: 0 stopped by a signal after draining, 1 the policy is not valid or cannot serve (its
recording file cannot be written; nothing served) or a second signal cut the drain short, 2 usage
error, a missing policy path, or the address or the --record file cannot be used.
`;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
};

/** `512kb` → 524288; binary multiples, as Fastify and most proxies count. */
export function parseSize(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  if (m === null) return null;
  const unit = SIZE_UNITS[m[2].toLowerCase()];
  if (unit === undefined) return null;
  const bytes = Math.floor(Number(m[1]) * unit);
  return bytes > 0 && Number.isSafeInteger(bytes) ? bytes : null;
}

const DURATION_UNITS: Record<string, number> = { '': 1, ms: 1, s: 1000, m: 60_000 };
/** The longest grace period accepted (and a safe timer delay). */
const MAX_GRACE_MS = 24 * 60 * 60 * 1000;

/** `30s` → 30000, `500ms` → 500, `1500` → 1500 (plain numbers are milliseconds); null if invalid. */
export function parseDuration(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/i.exec(text.trim());
  if (m === null) return null;
  const ms = Math.round(Number(m[1]) * DURATION_UNITS[(m[2] ?? '').toLowerCase()]);
  return Number.isSafeInteger(ms) && ms <= MAX_GRACE_MS ? ms : null;
}

/** How long a second signal waits for the cut streams' last bytes and the recording before exiting. */
const FORCED_EXIT_WAIT_MS = 500;

/**
 * A stop signal repeated within this time of the first is the same request, not a second one:
 * Ctrl-C in a terminal signals the whole foreground process group, so under `npm start` both npm
 * and this process get SIGINT, and npm then forwards its copy here too.
 */
export const REPEATED_SIGNAL_MS = 500;

const CONTENT_MODES = ['keep', 'hash', 'drop'] as const;
function isContentMode(text: string): text is (typeof CONTENT_MODES)[number] {
  return (CONTENT_MODES as readonly string[]).includes(text);
}

function parsePort(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 65535) {
    throw new UsageError(`--port must be an integer from 0 to 65535 (got "${text}")`);
  }
  return Number(text);
}

/** The shortest and longest `--jobs-lease`: renewals every third of it, takeover after it. */
const MIN_LEASE_MS = 1000;
const MAX_LEASE_MS = 10 * 60_000;

/** `--jobs-redis` (or SWITCHYARD_JOBS_REDIS_URL), its prefix and lease; undefined without one. */
function jobsRedisOption(
  values: { 'jobs-dir'?: string; 'jobs-redis'?: string; 'jobs-redis-prefix'?: string; 'jobs-lease'?: string },
  env: Record<string, string | undefined>,
): { url: string; prefix?: string; leaseMs?: number } | undefined {
  const url = values['jobs-redis'] ?? (env.SWITCHYARD_JOBS_REDIS_URL || undefined);
  const prefix = values['jobs-redis-prefix'];
  const lease = values['jobs-lease'];
  if (url === undefined) {
    if (prefix !== undefined) throw new UsageError('--jobs-redis-prefix needs --jobs-redis <url>');
    // A single process with --jobs-dir owns every job: there is nobody to take one over.
    if (lease !== undefined) throw new UsageError('--jobs-lease needs --jobs-redis <url>');
    return undefined;
  }
  const leaseMs = lease === undefined ? undefined : parseDuration(lease);
  if (leaseMs === null || (leaseMs !== undefined && (leaseMs < MIN_LEASE_MS || leaseMs > MAX_LEASE_MS))) {
    throw new UsageError(
      `--jobs-lease must be a duration from 1s to 10m, such as 30s or 2m (got "${lease}")`,
    );
  }
  if (values['jobs-dir'] !== undefined) {
    throw new UsageError(
      '--jobs-dir and --jobs-redis (or SWITCHYARD_JOBS_REDIS_URL) cannot be combined: choose one job store',
    );
  }
  // The URL and prefix are checked by the server, which refuses to start on a bad one.
  return { url, ...(prefix === undefined ? {} : { prefix }), ...(leaseMs === undefined ? {} : { leaseMs }) };
}

export async function runServe(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommandArgs(
    args,
    {
      policy: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'body-limit': { type: 'string' },
      'shutdown-grace': { type: 'string' },
      'no-watch': { type: 'boolean' },
      'log-level': { type: 'string' },
      'log-format': { type: 'string' },
      record: { type: 'string' },
      'record-content': { type: 'string' },
      'no-record': { type: 'boolean' },
      'jobs-dir': { type: 'string' },
      'jobs-redis': { type: 'string' },
      'jobs-redis-prefix': { type: 'string' },
      'jobs-lease': { type: 'string' },
    },
    SERVE_HELP,
    io,
  );
  if (parsed === null) return 0;
  const { values, positionals } = parsed;
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (values.policy === undefined) throw new UsageError('serve needs --policy <file|dir>');
  const port = values.port === undefined ? 8080 : parsePort(values.port);
  const bodyLimit = values['body-limit'] === undefined ? 1024 * 1024 : parseSize(values['body-limit']);
  if (bodyLimit === null) {
    throw new UsageError(`--body-limit must be a size such as 512kb or 1mb (got "${values['body-limit']}")`);
  }
  const gracePeriodMs =
    values['shutdown-grace'] === undefined ? undefined : parseDuration(values['shutdown-grace']);
  if (gracePeriodMs === null) {
    throw new UsageError(
      `--shutdown-grace must be a duration such as 30s, 500ms or 1500 (got "${values['shutdown-grace']}")`,
    );
  }
  const level = values['log-level'] ?? 'info';
  if (!LOG_LEVELS.includes(level))
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);

  const logFormat = values['log-format'] ?? 'auto';
  if (!(LOG_FORMATS as readonly string[]).includes(logFormat)) {
    throw new UsageError(`--log-format must be one of ${LOG_FORMATS.join(', ')} (got "${logFormat}")`);
  }

  const recordContent = values['record-content'];
  if (recordContent !== undefined && !isContentMode(recordContent)) {
    throw new UsageError('--record-content must be one of keep, hash, drop');
  }
  if (values['no-record'] && (values.record !== undefined || recordContent !== undefined)) {
    throw new UsageError('--no-record cannot be combined with --record or --record-content');
  }
  const record =
    values['no-record'] === true
      ? (false as const)
      : values.record === undefined && recordContent === undefined
        ? undefined
        : {
            ...(values.record === undefined ? {} : { path: values.record }),
            ...(recordContent === undefined ? {} : { content: recordContent }),
          };

  await requireExisting(values.policy, '--policy');
  const jobsRedis = jobsRedisOption(values, io.env ?? process.env);

  const { formatHuman, setFirstLoadIn } = await loadServingEngine(
    'formatHuman',
    'loadPolicy',
    'createEngine',
    'setFirstLoadIn',
  );
  // The first policy loads in a child process, later ones in the loader's worker thread: a thread
  // leaves its malloc arena behind when it stops, ~2.6 MB for good (engine/compile/off-thread.ts).
  setFirstLoadIn('process');
  let createServer: typeof import('../../server/app.js').createServer;
  try {
    ({ createServer } = await import('../../server/app.js'));
  } catch (err) {
    throw new CliError(`the server failed to load: ${err instanceof Error ? err.message : String(err)}`);
  }

  const logger: ServerLoggerOptions = { level };
  if (resolveLogFormat(logFormat as LogFormat, io.stdout.isTTY === true) === 'pretty') {
    logger.stream = await prettyDestination({ color: useColor(io, undefined) });
  }
  const env = io.env ?? process.env;
  let tracing: Tracing | null;
  try {
    tracing = await startTracing(env);
  } catch (err) {
    throw new CliError(`tracing failed to start: ${err instanceof Error ? err.message : String(err)}`);
  }
  /** The first policy did not load: its diagnostics on stderr, exit 1. */
  const reportNoPolicy = (failure: ReloadResult | null): number => {
    const invalid = failure === null || failure.diagnostics.some((d) => d.severity === 'error');
    // A valid policy can still be unable to serve (its recording file cannot be written).
    io.stderr.write(
      `switchyard: the policy at ${values.policy} ${invalid ? 'is not valid' : 'cannot serve'}; not serving\n\n`,
    );
    if (failure !== null) {
      if (failure.diagnostics.length > 0) {
        io.stderr.write(
          formatHuman([...failure.diagnostics], failure.sources, { color: useColor(io, undefined) }),
        );
      }
      if (failure.error !== undefined) io.stderr.write(`${failure.error}\n`);
    }
    return 1;
  };
  const host = values.host ?? '127.0.0.1';
  let server: Awaited<ReturnType<typeof createServer>>;
  try {
    server = await createServer({
      policyPath: values.policy,
      host,
      port,
      bodyLimit,
      ...(gracePeriodMs === undefined ? {} : { gracePeriodMs }),
      logger,
      watch: !values['no-watch'],
      // The YAML parser and the validators never load on the serving thread (docs/footprint.md):
      // the first load runs in a child process (above), reloads in a worker thread.
      firstLoadOffThread: true,
      // A policy that does not load is reported below and never listened with.
      requirePolicy: true,
      ...(record === undefined ? {} : { record }),
      ...(values['jobs-dir'] === undefined ? {} : { jobsDir: values['jobs-dir'] }),
      ...(jobsRedis === undefined ? {} : { jobsRedis }),
      ...(io.env === undefined ? {} : { env: io.env }),
    });
  } catch (err) {
    await tracing?.shutdown().catch(() => undefined);
    const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
    // The first policy did not load (requirePolicy): nothing listened.
    if (code === 'SY_NO_POLICY') return reportNoPolicy((err as NoPolicyError).failure);
    if (code === 'SY_RECORDING_PATH' && err instanceof Error) throw new CliError(err.message);
    const reason =
      code === 'EADDRINUSE' ? 'the address is in use' : err instanceof Error ? err.message : String(err);
    // Start-up refusals of our own (a recording or jobs path that cannot be written) say what.
    if (code.startsWith('SY_')) throw new CliError(reason);
    throw new CliError(`cannot listen on ${host}:${port}: ${reason}`);
  }

  const { manager } = server;
  tracing?.logTo(server.log);
  const current = manager.current;
  if (current === null) {
    // requirePolicy: the server does not come up without one; a defence only.
    await server.close();
    await tracing?.shutdown().catch(() => undefined);
    return reportNoPolicy(manager.lastError);
  }

  const { name, version, hash } = current.identity;
  const signals: SignalSource = io.signals ?? process;
  // Defence in depth: a stray rejected promise (a bug) is logged, not fatal to every request in
  // flight. Only the error's name and a redacted message are written: no stack, no secrets.
  const onUnhandled = (reason: unknown): void => {
    io.stderr.write(`switchyard: unhandled rejection (a bug; still serving): ${describeSafely(reason)}\n`);
  };
  process.on('unhandledRejection', onUnhandled);
  return new Promise<number>((resolve) => {
    let settled = false;
    const finish = (code: number): void => {
      if (settled) return;
      settled = true;
      process.off('unhandledRejection', onUnhandled);
      signals.off('SIGHUP', onHangup);
      signals.off('SIGTERM', onStop);
      signals.off('SIGINT', onStop);
      resolve(code);
    };
    const onHangup = (): void => {
      void manager.reload('signal');
    };
    let stopping = false;
    let stoppedAt = 0;
    let forced = false;
    const onStop = (signal?: NodeJS.Signals): void => {
      if (stopping) {
        if (forced || performance.now() - stoppedAt < REPEATED_SIGNAL_MS) return;
        forced = true;
        // A second signal during the drain: cut now, exit 1 without waiting for the grace period.
        server.log.warn(
          { signal: signal ?? 'SIGTERM' },
          'second signal during the shutdown drain: cutting in-flight requests and exiting now (exit code 1)',
        );
        server.endGracePeriod();
        // The cut writes its in-band events at once; give them and the recording a moment to
        // reach the kernel, then exit even if the drain has not finished.
        const exitNow = (): void => {
          clearTimeout(timer);
          finish(1);
          // The real process exits now; an embedding caller (tests) just gets the code.
          if (io.signals === undefined) process.exit(1);
        };
        const timer = setTimeout(exitNow, FORCED_EXIT_WAIT_MS);
        void closing?.finally(exitNow);
        return;
      }
      stopping = true;
      stoppedAt = performance.now();
      closing = server
        .close()
        .then(() =>
          tracing?.shutdown().catch((err: unknown) => {
            // Spans that could not be exported do not make the shutdown a failure.
            io.stderr.write(`switchyard: traces not flushed: ${describeSafely(err)}\n`);
          }),
        )
        .then(
          () => finish(forced ? 1 : 0),
          (err: unknown) => {
            io.stderr.write(
              `switchyard: shutdown failed: ${err instanceof Error ? err.message : String(err)}\n`,
            );
            finish(1);
          },
        );
    };
    let closing: Promise<void> | null = null;
    signals.on('SIGHUP', onHangup);
    signals.on('SIGTERM', onStop);
    signals.on('SIGINT', onStop);
    // Only now the listening line, which is what scripts wait for before they signal: written
    // before the handlers, a SIGINT sent on reading it could meet the default action (death,
    // no drain) in the moment between.
    if (tracing !== null) io.stdout.write(`switchyard exports traces to ${tracing.endpoint} (OTLP/HTTP)\n`);
    io.stdout.write(
      `switchyard listening on ${server.url} (policy ${name} ${version}, hash ${hash.slice(0, 12)})\n`,
    );
    startedServing();
  });
}

/** An error for a log line: name and message, with anything that looks like a credential masked. */
export function describeSafely(reason: unknown): string {
  const text =
    reason instanceof Error
      ? `${reason.name}: ${reason.message}`
      : typeof reason === 'string'
        ? reason
        : typeof reason;
  return text
    .replace(/\b(sk|pk|rk)-[A-Za-z0-9_-]{4,}/g, '$1-***')
    .replace(/\b(bearer|basic)\s+[^\s,;]+/gi, '$1 ***')
    .replace(/(\w+:\/\/[^:/@\s]*:)[^@\s]*@/g, '$1***@')
    .slice(0, 500);
}
