/**
 * Starts a throwaway `redis-server` on a free loopback port for tests (no persistence), and
 * stops it by PID. When Debian's redis-server is not installed, `startRedis()` returns null and
 * the caller skips its Redis tests with `redisSkipReason` printed, never silently.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer, Socket } from 'node:net';

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  /** Kills the server (used by tests of `onStoreError`); `start()` brings it back on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
}

export const redisAvailable: boolean =
  spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
export const redisSkipReason =
  'redis-server is not installed: Redis store tests skipped (.ci/run installs it; locally: apt-get install redis-server)';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
      socket.connect(port, '127.0.0.1');
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`redis-server did not listen on ${port} within ${timeoutMs} ms`);
}

export interface StartRedisOptions {
  /**
   * Keep the data in this directory (append-only file, flushed at every write), so a server
   * killed by `stop()` has it all again after `start()`; without it, a restart starts empty.
   */
  readonly persistDir?: string;
}

/** Returns null when redis-server is not installed. */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServer | null> {
  if (!redisAvailable) return null;
  const port = await freePort();
  let child: ChildProcess | null = null;
  const start = async () => {
    child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        ...(options.persistDir === undefined
          ? ['--appendonly', 'no']
          : ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', options.persistDir]),
        '--protected-mode',
        'no',
      ],
      { stdio: 'ignore' },
    );
    await waitForPort(port, 5_000);
  };
  const stop = async () => {
    const proc = child;
    child = null;
    if (proc === null || proc.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGKILL');
    });
  };
  await start();
  return { url: `redis://127.0.0.1:${port}`, port, stop, start };
}
