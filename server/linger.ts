/**
 * Lingering close: when the server answers before it has read the whole request body (a body
 * over the limit, a refused request) and closes the connection, the client may still be sending.
 * Node closes such a socket right after the response (`destroySoon`: FIN, then destroy); the
 * client's next bytes then meet a closed socket, the kernel answers with a reset, and a reset
 * can discard the answer before the client read it, so it sees ECONNRESET/EPIPE instead of the
 * 413. Web servers solve this by half-closing and reading (and discarding) for a short while
 * before the real close; this does the same for one socket.
 */

import type { Socket } from 'node:net';

/** How long a closing connection keeps reading, and dropping, what the client still sends. */
export const LINGER_MS = 2_000;

function lingeringDestroySoon(this: Socket): void {
  // Half-close after the response: the client sees the end of the answer and the FIN.
  if (this.writable) this.end();
  // The HTTP parser stays attached and drops the rest of the body (the request stream is
  // dumped or flowing with no listener), so nothing accumulates while the client goes on.
  const timer = setTimeout(() => this.destroy(), LINGER_MS);
  timer.unref();
  this.once('close', () => clearTimeout(timer));
  this.resume();
}

/**
 * Makes Node's close of this socket after the current response a lingering one: half-close, read
 * and drop for up to {@link LINGER_MS} (or until the client closes its side), then close.
 */
export function lingerOnClose(socket: Socket | null | undefined): void {
  if (socket == null || socket.destroyed) return;
  socket.destroySoon = lingeringDestroySoon;
}
