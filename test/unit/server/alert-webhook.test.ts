/**
 * The budget alert webhook sender against a real local HTTP receiver (port 0): a failing receiver
 * is retried with backoff until it answers 2xx, a 4xx is not retried, a receiver that never
 * answers costs one timeout per attempt and never blocks `enqueue`, the queue is bounded, and
 * header values and webhook paths never reach the log.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { compileAlertWebhook } from '../../../engine/compile/traffic.js';
import type { BudgetAlertEvent } from '../../../engine/index.js';
import { type AlertDeliveryOutcome, AlertWebhookSender } from '../../../server/alert-webhook.js';

interface Received {
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((resolve) => {
          s.closeAllConnections();
          s.close(() => resolve());
        }),
    ),
  );
});

/** A receiver answering each POST with the next status of `statuses` (the last one repeats); null never answers. */
async function receiver(statuses: (number | null)[]): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let text = '';
    req.on('data', (c) => {
      text += c;
    });
    req.on('end', () => {
      received.push({ headers: req.headers, body: JSON.parse(text) });
      const status = statuses[Math.min(received.length - 1, statuses.length - 1)];
      if (status === null) return; // hang
      res.writeHead(status).end();
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/T0K3N`, received };
}

function logger() {
  const lines: string[] = [];
  const write = (obj: unknown, msg?: string) => lines.push(`${JSON.stringify(obj)} ${msg ?? ''}`);
  const log = { error: write, warn: write, info: write, debug: write } as never;
  return { log, lines };
}

function event(url: string, over: Partial<BudgetAlertEvent> = {}): BudgetAlertEvent {
  return {
    kind: 'threshold',
    budget: 'monthly',
    key: 'tenant=acme',
    threshold: 0.5,
    spentUsd: 251.5,
    limitUsd: 500,
    period: 'month',
    periodStartMs: Date.UTC(2026, 0, 1),
    resetAtMs: Date.UTC(2026, 1, 1),
    at: Date.UTC(2026, 0, 17, 12),
    policy: { name: 'prod', version: '7', hash: 'abc123' },
    webhook: compileAlertWebhook(url, { authorization: 'Bearer s3cret-token' }),
    ...over,
  };
}

function sender(extra: Partial<ConstructorParameters<typeof AlertWebhookSender>[0]> = {}) {
  const { log, lines } = logger();
  const outcomes: AlertDeliveryOutcome[] = [];
  let settled: () => void = () => {};
  const s = new AlertWebhookSender({
    log,
    baseDelayMs: 5,
    maxDelayMs: 20,
    timeoutMs: 200,
    onOutcome: (o) => {
      outcomes.push(o);
      settled();
    },
    ...extra,
  });
  const next = () => new Promise<void>((resolve) => (settled = resolve));
  return { s, lines, outcomes, next };
}

describe('AlertWebhookSender', () => {
  it('retries a failing receiver with backoff until it accepts; the body says what crossed', async () => {
    const r = await receiver([500, 503, 204]);
    const { s, outcomes, next } = sender();
    const done = next();
    expect(s.enqueue(event(r.url))).toBe(true);
    await done;
    expect(outcomes).toEqual(['delivered']);
    expect(r.received).toHaveLength(3);
    expect(r.received[2].headers.authorization).toBe('Bearer s3cret-token');
    expect(r.received[2].headers['content-type']).toBe('application/json');
    expect(r.received[2].body).toEqual({
      type: 'budget_alert',
      kind: 'threshold',
      budget: 'monthly',
      key: 'tenant=acme',
      period: 'month',
      periodStart: '2026-01-01T00:00:00.000Z',
      periodEnd: '2026-02-01T00:00:00.000Z',
      threshold: 0.5,
      spentUsd: 251.5,
      limitUsd: 500,
      policy: { name: 'prod', version: '7', hash: 'abc123' },
      at: '2026-01-17T12:00:00.000Z',
    });
  });

  it('gives up after maxAttempts, and logs without the secret header or the webhook path', async () => {
    const r = await receiver([500]);
    const { s, outcomes, lines, next } = sender({ maxAttempts: 3 });
    const done = next();
    s.enqueue(event(r.url));
    await done;
    expect(outcomes).toEqual(['failed']);
    expect(r.received).toHaveLength(3);
    const log = lines.join('\n');
    expect(log).toContain('the webhook answered 500');
    expect(log).not.toContain('s3cret-token');
    expect(log).not.toContain('T0K3N');
    expect(log).toContain('"authorization":"***"');
  });

  it('does not retry a 4xx other than 408 and 429', async () => {
    const r = await receiver([400, 204]);
    const { s, outcomes, next } = sender();
    const done = next();
    s.enqueue(event(r.url));
    await done;
    expect(outcomes).toEqual(['failed']);
    expect(r.received).toHaveLength(1);
  });

  it('a receiver that never answers: enqueue returns at once, each attempt times out', async () => {
    const r = await receiver([null]);
    const { s, outcomes, lines, next } = sender({ maxAttempts: 2, timeoutMs: 50 });
    const done = next();
    expect(s.enqueue(event(r.url))).toBe(true);
    // Synchronous: nothing was awaited, so no delivery happened yet.
    expect(r.received).toHaveLength(0);
    expect(s.pending).toBe(1);
    await done;
    expect(outcomes).toEqual(['failed']);
    expect(r.received).toHaveLength(2);
    expect(lines.join('\n')).toContain('timed out after 50ms');
  });

  it('drops alerts beyond the queue bound, and says so', async () => {
    const r = await receiver([null]);
    const { s, outcomes, lines } = sender({ maxQueue: 2, concurrency: 1, timeoutMs: 60_000 });
    expect(s.enqueue(event(r.url))).toBe(true);
    expect(s.enqueue(event(r.url))).toBe(true);
    expect(s.enqueue(event(r.url))).toBe(false);
    expect(outcomes).toEqual(['dropped']);
    expect(lines.join('\n')).toContain('alert queue full (2)');
    await s.close(0);
    // Shut down: the queued one is dropped, the one in flight aborted.
    expect(outcomes.filter((o) => o === 'dropped')).toHaveLength(2);
    expect(s.enqueue(event(r.url))).toBe(false);
  });

  it('close() waits for a delivery in progress', async () => {
    const r = await receiver([503, 200]);
    const { s, outcomes } = sender({ baseDelayMs: 30 });
    s.enqueue(event(r.url));
    await s.close(5000);
    expect(outcomes).toEqual(['delivered']);
    expect(r.received).toHaveLength(2);
  });

  it('the compiled webhook serialises masked', () => {
    const w = compileAlertWebhook('https://hooks.example.com/services/T0/B0/XYZ?x=1', { 'x-key': 'k' });
    expect(JSON.stringify(w)).toBe('{"url":"https://hooks.example.com/***","headers":{"x-key":"***"}}');
    expect(JSON.stringify(compileAlertWebhook('https://alerts.example.com'))).toBe(
      '{"url":"https://alerts.example.com","headers":{}}',
    );
  });
});
