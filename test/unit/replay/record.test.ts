import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createRecorder,
  type RecordedLine,
  type RecordInput,
  RecordingError,
  readRecording,
  toRecordedLine,
  validateRecordedLine,
} from '../../../engine/replay/record.js';
import { VirtualClock } from '../../../engine/shared/virtual-clock.js';
import {
  type AttemptRecord,
  type Decision,
  ERROR_CLASSES,
  type RequestContext,
} from '../../../engine/types.js';
import { makeDecision, makeTarget } from '../../support/decision-fixtures.js';

const schemaPath = join(import.meta.dirname, '../../../schemas/recorded-traffic.schema.json');
const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as {
  $defs: Record<string, Record<string, unknown>>;
  [key: string]: unknown;
};
// An independent compile of the schema, so the tests do not only trust the module's validator.
const validateSchema = new Ajv2020({ strict: true, strictRequired: false, allowUnionTypes: true }).compile(
  schema,
);

const TENANT_KEY = 'sk-tenant-SUPERSECRET-0001';
const PROVIDER_KEY = 'sk-provider-SUPERSECRET-0002';
const PROMPT = 'my private prompt PROMPT-TEXT-42';
const STARTED = Date.UTC(2025, 0, 31, 12, 0, 0, 250);
const POLICY = { name: 'test', version: '1', hash: 'abcdef0123456789' };

function context(o: Partial<RequestContext> = {}): RequestContext {
  return {
    path: '/v1/chat/completions',
    endpoint: 'chat',
    model: 'smart',
    body: {
      model: 'smart',
      temperature: 0,
      api_key: PROVIDER_KEY,
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: PROMPT },
      ],
    },
    headers: {
      authorization: `Bearer ${TENANT_KEY}`,
      'x-api-key': PROVIDER_KEY,
      cookie: `session=${TENANT_KEY}`,
      'x-request-id': 'req-1',
      'x-switchyard-seed': '7',
      'content-type': 'application/json',
      'user-agent': 'openai-node',
      'x-team': 'search',
    },
    tenant: 'acme',
    labels: { tier: 'gold' },
    metadata: { feature: 'chat' },
    stream: false,
    tools: false,
    inputTokens: 17,
    inputChars: 40,
    seed: 7,
    ...o,
  };
}

const attempts: AttemptRecord[] = [
  {
    target: 'fast',
    upstreamModel: 'gpt-4o-mini',
    outcome: 'rate_limited',
    status: 429,
    startedAtMs: 0.4,
    durationMs: 12.3456,
    firstByteMs: 12,
    firstTokenMs: null,
    usage: null,
  },
  {
    target: 'smart',
    upstreamModel: 'gpt-4o',
    outcome: 'ok',
    status: 200,
    startedAtMs: 15,
    durationMs: 300,
    firstByteMs: 80,
    firstTokenMs: 95,
    usage: { promptTokens: 17, completionTokens: 5, totalTokens: 22 },
  },
];

function input(o: Partial<RecordInput> = {}): RecordInput {
  return {
    requestId: 'req-1',
    context: context(),
    decision: makeDecision([makeTarget('fast'), makeTarget('smart')], { route: 'default' }),
    meta: {
      policy: POLICY,
      route: 'default',
      tenant: 'acme',
      target: 'smart',
      attempts,
      cache: 'miss',
      usage: { promptTokens: 17, completionTokens: 5, totalTokens: 22 },
      costUsd: 0.000027,
      overheadMs: 1.25,
    },
    status: 200,
    kind: 'json',
    startedAt: STARTED,
    durationMs: 320.5,
    ...o,
  };
}

const noRoute: Decision = {
  kind: 'no_route',
  policy: POLICY,
  status: 400,
  code: 'no_route',
  message: 'No route',
  skipped: [],
};

/** Inputs covering each branch of the mapping. */
function variants(): RecordInput[] {
  const base = input();
  /** What a request refused before routing reports: no route, target, attempts, usage or cache. */
  const unrouted = {
    ...base.meta,
    route: null,
    target: null,
    attempts: [],
    usage: null,
    costUsd: null,
    cache: null,
  };
  return [
    base,
    input({ kind: 'stream', context: context({ stream: true }) }),
    input({ decision: noRoute, status: 400, errorCode: 'no_route', meta: unrouted }),
    input({
      decision: null,
      status: 401,
      errorCode: 'invalid_api_key',
      context: context({ tenant: null }),
      meta: unrouted,
    }),
    input({
      status: 502,
      errorCode: 'upstream_failed',
      meta: { ...base.meta, target: null, attempts: [attempts[0]], usage: null, costUsd: null },
    }),
    input({
      context: context({
        endpoint: 'embeddings',
        path: '/v1/embeddings',
        body: { model: 'e', input: ['a'] },
      }),
    }),
  ];
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'switchyard-record-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function fileLines(path: string): string[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
}

describe('recorded-traffic schema', () => {
  it('gives every definition a title and a description', () => {
    const missing = Object.entries(schema.$defs)
      .filter(([, def]) => typeof def.title !== 'string' || typeof def.description !== 'string')
      .map(([name]) => name);
    expect(missing).toEqual([]);
    expect(typeof schema.title).toBe('string');
    expect(typeof schema.description).toBe('string');
  });

  it('lists exactly the engine error classes', () => {
    expect(schema.$defs.ErrorClass.enum).toEqual([...ERROR_CLASSES]);
  });

  it('refuses a line with a credential header or an unknown key', () => {
    const line = toRecordedLine(input(), { content: 'keep' });
    const withAuth = { ...line, request: { ...line.request, headers: { authorization: 'Bearer x' } } };
    expect(validateRecordedLine(withAuth).ok).toBe(false);
    expect(validateRecordedLine({ ...line, extra: 1 }).ok).toBe(false);
    expect(validateRecordedLine({ ...line, v: 2 }).ok).toBe(false);
  });
});

describe('toRecordedLine', () => {
  it('maps every kind of request to a line that matches the schema', () => {
    for (const mode of ['keep', 'hash', 'drop'] as const) {
      for (const entry of variants()) {
        const line = JSON.parse(JSON.stringify(toRecordedLine(entry, { content: mode }))) as unknown;
        expect(validateSchema(line), JSON.stringify(validateSchema.errors)).toBe(true);
        expect(validateRecordedLine(line).ok).toBe(true);
      }
    }
  });

  it('records the policy, request, decision, attempts and outcome', () => {
    const line = toRecordedLine(input(), { content: 'keep' });
    expect(line).toMatchObject({
      v: 1,
      time: '2025-01-31T12:00:00.250Z',
      requestId: 'req-1',
      policy: POLICY,
      tenant: 'acme',
      request: {
        path: '/v1/chat/completions',
        endpoint: 'chat',
        model: 'smart',
        stream: false,
        metadata: { feature: 'chat' },
        seed: 7,
        inputTokens: 17,
        content: 'keep',
      },
      decision: { route: 'default', targets: ['fast', 'smart'] },
      outcome: { status: 200, kind: 'json', target: 'smart', cache: 'miss', costUsd: 0.000027 },
      durationMs: 320.5,
      overheadMs: 1.25,
    });
    expect(line.attempts).toHaveLength(2);
    expect(line.attempts[0]).toMatchObject({ outcome: 'rate_limited', status: 429, durationMs: 12.346 });
    expect(line.outcome).not.toHaveProperty('errorCode');
    expect(line.decision).not.toHaveProperty('noRoute');
  });

  it('records prompt-cache token counts and the cost attribution, when present, and the schema accepts them', () => {
    const base = input();
    const usage = {
      promptTokens: 900,
      completionTokens: 5,
      totalTokens: 905,
      cachedTokens: 700,
      cacheWriteTokens: 100,
    };
    const line = toRecordedLine(
      {
        ...base,
        meta: {
          ...base.meta,
          usage,
          attempts: base.meta.attempts.map((a) => (a.usage === null ? a : { ...a, usage })),
          attribution: { 'metadata.feature': 'chat' },
        },
      },
      { content: 'drop' },
    );
    expect(line.outcome.usage).toEqual(usage);
    expect(line.outcome.attribution).toEqual({ 'metadata.feature': 'chat' });
    expect(validateRecordedLine(JSON.parse(JSON.stringify(line))).ok).toBe(true);
    const plain = toRecordedLine(input(), { content: 'drop' });
    expect(plain.outcome).not.toHaveProperty('attribution');
  });

  it('records why no route matched', () => {
    const line = toRecordedLine(input({ decision: noRoute, status: 400 }), { content: 'keep' });
    expect(line.decision).toEqual({
      route: null,
      targets: [],
      noRoute: { status: 400, code: 'no_route' },
    });
  });

  it('keeps only allow-listed headers; credentials are refused even when configured', () => {
    const line = toRecordedLine(input(), { content: 'keep' });
    expect(line.request.headers).toEqual({
      'x-request-id': 'req-1',
      'x-switchyard-seed': '7',
      'content-type': 'application/json',
      'user-agent': 'openai-node',
    });
    const createRecorderHeaders = ['x-team', 'Authorization', 'x-api-key', 'x-auth-token', 'Cookie'];
    const recorder = createRecorder({
      path: join(dir, 'h.jsonl'),
      content: 'keep',
      headers: createRecorderHeaders,
    });
    recorder.record(input());
    return recorder.close().then(() => {
      const [recorded] = fileLines(join(dir, 'h.jsonl')).map((l) => JSON.parse(l) as RecordedLine);
      expect(Object.keys(recorded.request.headers).sort()).toEqual([
        'content-type',
        'user-agent',
        'x-request-id',
        'x-switchyard-seed',
        'x-team',
      ]);
    });
  });

  it('writes microseconds when the arrival has them, so close arrivals keep their order', () => {
    const line = toRecordedLine(input({ startedAt: STARTED + 0.25, durationMs: 1 }), { content: 'keep' });
    expect(line.time).toBe('2025-01-31T12:00:00.250250Z');
    expect(validateRecordedLine(line).ok).toBe(true);
  });

  it('takes the time from the clock when startedAt is a monotonic reading', () => {
    const clock = new VirtualClock({ start: STARTED + 1000 });
    const line = toRecordedLine(input({ startedAt: 1234.5, durationMs: 1000 }), { content: 'keep', clock });
    expect(line.time).toBe('2025-01-31T12:00:00.250Z');
  });
});

describe('createRecorder', () => {
  it('writes one schema-valid line per request', async () => {
    const path = join(dir, 'traffic.jsonl');
    const recorder = createRecorder({ path, content: 'keep' });
    for (const entry of variants()) recorder.record(entry);
    await recorder.flush();
    expect(recorder.stats()).toEqual({ written: variants().length, dropped: 0, queued: 0 });
    await recorder.close();
    const lines = fileLines(path);
    expect(lines).toHaveLength(variants().length);
    for (const text of lines) {
      const value = JSON.parse(text) as unknown;
      expect(validateSchema(value), JSON.stringify(validateSchema.errors)).toBe(true);
    }
  });

  it('never writes a tenant key, provider key or credential header, in any mode', async () => {
    for (const content of ['keep', 'hash', 'drop'] as const) {
      const path = join(dir, `${content}.jsonl`);
      const recorder = createRecorder({ path, content });
      for (const entry of variants()) recorder.record(entry);
      await recorder.close();
      const text = readFileSync(path, 'utf8');
      expect(text).not.toContain('SUPERSECRET');
      expect(text).not.toContain('Bearer');
      expect(text.toLowerCase()).not.toContain('"authorization"');
      expect(text).not.toContain('"cookie"');
      expect(text).toContain('"tenant":"acme"');
    }
  });

  it('keeps, hashes or drops message contents', async () => {
    const lines: Record<string, RecordedLine[]> = {};
    for (const content of ['keep', 'hash', 'drop'] as const) {
      const path = join(dir, `${content}.jsonl`);
      const recorder = createRecorder({ path, content });
      recorder.record(input());
      recorder.record(input({ requestId: 'req-2' }));
      await recorder.close();
      const text = readFileSync(path, 'utf8');
      if (content === 'keep') expect(text).toContain(PROMPT);
      else expect(text).not.toContain('PROMPT-TEXT');
      lines[content] = fileLines(path).map((l) => JSON.parse(l) as RecordedLine);
    }
    type Msg = { role: string; content?: unknown; contentChars?: number };
    const messages = (l: RecordedLine) => l.request.body.messages as Msg[];
    expect(messages(lines.keep[0])[1]).toEqual({ role: 'user', content: PROMPT });
    const hashed = messages(lines.hash[0])[1];
    expect(hashed.content).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(hashed.contentChars).toBe(PROMPT.length);
    expect(messages(lines.hash[1])[1].content).toBe(hashed.content); // stable
    expect(messages(lines.drop[0])).toEqual([{ role: 'system' }, { role: 'user' }]);
    for (const l of [...lines.hash, ...lines.drop]) {
      expect(l.request.body.model).toBe('smart');
      expect(l.request.body.temperature).toBe(0);
    }
  });

  it('close() flushes everything queued', async () => {
    const path = join(dir, 'many.jsonl');
    const recorder = createRecorder({ path, content: 'hash' });
    for (let i = 0; i < 5_000; i++) recorder.record(input({ requestId: `req-${i}` }));
    expect(recorder.stats().queued).toBe(5_000);
    await recorder.close();
    expect(recorder.stats()).toEqual({ written: 5_000, dropped: 0, queued: 0 });
    const lines = fileLines(path);
    expect(lines).toHaveLength(5_000);
    // In order, none torn.
    expect((JSON.parse(lines[4_999]) as RecordedLine).requestId).toBe('req-4999');
  });

  it('loses no line recorded while a write is in flight', async () => {
    const path = join(dir, 'interleaved.jsonl');
    const recorder = createRecorder({ path, content: 'drop' });
    for (let i = 0; i < 600; i++) {
      recorder.record(input({ requestId: `req-${i}` }));
      if (i % 7 === 0) await Promise.resolve();
      if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
      if (i % 200 === 0) await recorder.flush();
    }
    await recorder.close();
    const ids = fileLines(path).map((l) => (JSON.parse(l) as RecordedLine).requestId);
    expect(ids).toEqual(Array.from({ length: 600 }, (_, i) => `req-${i}`));
  });

  it('drops and counts when the writer cannot keep up (bounded queue)', async () => {
    const path = join(dir, 'bounded.jsonl');
    let reported = 0;
    const recorder = createRecorder({
      path,
      content: 'drop',
      maxQueue: 10,
      onDrop: (n) => {
        reported += n;
      },
    });
    // Synchronously: the writer gets no turn, so the queue fills.
    for (let i = 0; i < 100; i++) recorder.record(input({ requestId: `req-${i}` }));
    expect(recorder.stats()).toEqual({ written: 0, dropped: 90, queued: 10 });
    expect(reported).toBe(90);
    await recorder.close();
    expect(recorder.stats()).toEqual({ written: 10, dropped: 90, queued: 0 });
    expect(fileLines(path)).toHaveLength(10);
  });

  it('bounds the queue in characters too', async () => {
    const recorder = createRecorder({
      path: join(dir, 'chars.jsonl'),
      content: 'keep',
      maxQueueChars: 5_000,
    });
    for (let i = 0; i < 20; i++) recorder.record(input());
    const { queued, dropped } = recorder.stats();
    expect(queued).toBeGreaterThan(0);
    expect(queued).toBeLessThan(20);
    expect(queued + dropped).toBe(20);
    await recorder.close();
  });

  it('record() after close() drops and counts, never throws', async () => {
    const recorder = createRecorder({ path: join(dir, 'closed.jsonl'), content: 'keep' });
    await recorder.close();
    expect(() => recorder.record(input())).not.toThrow();
    expect(recorder.stats().dropped).toBe(1);
    await recorder.close(); // idempotent
  });

  it('reports a write error (missing directory) without throwing', async () => {
    const errors: unknown[] = [];
    const path = join(dir, 'missing', 'traffic.jsonl');
    const recorder = createRecorder({ path, content: 'keep', onError: (e) => errors.push(e) });
    expect(() => recorder.record(input())).not.toThrow();
    await recorder.flush();
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect((errors[0] as NodeJS.ErrnoException).code).toBe('ENOENT');
    expect(() => recorder.record(input())).not.toThrow();
    await recorder.close();
    expect(recorder.stats()).toMatchObject({ written: 0, dropped: 2, queued: 0 });
  });

  it('reopens the file after retryAfterMs once it is writable again', async () => {
    const clock = new VirtualClock({ start: STARTED });
    const errors: unknown[] = [];
    const sub = join(dir, 'later');
    const path = join(sub, 'traffic.jsonl');
    const recorder = createRecorder({
      path,
      content: 'keep',
      clock,
      retryAfterMs: 1_000,
      onError: (e) => errors.push(e),
    });
    recorder.record(input());
    await recorder.flush();
    expect(errors).toHaveLength(1);
    mkdirSync(sub);
    recorder.record(input()); // still cooling down: dropped
    await clock.advance(1_000);
    recorder.record(input({ requestId: 'req-after' }));
    await recorder.close();
    expect(recorder.stats()).toEqual({ written: 1, dropped: 2, queued: 0 });
    expect((JSON.parse(fileLines(path)[0]) as RecordedLine).requestId).toBe('req-after');
  });

  it('never throws on an unserialisable entry or a throwing callback', async () => {
    const recorder = createRecorder({
      path: join(dir, 'bad.jsonl'),
      content: 'keep',
      onError: () => {
        throw new Error('callback failed');
      },
      onDrop: () => {
        throw new Error('callback failed');
      },
    });
    const bad = input({ context: context({ body: { model: 'x', n: 10n } }) });
    expect(() => recorder.record(bad)).not.toThrow();
    expect(recorder.stats().dropped).toBe(1);
    recorder.record(input());
    await recorder.close();
    expect(recorder.stats()).toMatchObject({ written: 1, dropped: 1 });
  });

  it('starts a new line when appending to a file whose last line was torn', async () => {
    const path = join(dir, 'resumed.jsonl');
    const good = JSON.stringify(toRecordedLine(input({ requestId: 'before' }), { content: 'keep' }));
    writeFileSync(path, `${good}\n${good.slice(0, 40)}`);
    const recorder = createRecorder({ path, content: 'keep' });
    recorder.record(input({ requestId: 'after' }));
    await recorder.close();
    const reader = readRecording(path);
    const ids: string[] = [];
    for await (const line of reader) ids.push(line.requestId);
    expect(ids).toEqual(['before', 'after']);
    expect(reader.warnings).toHaveLength(1);
    expect(reader.warnings[0]).toMatchObject({ code: 'torn_line', line: 2 });
  });
});

describe('readRecording', () => {
  it('round-trips what the recorder wrote, skipping a torn last line with a warning', async () => {
    const path = join(dir, 'rt.jsonl');
    const recorder = createRecorder({ path, content: 'hash' });
    const entries = variants();
    for (const entry of entries) recorder.record(entry);
    await recorder.close();
    const torn = JSON.stringify(toRecordedLine(input(), { content: 'hash' })).slice(0, -10);
    writeFileSync(path, readFileSync(path, 'utf8') + torn);

    const seen: number[] = [];
    const reader = readRecording(path, { onWarning: (w) => seen.push(w.line) });
    const lines: RecordedLine[] = [];
    for await (const line of reader) lines.push(line);
    const expected = entries.map((e) => JSON.parse(JSON.stringify(toRecordedLine(e, { content: 'hash' }))));
    expect(lines).toEqual(expected);
    expect(reader.warnings).toHaveLength(1);
    expect(seen).toEqual([entries.length + 1]);
  });

  it('accepts a complete last line without its newline', async () => {
    const path = join(dir, 'nonl.jsonl');
    writeFileSync(path, JSON.stringify(toRecordedLine(input(), { content: 'keep' })));
    const reader = readRecording(path);
    const lines: RecordedLine[] = [];
    for await (const line of reader) lines.push(line);
    expect(lines).toHaveLength(1);
    expect(reader.warnings).toEqual([]);
  });

  it('refuses a JSON line that is not a recording line, naming file and line', async () => {
    const path = join(dir, 'bad.jsonl');
    const good = JSON.stringify(toRecordedLine(input(), { content: 'keep' }));
    writeFileSync(path, `${good}\n${JSON.stringify({ v: 2 })}\n`);
    const read = async () => {
      for await (const _ of readRecording(path)) {
        // consume
      }
    };
    await expect(read()).rejects.toBeInstanceOf(RecordingError);
    await expect(read()).rejects.toThrow(`${path}:2:`);
  });
});
