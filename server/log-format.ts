/**
 * How the server's log lines look: JSON lines (one object per line, for collectors) or, for a
 * person at a terminal, pino-pretty's coloured lines with each request summed up on one line.
 * `auto` (the default of `serve --log-format`) picks pretty when standard output is a TTY.
 * pino-pretty is imported only when pretty output is chosen.
 */
import type { DestinationStream } from 'pino';

export const LOG_FORMATS = ['auto', 'pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** `auto` resolved against whether standard output is a terminal. */
export function resolveLogFormat(format: LogFormat, isTTY: boolean): 'pretty' | 'json' {
  return format === 'auto' ? (isTTY ? 'pretty' : 'json') : format;
}

/** The per-request line's fields that its pretty message already says. */
const REQUEST_FIELDS = [
  'reqId',
  'method',
  'path',
  'status',
  'latencyMs',
  'attempts',
  'outcomes',
  'tokens',
  'costUsd',
  'cache',
  'cacheSimilarity',
  'guardrails',
];

/** `POST /v1/chat/completions 200 41.2ms primary:overloaded backup:ok 12+5 tokens`, else the message. */
function messageFormat(log: Record<string, unknown>, messageKey: string): string {
  const message = String(log[messageKey] ?? '');
  if (message !== 'request' || typeof log.path !== 'string') return message;
  const parts = [
    String(log.method ?? ''),
    log.path,
    String(log.status ?? ''),
    `${String(log.latencyMs ?? '')}ms`,
  ];
  if (Array.isArray(log.outcomes) && log.outcomes.length > 0) parts.push(log.outcomes.join(' '));
  const tokens = log.tokens as { prompt?: unknown; completion?: unknown } | null | undefined;
  if (tokens != null) parts.push(`${String(tokens.prompt)}+${String(tokens.completion)} tokens`);
  if (typeof log.cache === 'string')
    parts.push(
      typeof log.cacheSimilarity === 'number'
        ? `cache ${log.cache} ${log.cacheSimilarity.toFixed(4)}`
        : `cache ${log.cache}`,
    );
  return parts.join(' ');
}

/**
 * A pino destination that writes human-readable lines to standard output (synchronously: a
 * terminal reader, not throughput, is what matters here, and nothing is lost at exit).
 */
export async function prettyDestination(options: { color: boolean }): Promise<DestinationStream> {
  const { default: pretty } = await import('pino-pretty');
  return pretty({
    colorize: options.color,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: ['pid', 'hostname', ...REQUEST_FIELDS].join(','),
    singleLine: true,
    messageFormat,
    destination: 1,
    sync: true,
  });
}
