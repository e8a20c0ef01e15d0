/**
 * The conformance suite every CacheStore passes (CONTRIBUTING.md: one shared suite per interface). Time
 * is virtual: `now` is a plain number the test moves, far past anything the backend's own clock
 * would have expired, so the store must check expiry itself.
 */
import { describe, expect, it } from 'vitest';
import { compileCacheKey, requestCacheKey } from '../../../engine/cache/keys.js';
import type { CacheStore } from '../../../engine/cache/store.js';
import { makeAnswer, makeCtx } from './helpers.js';

export interface StoreBounds {
  readonly maxEntries?: number;
  readonly maxSizeBytes?: number;
  /** The store's largest single entry, in bytes. */
  readonly maxValueBytes?: number;
}

export interface StoreSuiteOptions {
  /** A fresh, empty store with these bounds (ignored where the store has no such bound). */
  readonly make: (bounds?: StoreBounds) => Promise<CacheStore>;
  /** `true` when the store evicts LRU by entries and bytes; else the reason the tests are skipped. */
  readonly lruBounds: true | { readonly skip: string };
}

const T0 = 1_700_000_000_000;

export function describeCacheStore(name: string, options: StoreSuiteOptions): void {
  const withStore = async (fn: (store: CacheStore) => Promise<void>, bounds?: StoreBounds): Promise<void> => {
    const store = await options.make(bounds);
    try {
      await fn(store);
    } finally {
      await store.close();
    }
  };

  describe(`CacheStore conformance: ${name}`, () => {
    describe('hit and miss', () => {
      it('misses on an empty store, hits after a set', () =>
        withStore(async (store) => {
          expect(await store.get('k1', T0)).toBeUndefined();
          const answer = makeAnswer('Paris.', T0);
          expect(await store.set('k1', answer, 60_000, T0)).toBe(true);
          expect(await store.get('k1', T0 + 1)).toEqual(answer);
          expect(await store.get('k2', T0 + 1)).toBeUndefined();
        }));

      it('returns a fresh copy: mutating a hit does not change the entry', () =>
        withStore(async (store) => {
          await store.set('k', makeAnswer('Paris.', T0), 60_000, T0);
          const first = await store.get('k', T0);
          if (first === undefined) throw new Error('expected a hit');
          (first.body as { id: string }).id = 'mutated';
          const second = await store.get('k', T0);
          expect(second?.body).toEqual(makeAnswer('Paris.').body);
        }));

      it('overwrites an entry, value and ttl', () =>
        withStore(async (store) => {
          await store.set('k', makeAnswer('old', T0), 1_000, T0);
          await store.set('k', makeAnswer('new', T0 + 500), 10_000, T0 + 500);
          const hit = await store.get('k', T0 + 5_000);
          expect(hit?.body).toEqual(makeAnswer('new').body);
        }));

      it('deletes', () =>
        withStore(async (store) => {
          await store.set('k', makeAnswer(), 60_000, T0);
          await store.delete('k');
          expect(await store.get('k', T0)).toBeUndefined();
          await store.delete('never-set');
        }));
    });

    describe('ttl on the virtual clock', () => {
      it('serves strictly before storedAt + ttl, never at or after it', () =>
        withStore(async (store) => {
          await store.set('k', makeAnswer('x', T0), 500, T0);
          expect(await store.get('k', T0 + 499)).toBeDefined();
          expect(await store.get('k', T0 + 500)).toBeUndefined();
          expect(await store.get('k', T0 + 501)).toBeUndefined();
        }));

      it('expires on virtual time long before the backend would (a day passes in no time)', () =>
        withStore(async (store) => {
          await store.set('k', makeAnswer('x', T0), 3_600_000, T0);
          expect(await store.get('k', T0 + 86_400_000)).toBeUndefined();
        }));

      it('stores nothing, and drops the old entry, for a ttl that is not positive and finite', () =>
        withStore(async (store) => {
          for (const ttl of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
            await store.set('k', makeAnswer('old', T0), 60_000, T0);
            expect(await store.set('k', makeAnswer('new', T0), ttl, T0)).toBe(false);
            expect(await store.get('k', T0)).toBeUndefined();
          }
        }));
    });

    describe('size bound', () => {
      it('does not store an entry larger than the bound, and drops the old one', () =>
        withStore(
          async (store) => {
            await store.set('k', makeAnswer('small', T0), 60_000, T0);
            expect(await store.get('k', T0)).toBeDefined();
            expect(await store.set('k', makeAnswer('big', T0, 10_000), 60_000, T0)).toBe(false);
            expect(await store.get('k', T0)).toBeUndefined();
          },
          { maxSizeBytes: 4_096, maxValueBytes: 4_096 },
        ));
    });

    describe.skipIf(options.lruBounds !== true)(
      `LRU bounds${options.lruBounds === true ? '' : ` (skipped: ${options.lruBounds.skip})`}`,
      () => {
        it('evicts the least recently used entry beyond maxEntries', () =>
          withStore(
            async (store) => {
              for (const k of ['a', 'b', 'c']) await store.set(k, makeAnswer(k, T0), 60_000, T0);
              await store.get('a', T0); // a is now the most recently used; b the least
              await store.set('d', makeAnswer('d', T0), 60_000, T0);
              expect(await store.get('b', T0)).toBeUndefined();
              for (const k of ['a', 'c', 'd']) expect(await store.get(k, T0)).toBeDefined();
            },
            { maxEntries: 3 },
          ));

        it('evicts least recently used entries beyond maxSize bytes', () => {
          const size = Buffer.byteLength(JSON.stringify(makeAnswer('a', T0, 1_000)));
          return withStore(
            async (store) => {
              for (const k of ['a', 'b', 'c']) await store.set(k, makeAnswer(k, T0, 1_000), 60_000, T0);
              await store.get('a', T0);
              await store.set('d', makeAnswer('d', T0, 1_000), 60_000, T0);
              expect(await store.get('b', T0)).toBeUndefined();
              for (const k of ['a', 'c', 'd']) expect(await store.get(k, T0)).toBeDefined();
            },
            { maxEntries: 1_000, maxSizeBytes: Math.floor(size * 3.5) },
          );
        });
      },
    );

    describe('keys end to end', () => {
      const keyOf = compileCacheKey({ cache: 'faq', fields: ['model', 'messages', 'temperature'] });
      const sharedKeyOf = compileCacheKey({
        cache: 'faq',
        fields: ['model', 'messages', 'temperature'],
        shared: true,
      });
      const put = (store: CacheStore, key: string) => store.set(key, makeAnswer('Paris.', T0), 60_000, T0);

      it('never serves one tenant what another stored', () =>
        withStore(async (store) => {
          await put(store, keyOf(makeCtx({ tenant: 'acme' }), 'chat'));
          expect(await store.get(keyOf(makeCtx({ tenant: 'acme' }), 'chat'), T0)).toBeDefined();
          expect(await store.get(keyOf(makeCtx({ tenant: 'globex' }), 'chat'), T0)).toBeUndefined();
          expect(await store.get(keyOf(makeCtx({ tenant: null }), 'chat'), T0)).toBeUndefined();
        }));

      it('shares entries across tenants in a shared cache', () =>
        withStore(async (store) => {
          await put(store, sharedKeyOf(makeCtx({ tenant: 'acme' }), 'chat'));
          expect(await store.get(sharedKeyOf(makeCtx({ tenant: 'globex' }), 'chat'), T0)).toBeDefined();
        }));

      it('ignores key order and JSON whitespace, not values', () =>
        withStore(async (store) => {
          const a = JSON.parse(
            '{"model":"gpt-5","temperature":0.0,"messages":[{"role":"user","content":"Hi there"}]}',
          );
          const b = JSON.parse(
            '{ "messages" : [ { "content" : "Hi there" , "role" : "user" } ] ,\n "temperature": 0, "model": "gpt-5" }',
          );
          const c = { ...a, temperature: 0.7 };
          await put(store, keyOf(makeCtx({ body: a }), 'chat'));
          expect(await store.get(keyOf(makeCtx({ body: b }), 'chat'), T0)).toBeDefined();
          expect(await store.get(keyOf(makeCtx({ body: c }), 'chat'), T0)).toBeUndefined();
        }));

      it('serves a retried request with the same Idempotency-Key its first answer', () =>
        withStore(async (store) => {
          const headers = { 'idempotency-key': 'retry-42' };
          const first = makeCtx({ headers });
          await put(store, requestCacheKey(keyOf, 'faq', first, 'chat'));
          const retried = makeCtx({
            headers,
            body: { model: 'gpt-5', messages: [{ role: 'user', content: 'changed' }], temperature: 1 },
          });
          expect(await store.get(requestCacheKey(keyOf, 'faq', retried, 'other-route'), T0)).toBeDefined();
          const otherTenant = makeCtx({ headers, tenant: 'globex' });
          expect(await store.get(requestCacheKey(keyOf, 'faq', otherTenant, 'chat'), T0)).toBeUndefined();
          expect(await store.get(keyOf(first, 'chat'), T0)).toBeUndefined();
        }));
    });
  });
}
