/**
 * Logging set-up: pino options with the redaction every line gets, the asynchronous standard
 * output, and the cheaper logger the per-request line goes through.
 */

import pino, { type LoggerOptions } from 'pino';
import { CREDENTIAL_HEADERS } from '../engine/serving.js';

/** The server's logger (pino). */
export type Logger = pino.Logger;

/** pino options, plus where to write (stdout by default). */
export type ServerLoggerOptions = LoggerOptions & { stream?: { write(line: string): void } };

/** Never logged: the credential headers, keys, tokens and anything shaped like them. */
const REDACT_PATHS = [
  ...CREDENTIAL_HEADERS.flatMap((name) => [`req.headers["${name}"]`, `headers["${name}"]`]),
  '*.authorization',
  '*.apiKey',
  '*.api_key',
  '*.keys',
];

const CENSOR = '[redacted]';

/** pino's standard levels; a custom level counts as enabled. */
export const LEVEL_VALUES: Readonly<Record<string, number>> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Number.POSITIVE_INFINITY,
};

/** The caller's own redaction paths, kept on top of {@link REDACT_PATHS}. */
function userRedactPaths(logger: ServerLoggerOptions | false | undefined): string[] {
  const userRedact = logger === false ? undefined : logger?.redact;
  return userRedact === undefined ? [] : Array.isArray(userRedact) ? userRedact : userRedact.paths;
}

/**
 * Standard output, written asynchronously and in batches: lines are written once
 * {@link STDOUT_BATCH_BYTES} have gathered, or {@link STDOUT_FLUSH_MS} after the last write,
 * whichever comes first (sonic-boom's `minLength` and `periodicFlush`). A line per request with a
 * write per line was a syscall and a thread-pool round trip per request: a tenth of the
 * gateway's CPU at a few thousand requests a second. pino flushes the rest synchronously when the
 * process exits. One per process, however many servers it runs.
 */
let stdoutDestination: ReturnType<typeof pino.destination> | null = null;

/** About 25 request lines. */
const STDOUT_BATCH_BYTES = 8 * 1024;
/** A line waits at most this long for company. */
const STDOUT_FLUSH_MS = 100;

/**
 * The server's logger: the caller's pino options with the redaction paths added, writing to the
 * caller's stream or the batched standard output; `false` logs nothing.
 */
export function createLogger(logger: ServerLoggerOptions | false | undefined): Logger {
  if (logger === false) return pino({ level: 'silent' });
  let stream = logger?.stream;
  if (stream === undefined) {
    stdoutDestination ??= pino.destination({
      dest: 1,
      sync: false,
      minLength: STDOUT_BATCH_BYTES,
      periodicFlush: STDOUT_FLUSH_MS,
    });
    stream = stdoutDestination;
  }
  const { stream: _stream, ...options } = logger ?? {};
  return pino(
    {
      level: 'info',
      ...options,
      serializers: { err: pino.stdSerializers.err, ...options.serializers },
      redact: { paths: [...REDACT_PATHS, ...userRedactPaths(logger)], censor: CENSOR },
    },
    stream as pino.DestinationStream,
  );
}

/**
 * The logger of the per-request line. That line holds the routing outcome only, never headers or
 * keys, so it skips the default redaction: its wildcard paths walk every value of every line
 * (about a third of the line's cost). Redaction paths the caller added still apply.
 */
export function requestLogger(log: Logger, logger: ServerLoggerOptions | false | undefined): Logger {
  return log.child({}, { redact: { paths: userRedactPaths(logger), censor: CENSOR } });
}
