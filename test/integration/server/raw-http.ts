/** Raw HTTP/1.1 over `node:net`, for what `fetch` hides: headers as sent, and when the socket closes. */

import { connect, type Socket } from 'node:net';

export interface RawExchange {
  /** Everything the server sent, as text. */
  text: string;
  /** The server closed the connection (FIN or reset) within the wait. */
  closed: boolean;
  /** Socket error code seen by the client, if any (EPIPE, ECONNRESET). */
  error: string | null;
}

/**
 * Sends `head` (and, when given, lets `send` write the rest), then collects what comes back until
 * the server closes the connection or `waitMs` passes.
 */
export function rawExchange(
  url: string,
  head: string,
  options: { waitMs?: number; send?: (socket: Socket) => void; until?: (text: string) => boolean } = {},
): Promise<RawExchange> {
  const { port, hostname } = new URL(url);
  return new Promise((resolve) => {
    let text = '';
    let error: string | null = null;
    let settled = false;
    const socket = connect(Number(port), hostname);
    const finish = (closed: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, closed, error });
    };
    const timer = setTimeout(() => finish(false), options.waitMs ?? 5000);
    socket.on('connect', () => {
      socket.write(head);
      options.send?.(socket);
    });
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (options.until?.(text)) finish(false);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      error = err.code ?? err.message;
    });
    socket.on('close', () => finish(true));
  });
}

/** The status, headers (lower-cased names) and body of a raw response (chunked bodies decoded). */
export function parseResponse(text: string): {
  status: number;
  headers: Record<string, string>;
  body: string;
} {
  const end = text.indexOf('\r\n\r\n');
  const head = end < 0 ? text : text.slice(0, end);
  const [statusLine, ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = end < 0 ? '' : text.slice(end + 4);
  if (headers['transfer-encoding'] === 'chunked') {
    let decoded = '';
    let rest = body;
    for (;;) {
      const lineEnd = rest.indexOf('\r\n');
      if (lineEnd < 0) break;
      const size = Number.parseInt(rest.slice(0, lineEnd), 16);
      if (!(size > 0)) break;
      decoded += rest.slice(lineEnd + 2, lineEnd + 2 + size);
      rest = rest.slice(lineEnd + 2 + size + 2);
    }
    body = decoded;
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body };
}
