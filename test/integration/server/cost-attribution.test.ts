/**
 * Cost attribution by declared request fields (`accounting.attribute`), as an operator sees it:
 * the metric, `/admin/spend` and the recording agree on every request's bucket, and a client
 * sending ever new values lands in `other` past the cap.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { validateRecordedLine } from '../../../engine/replay/record.js';
import { check } from '../../unit/validate/helpers.js';
import { startServer, type TestServer } from './helpers.js';

const servers: TestServer[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const POLICY = `switchyard: v1
policy: { name: attribution, version: "1" }
providers:
  demo: { kind: mock, reply: "ok" }
models:
  fast: { provider: demo, model: m, price: { input: 1000, output: 2000 } }
accounting:
  attribute: [metadata.feature, header.x-team]
  maxValues: 2
routes:
  - name: chat
    targets: [fast]
`;

it('splits spend by metadata.feature and header.x-team in metrics, /admin/spend and the recording, capped', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-attribution-'));
  dirs.push(dir);
  const path = join(dir, 'traffic.jsonl');
  const recorded = await startServer(POLICY, {
    adminToken: 'admin-secret',
    record: { path, content: 'drop' },
  });
  servers.push(recorded);

  const send = async (feature: string | null, team: string | null, id: string) => {
    const res = await fetch(`${recorded.server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-request-id': id,
        ...(team === null ? {} : { 'x-team': team }),
      },
      body: JSON.stringify({
        model: 'fast',
        messages: [{ role: 'user', content: 'hello there' }],
        ...(feature === null ? {} : { metadata: { feature } }),
      }),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as { usage: { prompt_tokens: number; completion_tokens: number } };
  };
  const answers = [
    await send('search', 'ml', 'r1'),
    await send('chat', 'ml', 'r2'),
    await send('search', null, 'r3'),
    await send('hostile-1', 'web', 'r4'), // past the cap of 2 features: other
    await send('hostile-2', 'ops', 'r5'), // past the cap of 2 teams too
    await send(null, 'web', 'r6'),
  ];
  const cost = answers.map((a) => (a.usage.prompt_tokens * 1000 + a.usage.completion_tokens * 2000) / 1e6);
  const sum = (...i: number[]) => i.reduce((s, k) => s + cost[k], 0);

  const metrics = await (await fetch(`${recorded.server.url}/metrics`)).text();
  const metric = (attribute: string, value: string): number => {
    const line = metrics
      .split('\n')
      .find((l) =>
        l.startsWith(`switchyard_attributed_cost_usd_total{attribute="${attribute}",value="${value}"}`),
      );
    return line === undefined ? Number.NaN : Number(line.split(' ').at(-1));
  };
  expect(metric('metadata.feature', 'search')).toBeCloseTo(sum(0, 2), 9);
  expect(metric('metadata.feature', 'chat')).toBeCloseTo(sum(1), 9);
  expect(metric('metadata.feature', 'other')).toBeCloseTo(sum(3, 4), 9);
  expect(metric('metadata.feature', 'none')).toBeCloseTo(sum(5), 9);
  expect(metric('header.x-team', 'ml')).toBeCloseTo(sum(0, 1), 9);
  expect(metric('header.x-team', 'web')).toBeCloseTo(sum(3, 5), 9);
  expect(metric('header.x-team', 'other')).toBeCloseTo(sum(4), 9);
  expect(metric('header.x-team', 'none')).toBeCloseTo(sum(2), 9);
  expect(metrics).not.toContain('hostile');

  const spend = (await (
    await fetch(`${recorded.server.url}/admin/spend`, { headers: { authorization: 'Bearer admin-secret' } })
  ).json()) as {
    attribution: { byAttribute: Record<string, { name: string; usd: number; requests: number }[]> };
  };
  const features = spend.attribution.byAttribute['metadata.feature'];
  expect(features.map((r) => [r.name, r.requests]).sort()).toEqual([
    ['chat', 1],
    ['none', 1],
    ['other', 2],
    ['search', 2],
  ]);
  expect(features.find((r) => r.name === 'other')?.usd).toBeCloseTo(sum(3, 4), 9);
  expect(spend.attribution.byAttribute['header.x-team'].map((r) => r.name).sort()).toEqual([
    'ml',
    'none',
    'other',
    'web',
  ]);

  await recorded.server.close();
  const lines = readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { requestId: string; outcome: { attribution?: Record<string, string> } });
  for (const line of lines) expect(validateRecordedLine(line).ok).toBe(true);
  const byId = new Map(lines.map((l) => [l.requestId, l.outcome.attribution]));
  expect(byId.get('r1')).toEqual({ 'metadata.feature': 'search', 'header.x-team': 'ml' });
  expect(byId.get('r4')).toEqual({ 'metadata.feature': 'other', 'header.x-team': 'web' });
  expect(byId.get('r5')).toEqual({ 'metadata.feature': 'other', 'header.x-team': 'other' });
  expect(byId.get('r6')).toEqual({ 'metadata.feature': 'none', 'header.x-team': 'web' });
});

it('refuses a credential header as an attributed field, and any field a `when` cannot attribute by', () => {
  const header = check(POLICY.replace('header.x-team', 'header.x-api-key'));
  expect(header.errors.map((d) => [d.code, d.pointer])).toEqual([
    ['SEM_ACCOUNTING_HEADER', '/accounting/attribute/1'],
  ]);
  expect(header.errors[0].message).not.toContain('sk-');
  const body = check(POLICY.replace('header.x-team', 'body.user'));
  expect(body.errors.map((d) => d.pointer)).toEqual(['/accounting/attribute/1']);
  expect(check(POLICY).errors).toEqual([]);
});
