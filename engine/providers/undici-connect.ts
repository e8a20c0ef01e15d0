/**
 * undici connection set-up behind the transport port: a connector that keeps the connect timeout
 * to the millisecond. (A request that waited for a pool slot must also be on a socket within what
 * is left of its connect budget: `UndiciCall.connectWithin`, in `undici-call.ts`.)
 */
import { Socket } from 'node:net';
import type { buildConnector } from 'undici';
import { undici } from './undici-lib.js';

/**
 * undici's own connect timeout runs on its coarse timer wheel (up to ~1 s late); this connector
 * enforces the timeout to the millisecond and destroys the half-open socket.
 */
export function preciseConnector(timeoutMs: number): buildConnector.connector {
  // The connector returns the socket at runtime although its declared type says void.
  const inner = undici().buildConnector({ timeout: 0, keepAlive: true }) as (
    options: buildConnector.Options,
    callback: buildConnector.Callback,
  ) => unknown;
  return (options, callback) => {
    let settled = false;
    const socket = inner(options, (...args) => {
      if (settled) {
        args[1]?.destroy();
        return;
      }
      settled = true;
      clearTimeout(timer);
      callback(...args);
    });
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      if (socket instanceof Socket) socket.destroy();
      callback(new (undici().errors.ConnectTimeoutError)(`connect timeout after ${timeoutMs} ms`), null);
    }, timeoutMs);
  };
}
