/**
 * The per-request log line (`msg: "request"`): its fields, and the writer that puts it in the log.
 *
 * Why the line is written by hand: pino's generic path (`LOG` → `write` → `asJson`) walks the
 * line object's sixteen keys, looks each one up among the serializers and the redaction
 * stringifiers, escapes each key and JSON-stringifies the nested values; for this one fixed
 * shape that cost 1.9–3.0 µs and 3.9 KB per line in a hot loop, against ~0.6 µs and 1.8 KB for
 * the template below, which also makes no line object (docs/footprint.md). The template writes exactly pino's bytes: the same prefix, time and
 * bindings (taken from the logger itself), key order, string escaping (`asString`, pino's own,
 * reproduced here: it differs from `JSON.stringify` for lone surrogates), numbers and nulls.
 * test/property/request-line.test.ts checks byte equality with pino over generated lines.
 *
 * It is used only when pino runs as `createLogger` sets it up by default: the caller gave no
 * option but the level and a plain stream (no formatters, mixin, timestamp, redaction, hooks,
 * serializers, message key, custom levels), the stream does not want pino's per-line metadata
 * (a multistream), and nothing subscribes to pino's `pino_asJson` tracing channel. Otherwise
 * the line goes through pino. It holds the routing outcome only, never headers or keys.
 */
import { tracingChannel } from 'node:diagnostics_channel';
import pino from 'pino';
import type { ResponseMeta } from '../engine/index.js';
import type { Logger } from './logging.js';

const { lsCacheSym, chindingsSym, streamSym, endSym, timeSym, messageKeySym, needsMetadataGsym } =
  pino.symbols;

/** pino's own (tools.js); its subscribers see every line pino serialises, so they get pino's. */
const asJsonChannel = tracingChannel('pino_asJson');

/** The line's fields, in their order: what goes to pino when the line cannot be written here. */
export function requestLineObject(
  reqId: string,
  method: string,
  path: string,
  status: number,
  latencyMs: number,
  meta: ResponseMeta | null,
  guardrails: string | null,
): Record<string, unknown> {
  return {
    reqId,
    method,
    path,
    status,
    latencyMs: round3(latencyMs),
    route: meta?.route ?? null,
    target: meta?.target ?? null,
    attempts: meta?.attempts.length ?? 0,
    outcomes: meta?.attempts.map((a) => `${a.target}:${a.outcome}`) ?? [],
    tokens:
      meta?.usage == null
        ? null
        : { prompt: meta.usage.promptTokens, completion: meta.usage.completionTokens },
    // Nano-dollar precision: float sums print as 0.0000013000000000000003 otherwise.
    costUsd: meta?.costUsd == null ? null : Math.round(meta.costUsd * 1e9) / 1e9,
    cache: meta?.cache ?? null,
    // Only on a semantic cache hit: what to tune a threshold by. pino leaves out an undefined
    // field; set always (not spread in), the line keeps one shape and stays a fast object.
    cacheSimilarity: meta?.cacheSimilarity,
    guardrails,
    policy: meta === null ? null : `${meta.policy.name}@${meta.policy.version}`,
  };
}

/**
 * pino's escaping of a string value (tools.js `asString`, pino 9): short strings without control
 * characters get their quotes and backslashes escaped and nothing else (a lone surrogate stays
 * as it is), the rest goes through `JSON.stringify`.
 */
function asString(str: string): string {
  const l = str.length;
  if (l > 100) return JSON.stringify(str);
  let result = '';
  let last = 0;
  let found = false;
  let point = 255;
  for (let i = 0; i < l && point >= 32; i++) {
    point = str.charCodeAt(i);
    if (point === 34 || point === 92) {
      result += `${str.slice(last, i)}\\`;
      last = i;
      found = true;
    }
  }
  if (!found) result = str;
  else result += str.slice(last);
  return point < 32 ? JSON.stringify(str) : `"${result}"`;
}

/** A number as pino writes one at the top level, and as `JSON.stringify` does inside a value. */
function num(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

function stringOrNull(s: string | null): string {
  return s === null ? 'null' : asString(s);
}

/** The fields after `latencyMs` up to `cache`, when the engine answered. */
function outcomeFields(meta: ResponseMeta): string {
  const attempts = meta.attempts;
  let outcomes = '';
  for (let i = 0; i < attempts.length; i++) {
    const a = attempts[i];
    outcomes += `${i === 0 ? '' : ','}${JSON.stringify(`${a.target}:${a.outcome}`)}`;
  }
  const usage = meta.usage;
  let tokens = 'null';
  if (usage != null) {
    const { promptTokens: prompt, completionTokens: completion } = usage;
    tokens =
      typeof prompt === 'number' && typeof completion === 'number'
        ? `{"prompt":${num(prompt)},"completion":${num(completion)}}`
        : JSON.stringify({ prompt, completion });
  }
  const cost = meta.costUsd == null ? 'null' : num(Math.round(meta.costUsd * 1e9) / 1e9);
  return `,"route":${stringOrNull(meta.route ?? null)},"target":${stringOrNull(meta.target ?? null)},"attempts":${attempts.length},"outcomes":[${outcomes}],"tokens":${tokens},"costUsd":${cost},"cache":${stringOrNull(meta.cache ?? null)}`;
}

const NO_OUTCOME =
  ',"route":null,"target":null,"attempts":0,"outcomes":[],"tokens":null,"costUsd":null,"cache":null';

/** Milliseconds to the microsecond, as the line and the overhead header give them. */
export function round3(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

type PinoInternals = Logger & Record<symbol, unknown>;

/** The line of one request, through pino or written here (see the top of this file). */
export class RequestLog {
  /** The line is written here, not by pino. */
  readonly fast: boolean;
  readonly #internals: PinoInternals;
  /** `,"msg":"request"` and the line's end, as pino writes them. */
  readonly #tail: string;

  /**
   * @param logger the logger of the line (pino's)
   * @param defaultSetup the caller configured nothing but the level and a plain stream
   */
  constructor(
    readonly logger: Logger,
    defaultSetup: boolean,
  ) {
    this.#internals = logger as PinoInternals;
    const stream = this.#internals[streamSym] as Record<symbol, unknown> | undefined;
    const levels = this.#internals[lsCacheSym] as Record<number, unknown> | undefined;
    this.fast =
      defaultSetup &&
      stream != null &&
      stream[needsMetadataGsym] !== true &&
      typeof levels?.[20] === 'string' &&
      typeof levels[30] === 'string' &&
      typeof this.#internals[timeSym] === 'function';
    this.#tail = this.fast
      ? `,"${String(this.#internals[messageKeySym])}":"request"${String(this.#internals[endSym])}`
      : '';
  }

  /** The logger's level (it may change while the server runs). */
  get level(): string {
    return this.logger.level;
  }

  /** Writes the line at debug (`quiet`: probes and scrapes) or info. The caller checked the level. */
  write(
    quiet: boolean,
    reqId: string,
    method: string,
    path: string,
    status: number,
    latencyMs: number,
    meta: ResponseMeta | null,
    guardrails: string | null,
  ): void {
    if (!this.fast || asJsonChannel.hasSubscribers) {
      const line = requestLineObject(reqId, method, path, status, latencyMs, meta, guardrails);
      if (quiet) this.logger.debug(line, 'request');
      else this.logger.info(line, 'request');
      return;
    }
    const pinoLogger = this.#internals;
    const prefix = (pinoLogger[lsCacheSym] as Record<number, string>)[quiet ? 20 : 30];
    // Called on the logger, as pino calls it.
    const time = (pinoLogger[timeSym] as (this: Logger) => string).call(pinoLogger);
    const chindings = pinoLogger[chindingsSym] as string;
    const similarity = meta?.cacheSimilarity;
    const line =
      `${prefix}${time}${chindings},"reqId":${asString(reqId)},"method":${asString(method)},"path":${asString(path)},"status":${num(status)},"latencyMs":${num(round3(latencyMs))}` +
      (meta === null ? NO_OUTCOME : outcomeFields(meta)) +
      (similarity === undefined ? '' : `,"cacheSimilarity":${num(similarity)}`) +
      `,"guardrails":${stringOrNull(guardrails)},"policy":${meta === null ? 'null' : asString(`${meta.policy.name}@${meta.policy.version}`)}${this.#tail}`;
    (pinoLogger[streamSym] as { write(s: string): unknown }).write(line);
  }
}
