/**
 * P17 (cache safety) and the cache half of P11 (store vs model) of docs/properties.md. Requests are
 * drawn from small pools so that equal and unequal keys both occur often; time is a plain virtual
 * `now`. The seed is printed on failure; FC_NUM_RUNS sets the number of runs (default 100).
 */
import { isDeepStrictEqual } from 'node:util';
import { fc, test } from '@fast-check/vitest';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { compileCacheKey } from '../../engine/cache/keys.js';
import { MemoryCacheStore } from '../../engine/cache/memory-store.js';
import { RedisCacheStore } from '../../engine/cache/redis-store.js';
import type { CachedAnswer, CacheStore } from '../../engine/cache/store.js';
import type { RequestContext } from '../../engine/types.js';
import { command } from '../support/commands.js';
import { type RedisServer, redisAvailable, redisSkipReason, startRedis } from '../support/redis.js';

const NUM_RUNS = Number(process.env.FC_NUM_RUNS ?? 100);

if (!redisAvailable) console.warn(redisSkipReason);

// ---------------------------------------------------------------------------------------------
// Requests from small pools

const ABSENT = Symbol('absent');
type Maybe<T> = T | typeof ABSENT;

interface Req {
  readonly tenant: string | null;
  readonly model: Maybe<string>;
  readonly messages: Maybe<unknown>;
  readonly temperature: Maybe<number | null>;
  readonly top_p: Maybe<number | null>;
  readonly max_tokens: Maybe<number | null>;
  readonly tools: Maybe<unknown>;
  readonly format: Maybe<unknown>;
  readonly lang: Maybe<string>;
  readonly app: Maybe<string>;
}

const maybe = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<Maybe<T>> =>
  fc.oneof(fc.constant(ABSENT as typeof ABSENT), arb);

/** An object whose key insertion order is drawn too: the key must not depend on it. */
function shuffledObject(entries: [string, unknown][]): fc.Arbitrary<Record<string, unknown>> {
  return fc.shuffledSubarray(entries, { minLength: entries.length }).map((shuffled) => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of shuffled) out[k] = v;
    return out;
  });
}

const message = fc
  .tuple(
    fc.constantFrom('user', 'system'),
    fc.constantFrom<unknown>('Hi', 'hi', 'Hi ', '', [{ type: 'text', text: 'Hi' }]),
  )
  .chain(([role, content]) =>
    shuffledObject([
      ['role', role],
      ['content', content],
    ]),
  );

const number = fc.constantFrom(0, 0.2, 1, 1.0, 100);

const reqArb: fc.Arbitrary<Req> = fc.record({
  tenant: fc.constantFrom('acme', 'globex', null),
  model: maybe(fc.constantFrom('gpt-5', 'gpt-5-mini')),
  messages: maybe(fc.array(message, { maxLength: 2 })),
  temperature: maybe(fc.oneof(number, fc.constant(null))),
  top_p: maybe(fc.oneof(number, fc.constant(null))),
  max_tokens: maybe(fc.oneof(fc.constantFrom(16, 32), fc.constant(null))),
  tools: maybe(
    fc.constantFrom<unknown>(
      [],
      [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
    ),
  ),
  format: maybe(fc.constantFrom<unknown>({ type: 'text' }, { type: 'json_object' })),
  lang: maybe(fc.constantFrom('en', 'fr')),
  app: maybe(fc.constantFrom('a', 'b')),
});

function toCtx(r: Req): RequestContext {
  const body: Record<string, unknown> = {};
  if (r.model !== ABSENT) body.model = r.model;
  if (r.messages !== ABSENT) body.messages = r.messages;
  if (r.temperature !== ABSENT) body.temperature = r.temperature;
  if (r.top_p !== ABSENT) body.top_p = r.top_p;
  if (r.max_tokens !== ABSENT) body.max_tokens = r.max_tokens;
  if (r.tools !== ABSENT) body.tools = r.tools;
  if (r.format !== ABSENT) body.response_format = r.format;
  const headers: Record<string, string> = {};
  if (r.lang !== ABSENT) headers['x-lang'] = r.lang;
  const metadata: Record<string, string> = {};
  if (r.app !== ABSENT) metadata.app = r.app;
  return {
    path: '/v1/chat/completions',
    endpoint: 'chat',
    model: r.model === ABSENT ? '' : r.model,
    body,
    headers,
    tenant: r.tenant,
    labels: {},
    metadata,
    stream: false,
    tools: false,
    inputTokens: 1,
    inputChars: 1,
    seed: 0,
  };
}

const KEY_FIELDS = [
  'tenant',
  'model',
  'messages',
  'temperature',
  'top_p',
  'max_tokens',
  'tools',
  'body.response_format',
  'header.X-Lang',
  'metadata.app',
] as const;

/** The reference: which request value each declared field names (absent ≠ null). */
function refValue(r: Req, field: (typeof KEY_FIELDS)[number]): unknown {
  switch (field) {
    case 'tenant':
      return r.tenant ?? ABSENT;
    case 'body.response_format':
      return r.format;
    case 'header.X-Lang':
      return r.lang;
    case 'metadata.app':
      return r.app;
    default:
      return r[field];
  }
}

/** The reference key equality of P17: every declared field, and the tenant unless shared. */
function sameKey(a: Req, b: Req, fields: readonly (typeof KEY_FIELDS)[number][], shared: boolean): boolean {
  const effective = new Set(fields);
  if (!shared) effective.add('tenant');
  // isDeepStrictEqual ignores key order, which is what canonical JSON promises.
  return [...effective].every((f) => isDeepStrictEqual(refValue(a, f), refValue(b, f)));
}

const cacheArb = fc.record({
  fields: fc.subarray([...KEY_FIELDS]),
  shared: fc.boolean(),
  route: fc.constantFrom('chat', 'faq'),
});

/** The same JSON value with every object's keys inserted in reverse order. */
function reversedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversedKeys);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value).reverse()) out[k] = reversedKeys((value as Record<string, unknown>)[k]);
  return out;
}

/**
 * A second request: often a near-copy of the first (the same, its objects' keys reordered, one
 * field changed), so equal keys are common.
 */
const pairArb = reqArb.chain((a) =>
  fc.tuple(
    fc.constant(a),
    fc.oneof(
      fc.constant(a),
      fc.constant({
        ...a,
        messages: a.messages === ABSENT ? ABSENT : reversedKeys(a.messages),
        tools: a.tools === ABSENT ? ABSENT : reversedKeys(a.tools),
        format: a.format === ABSENT ? ABSENT : reversedKeys(a.format),
      }),
      reqArb,
      fc.record({ tenant: fc.constantFrom('acme', 'globex', null) }).map((t) => ({ ...a, ...t })),
      fc.record({ temperature: maybe(fc.oneof(number, fc.constant(null))) }).map((t) => ({ ...a, ...t })),
    ),
  ),
);

function answer(text: string, storedAt: number): CachedAnswer {
  return {
    body: {
      id: 'c',
      object: 'chat.completion',
      created: 0,
      model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
    },
    model: 'm',
    usage: null,
    storedAt,
    target: 't',
  };
}

describe('P17 cache safety: keys', () => {
  test.prop([cacheArb, pairArb], { numRuns: NUM_RUNS * 5 })(
    'two requests share a key exactly when every declared field (and the tenant unless shared) is equal',
    ({ fields, shared, route }, [a, b]) => {
      const keyOf = compileCacheKey({ cache: 'c', fields, shared });
      const equal = keyOf(toCtx(a), route) === keyOf(toCtx(b), route);
      expect(equal).toBe(sameKey(a, b, fields, shared));
    },
  );
});

/** P17 end to end on one store: set under a's key at t0, read b's key at t1. */
async function servedOnlyWhenSafe(
  store: CacheStore,
  cache: { fields: (typeof KEY_FIELDS)[number][]; shared: boolean; route: string },
  [a, b]: [Req, Req],
  t0: number,
  ttl: number,
  dt: number,
): Promise<void> {
  const keyOf = compileCacheKey({ cache: 'c', fields: cache.fields, shared: cache.shared });
  const stored = answer(`for ${JSON.stringify(a.messages ?? null)}`, t0);
  await store.set(keyOf(toCtx(a), cache.route), stored, ttl, t0);
  const hit = await store.get(keyOf(toCtx(b), cache.route), t0 + dt);
  const safe = sameKey(a, b, cache.fields, cache.shared) && dt < ttl;
  expect(hit === undefined ? undefined : hit).toEqual(safe ? stored : undefined);
}

const timing = fc.record({
  t0: fc.integer({ min: 0, max: 1e12 }),
  ttl: fc.integer({ min: 1, max: 86_400_000 }),
  dt: fc.oneof(fc.integer({ min: 0, max: 100_000_000 }), fc.constantFrom(0, 1)),
});

describe('P17 cache safety: memory store', () => {
  test.prop([cacheArb, pairArb, timing], { numRuns: NUM_RUNS })(
    'serves only on an equal key and strictly before the ttl',
    async (cache, pair, { t0, ttl, dt }) => {
      const store = new MemoryCacheStore();
      // Exercise the boundary: read exactly at expiry half of the time it is in range.
      await servedOnlyWhenSafe(store, cache, pair, t0, ttl, dt === 1 ? ttl : dt);
    },
  );
});

// ---------------------------------------------------------------------------------------------
// P11 (cache): the store against a tiny model, on random command sequences

interface ModelEntry {
  readonly text: string;
  readonly expiresAt: number;
  readonly size: number;
}

interface Model {
  now: number;
  /** Insertion order is recency order: the first entry is the least recently used. */
  readonly entries: Map<string, ModelEntry>;
  readonly maxEntries: number;
  readonly maxBytes: number;
}

interface Real {
  readonly store: CacheStore;
}

const sizeOf = (a: CachedAnswer): number => Buffer.byteLength(JSON.stringify(a));

function evict(m: Model): void {
  let bytes = 0;
  for (const e of m.entries.values()) bytes += e.size;
  while (m.entries.size > m.maxEntries || bytes > m.maxBytes) {
    const [oldest, entry] = m.entries.entries().next().value as [string, ModelEntry];
    m.entries.delete(oldest);
    bytes -= entry.size;
  }
}

const setCommand = (key: string, text: string, ttl: number) =>
  command<Model, Real>(`set(${key}, ${text.length} chars, ttl ${ttl})`, async (m, r) => {
    const value = answer(text, m.now);
    await r.store.set(key, value, ttl, m.now);
    m.entries.delete(key);
    const size = sizeOf(value);
    if (ttl > 0 && size <= m.maxBytes) {
      m.entries.set(key, { text, expiresAt: m.now + ttl, size });
      evict(m);
    }
  });

const getCommand = (key: string) =>
  command<Model, Real>(`get(${key})`, async (m, r) => {
    const got = await r.store.get(key, m.now);
    const entry = m.entries.get(key);
    let want: string | undefined;
    if (entry !== undefined) {
      m.entries.delete(key);
      if (m.now < entry.expiresAt) {
        m.entries.set(key, entry); // a hit is the most recently used
        want = entry.text;
      }
    }
    const text = (got?.body as { choices: { message: { content: string } }[] } | undefined)?.choices[0]
      .message.content;
    expect(text).toBe(want);
  });

const deleteCommand = (key: string) =>
  command<Model, Real>(`delete(${key})`, async (m, r) => {
    await r.store.delete(key);
    m.entries.delete(key);
  });

const advanceCommand = (ms: number) =>
  command<Model, Real>(`advance(${ms})`, async (m) => {
    m.now += ms;
  });

function commandsArb(ttls: readonly number[], advances: readonly number[], pad: boolean) {
  const key = fc.constantFrom('a', 'b', 'c', 'd', 'e');
  const text = pad
    ? fc.constantFrom('x', 'y'.repeat(200), 'z'.repeat(600))
    : fc.constantFrom('x', 'yy', 'zzz');
  return fc.commands(
    [
      fc.tuple(key, text, fc.constantFrom(...ttls)).map(([k, t, ttl]) => setCommand(k, t, ttl)),
      key.map((k) => getCommand(k)),
      key.map((k) => deleteCommand(k)),
      fc.constantFrom(...advances).map((ms) => advanceCommand(ms)),
    ],
    { maxCommands: 40 },
  );
}

describe('P11 cache store vs model: memory', () => {
  // Bounds small enough that evictions by count and by bytes both happen.
  const maxEntries = 3;
  const maxBytes = 1_500;
  test.prop([commandsArb([0, 10, 100, 1_000], [1, 9, 10, 50, 1_000], true)], { numRuns: NUM_RUNS })(
    'set / get / delete / advance agree with an LRU map',
    async (cmds) => {
      const store = new MemoryCacheStore({ maxEntries, maxSizeBytes: maxBytes });
      await fc.asyncModelRun(
        () => ({ model: { now: 1_000, entries: new Map(), maxEntries, maxBytes }, real: { store } }),
        cmds,
      );
    },
  );
});

describe.skipIf(!redisAvailable)(
  `P11/P17 on Redis${redisAvailable ? '' : ` (skipped: ${redisSkipReason})`}`,
  () => {
    let server: RedisServer | null = null;
    let client: Redis | null = null;
    let run = 0;
    const fresh = (): RedisCacheStore => {
      if (client === null) throw new Error('redis not started');
      return new RedisCacheStore({ client, prefix: `switchyard:cache:prop${run++}:` });
    };

    beforeAll(async () => {
      server = await startRedis();
      if (server === null) return;
      client = new Redis(server.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0 });
      const c = client;
      await new Promise<void>((resolve) => c.once('ready', () => resolve()));
    });
    afterAll(async () => {
      await client?.quit();
      await server?.stop();
    });

    // Redis expires on its wall clock (PX = ttl), so ttls here are long enough that only virtual
    // time can expire an entry during a run; unbounded, so the model never evicts.
    test.prop([cacheArb, pairArb, timing.map((t) => ({ ...t, ttl: Math.max(t.ttl, 60_000) }))], {
      numRuns: NUM_RUNS,
    })(
      'P17: serves only on an equal key and strictly before the ttl',
      async (cache, pair, { t0, ttl, dt }) => {
        await servedOnlyWhenSafe(fresh(), cache, pair, t0, ttl, dt === 1 ? ttl : dt);
      },
    );

    test.prop([commandsArb([0, 60_000, 120_000], [1, 59_999, 60_000, 100_000], false)], {
      numRuns: NUM_RUNS,
    })('P11: set / get / delete / advance agree with a map', async (cmds) => {
      const store = fresh();
      await fc.asyncModelRun(
        () => ({
          model: {
            now: 1_000,
            entries: new Map(),
            maxEntries: Number.POSITIVE_INFINITY,
            maxBytes: Number.POSITIVE_INFINITY,
          },
          real: { store },
        }),
        cmds,
      );
    });
  },
);
