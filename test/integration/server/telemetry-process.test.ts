/**
 * `switchyard serve` as a real process: traces exported over OTLP/HTTP when
 * OTEL_EXPORTER_OTLP_ENDPOINT is set (to a collector on port 0 in this process, flushed on
 * SIGTERM), and the two log formats: JSON lines when standard output is not a terminal, pino-pretty
 * lines with `--log-format pretty`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServeProcess, startServe } from './child.js';
import { chatBody, policyYaml } from './helpers.js';

let dir: string;
let policyFile: string;
const started: ServeProcess[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'switchyard-telemetry-'));
  policyFile = join(dir, 'policy.yaml');
  writeFileSync(policyFile, policyYaml({ flaky: 'sequence: [overloaded]' }));
});

afterAll(async () => {
  await Promise.all(started.splice(0).map((p) => p.stop()));
  rmSync(dir, { recursive: true, force: true });
});

async function serve(args: string[], env: Record<string, string> = {}): Promise<ServeProcess> {
  const p = await startServe(['--policy', policyFile, '--no-watch', ...args], 30_000, env);
  started.push(p);
  return p;
}

async function chat(url: string, headers: Record<string, string> = {}): Promise<Response> {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(chatBody()),
  });
  await res.arrayBuffer();
  return res;
}

/** An OTLP/HTTP collector: keeps the JSON bodies POSTed to /v1/traces. */
async function startCollector(): Promise<{ url: string; bodies: unknown[]; server: Server }> {
  const bodies: unknown[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/v1/traces') bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies, server };
}

interface OtlpSpan {
  name: string;
  traceId: string;
  parentSpanId?: string;
  kind: number;
  attributes: { key: string; value: Record<string, unknown> }[];
}

function spansIn(bodies: unknown[]): { spans: OtlpSpan[]; services: unknown[] } {
  const spans: OtlpSpan[] = [];
  const services: unknown[] = [];
  for (const body of bodies as {
    resourceSpans: { resource: OtlpSpan; scopeSpans: { spans: OtlpSpan[] }[] }[];
  }[]) {
    for (const rs of body.resourceSpans) {
      services.push(rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue);
      for (const ss of rs.scopeSpans) spans.push(...ss.spans);
    }
  }
  return { spans, services };
}

describe('serve: telemetry', () => {
  it('exports a span per request and per attempt to OTEL_EXPORTER_OTLP_ENDPOINT, flushed on SIGTERM', async () => {
    const collector = await startCollector();
    try {
      const p = await serve([], {
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
        OTEL_SERVICE_NAME: 'gateway-test',
      });
      expect(p.output()).toContain(`exports traces to ${collector.url}/v1/traces`);
      const traceId = '0af7651916cd43dd8448eb211c80319c';
      expect((await chat(p.url, { traceparent: `00-${traceId}-b7ad6b7169203331-01` })).status).toBe(200);
      await p.stop();
      expect((await p.exited).code).toBe(0);
      const { spans, services } = spansIn(collector.bodies);
      expect(services).toContain('gateway-test');
      const names = spans.map((s) => s.name).sort();
      expect(names).toEqual(['chat backup-1', 'chat gpt-test', 'chat primary-1']);
      for (const span of spans) expect(span.traceId).toBe(traceId);
      const request = spans.find((s) => s.name === 'chat gpt-test');
      expect(request?.parentSpanId).toBe('b7ad6b7169203331');
      const route = request?.attributes.find((a) => a.key === 'switchyard.route');
      expect(route?.value).toEqual({ stringValue: 'chat' });
    } finally {
      collector.server.close();
    }
  });

  it('reports spans it could not export (stderr at shutdown, the log while running), never silently', async () => {
    const collector = await startCollector();
    const closedUrl = collector.url;
    await new Promise((resolve) => collector.server.close(resolve));
    const p = await serve([], { OTEL_EXPORTER_OTLP_ENDPOINT: closedUrl, OTEL_EXPORTER_OTLP_TIMEOUT: '1000' });
    expect((await chat(p.url)).status).toBe(200);
    await p.stop();
    // The batch still buffered at shutdown fails to flush: said on stderr, and the exit stays 0.
    expect(p.output()).toMatch(/switchyard: traces not flushed: Error: .*ECONNREFUSED/);
    expect((await p.exited).code).toBe(0);
  });

  it('logs JSON lines when standard output is not a terminal', async () => {
    const p = await serve([]);
    expect((await chat(p.url)).status).toBe(200);
    await p.stop();
    const line = p.logLines().find((l) => l.msg === 'request');
    expect(line).toMatchObject({ method: 'POST', path: '/v1/chat/completions', status: 200, route: 'chat' });
  });

  it('logs pino-pretty lines with --log-format pretty, one line per request', async () => {
    const p = await serve(['--log-format', 'pretty']);
    expect((await chat(p.url)).status).toBe(200);
    await p.stop();
    expect(p.logLines()).toEqual([]);
    expect(p.output()).toMatch(
      /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: POST \/v1\/chat\/completions 200 [\d.]+ms primary:overloaded backup:ok \d+\+\d+ tokens .*"route":"chat"/m,
    );
  });
});
