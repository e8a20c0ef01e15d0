/**
 * The semantic cache through `engine.handle()`: a near-duplicate prompt is served the stored
 * answer with its similarity (header, metadata), within the tenant and the other key fields only;
 * exact-then-semantic layers; streams replayed as streams; `no-cache` / `no-store`; TTL on virtual
 * time; an embedding failure is a miss, never an error; the embedding's cost is the request's.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../engine/shared/virtual-clock.js';
import {
  asJson,
  closeEngines,
  compileYaml,
  harness,
  PRICES,
  readStream,
  request,
  T0,
  type TrafficPolicy,
  text,
  trafficYaml,
} from './helpers.js';

afterEach(closeEngines);

const MODELS = `
  primary: { provider: demo, model: m-primary, price: { input: ${PRICES.primary.input}, output: ${PRICES.primary.output} } }
  embed: { provider: demo, model: m-embed, price: { input: 1000, output: 0 } }`;

const QUESTION = 'What is the capital of France?';
/** A near-duplicate: similarity 0.905 with QUESTION under the mock's 256-dimension embedding. */
const NEAR = 'What is the capital of France, please?';
const OTHER = 'How do I bake sourdough bread at home?';

function policy(options: { semantic?: string; cache?: string; exact?: boolean } = {}): TrafficPolicy {
  return {
    models: MODELS,
    sections: `caches:
  faq: { mode: exact, ttl: 1h, key: [model, messages] }
  similar: { mode: semantic, ttl: 1h, embedding: embed, dimensions: 256, threshold: 0.85${options.semantic ?? ''} }
`,
    routes: `
  - name: main
    targets: [primary]
    cache: ${options.cache ?? (options.exact === false ? 'similar' : '[faq, similar]')}`,
  };
}

describe('semantic cache', () => {
  it('serves a near-duplicate question from the cache, with the similarity, until the TTL passes', async () => {
    const clock = new VirtualClock({ start: T0 });
    const h = harness(policy({ exact: false }), { clock });
    const miss = asJson(await h.engine.handle(request({ content: QUESTION })));
    expect(miss.headers['x-switchyard-cache']).toBe('miss');
    expect(miss.headers['x-switchyard-cache-similarity']).toBeUndefined();
    const hit = asJson(await h.engine.handle(request({ content: NEAR })));
    expect(hit.headers['x-switchyard-cache']).toBe('hit');
    const similarity = Number(hit.headers['x-switchyard-cache-similarity']);
    expect(similarity).toBeGreaterThanOrEqual(0.85);
    expect(similarity).toBeLessThan(1);
    expect(hit.meta.cacheSimilarity).toBeCloseTo(similarity, 4);
    // The stored answer, not an answer to the new wording.
    expect(hit.body).toEqual(miss.body);
    expect(await text(hit)).toContain(QUESTION);
    expect(h.calls).toEqual(['primary']);
    // An unrelated question is a miss.
    expect(asJson(await h.engine.handle(request({ content: OTHER }))).headers['x-switchyard-cache']).toBe(
      'miss',
    );
    expect(h.calls).toHaveLength(2);
    // Past the TTL the entry is never served.
    await clock.advance(3_600_000);
    expect(asJson(await h.engine.handle(request({ content: NEAR }))).headers['x-switchyard-cache']).toBe(
      'miss',
    );
    expect(h.calls).toHaveLength(3);
  });

  it('never serves another tenant, nor a request whose other key fields differ', async () => {
    const h = harness(policy({ exact: false }));
    await h.engine.handle(request({ content: QUESTION }));
    const globex = asJson(await h.engine.handle(request({ content: QUESTION, tenant: 'globex' })));
    expect(globex.headers['x-switchyard-cache']).toBe('miss');
    // The default key is the whole body but `messages`: another max_tokens is another partition.
    const other = asJson(await h.engine.handle(request({ content: QUESTION, maxTokens: 5 })));
    expect(other.headers['x-switchyard-cache']).toBe('miss');
    expect(h.calls).toHaveLength(3);
    expect(asJson(await h.engine.handle(request({ content: NEAR }))).headers['x-switchyard-cache']).toBe(
      'hit',
    );
  });

  it('never serves below the threshold', async () => {
    const strict = policy({ exact: false });
    const h = harness({
      ...strict,
      sections: strict.sections?.replace('threshold: 0.85', 'threshold: 0.999'),
    });
    await h.engine.handle(request({ content: QUESTION }));
    expect(asJson(await h.engine.handle(request({ content: NEAR }))).headers['x-switchyard-cache']).toBe(
      'miss',
    );
    // Case and punctuation do not change the mock's features: similarity 1.
    expect(asJson(await h.engine.handle(request({ content: QUESTION.toLowerCase() }))).headers).toMatchObject(
      {
        'x-switchyard-cache': 'hit',
        'x-switchyard-cache-similarity': '1.0000',
      },
    );
  });

  it('layers: an exact hit first (no similarity), a semantic hit on an exact miss, stored in both on a miss', async () => {
    const h = harness(policy());
    await h.engine.handle(request({ content: QUESTION }));
    expect(h.caches.map((e) => `${e.cache}:${e.outcome}`).sort()).toEqual([
      'faq:miss',
      'faq:stored',
      'similar:miss',
      'similar:stored',
    ]);
    const exact = asJson(await h.engine.handle(request({ content: QUESTION })));
    expect(exact.headers['x-switchyard-cache']).toBe('hit');
    expect(exact.headers['x-switchyard-cache-similarity']).toBeUndefined();
    const near = asJson(await h.engine.handle(request({ content: NEAR })));
    expect(near.headers['x-switchyard-cache']).toBe('hit');
    expect(near.headers['x-switchyard-cache-similarity']).toBeDefined();
    // A semantic hit is not stored in the exact layer: the near question asked again is still semantic.
    const again = asJson(await h.engine.handle(request({ content: NEAR })));
    expect(again.headers['x-switchyard-cache-similarity']).toBeDefined();
    expect(h.calls).toEqual(['primary']);
  });

  it('replays a hit to a streamed request as a stream, and stores a streamed answer', async () => {
    const h = harness(policy({ exact: false }));
    const json = asJson(await h.engine.handle(request({ content: QUESTION })));
    const replay = await h.engine.handle(request({ content: NEAR, stream: true }));
    expect(replay.kind).toBe('stream');
    expect(replay.headers['x-switchyard-cache']).toBe('hit');
    const read = await readStream(replay);
    expect(read.done).toBe(true);
    expect(read.text).toBe(await text(json));
    const streamed = await h.engine.handle(request({ content: OTHER, stream: true }));
    expect(streamed.headers['x-switchyard-cache']).toBe('miss');
    const live = await readStream(streamed);
    const hit = asJson(await h.engine.handle(request({ content: `${OTHER} ` })));
    expect(hit.headers['x-switchyard-cache']).toBe('hit');
    expect(await text(hit)).toBe(live.text);
    expect(h.calls).toHaveLength(2);
  });

  it('honours no-cache (no read) and no-store (no write)', async () => {
    const h = harness(policy({ exact: false }));
    const noStore = asJson(
      await h.engine.handle(request({ content: QUESTION, headers: { 'cache-control': 'no-store' } })),
    );
    expect(noStore.headers['x-switchyard-cache']).toBe('miss');
    expect(asJson(await h.engine.handle(request({ content: NEAR }))).headers['x-switchyard-cache']).toBe(
      'miss',
    );
    const noCache = asJson(
      await h.engine.handle(request({ content: NEAR, headers: { 'cache-control': 'no-cache' } })),
    );
    expect(noCache.headers['x-switchyard-cache']).toBe('bypass');
    expect(h.calls).toHaveLength(3);
  });

  it('bypasses the semantic layer (no embedding call) for an Idempotency-Key, an image, or a tool call', async () => {
    const h = harness(policy({ exact: false }));
    await h.engine.handle(request({ content: QUESTION }));
    const idempotent = asJson(
      await h.engine.handle(request({ content: NEAR, headers: { 'idempotency-key': 'op-1' } })),
    );
    expect(idempotent.headers['x-switchyard-cache']).toBe('bypass');
    const image = request({ content: NEAR });
    image.body.messages = [
      {
        role: 'user',
        content: [
          { type: 'text', text: NEAR },
          { type: 'image_url', image_url: { url: 'https://example.com/a.png' } },
        ],
      },
    ];
    expect(asJson(await h.engine.handle(image)).headers['x-switchyard-cache']).toBe('bypass');
    const tool = request({ content: NEAR });
    tool.body.messages = [
      { role: 'user', content: NEAR },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }],
      },
      { role: 'tool', tool_call_id: 'c1', content: '42' },
    ];
    expect(asJson(await h.engine.handle(tool)).headers['x-switchyard-cache']).toBe('bypass');
    expect(h.calls).toHaveLength(4);
    // Each is one bypass event, and none of them tried to embed.
    expect(h.caches.map((e) => e.outcome)).toEqual(['miss', 'stored', 'bypass', 'bypass', 'bypass']);
  });

  it('prices the embedding into the request cost, on a miss and on a hit', async () => {
    const h = harness(policy({ exact: false }));
    const miss = asJson(await h.engine.handle(request({ content: QUESTION })));
    const hit = asJson(await h.engine.handle(request({ content: NEAR })));
    // The mock counts prompt tokens; the embed model costs $1000 per million input tokens.
    expect(hit.meta.costUsd).toBeGreaterThan(0);
    expect(hit.meta.costUsd).toBeLessThan(0.1);
    expect(miss.meta.costUsd).toBeGreaterThan(hit.meta.costUsd ?? 0);
  });

  it('keeps the index across a reload that leaves the cache alone, and never compares two embedding models', async () => {
    const h = harness(policy({ exact: false }));
    await h.engine.handle(request({ content: QUESTION }));
    const yaml = (version: string, upstream = 'm-embed') =>
      compileYaml(
        trafficYaml({ ...policy({ exact: false }), version }).replace('model: m-embed', `model: ${upstream}`),
      );
    expect(h.engine.swap(yaml('2')).changed).toBe(true);
    expect(asJson(await h.engine.handle(request({ content: NEAR }))).headers['x-switchyard-cache']).toBe(
      'hit',
    );
    // The same model name pointed at another upstream model: its vectors start a new partition.
    expect(h.engine.swap(yaml('3', 'm-embed-2')).changed).toBe(true);
    expect(asJson(await h.engine.handle(request({ content: NEAR }))).headers['x-switchyard-cache']).toBe(
      'miss',
    );
  });

  it('goes on as a miss when the embedding fails or times out, and stores nothing', async () => {
    for (const mock of ['sequence: [server_error]', 'latency: 5s']) {
      const clock = new VirtualClock({ start: T0 });
      const yaml = trafficYaml(policy({ exact: false, semantic: ', embeddingTimeout: 100ms' }))
        .replace('  demo: { kind: mock }', `  demo: { kind: mock }\n  slow: { kind: mock, ${mock} }`)
        .replace('  embed: { provider: demo,', '  embed: { provider: slow,');
      const h = harness(yaml, { clock });
      const ask = async () => {
        const pending = h.engine.handle(request({ content: QUESTION }));
        await clock.advance(200);
        return asJson(await pending);
      };
      const first = await ask();
      expect(first.status).toBe(200);
      expect(first.headers['x-switchyard-cache']).toBe('miss');
      expect((await ask()).headers['x-switchyard-cache']).toBe('miss');
      expect(h.calls).toHaveLength(2);
      expect(h.caches.filter((e) => e.outcome === 'embedding_failed')).toHaveLength(2);
    }
  });
});
