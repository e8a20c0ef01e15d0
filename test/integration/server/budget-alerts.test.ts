/**
 * Budget alerts through the server: an `alertAt` crossing reaches the declared webhook as JSON
 * (retried when the receiver fails first), is counted by outcome in /metrics, and a receiver that
 * never answers does not hold up any request (delivery runs off the request path).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from './helpers.js';

const KEY = 'sk-acme-alerts';
const open: TestServer[] = [];
const receivers: Server[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
  for (const r of receivers.splice(0)) {
    r.closeAllConnections();
    r.close();
  }
});

/** Answers with `statuses` in turn (the last repeats); null never answers. */
async function receiver(statuses: (number | null)[]) {
  const bodies: Record<string, unknown>[] = [];
  const headers: string[] = [];
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (c) => {
      text += c;
    });
    req.on('end', () => {
      bodies.push(JSON.parse(text));
      headers.push(String(req.headers['x-alert-token']));
      const status = statuses[Math.min(bodies.length - 1, statuses.length - 1)];
      if (status !== null) res.writeHead(status).end();
    });
  });
  receivers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts`, bodies, headers };
}

// One answer on the mock: 3 prompt + 4 completion tokens at 100/200 USD per M = 0.0011 USD.
function policy(webhook: string): string {
  return `switchyard: v1
policy: { name: alerts, version: "3" }
providers:
  demo: { kind: mock }
models:
  primary: { provider: demo, model: m, price: { input: 100, output: 200 } }
tenants:
  acme: { keys: [${KEY}] }
budgets:
  daily:
    key: [tenant]
    usd: 1/day
    alertAt: [0.001]
    alerts: { webhook: "${webhook}", headers: { x-alert-token: alert-s3cret } }
routes:
  - name: chat
    targets: [primary]
    budgets: [daily]
`;
}

async function chat(t: TestServer): Promise<number> {
  const res = await fetch(`${t.server.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'Say hello.' }] }),
  });
  await res.text();
  return res.status;
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 300 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
}

describe('budget alert webhook', () => {
  it('delivers the crossing once, retrying a failing receiver, and counts it', async () => {
    const r = await receiver([500, 200]);
    const t = await startServer(policy(r.url), { alertDelivery: { baseDelayMs: 10 } });
    open.push(t);
    for (let i = 0; i < 3; i++) expect(await chat(t)).toBe(200);
    await until(() => r.bodies.length >= 2);
    expect(r.bodies).toHaveLength(2); // one failure, one success; later answers cross nothing
    expect(r.headers).toEqual(['alert-s3cret', 'alert-s3cret']);
    expect(r.bodies[1]).toMatchObject({
      type: 'budget_alert',
      kind: 'threshold',
      budget: 'daily',
      key: 'tenant=acme',
      period: 'day',
      threshold: 0.001,
      limitUsd: 1,
      policy: { name: 'alerts', version: '3' },
    });
    expect(r.bodies[1].spentUsd).toBeCloseTo(0.0011, 9);
    // The outcome is counted when the receiver's answer is read, just after it was sent.
    let metrics = '';
    for (let i = 0; i < 100 && !metrics.includes('outcome="delivered"'); i++) {
      metrics = await (await fetch(`${t.server.url}/metrics`)).text();
      if (!metrics.includes('outcome="delivered"')) await new Promise((r) => setTimeout(r, 10));
    }
    expect(metrics).toContain(
      'switchyard_budget_alert_deliveries_total{budget="daily",outcome="delivered"} 1',
    );
  });

  it('attributes spend by tenant, route and model in /metrics and /admin/spend', async () => {
    const r = await receiver([200]);
    const t = await startServer(policy(r.url), { adminToken: 'admin-secret' });
    open.push(t);
    for (let i = 0; i < 2; i++) expect(await chat(t)).toBe(200);
    const metrics = await (await fetch(`${t.server.url}/metrics`)).text();
    expect(metrics).toMatch(
      /switchyard_cost_usd_total\{target="primary",tenant="acme",route="chat"\} 0\.0022/,
    );
    const spend = await fetch(`${t.server.url}/admin/spend`, {
      headers: { authorization: 'Bearer admin-secret' },
    });
    const body = (await spend.json()) as {
      budgets: { name: string }[];
      attribution: Record<string, unknown>;
    };
    expect(body.budgets[0].name).toBe('daily');
    expect(body.attribution).toMatchObject({
      byTenant: [{ name: 'acme', requests: 2 }],
      byRoute: [{ name: 'chat', requests: 2 }],
      byModel: [{ name: 'primary', requests: 2 }],
    });
    expect(body.attribution.totalUsd).toBeCloseTo(0.0022, 9);
  });

  it('a receiver that never answers holds up no request', async () => {
    const r = await receiver([null]);
    // A minute per attempt: were delivery on the request path, these requests would time out the test.
    const t = await startServer(policy(r.url), { alertDelivery: { timeoutMs: 60_000 }, gracePeriodMs: 100 });
    open.push(t);
    for (let i = 0; i < 5; i++) expect(await chat(t)).toBe(200);
    await until(() => r.bodies.length >= 1);
    expect(r.bodies).toHaveLength(1); // the delivery is still waiting for its answer
  });
});
