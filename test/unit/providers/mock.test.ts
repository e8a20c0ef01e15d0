import { describe, expect, it } from 'vitest';
import { createProvider } from '../../../engine/providers/index.js';
import { splitReply } from '../../../engine/providers/mock.js';
import type { Transport } from '../../../engine/providers/transport.js';
import type {
  MockSpec,
  ProviderCallRequest,
  ProviderFailure,
  StreamItem,
} from '../../../engine/providers/types.js';
import type { Clock } from '../../../engine/shared/clock.js';
import { callRequest, drain, providerSpec, streamedText } from '../../support/providers.js';

/** Virtual time: every sleep completes at once and advances `now`; the sleeps are recorded. */
function fakeClock(): Clock & { sleeps: number[] } {
  let now = 1_700_000_000_000;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    async sleep(ms, signal) {
      if (signal?.aborted) throw signal.reason;
      sleeps.push(ms);
      now += Math.max(0, ms);
    },
  };
}

const noNetwork: Transport = {
  request: () => Promise.reject(new Error('the mock provider must not touch the network')),
  close: async () => {},
};

function mockProvider(mock: Partial<MockSpec>, clock = fakeClock()) {
  const provider = createProvider(
    providerSpec({
      name: 'demo',
      kind: 'mock',
      mock: { reply: null, latencyMs: 0, chunkDelayMs: 0, sequence: [], ...mock },
    }),
    { transport: noNetwork, clock },
  );
  return { provider, clock };
}

function request(overrides: Partial<ProviderCallRequest> = {}): ProviderCallRequest {
  return callRequest({
    upstreamModel: 'mock-small',
    body: {
      model: 'x',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'ping pong' },
      ],
    },
    ...overrides,
  });
}

const content = streamedText;

describe('mock provider', () => {
  it('echoes the last user message with deterministic usage and the upstream model', async () => {
    const { provider, clock } = mockProvider({ latencyMs: 120 });
    const result = await provider.call(request());
    if (!result.ok || result.kind !== 'json' || result.body.object !== 'chat.completion')
      throw new Error('expected json');
    expect(result.body.choices[0].message.content).toBe('Echo: ping pong');
    expect(result.body.model).toBe('mock-small');
    // prompt: 'Be brief.' + 'ping pong' = 18 chars → 5 tokens; reply 15 chars → 4 tokens
    expect(result.usage).toEqual({ promptTokens: 5, completionTokens: 4, totalTokens: 9 });
    expect(clock.sleeps).toEqual([120]);
  });

  it('streams the reply in several chunks, chunkDelayMs apart, with usage and done', async () => {
    const { provider, clock } = mockProvider({
      reply: 'The quick brown fox jumps over the lazy dog.',
      latencyMs: 50,
      chunkDelayMs: 10,
    });
    const { items, error } = await drain(await provider.call(request({ stream: true })));
    expect(error).toBeNull();
    expect(content(items)).toBe('The quick brown fox jumps over the lazy dog.');
    const chunks = items.flatMap((i) => (i.type === 'chunk' ? [i.chunk] : []));
    const contentChunks = chunks.filter((c) => c.choices[0]?.delta.content);
    expect(contentChunks.length).toBe(9);
    expect(chunks.find((c) => c.choices[0]?.finish_reason === 'stop')).toBeDefined();
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: 11 } });
    expect(items.at(-1)).toEqual({ type: 'done' });
    // latency once, then a delay between consecutive content chunks and before the finish chunk
    expect(clock.sleeps).toEqual([50, ...Array(9).fill(10)]);
  });

  it('cycles the sequence per upstream model', async () => {
    const { provider } = mockProvider({ sequence: ['rate_limited', 'ok', 'server_error'] });
    const classes = async (model: string, n: number) => {
      const out: string[] = [];
      for (let i = 0; i < n; i++) {
        const r = await provider.call(request({ upstreamModel: model }));
        out.push(r.ok ? 'ok' : r.error.class);
      }
      return out;
    };
    expect(await classes('a', 4)).toEqual(['rate_limited', 'ok', 'server_error', 'rate_limited']);
    expect(await classes('b', 2)).toEqual(['rate_limited', 'ok']);
    expect(await classes('a', 1)).toEqual(['ok']);
  });

  it.each([
    ['rate_limited', 429, 'rate_limited'],
    ['overloaded', 503, 'overloaded'],
    ['server_error', 500, 'server_error'],
    ['bad_request', 400, 'bad_request'],
    ['context_length', 400, 'context_length'],
    ['content_policy', 400, 'content_policy'],
    ['auth', 401, 'auth'],
    ['connect', null, 'connect'],
  ] as const)('%s → HTTP %s, class %s', async (outcome, status, cls) => {
    const { provider } = mockProvider({ sequence: [outcome] });
    const result = await provider.call(request());
    if (result.ok) throw new Error('expected a failure');
    expect(result.error).toMatchObject({ class: cls, status });
    expect(result.error.retryAfterMs).toBe(outcome === 'rate_limited' ? 1000 : null);
    expect(result.error.body.error.message).toBe(result.error.message);
  });

  it('stays silent until the signal aborts', async () => {
    const { provider } = mockProvider({ sequence: ['silent'] });
    const controller = new AbortController();
    const reason = new Error('total deadline');
    const pending = provider.call(request({ signal: controller.signal }));
    let settled = false;
    void pending.then(
      () => (settled = true),
      () => (settled = true),
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(settled).toBe(false);
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
  });

  for (const { what, mock, streamed, cls } of [
    {
      what: 'cuts a stream after some content and fails a JSON answer with stream_cut',
      mock: { reply: 'one two three four', sequence: ['stream_cut'] },
      streamed: 'one two ',
      cls: 'stream_cut',
    },
    {
      what: 'sends a malformed stream before any content, and a malformed JSON answer',
      mock: { sequence: ['malformed'] },
      streamed: '',
      cls: 'malformed',
    },
  ] satisfies { what: string; mock: Partial<MockSpec>; streamed: string; cls: string }[]) {
    it(what, async () => {
      const { provider } = mockProvider(mock);
      const { items, error } = await drain(await provider.call(request({ stream: true })));
      expect(content(items)).toBe(streamed);
      expect((error as ProviderFailure).failure.class).toBe(cls);
      const json = await provider.call(request());
      expect(json.ok ? null : json.error.class).toBe(cls);
    });
  }

  it('aborts a stream between chunks with the signal reason', async () => {
    const { provider } = mockProvider({ chunkDelayMs: 5 });
    const controller = new AbortController();
    const result = await provider.call(request({ stream: true, signal: controller.signal }));
    if (!result.ok || result.kind !== 'stream') throw new Error('expected a stream');
    const reason = new Error('client went away');
    const seen: StreamItem[] = [];
    await expect(
      (async () => {
        for await (const item of result.items) {
          seen.push(item);
          if (seen.length === 2) controller.abort(reason);
        }
      })(),
    ).rejects.toBe(reason);
    expect(seen).toHaveLength(2);
  });

  it('answers embeddings deterministically', async () => {
    const { provider } = mockProvider({});
    const call = () => provider.call(request({ endpoint: 'embeddings', body: { input: ['a', 'b'] } }));
    const [first, second] = [await call(), await call()];
    if (!first.ok || first.kind !== 'json' || first.body.object !== 'list')
      throw new Error('expected a list');
    expect(first.body.data).toHaveLength(2);
    expect(first.body.data[0].embedding).toHaveLength(8);
    expect(second.ok && second.kind === 'json' ? second.body : null).toEqual(first.body);
  });

  it('splits replies on word boundaries into at most 16 pieces', () => {
    expect(splitReply('a b c')).toEqual(['a ', 'b ', 'c']);
    const long = Array.from({ length: 50 }, (_, i) => `w${i}`).join(' ');
    const pieces = splitReply(long);
    expect(pieces.length).toBeLessThanOrEqual(16);
    expect(pieces.join('')).toBe(long);
    expect(splitReply('')).toEqual([]);
  });
});
