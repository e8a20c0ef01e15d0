/**
 * Streaming end to end: `createEngine(...).handle()` with the real undici transport against a
 * misbehaving upstream on loopback. Before the first content chunk reaches the caller a failure
 * falls back invisibly; after it, the failure is never presented as success (docs/design.md §2).
 */
import { describe, expect, it } from 'vitest';
import { chunkPayload, DEFAULT_REPLY as REPLY, sse, type UpstreamHandler } from '../../support/upstream.js';
import {
  chatBody,
  engineFor,
  lastMessage,
  modelOf,
  outcomes,
  type ReadStream,
  readStream,
  requestsFor,
  TIMEOUTS,
  until,
  useExecutionUpstream,
} from './helpers.js';

const upstream = useExecutionUpstream();

/** The first three frames of the upstream's stream: the role chunk, "Hello ", "from ". */
const PARTIAL = 'Hello from ';

/** The primary misbehaves as told; every other model answers `ok` (with `reply` when given). */
function primaryDoes(behaviour: ReturnType<UpstreamHandler>, reply?: string): UpstreamHandler {
  return (req) => (modelOf(req) === 'm-primary' ? behaviour : { kind: 'ok', ...(reply ? { reply } : {}) });
}

/** A streamed chat request through a fresh engine on the default policy, read to its end. */
async function streamChat(): Promise<ReadStream> {
  return readStream(await engineFor({ url: upstream.url }).handle({ body: chatBody({ stream: true }) }));
}

/** The caller got the first part of the answer, then one in-band error of `errorClass` and no [DONE]. */
function expectCutShort(read: ReadStream, errorClass: string): ReadStream['errors'][number] {
  expect(read.text).toBe(PARTIAL);
  expect(read.done).toBe(false);
  expect(read.errors).toHaveLength(1);
  expect(errorClassIn(read.errors[0].message)).toBe(errorClass);
  return read.errors[0];
}

function errorClassIn(message: string): string | undefined {
  return /\((\w+)\)/.exec(message)?.[1];
}

it('a first token later than firstToken falls back invisibly: the caller sees only the fallback', async () => {
  upstream.setHandler(
    primaryDoes({ kind: 'slow_first_token', delayMs: 4000, reply: 'TOO LATE' }, 'From the backup.'),
  );

  const started = Date.now();
  const read = await streamChat();

  // Well before the primary's late first token (4 s): the fallback did not wait for it. The
  // margin is wide so a loaded machine does not fail it; the order of events is checked below.
  expect(Date.now() - started).toBeLessThan(3000);
  expect(read.text).toBe('From the backup.');
  expect(read.done).toBe(true);
  expect(read.errors).toEqual([]);
  expect(read.frames.join('')).not.toContain('TOO LATE');
  expect(read.payloads.every((p) => p.model === 'm-backup')).toBe(true);
  const primary = requestsFor(upstream.requests, 'm-primary');
  expect(primary).toHaveLength(1); // not re-sent after going silent
  expect(requestsFor(upstream.requests, 'm-backup')).toHaveLength(1);
  expect(read.meta.route).toBe('main');
  expect(read.meta.target).toBe('backup');
  expect(outcomes(read.meta)).toEqual(['primary:first_token', 'backup:ok']);
  expect(read.meta.attempts[0].firstByteMs).not.toBeNull(); // the headers did arrive at once
  expect(read.meta.attempts[0].durationMs).toBeGreaterThanOrEqual(TIMEOUTS.firstTokenMs - 3);
  await until(() => primary[0].closedEarlyAt !== undefined);
});

// Reasoning models send the role chunk at once and the first content much later: that wait is
// bounded by `firstToken` ("time to first content", docs/design.md §2), not by `idle`. Regression:
// the idle timer (200 ms) ran from the role chunk and cut this answer short of firstToken (300 ms).
it('a role chunk at once and the first content within firstToken but after idle is a success', async () => {
  const frame = (delta: Record<string, unknown>, finishReason?: string) =>
    sse(chunkPayload({ model: 'm-primary', delta, ...(finishReason ? { finishReason } : {}) }));
  upstream.enqueue({
    kind: 'raw',
    chunks: [
      frame({ role: 'assistant', content: '' }),
      frame({ content: 'Thought it over.' }, 'stop') + sse('[DONE]'),
    ],
    delayMs: Math.round((TIMEOUTS.idleMs + TIMEOUTS.firstTokenMs) / 2),
  });

  const read = await streamChat();

  expect(read.text).toBe('Thought it over.');
  expect(read.done).toBe(true);
  expect(upstream.requests).toHaveLength(1);
  expect(outcomes(read.meta)).toEqual(['primary:ok']);
});

describe('a stream cut after part of the answer', () => {
  it('midStream error: an in-band error event ends the stream, no [DONE], no fallback', async () => {
    upstream.setHandler(primaryDoes({ kind: 'cut', afterChunks: 3 }));

    const read = await streamChat();

    const error = expectCutShort(read, 'stream_cut');
    expect(read.payloads.at(-1)?.error).toBeDefined(); // the error is the last event
    expect(error).toMatchObject({ type: 'api_error', code: 'stream_interrupted' });
    expect(read.finishReasons).toEqual([]);
    expect(requestsFor(upstream.requests, 'm-primary')).toHaveLength(1);
    expect(requestsFor(upstream.requests, 'm-backup')).toHaveLength(0);
    expect(outcomes(read.meta)).toEqual(['primary:stream_cut']);
  });

  const CONTINUE_MODELS = `
  primary: { provider: up, model: m-primary }
  plain: { provider: up, model: m-plain }
  backup: { provider: up, model: m-backup, capabilities: { prefill: true } }`;
  const CONTINUE_ROUTES = `
  - name: main
    targets: [primary, plain, backup]`;
  /** midStream: continue, over a primary, a model without prefill and a prefill-capable backup. */
  const continueEngine = () =>
    engineFor({ url: upstream.url, midStream: 'continue', models: CONTINUE_MODELS, routes: CONTINUE_ROUTES });

  it('midStream continue: resumes on the prefill-capable model with the partial answer, one coherent stream', async () => {
    const engine = continueEngine();
    upstream.setHandler(primaryDoes({ kind: 'cut', afterChunks: 3 }, 'the rest of the answer.'));

    const read = await readStream(await engine.handle({ body: chatBody({ stream: true }) }));

    // What the continuation request carried: the caller's messages, then the partial answer.
    expect(requestsFor(upstream.requests, 'm-plain')).toHaveLength(0); // no prefill capability
    const backup = requestsFor(upstream.requests, 'm-backup');
    expect(backup).toHaveLength(1);
    const messages = (backup[0].body as { messages: unknown[] }).messages;
    expect(messages).toEqual([
      { role: 'user', content: 'Say hello.' },
      { role: 'assistant', content: PARTIAL },
    ]);
    expect(lastMessage(backup[0])).toEqual({ role: 'assistant', content: PARTIAL });
    // What the caller got: one answer, one role chunk, one finish, one id, then [DONE].
    expect(read.text).toBe(`${PARTIAL}the rest of the answer.`);
    expect(read.errors).toEqual([]);
    expect(read.done).toBe(true);
    expect(read.finishReasons).toEqual(['stop']);
    const roles = read.payloads.filter(
      (p) => (p.choices as { delta?: { role?: string } }[] | undefined)?.[0]?.delta?.role !== undefined,
    );
    expect(roles).toHaveLength(1);
    expect(new Set(read.payloads.map((p) => p.id)).size).toBe(1);
    expect(read.meta.target).toBe('backup');
    expect(outcomes(read.meta)).toEqual(['primary:stream_cut', 'backup:ok']);
  });

  it('midStream continue: a fallback that rejects the prefill leaves the ORIGINAL error in-band', async () => {
    const engine = continueEngine();
    upstream.setHandler(primaryDoes({ kind: 'cut', afterChunks: 3 }));
    upstream.setHandler((req) =>
      modelOf(req) === 'm-primary' ? { kind: 'cut', afterChunks: 3 } : { kind: 'reject_prefill' },
    );

    const read = await readStream(await engine.handle({ body: chatBody({ stream: true }) }));

    const backup = requestsFor(upstream.requests, 'm-backup');
    expect(backup).toHaveLength(1);
    expect(lastMessage(backup[0])).toEqual({ role: 'assistant', content: PARTIAL });
    const error = expectCutShort(read, 'stream_cut');
    expect(error.code).toBe('stream_interrupted');
    expect(error.message).not.toMatch(/prefill/i);
    expect(outcomes(read.meta)).toEqual(['primary:stream_cut', 'backup:bad_request']);
  });
});

it('a stream that stalls mid-answer hits the idle timeout: in-band error, no [DONE], upstream aborted', async () => {
  upstream.setHandler(primaryDoes({ kind: 'stall', afterChunks: 3 }));

  const started = Date.now();
  const read = await streamChat();
  const elapsed = Date.now() - started;

  expect(elapsed).toBeGreaterThanOrEqual(TIMEOUTS.idleMs - 3);
  expect(elapsed).toBeLessThan(1000);
  expect(expectCutShort(read, 'idle').code).toBe('stream_interrupted');
  expect(requestsFor(upstream.requests, 'm-backup')).toHaveLength(0);
  expect(outcomes(read.meta)).toEqual(['primary:idle']);
  const [primary] = requestsFor(upstream.requests, 'm-primary');
  await until(() => primary.closedEarlyAt !== undefined);
});

describe('a malformed chunk is an error of class `malformed`, never passed through', () => {
  // The rule (docs/policy-reference.md, "Error class"): `malformed` is an unparseable body or
  // chunk. Before the first content reached the caller it falls over like any failure; after it,
  // the stream ends with the in-band error. The garbage itself never reaches the caller.
  it('before the first content: invisible fallback', async () => {
    upstream.setHandler(primaryDoes({ kind: 'malformed', atChunk: 1 }, 'From the backup.'));

    const read = await streamChat();

    expect(read.text).toBe('From the backup.');
    expect(read.done).toBe(true);
    expect(read.errors).toEqual([]);
    expect(requestsFor(upstream.requests, 'm-primary')).toHaveLength(1); // malformed is not retried
    expect(outcomes(read.meta)).toEqual(['primary:malformed', 'backup:ok']);
  });

  it('after content: the stream ends with an in-band malformed error and no [DONE]', async () => {
    upstream.setHandler(primaryDoes({ kind: 'malformed', atChunk: 3 }));

    const read = await streamChat();

    // readStream parsed every frame as JSON: nothing unparseable was forwarded.
    expectCutShort(read, 'malformed');
    expect(read.text).not.toContain('upstream.'); // what followed the bad chunk is not spliced in
    expect(requestsFor(upstream.requests, 'm-backup')).toHaveLength(0);
    expect(outcomes(read.meta)).toEqual(['primary:malformed']);
  });
});

describe('stream endings', () => {
  it('a finish_reason without [DONE] is a complete answer: the caller gets [DONE]', async () => {
    upstream.enqueue({ kind: 'no_done' });

    const read = await streamChat();

    expect(read.text).toBe(REPLY);
    expect(read.finishReasons).toEqual(['stop']);
    expect(read.done).toBe(true);
    expect(read.errors).toEqual([]);
    expect(upstream.requests).toHaveLength(1);
    expect(outcomes(read.meta)).toEqual(['primary:ok']);
  });

  it('content that just stops (no finish_reason, no [DONE]) is a cut, never a success', async () => {
    upstream.enqueue({ kind: 'no_finish' });

    const read = await streamChat();

    expect(read.text).toBe(REPLY);
    expect(read.done).toBe(false);
    expect(read.errors).toHaveLength(1);
    expect(errorClassIn(read.errors[0].message)).toBe('stream_cut');
    expect(outcomes(read.meta)).toEqual(['primary:stream_cut']);
  });

  it('a healthy stream: every frame, the finish, [DONE] last', async () => {
    const engine = engineFor({ url: upstream.url });

    const res = await engine.handle({ body: chatBody({ stream: true }) });
    expect(res.status).toBe(200);
    expect(res.headers['x-switchyard-target']).toBe('primary');
    const read = await readStream(res);

    expect(read.text).toBe(REPLY);
    expect(read.frames.at(-1)).toBe('data: [DONE]\n\n');
    expect(read.payloads.every((p) => p.object === 'chat.completion.chunk' && p.model === 'm-primary')).toBe(
      true,
    );
    expect(outcomes(read.meta)).toEqual(['primary:ok']);
    expect((upstream.requests[0].body as { stream_options: unknown }).stream_options).toEqual({
      include_usage: true,
    });
  });
});
