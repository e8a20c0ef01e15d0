/**
 * Hot reload on a real port: file changes picked up by the watcher, failed reloads that keep the
 * old version serving (P14), reload under load (P13), and graceful shutdown with streams in flight.
 */

import { writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import {
  chatBody,
  inject,
  invalidPolicyYaml,
  policyYaml,
  postChat,
  startServer,
  type TestServer,
  waitFor,
} from './helpers.js';
import { parseResponse, rawExchange } from './raw-http.js';

const TOKEN = 'reload-admin-token';
const auth = { authorization: `Bearer ${TOKEN}` };

interface DiagnosticJson {
  severity: string;
  code: string;
  column: number;
  location: string;
}
interface ResultJson {
  ok: boolean;
  changed: boolean;
  trigger: string;
  active: { version: string } | null;
  diagnostics: DiagnosticJson[];
}
interface StatusJson {
  active: { version: string };
  lastReload: ResultJson;
  lastError: ResultJson | null;
}

async function getJson<T>(url: string, init: RequestInit = { headers: auth }): Promise<T> {
  const res = await fetch(url, init);
  return (await res.json()) as T;
}

let servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function start(yaml: string, options: Parameters<typeof startServer>[1] = {}): Promise<TestServer> {
  const s = await startServer(yaml, { adminToken: TOKEN, ...options });
  servers.push(s);
  return s;
}

async function chat(url: string, body: Record<string, unknown> = chatBody({ model: 'special' })) {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await res.arrayBuffer();
  return { status: res.status, policy: res.headers.get('x-switchyard-policy') ?? '' };
}

describe('hot reload through the watcher', () => {
  it('a valid change is served; an invalid one is reported and the old version keeps serving', async () => {
    const t = await start(policyYaml({ version: '1' }), { watch: true, watchDebounceMs: 30 });
    const { manager, url } = t.server;
    expect((await chat(url)).policy).toMatch(/^demo@1\+/);

    t.writePolicy(policyYaml({ version: '2' }));
    await waitFor(() => manager.current?.identity.version === '2', 'version 2');
    expect((await chat(url)).policy).toMatch(/^demo@2\+/);

    t.writePolicy(invalidPolicyYaml('3-broken'));
    await waitFor(() => manager.lastResult?.ok === false, 'a failed reload');
    expect(manager.current?.identity.version).toBe('2');
    const served = await chat(url);
    expect(served.status).toBe(200);
    expect(served.policy).toMatch(/^demo@2\+/);

    const status = await getJson<StatusJson>(`${url}/admin/status`);
    expect(status.active.version).toBe('2');
    expect(status.lastReload).toMatchObject({ ok: false, trigger: 'watch', changed: false });
    const error = status.lastError?.diagnostics.find((d) => d.severity === 'error');
    expect(error?.location).toBe(`${t.policyFile}:13:${error?.column}`);
    expect(error?.code).toMatch(/^[A-Z]+_[A-Z_]+$/);

    const metrics = await fetch(`${url}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/switchyard_policy_reloads_total\{result="failure"\} 1/);
    expect(metrics).toMatch(/switchyard_policy_reloads_total\{result="success"\} 2/);
    expect(metrics).toMatch(/switchyard_policy_info\{name="demo",version="2",/);

    // Fixing the file recovers; an in-place write (no rename) is seen too.
    writeFileSync(t.policyFile, policyYaml({ version: '4' }));
    await waitFor(() => manager.current?.identity.version === '4', 'version 4');
    const recovered = await getJson<StatusJson>(`${url}/admin/status`);
    expect(recovered.lastError).toBeNull();
  });

  it('history and rollback', async () => {
    const t = await start(policyYaml({ version: '1' }));
    const { url, manager } = t.server;
    t.writePolicy(policyYaml({ version: '2' }));
    const reload = await fetch(`${url}/admin/reload`, { method: 'POST', headers: auth });
    expect(reload.status).toBe(200);
    expect(await reload.json()).toMatchObject({ ok: true, changed: true, active: { version: '2' } });

    t.writePolicy(invalidPolicyYaml());
    const failed = await fetch(`${url}/admin/reload`, { method: 'POST', headers: auth });
    expect(failed.status).toBe(422);
    expect(((await failed.json()) as ResultJson).diagnostics.length).toBeGreaterThan(0);

    const history = await getJson<{ versions: { version: string }[] }>(`${url}/admin/history`);
    expect(history.versions.map((v) => v.version)).toEqual(['2', '1']);

    const rollback = await fetch(`${url}/admin/rollback`, { method: 'POST', headers: auth });
    expect(rollback.status).toBe(200);
    expect(manager.current?.identity.version).toBe('1');
    expect((await chat(url)).policy).toMatch(/^demo@1\+/);
    const policy = await getJson<{ version: string }>(`${url}/admin/policy`);
    expect(policy.version).toBe('1');
  });

  it('reload under load: no failed request, and only valid versions ever serve', async () => {
    const t = await start(policyYaml({ version: 'v0' }), { watch: true, watchDebounceMs: 20 });
    const { url, manager } = t.server;
    const valid = new Set(['v0']);
    const seen: { status: number; policy: string; validAtResponse: Set<string> }[] = [];
    let stop = false;

    const worker = async (): Promise<void> => {
      while (!stop) {
        const r = await chat(url);
        seen.push({ ...r, validAtResponse: new Set(valid) });
      }
    };
    const writer = async (): Promise<void> => {
      for (let i = 1; i <= 10; i++) {
        const reloaded = manager.lastResult;
        // Odd writes are invalid, even ones valid, so the last write (v10) is valid.
        if (i % 2 === 1) {
          t.writePolicy(invalidPolicyYaml(`invalid-${i}`));
        } else {
          // Declared valid before it can serve: a response naming it is never early.
          valid.add(`v${i}`);
          t.writePolicy(policyYaml({ version: `v${i}` }));
        }
        // At least 60 ms and 20 answers between writes: the load spans every reload however
        // slow the machine is (a count, not a speed, is what this test asserts).
        const before = seen.length;
        await new Promise((r) => setTimeout(r, 60));
        await waitFor(() => seen.length >= before + 20, 'twenty answers between reloads');
        // The write was loaded (a reload in a worker can take longer than the wait above; the
        // next write must not coalesce with this one, or an invalid version is never tried).
        await waitFor(() => manager.lastResult !== reloaded, 'the reload of this write', 15_000);
      }
      await waitFor(() => manager.current?.identity.version === 'v10', 'the last valid version');
      // Let the last version serve a few requests too.
      await new Promise((r) => setTimeout(r, 50));
      stop = true;
    };
    const workers = Array.from({ length: 10 }, worker);
    await Promise.all([writer(), ...workers]);

    expect(seen.length).toBeGreaterThanOrEqual(200);
    expect(seen.filter((r) => r.status !== 200)).toEqual([]);
    for (const r of seen) {
      const version = /^demo@([^+]+)\+/.exec(r.policy)?.[1] ?? `unparsable:${r.policy}`;
      expect(version).not.toMatch(/invalid/);
      expect(r.validAtResponse.has(version)).toBe(true);
    }
    const versions = new Set(seen.map((r) => /^demo@([^+]+)\+/.exec(r.policy)?.[1]));
    expect(versions.has('v10')).toBe(true);
    // Some reloads really failed (the invalid versions were loaded and refused).
    const metrics = await fetch(`${url}/metrics`).then((r) => r.text());
    const failures = Number(/switchyard_policy_reloads_total\{result="failure"\} (\d+)/.exec(metrics)?.[1]);
    expect(failures).toBeGreaterThanOrEqual(1);
  });
});

describe('graceful shutdown', () => {
  const slowPolicy = policyYaml({ demo: 'reply: "a b c d e f g h i j", chunkDelay: 40ms' });

  it('close() lets a stream in flight finish, then stops', async () => {
    const t = await start(slowPolicy);
    const client = new OpenAI({ baseURL: `${t.server.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const stream = await client.chat.completions.create({
      ...chatBody({ model: 'special' }),
      stream: true,
    } as {
      model: string;
      messages: { role: 'user'; content: string }[];
      stream: true;
    });
    let text = '';
    let closed: Promise<void> | null = null;
    let closeResolvedEarly = false;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      if (closed === null && text.length > 0) {
        closed = t.server.close();
        void closed.then(() => {
          if (text !== 'a b c d e f g h i j') closeResolvedEarly = true;
        });
      }
    }
    expect(text).toBe('a b c d e f g h i j');
    expect(closed).not.toBeNull();
    await closed;
    expect(closeResolvedEarly).toBe(false);
    await expect(fetch(`${t.server.url}/healthz`)).rejects.toThrow();
  });

  it('after the grace period, a stream still running ends with an in-band error event, counted', async () => {
    const t = await start(policyYaml({ demo: 'reply: "a b c d e f g h i j", chunkDelay: 400ms' }), {
      gracePeriodMs: 150,
    });
    const res = await fetch(`${t.server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(chatBody({ model: 'special', stream: true })),
    });
    expect(res.status).toBe(200);
    const started = Date.now();
    const [body] = await Promise.all([res.text(), t.server.close()]);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(body).not.toContain('[DONE]');
    const last = body.trim().split('\n\n').at(-1) ?? '';
    expect(JSON.parse(last.replace(/^data: /, ''))).toEqual({
      error: { message: expect.any(String), type: 'api_error', code: 'shutting_down' },
    });
    const metrics = await t.server.metrics.registry.metrics();
    expect(metrics).toMatch(/^switchyard_streams_cut_on_shutdown_total 1$/m);
  });

  it('after the grace period, a request still waiting for upstream gets 503 shutting_down', async () => {
    const t = await start(policyYaml({ demo: 'latency: 3s' }), { gracePeriodMs: 150 });
    const pending = fetch(`${t.server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(chatBody({ model: 'special' })),
    });
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    const [res] = await Promise.all([pending, t.server.close()]);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(res.status).toBe(503);
    expect(res.headers.get('connection')).toBe('close');
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('shutting_down');
  });

  it('a client that disconnects mid-stream cancels its request (nothing left to drain)', async () => {
    const t = await start(policyYaml({ demo: 'reply: "a b c d e f g h i j", chunkDelay: 300ms' }));
    const controller = new AbortController();
    const res = await fetch(`${t.server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(chatBody({ model: 'special', stream: true })),
      signal: controller.signal,
    });
    const reader = res.body?.getReader();
    await reader?.read();
    controller.abort();
    await reader?.cancel().catch(() => undefined);
    // With the request cancelled, close() has nothing to wait for (the stream alone needs ~3 s).
    const started = Date.now();
    await waitFor(async () => {
      const m = await inject(t.server, { method: 'GET', url: '/metrics' });
      return /switchyard_requests_total\{route="special",target="backup",status="200"\} 1/.test(m.body);
    }, 'the cancelled stream to be reported');
    await t.server.close();
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it.each(['/v1/chat/completions', '/v1/messages'])(
    'a client that goes away while %s waits for upstream cancels its request at once',
    async (path) => {
      const t = await start(policyYaml({ demo: 'reply: "a b", latency: 5s' }));
      const controller = new AbortController();
      const pending = fetch(`${t.server.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'special',
          max_tokens: 16,
          messages: [{ role: 'user', content: 'Hi' }],
        }),
        signal: controller.signal,
      }).catch(() => null);
      await new Promise((r) => setTimeout(r, 200));
      const started = Date.now();
      controller.abort();
      await pending;
      // The engine gives up on the upstream call when the client leaves: reported as 499 long
      // before the 5 s upstream latency, and close() has nothing left to wait for.
      await waitFor(async () => {
        const m = await inject(t.server, { method: 'GET', url: '/metrics' });
        return /switchyard_requests_total\{[^}]*status="499"\} 1/.test(m.body);
      }, 'the cancelled request to be reported');
      await t.server.close();
      expect(Date.now() - started).toBeLessThan(2000);
    },
  );

  it('requests arriving during the drain on a kept-alive connection get 503 shutting_down', async () => {
    const t = await start(slowPolicy);
    const slow = postChat(t.server, { model: 'special', stream: true });
    await new Promise((r) => setTimeout(r, 50));
    // A connection whose next request has begun (its request line and a header sent) is not idle,
    // so the shutdown keeps it open; the rest of the request arrives during the drain.
    const body = JSON.stringify(chatBody());
    let socket: Socket | null = null;
    const exchange = rawExchange(t.server.url, `POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n`, {
      send: (s) => {
        socket = s;
      },
      until: (text) => text.includes('}\n') || text.endsWith('}'),
    });
    await waitFor(() => socket !== null, 'the connection');
    await new Promise((r) => setTimeout(r, 50));
    const closing = t.server.close();
    (socket as Socket | null)?.write(
      `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    const late = parseResponse((await exchange).text);
    expect(late.status).toBe(503);
    expect(JSON.parse(late.body).error.code).toBe('shutting_down');
    expect((await slow).body).toContain('[DONE]');
    await closing;
  });
});
