/**
 * The helper processes of `bench/gateway.ts`, one per process so each is measured on its own:
 *
 * - `upstream <latencyMs>`: the test upstream (test/support/upstream.ts) with recording off. The
 *   model `unavailable` answers 503 at once (the fallback scenario's first target); every other
 *   model gets the normal answer after `latencyMs` (a stream: 51 frames, {@link STREAM_REPLY},
 *   `streamChunkDelayMs` apart, 0 by default; chunks shaped as OpenAI's, `obfuscation` included,
 *   or `BENCH_CHUNKS=minimal` for the gateway's members only).
 * - `proxy <upstreamOrigin>`: a bare `node:http` forwarding proxy with a keep-alive agent, bodies
 *   piped both ways: the floor no Node gateway can beat.
 *
 * Each prints `listening <origin>` on stdout once it accepts connections, and exits when its
 * stdin closes (the benchmark ended, or died), so nothing outlives the run.
 */
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startUpstream } from '../test/support/upstream.js';
import { STREAM_REPLY } from './payloads.js';

const JSON_OK = { kind: 'ok' } as const;
const UNAVAILABLE = { kind: 'status', status: 503 } as const;

async function runUpstream(latencyMs: number, chunkDelayMs: number): Promise<() => Promise<void>> {
  // Stream chunks as OpenAI sends them (obfuscation padding and all), unless BENCH_CHUNKS=minimal.
  const chunks = process.env.BENCH_CHUNKS === 'minimal' ? 'minimal' : 'openai';
  const upstream = await startUpstream({ record: false, latencyMs, chunks });
  const streamOk = { kind: 'ok', reply: STREAM_REPLY, delayMs: chunkDelayMs } as const;
  upstream.setHandler((req) => {
    const body =
      typeof req.body === 'object' && req.body !== null ? (req.body as Record<string, unknown>) : {};
    if (body.model === 'unavailable') return UNAVAILABLE;
    return body.stream === true ? streamOk : JSON_OK;
  });
  process.stdout.write(`listening ${upstream.origin}\n`);
  return () => upstream.close();
}

async function runProxy(target: string): Promise<() => Promise<void>> {
  const { hostname, port } = new URL(target);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const server = createServer((req, res) => {
    const out = request(
      { host: hostname, port, method: req.method, path: req.url, headers: req.headers, agent },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    out.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(out);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  process.stdout.write(`listening http://127.0.0.1:${address.port}\n`);
  return async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    agent.destroy();
  };
}

const [mode, arg, arg2] = process.argv.slice(2);
const close =
  mode === 'upstream'
    ? await runUpstream(Number(arg ?? 0), Number(arg2 ?? 0))
    : mode === 'proxy' && arg !== undefined
      ? await runProxy(arg)
      : null;
if (close === null) {
  process.stderr.write(
    'usage: gateway-child.ts upstream <latencyMs> [<streamChunkDelayMs>] | proxy <upstreamOrigin>\n',
  );
  process.exit(2);
}
const stop = (): void => {
  void close().finally(() => process.exit(0));
};
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
