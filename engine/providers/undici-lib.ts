/**
 * undici, loaded on first use rather than with the engine: a policy whose providers are all mocks
 * never needs it. The engine loads it when it builds a network provider on its own transport (at
 * start or reload, never per request: `createEngine`), so no request pays for the import. undici
 * is a CommonJS package, so `require` loads it synchronously and the transport's request path
 * stays free of awaits.
 *
 * Only the parts the transport uses are loaded, from undici's own files: the connection pool (the
 * transport dispatches on it with a handler of its own, undici-call.ts), the connector, the
 * error classes and the header helpers the index exports as `util` (the handler reads the raw
 * header lines with undici's `headerNameToString`). undici's index loads 110 modules (fetch, WebSocket, the cache and mock agents,
 * proxies, the request API, …) where these need 22: about 8 MB less RSS and 3 MB less heap per
 * process that talks to a provider (docs/footprint.md). The files are
 * undici's internals, not its public API, so the parts are checked on load and, if a version of
 * undici has moved or changed any of them, the whole package is loaded instead, as before;
 * test/unit/providers/undici-lib.test.ts checks that the parts are the package's own exports.
 */
import { createRequire } from 'node:module';

type Undici = typeof import('undici');

/** What the transport uses of undici. */
export type UndiciParts = Pick<Undici, 'Pool' | 'buildConnector' | 'errors' | 'util'>;

let lib: UndiciParts | null = null;

/** undici's parts, loaded on the first call. */
export function undici(): UndiciParts {
  lib ??= loadParts(createRequire(import.meta.url));
  return lib;
}

/** The parts from undici's own files, or the whole package if they are not where they were. */
export function loadParts(require: NodeJS.Require): UndiciParts {
  try {
    const Dispatcher = require('undici/lib/dispatcher/dispatcher') as Undici['Dispatcher'];
    const parts: UndiciParts = {
      Pool: require('undici/lib/dispatcher/pool') as Undici['Pool'],
      buildConnector: require('undici/lib/core/connect') as Undici['buildConnector'],
      errors: require('undici/lib/core/errors') as Undici['errors'],
      util: utilOf(require('undici/lib/core/util') as Undici['util']),
    };
    if (
      typeof Dispatcher === 'function' &&
      typeof parts.Pool === 'function' &&
      parts.Pool.prototype instanceof Dispatcher &&
      typeof parts.Pool.prototype.dispatch === 'function' &&
      typeof parts.buildConnector === 'function' &&
      typeof parts.errors?.ConnectTimeoutError === 'function' &&
      typeof parts.util.parseHeaders === 'function' &&
      typeof parts.util.headerNameToString === 'function'
    ) {
      return parts;
    }
  } catch {
    // A version of undici without these files: the package as a whole, below.
  }
  return require('undici') as Undici;
}

/** The two functions undici's index exports as `util`, from its file (already loaded by the pool). */
function utilOf(util: Undici['util'] | undefined): Undici['util'] {
  return { parseHeaders: util?.parseHeaders, headerNameToString: util?.headerNameToString } as Undici['util'];
}
