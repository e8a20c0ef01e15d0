/**
 * Logging set-up: pino options with the redaction every line gets, the asynchronous standard
 * output, and the cheaper logger the per-request line goes through.
 */

import pino, { type LoggerOptions } from 'pino';
import { CREDENTIAL_HEADERS } from '../engine/serving.js';
import { RequestLog } from './request-line.js';

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
 * Standard output, written asynchronously and in batches: lines are gathered in an array and
 * handed to pino's destination (sonic-boom) joined, once {@link STDOUT_BATCH_BYTES} have gathered
 * or {@link STDOUT_FLUSH_MS} after the first one, whichever comes first. A write per line was a
 * syscall and a thread-pool round trip per request (a tenth of the gateway's CPU at a few
 * thousand requests a second). The batching is ours rather than sonic-boom's `minLength`: that
 * appends each line to a string and measures its UTF-8 length, flattening the whole batch again
 * per line (a copy of kilobytes per request), and its batch is capped by `maxWrite` (16 KiB).
 * What is gathered is handed on before pino's own exit hooks flush the destination
 * synchronously. One per process, however many servers it runs.
 */
let stdoutBatcher: LineBatcher | null = null;

/** About 80 request lines. */
const STDOUT_BATCH_BYTES = 32 * 1024;
/** A line waits at most this long for company. */
const STDOUT_FLUSH_MS = 100;

/** What the batcher writes to: pino's destination, or anything with its methods (tests). */
export type Destination = Pick<ReturnType<typeof pino.destination>, 'write' | 'flush' | 'flushSync'> & {
  /** Set by sonic-boom once it was ended or destroyed (not in its type declarations). */
  readonly destroyed?: boolean;
};

/** Gathers lines and writes them to `dest` joined (see {@link stdoutBatcher}). */
export class LineBatcher {
  #lines: string[] = [];
  /** UTF-16 units gathered: a batch's size, near enough. */
  #size = 0;
  #timer: NodeJS.Timeout | null = null;
  readonly #onTimer = (): void => {
    this.#timer = null;
    this.#hand();
  };

  constructor(
    private readonly dest: Destination,
    private readonly batchSize: number,
    private readonly flushMs: number,
  ) {}

  write(line: string): boolean {
    this.#lines.push(line);
    this.#size += line.length;
    if (this.#size >= this.batchSize) this.#hand();
    else if (this.#timer === null) {
      this.#timer = setTimeout(this.#onTimer, this.flushMs);
      this.#timer.unref();
    }
    return true;
  }

  /** pino's `logger.flush(cb)`: what is gathered, then the destination's own flush. */
  flush(cb?: (err?: Error) => void): void {
    this.#hand();
    this.dest.flush(cb);
  }

  flushSync(): void {
    this.#hand();
    this.dest.flushSync();
  }

  /** Hands what is gathered to the destination. */
  #hand(): void {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    // A destination ended by pino's exit hook takes nothing more (a write would throw, here from a timer).
    if (this.#lines.length === 0 || this.dest.destroyed) return;
    const text = this.#lines.length === 1 ? this.#lines[0] : this.#lines.join('');
    this.#lines = [];
    this.#size = 0;
    this.dest.write(text);
  }
}

function stdoutStream(): LineBatcher {
  if (stdoutBatcher !== null) return stdoutBatcher;
  // Before pino registers its exit hooks on the destination, so these run first (prepended, too).
  process.prependListener('beforeExit', () => stdoutBatcher?.flush());
  process.prependListener('exit', () => stdoutBatcher?.flushSync());
  const dest = pino.destination({ dest: 1, sync: false });
  stdoutBatcher = new LineBatcher(dest, STDOUT_BATCH_BYTES, STDOUT_FLUSH_MS);
  return stdoutBatcher;
}

/**
 * The server's logger: the caller's pino options with the redaction paths added, writing to the
 * caller's stream or the batched standard output; `false` logs nothing.
 */
export function createLogger(logger: ServerLoggerOptions | false | undefined): Logger {
  if (logger === false) return pino({ level: 'silent' });
  let stream = logger?.stream;
  stream ??= stdoutStream();
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
 * The per-request line's log. That line holds the routing outcome only, never headers or keys,
 * so it skips the default redaction: its wildcard paths walk every value of every line (about a
 * third of the line's cost). Redaction paths the caller added still apply (through pino). With
 * nothing configured but the level and a plain stream, the line is written by hand
 * (`RequestLog`, server/request-line.ts).
 */
export function requestLog(log: Logger, logger: ServerLoggerOptions | false | undefined): RequestLog {
  const child = log.child({}, { redact: { paths: userRedactPaths(logger), censor: CENSOR } });
  const defaultSetup =
    logger !== false && Object.keys(logger ?? {}).every((key) => key === 'level' || key === 'stream');
  return new RequestLog(child, defaultSetup);
}
