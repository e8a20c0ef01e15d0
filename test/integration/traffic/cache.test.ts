/**
 * The response cache through `engine.handle()`: miss then hit (JSON and streams, both ways), the
 * tenant in the key unless `shared: true`, `Cache-Control: no-cache` / `no-store`,
 * `Idempotency-Key`, single flight for concurrent identical misses, a cut stream never stored,
 * TTL on virtual time, and `x-switchyard-cache` only on routes that have a cache.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../engine/shared/virtual-clock.js';
import { asJson, asStream, closeEngines, harness, readStream, request, T0, text } from './helpers.js';

afterEach(closeEngines);

function cachePolicy(cache = '{ mode: exact, ttl: 1h, key: [model, messages] }', extra = '') {
  return {
    sections: `caches:\n  answers: ${cache}\n`,
    routes: `
  - name: nocache
    when: { header.x-route: plain }
    targets: [primary]
  - name: main
    targets: [primary, backup]
    cache: answers${extra}`,
  };
}

describe('cache', () => {
  it('misses, stores, then hits without calling upstream (JSON), until the TTL passes', async () => {
    const clock = new VirtualClock({ start: T0 });
    const h = harness(cachePolicy(), { clock });
    const miss = asJson(await h.engine.handle(request()));
    expect(miss.headers['x-switchyard-cache']).toBe('miss');
    expect(miss.meta.cache).toBe('miss');
    const hit = asJson(await h.engine.handle(request()));
    expect(hit.status).toBe(200);
    expect(hit.headers).toMatchObject({
      'x-switchyard-cache': 'hit',
      'x-switchyard-target': 'primary',
      'x-switchyard-route': 'main',
      'x-switchyard-attempts': '0',
    });
    expect(hit.body).toEqual(miss.body);
    expect(hit.meta).toMatchObject({ cache: 'hit', costUsd: 0, attempts: [] });
    expect(h.calls).toEqual(['primary']);
    expect(h.caches.map((e) => e.outcome)).toEqual(['miss', 'stored', 'hit']);
    // A different question is a different key.
    expect(asJson(await h.engine.handle(request({ content: 'Other' }))).headers['x-switchyard-cache']).toBe(
      'miss',
    );
    // Past the TTL the entry is never served.
    await clock.advance(3_600_000);
    expect(asJson(await h.engine.handle(request())).headers['x-switchyard-cache']).toBe('miss');
    expect(h.calls).toHaveLength(3);
  });

  it('serves a streamed request from the cache as a stream, and stores a streamed answer', async () => {
    const clock = new VirtualClock({ start: T0 });
    const h = harness(cachePolicy(), { clock });
    const json = asJson(await h.engine.handle(request()));
    const replay = await h.engine.handle(request({ stream: true, includeUsage: true }));
    expect(replay.headers['x-switchyard-cache']).toBe('hit');
    const read = await readStream(replay);
    expect(read.done).toBe(true);
    expect(read.text).toBe(await text(json));
    expect(read.usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 4 });
    expect(h.calls).toHaveLength(1);

    // The other way round: a stream is assembled and stored, a JSON request hits it.
    const streamed = await h.engine.handle(request({ stream: true, content: 'Streamed' }));
    expect(streamed.headers['x-switchyard-cache']).toBe('miss');
    const live = await readStream(streamed);
    expect(live.done).toBe(true);
    const hit = asJson(await h.engine.handle(request({ content: 'Streamed' })));
    expect(hit.headers['x-switchyard-cache']).toBe('hit');
    expect(await text(hit)).toBe(live.text);
    expect(hit.body).toMatchObject({
      object: 'chat.completion',
      usage: { prompt_tokens: 2, completion_tokens: 4 },
    });
    expect(h.calls).toHaveLength(2);
  });

  it('hands every hit an answer of its own: a caller changing one changes no other hit', async () => {
    const clock = new VirtualClock({ start: T0 });
    const h = harness(cachePolicy(), { clock });
    const miss = asJson(await h.engine.handle(request()));
    const first = asJson(await h.engine.handle(request()));
    expect(first.headers['x-switchyard-cache']).toBe('hit');
    const body = first.body as { id: string; choices: { message: { content: string } }[] };
    body.id = 'changed by a caller';
    body.choices[0].message.content = 'changed by a caller';
    const usage = first.meta.usage as { promptTokens: number };
    usage.promptTokens = -1;
    const second = asJson(await h.engine.handle(request()));
    expect(second.headers['x-switchyard-cache']).toBe('hit');
    expect(second.body).toEqual(miss.body);
    expect(second.meta.usage).toEqual(miss.meta.usage);
    // Streamed hits of one entry, with and without the usage chunk, each read to the end.
    const plain = await readStream(await h.engine.handle(request({ stream: true })));
    const withUsage = await readStream(await h.engine.handle(request({ stream: true, includeUsage: true })));
    const again = await readStream(await h.engine.handle(request({ stream: true })));
    expect(plain.text).toBe(await text(miss));
    expect(again).toEqual(plain);
    expect(plain.usage ?? null).toBeNull();
    expect(withUsage.usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 4 });
    expect(h.calls).toEqual(['primary']);
  });

  it('never serves one tenant the answer of another, unless the cache is shared', async () => {
    const clock = new VirtualClock({ start: T0 });
    const h = harness(cachePolicy(), { clock });
    await h.engine.handle(request({ tenant: 'acme' }));
    expect(asJson(await h.engine.handle(request({ tenant: 'globex' }))).headers['x-switchyard-cache']).toBe(
      'miss',
    );
    expect(h.calls).toHaveLength(2);

    const shared = harness(cachePolicy('{ mode: exact, ttl: 1h, key: [model, messages], shared: true }'), {
      clock,
    });
    await shared.engine.handle(request({ tenant: 'acme' }));
    expect(
      asJson(await shared.engine.handle(request({ tenant: 'globex' }))).headers['x-switchyard-cache'],
    ).toBe('hit');
    expect(shared.calls).toHaveLength(1);
  });

  it('honours Cache-Control: no-cache (skip the read) and no-store (skip the write)', async () => {
    const clock = new VirtualClock({ start: T0 });
    const h = harness(cachePolicy(), { clock });
    const noStore = asJson(await h.engine.handle(request({ headers: { 'cache-control': 'no-store' } })));
    expect(noStore.headers['x-switchyard-cache']).toBe('miss');
    expect(asJson(await h.engine.handle(request())).headers['x-switchyard-cache']).toBe('miss'); // nothing stored
    expect(asJson(await h.engine.handle(request())).headers['x-switchyard-cache']).toBe('hit');
    // no-store still reads.
    expect(
      asJson(await h.engine.handle(request({ headers: { 'cache-control': 'no-store' } }))).headers[
        'x-switchyard-cache'
      ],
    ).toBe('hit');
    const noCache = asJson(await h.engine.handle(request({ headers: { 'cache-control': 'No-Cache' } })));
    expect(noCache.headers['x-switchyard-cache']).toBe('bypass');
    expect(h.calls).toHaveLength(3);
  });

  it('answers a retried Idempotency-Key with the first answer, whatever the body', async () => {
    const clock = new VirtualClock({ start: T0 });
    const h = harness(cachePolicy(), { clock });
    const first = asJson(
      await h.engine.handle(request({ content: 'Book it', headers: { 'idempotency-key': 'op-1' } })),
    );
    const retry = asJson(
      await h.engine.handle(request({ content: 'Book it!!', headers: { 'idempotency-key': 'op-1' } })),
    );
    expect(retry.headers['x-switchyard-cache']).toBe('hit');
    expect(retry.body).toEqual(first.body);
    // Another tenant's identical key is not the same operation.
    const other = asJson(
      await h.engine.handle(
        request({ tenant: 'globex', content: 'Book it', headers: { 'idempotency-key': 'op-1' } }),
      ),
    );
    expect(other.headers['x-switchyard-cache']).toBe('miss');
    expect(h.calls).toHaveLength(2);
  });

  it('sends N concurrent identical misses upstream once (single flight)', async () => {
    const h = harness({ ...cachePolicy(), mock: 'latency: 50ms' });
    const responses = await Promise.all(Array.from({ length: 8 }, () => h.engine.handle(request())));
    expect(h.calls).toEqual(['primary']);
    const bodies = responses.map((r) => asJson(r).body);
    for (const body of bodies) expect(body).toEqual(bodies[0]);
    expect(responses.map((r) => r.headers['x-switchyard-cache']).sort()).toEqual([
      ...Array(7).fill('hit'),
      'miss',
    ]);
    expect(h.caches.filter((e) => e.coalesced)).toHaveLength(7);
    // Streams join the flight too, and are replayed as streams.
    // (Each caller reads its stream as soon as it has it: a waiter's answer is the leader's whole
    // stream, so the leader must be read for the waiters to finish.)
    const texts = await Promise.all(
      Array.from(
        { length: 4 },
        async () =>
          (await readStream(await h.engine.handle(request({ stream: true, content: 'Stream me' })))).text,
      ),
    );
    expect(new Set(texts).size).toBe(1);
    expect(h.calls).toHaveLength(2);
  });

  it('never stores a stream cut in the middle', async () => {
    const clock = new VirtualClock({ start: T0, auto: true });
    const h = harness({ ...cachePolicy(), mock: 'sequence: [stream_cut, ok]' }, { clock });
    const cut = await readStream(
      await h.engine.handle(
        request({ stream: true, content: 'A long enough answer to be cut in two halves' }),
      ),
    );
    expect(cut.done).toBe(false);
    expect(cut.errors).toHaveLength(1);
    const again = asStream(
      await h.engine.handle(
        request({ stream: true, content: 'A long enough answer to be cut in two halves' }),
      ),
    );
    expect(again.headers['x-switchyard-cache']).toBe('miss');
    expect((await readStream(again)).done).toBe(true);
    expect(
      asJson(await h.engine.handle(request({ content: 'A long enough answer to be cut in two halves' })))
        .headers['x-switchyard-cache'],
    ).toBe('hit');
    expect(h.calls).toEqual(['primary', 'primary']);
  });

  it('never stores an error answer', async () => {
    const clock = new VirtualClock({ start: T0 });
    const h = harness({ ...cachePolicy(), mock: 'sequence: [bad_request, ok]' }, { clock });
    expect(asJson(await h.engine.handle(request())).status).toBe(400);
    expect(asJson(await h.engine.handle(request())).headers['x-switchyard-cache']).toBe('miss');
  });

  it('bypasses requests its `when` does not match; routes without a cache send no header', async () => {
    const clock = new VirtualClock({ start: T0 });
    const h = harness(cachePolicy('{ mode: exact, ttl: 1h, when: { body.temperature: { lte: 0.2 } } }'), {
      clock,
    });
    const hot = { ...request(), body: { ...request().body, temperature: 0.9 } };
    expect(asJson(await h.engine.handle(hot)).headers['x-switchyard-cache']).toBe('bypass');
    expect(asJson(await h.engine.handle(hot)).headers['x-switchyard-cache']).toBe('bypass');
    const cold = { ...request(), body: { ...request().body, temperature: 0 } };
    await h.engine.handle(cold);
    expect(asJson(await h.engine.handle(cold)).headers['x-switchyard-cache']).toBe('hit');
    const plain = asJson(await h.engine.handle(request({ headers: { 'x-route': 'plain' } })));
    expect(plain.headers['x-switchyard-route']).toBe('nocache');
    expect('x-switchyard-cache' in plain.headers).toBe(false);
    expect(plain.meta.cache).toBeNull();
  });
});
