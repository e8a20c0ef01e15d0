/**
 * What every command shares: the output streams, the two failure kinds that end a command with
 * exit 2, and lazy access to the engine and the package files. The engine is imported on first
 * use so that a broken or incomplete engine is reported as an error message, never a crash.
 */

import { readFile, stat } from 'node:fs/promises';

export interface CliStream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
}

/** Where a signal-driven command (serve) listens for SIGHUP, SIGTERM and SIGINT. */
export interface SignalSource {
  on(signal: NodeJS.Signals, listener: () => void): unknown;
  off(signal: NodeJS.Signals, listener: () => void): unknown;
}

export interface CliIo {
  stdout: CliStream;
  stderr: CliStream;
  /** `process` by default; tests pass an EventEmitter. */
  signals?: SignalSource;
  env?: Record<string, string | undefined>;
}

/** A mistake in how the command was called: message + exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Something the user cannot fix by changing the policy (missing file, broken install): exit 2. */
export class CliError extends Error {
  override readonly name = 'CliError';
}

export type EngineModule = typeof import('../engine/index.js');
export type ServingModule = typeof import('../engine/serving.js');

/** Imports the engine and checks that the named functions exist. */
export function loadEngine<K extends keyof EngineModule>(...names: K[]): Promise<Pick<EngineModule, K>> {
  return checkedImport(() => import('../engine/index.js'), names);
}

/**
 * The part of the engine that serving needs (engine/serving.ts), for `serve`: the whole public
 * entry would also load the test runner, replay and diff into the serving process.
 */
export function loadServingEngine<K extends keyof ServingModule>(
  ...names: K[]
): Promise<Pick<ServingModule, K>> {
  return checkedImport(() => import('../engine/serving.js'), names);
}

async function checkedImport<M, K extends keyof M>(load: () => Promise<M>, names: K[]): Promise<Pick<M, K>> {
  let mod: Partial<M>;
  try {
    mod = await load();
  } catch (err) {
    throw new CliError(`the engine failed to load: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  const provides = (name: K): boolean => {
    try {
      return typeof mod[name] === 'function';
    } catch {
      // A module namespace proxy (test doubles) may throw on unknown names.
      return false;
    }
  };
  const missing = names.filter((n) => !provides(n));
  if (missing.length > 0) {
    throw new CliError(`the engine does not provide ${missing.join(', ')} (incomplete build?)`);
  }
  return mod as Pick<M, K>;
}

/** Reads a file shipped with the package (package.json, schemas/...), from source or from dist. */
export async function readPackageFile(relativePath: string): Promise<string> {
  const candidates = [
    new URL(`../${relativePath}`, import.meta.url),
    new URL(`../../${relativePath}`, import.meta.url),
  ];
  for (const url of candidates) {
    try {
      return await readFile(url, 'utf8');
    } catch {
      // try the next layout
    }
  }
  throw new CliError(`cannot find ${relativePath} in the installed package`);
}

export async function packageVersion(): Promise<string> {
  const parsed: unknown = JSON.parse(await readPackageFile('package.json'));
  if (
    typeof parsed === 'object' &&
    parsed !== null &&
    'version' in parsed &&
    typeof parsed.version === 'string'
  ) {
    return parsed.version;
  }
  return '0.0.0';
}

/**
 * A path the command was given that does not exist is a usage error (exit 2), so CI can tell a
 * typo in the command line from a policy with problems (exit 1). `flag` names the option.
 */
export async function requireExisting(path: string, flag?: string): Promise<void> {
  try {
    await stat(path);
  } catch {
    throw new UsageError(`${flag === undefined ? '' : `${flag}: `}no such file or directory: ${path}`);
  }
}

/** The environment a command sees: the test's, or the process's. */
export function envOf(io: CliIo): Record<string, string | undefined> {
  return io.env ?? process.env;
}

/** A machine-readable answer: pretty JSON and a final newline. */
export function jsonText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** Colours only on a terminal, and never when NO_COLOR is set. */
export function useColor(io: CliIo, explicit: boolean | undefined): boolean {
  if (explicit !== undefined) return explicit;
  const env = envOf(io);
  return io.stdout.isTTY === true && (env.NO_COLOR ?? '') === '' && env.TERM !== 'dumb';
}

/** Parses `--format` against the allowed values. */
export function parseFormat<T extends string>(
  value: string | undefined,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`--format must be one of ${allowed.join(', ')} (got "${value}")`);
}
