/**
 * The policy's `recording` block through the real server: lines written where the block says,
 * a reload that moves the file while a stream is running (the stream's line goes to the file of
 * the version it started on, new requests to the new file, nothing lost), a reload to a file
 * that cannot be written (refused, the old version keeps serving and recording), shutdown
 * flushing every line, and the `record` option overriding or switching off the block.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type RecordedLine, validateRecordedLine } from '../../../engine/replay/record.js';
import type { CreateServerOptions } from '../../../server/app.js';
import { chatBody, startServer, type TestServer } from './helpers.js';

const running: TestServer[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const t of running.splice(0)) await t.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function policy(recording: string, version = '1'): string {
  return `switchyard: v1
policy: { name: rec, version: "${version}" }
providers:
  demo: { kind: mock, reply: "one two three four five six seven eight", chunkDelay: 60ms }
models:
  fast: { provider: demo, model: m }
routes:
  - name: chat
    targets: [fast]
${recording}`;
}

function readLines(path: string): RecordedLine[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const line = JSON.parse(l) as unknown;
      expect(validateRecordedLine(line).ok).toBe(true);
      return line as RecordedLine;
    });
}

const ids = (path: string): string[] => readLines(path).map((l) => l.requestId);

async function start(yaml: string, options: Partial<CreateServerOptions> = {}): Promise<TestServer> {
  const t = await startServer(yaml, options);
  running.push(t);
  return t;
}

/** Stops the server (flushing the recording) but keeps its directory for reading. */
async function stop(t: TestServer): Promise<void> {
  running.splice(running.indexOf(t), 1);
  dirs.push(t.dir);
  await t.server.close();
}

async function post(t: TestServer, id: string, extra: Record<string, unknown> = {}): Promise<Response> {
  const res = await fetch(`${t.server.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': id, 'x-team': 'search' },
    body: JSON.stringify(chatBody(extra)),
  });
  return res;
}

describe('the recording block through the server', () => {
  it('records to the path relative to the policy file, with its headers and content mode; shutdown flushes', async () => {
    const t = await start(policy('recording: { path: traffic.jsonl, content: drop, headers: [x-team] }\n'));
    for (let i = 0; i < 20; i++) {
      const res = await post(t, `r-${i}`);
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    await stop(t);
    const lines = readLines(join(t.dir, 'traffic.jsonl'));
    expect(lines.map((l) => l.requestId)).toEqual(Array.from({ length: 20 }, (_, i) => `r-${i}`));
    expect(lines[0].request.headers).toMatchObject({ 'x-team': 'search', 'x-request-id': 'r-0' });
    expect(lines[0].request.content).toBe('drop');
    expect(JSON.stringify(lines)).not.toContain('hello there');
    expect(lines[0].policy).toMatchObject({ name: 'rec', version: '1' });
  });

  it('a reload that moves the file: the running stream lands in the old file, new requests in the new one', async () => {
    const t = await start(policy('recording: { path: a.jsonl }\n'));
    const before = await post(t, 'before');
    await before.arrayBuffer();

    // A stream that is still running when the new version starts serving.
    const streaming = await post(t, 'long-stream', { stream: true });
    const reader = streaming.body?.getReader();
    if (reader === undefined) throw new Error('no body');
    await reader.read();

    t.writePolicy(policy('recording: { path: b.jsonl, content: drop }\n', '2'));
    const reload = await t.server.manager.reload('api');
    expect(reload).toMatchObject({ ok: true, changed: true });

    for (let i = 0; i < 3; i++) {
      const res = await post(t, `after-${i}`);
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    let text = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      text += new TextDecoder().decode(chunk.value);
    }
    expect(text).toContain('[DONE]');
    await stop(t);

    const a = readLines(join(t.dir, 'a.jsonl'));
    const b = readLines(join(t.dir, 'b.jsonl'));
    expect(a.map((l) => l.requestId)).toEqual(['before', 'long-stream']);
    expect(a.every((l) => l.policy.version === '1' && l.request.content === 'hash')).toBe(true);
    expect(a[1].outcome).toMatchObject({ kind: 'stream', status: 200 });
    expect(b.map((l) => l.requestId)).toEqual(['after-0', 'after-1', 'after-2']);
    expect(b.every((l) => l.policy.version === '2' && l.request.content === 'drop')).toBe(true);
  });

  it('a reload to a file that cannot be written is refused; the old version keeps serving and recording', async () => {
    const t = await start(policy('recording: { path: a.jsonl }\n'));
    t.writePolicy(policy('recording: { path: missing-dir/b.jsonl }\n', '2'));
    const reload = await t.server.manager.reload('api');
    expect(reload.ok).toBe(false);
    expect(reload.error).toMatch(/^cannot write the recording file .*missing-dir.*b\.jsonl \(ENOENT\)$/);
    expect(t.server.manager.current?.identity.version).toBe('1');
    const res = await post(t, 'still-recorded');
    expect(res.headers.get('x-switchyard-policy')).toContain('@1');
    await res.arrayBuffer();
    await stop(t);
    expect(ids(join(t.dir, 'a.jsonl'))).toEqual(['still-recorded']);
  });

  it('a first load whose file cannot be written leaves the server not ready', async () => {
    const t = await start(policy('recording: { path: missing-dir/a.jsonl }\n'));
    expect(t.server.manager.ready).toBe(false);
    expect(t.server.manager.lastError?.error).toContain('cannot write the recording file');
    expect((await fetch(`${t.server.url}/readyz`)).status).toBe(503);
  });

  it('record: false records nothing, whatever the block says', async () => {
    const t = await start(policy('recording: { path: traffic.jsonl }\n'), { record: false });
    const res = await post(t, 'r-1');
    await res.arrayBuffer();
    await stop(t);
    expect(existsSync(join(t.dir, 'traffic.jsonl'))).toBe(false);
  });

  it('record.path (serve --record) replaces the block’s path; the block’s headers still apply', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-rec-flag-'));
    dirs.push(dir);
    const flagPath = join(dir, 'flag.jsonl');
    const t = await start(policy('recording: { path: block.jsonl, headers: [x-team] }\n'), {
      record: { path: flagPath },
    });
    const res = await post(t, 'r-1');
    await res.arrayBuffer();
    await stop(t);
    expect(existsSync(join(t.dir, 'block.jsonl'))).toBe(false);
    const [line] = readLines(flagPath);
    expect(line.requestId).toBe('r-1');
    expect(line.request.headers).toMatchObject({ 'x-team': 'search' });
  });

  it('without a block or a flag, nothing is recorded', async () => {
    const t = await start(policy(''));
    const res = await post(t, 'r-1');
    await res.arrayBuffer();
    await stop(t);
    expect(readdirSync(t.dir).filter((f) => f.endsWith('.jsonl'))).toEqual([]);
  });
});
