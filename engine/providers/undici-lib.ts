/**
 * undici, loaded on first use rather than with the engine: ~11 MB of private memory and ~4.5 MB
 * of heap at import, which a policy whose providers are all mocks never needs. The engine loads
 * it when it builds a network provider on its own transport (at start or reload, never per
 * request: `createEngine`), so no request pays for the import. undici is a CommonJS package, so
 * `require` loads it synchronously and the transport's request path stays free of awaits.
 */
import { createRequire } from 'node:module';

type Undici = typeof import('undici');

let lib: Undici | null = null;

/** The undici module, loaded on the first call. */
export function undici(): Undici {
  lib ??= createRequire(import.meta.url)('undici') as Undici;
  return lib;
}
