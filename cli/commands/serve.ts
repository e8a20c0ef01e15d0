/**
 * `switchyard serve --policy <file|dir>`: runs the gateway until SIGTERM or SIGINT, reloading the
 * policy on file changes and on SIGHUP. A policy that fails its first load is printed and the
 * command exits 1 without serving.
 */

import { parseArgs } from 'node:util';
import type { LoggerOptions } from 'pino';
import { CliError, type CliIo, loadEngine, type SignalSource, UsageError, useColor } from '../io.js';

export const SERVE_HELP = `Usage: switchyard serve --policy <file|dir> [options]

Runs the OpenAI-compatible gateway. The policy is watched and hot-reloaded; SIGHUP reloads it
too; SIGTERM or SIGINT drains in-flight requests and streams, then exits.

Options:
  --policy <path>       Policy file or directory (required)
  --port <n>            Port to listen on (default: 8080; 0 picks a free one)
  --host <addr>         Address to bind (default: 127.0.0.1; 0.0.0.0 for all interfaces)
  --body-limit <size>   Largest request body, e.g. 512kb, 1mb, 4mb (default: 1mb)
  --no-watch            Do not watch the policy files (reload with SIGHUP or POST /admin/reload)
  --log-level <level>   fatal, error, warn, info, debug, trace or silent (default: info)
  --record <file>       Append one JSON line per request (schemas/recorded-traffic.schema.json)
  --record-content <m>  Message text in recordings: keep, hash or drop (default: hash)
  -h, --help            Show this help

Environment:
  SWITCHYARD_ADMIN_TOKEN  Bearer token for /admin (without it, /admin answers 404)
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

function parsePort(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 65535) {
    throw new UsageError(`--port must be an integer from 0 to 65535 (got "${text}")`);
  }
  return Number(text);
}

export async function runServe(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      policy: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'body-limit': { type: 'string' },
      'no-watch': { type: 'boolean' },
      'log-level': { type: 'string' },
      record: { type: 'string' },
      'record-content': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.stdout.write(SERVE_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (values.policy === undefined) throw new UsageError('serve needs --policy <file|dir>');
  const port = values.port === undefined ? 8080 : parsePort(values.port);
  const bodyLimit = values['body-limit'] === undefined ? 1024 * 1024 : parseSize(values['body-limit']);
  if (bodyLimit === null) {
    throw new UsageError(`--body-limit must be a size such as 512kb or 1mb (got "${values['body-limit']}")`);
  }
  const level = values['log-level'] ?? 'info';
  if (!LOG_LEVELS.includes(level))
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);

  const recordContent = values['record-content'] ?? 'hash';
  if (recordContent !== 'keep' && recordContent !== 'hash' && recordContent !== 'drop') {
    throw new UsageError('--record-content must be one of keep, hash, drop');
  }
  if (values['record-content'] !== undefined && values.record === undefined) {
    throw new UsageError('--record-content needs --record <file>');
  }

  const { formatHuman } = await loadEngine('formatHuman', 'loadPolicy', 'createEngine');
  let createServer: typeof import('../../server/app.js').createServer;
  try {
    ({ createServer } = await import('../../server/app.js'));
  } catch (err) {
    throw new CliError(`the server failed to load: ${err instanceof Error ? err.message : String(err)}`);
  }

  const logger: LoggerOptions = { level };
  const host = values.host ?? '127.0.0.1';
  let server: Awaited<ReturnType<typeof createServer>>;
  try {
    server = await createServer({
      policyPath: values.policy,
      host,
      port,
      bodyLimit,
      logger,
      watch: !values['no-watch'],
      ...(values.record === undefined ? {} : { record: { path: values.record, content: recordContent } }),
      ...(io.env === undefined ? {} : { env: io.env }),
    });
  } catch (err) {
    const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
    const reason =
      code === 'EADDRINUSE' ? 'the address is in use' : err instanceof Error ? err.message : String(err);
    throw new CliError(`cannot listen on ${host}:${port}: ${reason}`);
  }

  const { manager } = server;
  const current = manager.current;
  if (!manager.ready || current === null) {
    const failure = manager.lastError;
    io.stderr.write(`switchyard: the policy at ${values.policy} is not valid; not serving\n\n`);
    if (failure !== null) {
      if (failure.diagnostics.length > 0) {
        io.stderr.write(
          formatHuman([...failure.diagnostics], failure.sources, { color: useColor(io, undefined) }),
        );
      }
      if (failure.error !== undefined) io.stderr.write(`${failure.error}\n`);
    }
    await server.close();
    return 1;
  }

  const { name, version, hash } = current.identity;
  io.stdout.write(
    `switchyard listening on ${server.url} (policy ${name} ${version}, hash ${hash.slice(0, 12)})\n`,
  );

  const signals: SignalSource = io.signals ?? process;
  // Defence in depth: a stray rejected promise (a bug) is logged, not fatal to every request in
  // flight. Only the error's name and a redacted message are written: no stack, no secrets.
  const onUnhandled = (reason: unknown): void => {
    io.stderr.write(`switchyard: unhandled rejection (a bug; still serving): ${describeSafely(reason)}\n`);
  };
  process.on('unhandledRejection', onUnhandled);
  return new Promise<number>((resolve) => {
    const onHangup = (): void => {
      void manager.reload('signal');
    };
    const onStop = (): void => {
      process.off('unhandledRejection', onUnhandled);
      signals.off('SIGHUP', onHangup);
      signals.off('SIGTERM', onStop);
      signals.off('SIGINT', onStop);
      server.close().then(
        () => resolve(0),
        (err: unknown) => {
          io.stderr.write(
            `switchyard: shutdown failed: ${err instanceof Error ? err.message : String(err)}\n`,
          );
          resolve(1);
        },
      );
    };
    signals.on('SIGHUP', onHangup);
    signals.on('SIGTERM', onStop);
    signals.on('SIGINT', onStop);
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
