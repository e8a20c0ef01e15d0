/**
 * What an operator sees: recordings written by `serve --record` (flushed on shutdown), traffic
 * metrics (limits, caches, upstream latency, tokens and cost by tenant), `/admin/spend`, and
 * `/readyz` refusing readiness while a shared store is unreachable.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { validateRecordedLine } from '../../../engine/replay/record.js';
import { chatBody, policyYaml, startServer, type TestServer } from './helpers.js';

const servers: TestServer[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const KEY = 'sk-acme-observability';
const TENANTS = `tenants:\n  acme: { keys: ["${KEY}"] }\n`;
const auth = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };

function trafficPolicy(extraSections = ''): string {
  return policyYaml({
    extra: `${TENANTS}limits:
  tiny: { key: [tenant], requests: 2/hour }
budgets:
  monthly: { key: [tenant], usd: 100/month }
caches:
  answers: { mode: exact, ttl: 1h }
${extraSections}`,
  })
    .replace('    targets: [backup]\n', '    targets: [backup]\n    cache: answers\n')
    .replace(
      '    targets: [primary, backup]\n',
      '    targets: [primary, backup]\n    limits: [tiny]\n    budgets: [monthly]\n',
    );
}

async function post(t: TestServer, body: Record<string, unknown>): Promise<Response> {
  const res = await fetch(`${t.server.url}/v1/chat/completions`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify(body),
  });
  await res.arrayBuffer();
  return res;
}

describe('observability', () => {
  it('records every request to the record file, flushed on close, with no keys in it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-observe-'));
    dirs.push(dir);
    const path = join(dir, 'traffic.jsonl');
    const t = await startServer(policyYaml({ extra: TENANTS }), { record: { path, content: 'drop' } });
    for (let i = 0; i < 5; i++) expect((await post(t, chatBody())).status).toBe(200);
    expect((await post(t, chatBody({ model: 'special' }))).status).toBe(200);
    await t.close();
    const text = readFileSync(path, 'utf8');
    expect(text).not.toContain(KEY);
    expect(text).not.toContain('hello there');
    const lines = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown);
    expect(lines).toHaveLength(6);
    for (const line of lines) expect(validateRecordedLine(line).ok).toBe(true);
    const routes = lines.map((l) => (l as { decision: { route: string } }).decision.route);
    expect(routes.filter((r) => r === 'chat')).toHaveLength(5);
    expect((lines[0] as { tenant: string }).tenant).toBe('acme');
  });

  it('records the requests it refuses too: unparseable, too deep, malformed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-observe-'));
    dirs.push(dir);
    const path = join(dir, 'traffic.jsonl');
    const t = await startServer(policyYaml({ extra: TENANTS }), { record: { path, content: 'drop' } });
    const raw = async (body: string, id: string): Promise<Response> => {
      const res = await fetch(`${t.server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { ...auth, 'x-request-id': id },
        body,
      });
      await res.arrayBuffer();
      return res;
    };
    expect((await raw('{"model": "gpt', 'bad-json')).status).toBe(400);
    expect((await raw(`${'['.repeat(20_000)}${']'.repeat(20_000)}`, 'too-deep')).status).toBe(400);
    expect((await raw(JSON.stringify({ model: 'gpt-5' }), 'no-messages')).status).toBe(400);
    await t.close();
    const lines = readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { requestId: string; outcome: { status: number; errorCode?: string } });
    for (const line of lines) expect(validateRecordedLine(line).ok).toBe(true);
    const byId = new Map(lines.map((l) => [l.requestId, l.outcome]));
    expect(byId.get('bad-json')).toMatchObject({ status: 400, errorCode: 'invalid_json' });
    expect(byId.get('too-deep')).toMatchObject({ status: 400, errorCode: 'body_too_deep' });
    expect(byId.get('no-messages')).toMatchObject({ status: 400, errorCode: 'invalid_request' });
  });

  it('counts limits, cache outcomes, upstream latency, and tokens and cost by tenant; shows spend', async () => {
    const t = await startServer(trafficPolicy(), { adminToken: 'admin-secret' });
    servers.push(t);
    expect((await post(t, chatBody())).status).toBe(200);
    expect((await post(t, chatBody())).status).toBe(200);
    expect((await post(t, chatBody())).status).toBe(429);
    expect((await post(t, chatBody({ model: 'special' }))).headers.get('x-switchyard-cache')).toBe('miss');
    expect((await post(t, chatBody({ model: 'special' }))).headers.get('x-switchyard-cache')).toBe('hit');

    const metrics = await (await fetch(`${t.server.url}/metrics`)).text();
    expect(metrics).toMatch(
      /switchyard_limit_events_total\{kind="rate_limited",route="chat",degraded="false"\} 1/,
    );
    expect(metrics).toMatch(/switchyard_cache_total\{route="special",cache="answers",outcome="hit"\} 1/);
    expect(metrics).toMatch(/switchyard_cache_total\{route="special",cache="answers",outcome="miss"\} 1/);
    expect(metrics).toMatch(
      /switchyard_upstream_duration_seconds_count\{target="[a-z]+",outcome="ok"\} [1-9]/,
    );
    expect(metrics).toMatch(/switchyard_tokens_total\{target="[a-z]+",tenant="acme",kind="prompt"\} [1-9]/);

    const spend = await fetch(`${t.server.url}/admin/spend`, {
      headers: { authorization: 'Bearer admin-secret' },
    });
    expect(spend.status).toBe(200);
    expect(JSON.stringify(await spend.json())).toContain('monthly');
  });

  it('exposes each target breaker state at scrape time', async () => {
    const yaml = policyYaml({
      flaky: 'sequence: [overloaded]',
      extra: 'defaults:\n  breaker: { failures: 2, window: 1m, cooldown: 1m }\n',
    });
    const t = await startServer(yaml);
    servers.push(t);
    for (let i = 0; i < 3; i++) expect((await post(t, chatBody())).status).toBe(200);
    const metrics = await (await fetch(`${t.server.url}/metrics`)).text();
    expect(metrics).toMatch(/switchyard_breaker_state\{target="primary"\} 2/);
    expect(metrics).toMatch(/switchyard_breaker_state\{target="backup"\} 0/);
  });

  it('logs and counts a request whose client left before the answer', async () => {
    const t = await startServer(policyYaml({ flaky: 'latency: 400ms', demo: 'latency: 400ms' }));
    servers.push(t);
    await expect(
      fetch(`${t.server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(chatBody()),
        signal: AbortSignal.timeout(100),
      }),
    ).rejects.toThrow();
    let metrics = '';
    for (let i = 0; i < 50 && !/status="499"/.test(metrics); i++) {
      await new Promise((r) => setTimeout(r, 50));
      metrics = await (await fetch(`${t.server.url}/metrics`)).text();
    }
    expect(metrics).toMatch(/switchyard_requests_total\{route="[a-z]+",target="none",status="499"\} 1/);
  });

  it('answers malformed HTTP in the OpenAI error shape, not the framework default', async () => {
    const t = await startServer(policyYaml());
    servers.push(t);
    const { port } = new URL(t.server.url);
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n');
      });
      let data = '';
      socket.on('data', (d) => {
        data += d.toString();
      });
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400/);
    const body = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as { error: { code: string } };
    expect(body.error.code).toBe('bad_http_request');
  });

  it('is not ready while a shared store it needs is unreachable', async () => {
    // A port with nothing listening: Redis can never connect.
    const port = await new Promise<number>((resolve) => {
      const srv = createNetServer().listen(0, '127.0.0.1', () => {
        const a = srv.address();
        srv.close(() => resolve(typeof a === 'object' && a !== null ? a.port : 1));
      });
    });
    const yaml = policyYaml({
      extra: `stores:\n  redis: { url: "redis://127.0.0.1:${port}" }\nlimits:\n  shared: { key: [route], requests: 100/min, store: redis, onStoreError: open }\n`,
    }).replace('    targets: [primary, backup]\n', '    targets: [primary, backup]\n    limits: [shared]\n');
    const t = await startServer(yaml);
    servers.push(t);
    const ready = await fetch(`${t.server.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(JSON.stringify(await ready.json())).toContain('Redis');
    // Traffic still flows: the limit fails open as declared.
    expect((await post(t, chatBody())).status).toBe(200);
  });
});
