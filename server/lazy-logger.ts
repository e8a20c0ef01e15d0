/**
 * Request loggers made on first use. Fastify gives every request a pino child logger carrying
 * its request id, and building one costs more than anything else the request does with it:
 * pino serialises the bindings (through the redaction pass) at creation. This server writes its
 * per-request line through its own logger (see `report` in lifecycle.ts), so a request's child is
 * needed only when something goes wrong: it is created then, with the same bindings.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions, LevelWithSilentOrString } from 'pino';

type Method = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export class LazyChildLogger implements FastifyBaseLogger {
  #child: FastifyBaseLogger | null = null;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
  ) {}

  get #logger(): FastifyBaseLogger {
    this.#child ??= this.parent.child(this.bindings);
    return this.#child;
  }

  #log(method: Method, args: unknown[]): void {
    const logger = this.#logger;
    (logger[method] as (this: FastifyBaseLogger, ...a: unknown[]) => void).apply(logger, args);
  }

  get level(): LevelWithSilentOrString {
    return this.#child?.level ?? this.parent.level;
  }

  set level(level: LevelWithSilentOrString) {
    this.#logger.level = level;
  }

  fatal(...args: unknown[]): void {
    this.#log('fatal', args);
  }
  error(...args: unknown[]): void {
    this.#log('error', args);
  }
  warn(...args: unknown[]): void {
    this.#log('warn', args);
  }
  info(...args: unknown[]): void {
    this.#log('info', args);
  }
  debug(...args: unknown[]): void {
    this.#log('debug', args);
  }
  trace(...args: unknown[]): void {
    this.#log('trace', args);
  }
  silent(...args: unknown[]): void {
    this.#log('silent', args);
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#logger.child(bindings, options);
  }
}

/**
 * Fastify's `childLoggerFactory`: a lazy child when the request needs nothing but its bindings
 * (no level or serializers of its own), else the ordinary child.
 */
export function lazyChildLoggerFactory(
  logger: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildLoggerOptions,
): FastifyBaseLogger {
  const plain =
    (options.level === undefined || options.level === logger.level) && options.serializers === undefined;
  return plain ? new LazyChildLogger(logger, bindings) : logger.child(bindings, options);
}
