import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cacheDirectives,
  canonicalJson,
  compileCacheKey,
  hashCacheKey,
  idempotentCacheKey,
  KEY_FORMAT_VERSION,
  keyFields,
  requestCacheKey,
} from '../../../engine/cache/keys.js';
import { canonicalJsonWithout } from '../../../engine/shared/canonical-json.js';
import { MESSAGES, makeCtx } from './helpers.js';

const fields = ['model', 'messages', 'temperature'];
const keyOf = compileCacheKey({ cache: 'faq', fields });

describe('canonicalJson', () => {
  it('sorts object keys recursively and drops whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 0, y: 1 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[1,{"y":1,"z":0}]},"b":1}',
    );
    expect(canonicalJson(JSON.parse('{ "x" : [ 1 , 2 ] }'))).toBe(canonicalJson(JSON.parse('{"x":[1,2]}')));
  });

  it('normalises numbers: 1 and 1.0 and 1e0 are one number, -0 is 0', () => {
    expect(canonicalJson(JSON.parse('[1.0, 1e0, -0, 0.10]'))).toBe('[1,1,0,0.1]');
  });

  it('writes keys alike whether or not they are among the quoted keys it keeps (first 1,000, short)', () => {
    const record: Record<string, number> = {};
    for (let i = 0; i < 1_200; i++) record[`k${i}\u00e9"${'x'.repeat(i % 90)}`] = i;
    const expected = `{${Object.keys(record)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${record[k]}`)
      .join(',')}}`;
    expect(canonicalJson(record)).toBe(expected);
    expect(canonicalJson(record)).toBe(expected); // now from the kept ones
  });

  it('keeps values JSON cannot carry apart from those it can', () => {
    expect(canonicalJson([Number.NaN, Number.POSITIVE_INFINITY])).toBe('[NaN,Infinity]');
    expect(canonicalJson([null])).not.toBe(canonicalJson([Number.NaN]));
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
  });
});

describe('canonicalJsonWithout', () => {
  /** What the whole-body key was made from before: a copy of the rest, by assignment. */
  const viaCopy = (record: Record<string, unknown>, skip: ReadonlySet<string>): string => {
    const rest: Record<string, unknown> = {};
    for (const key of Object.keys(record)) if (!skip.has(key)) rest[key] = record[key];
    return canonicalJson(rest);
  };
  const skip = new Set(['stream', 'stream_options', 'messages']);

  it('is canonicalJson of a copy of the rest, for any JSON object (parsed, so `__proto__` included)', () => {
    const key = fc.oneof(
      fc.constantFrom('stream', 'stream_options', 'messages', '__proto__', '1', 'a'),
      fc.string(),
    );
    fc.assert(
      fc.property(fc.dictionary(key, fc.jsonValue(), { maxKeys: 8 }), (dict) => {
        const parsed = JSON.parse(JSON.stringify(dict)) as Record<string, unknown>;
        expect(canonicalJsonWithout(parsed, skip)).toBe(viaCopy(parsed, skip));
      }),
    );
    const withProto = JSON.parse('{"__proto__":{"x":1},"stream":true,"b":[1]}') as Record<string, unknown>;
    expect(canonicalJsonWithout(withProto, skip)).toBe(viaCopy(withProto, skip));
  });

  it('drops undefined values and keeps symbol keys out, as canonicalJson does', () => {
    const body = { b: undefined, a: 1, stream: true, [Symbol('replay')]: 'x' } as Record<string, unknown>;
    expect(canonicalJsonWithout(body, skip)).toBe('{"a":1}');
  });
});

describe('compileCacheKey', () => {
  it('gives the exact key (the canonical text), stable for equal requests; its hash is sha256 hex', () => {
    const key = keyOf(makeCtx(), 'chat');
    expect(JSON.parse(key)).toEqual([
      KEY_FORMAT_VERSION,
      'exact',
      'faq',
      'chat',
      [
        ['tenant', 'acme'],
        ['messages', MESSAGES],
        ['model', 'gpt-5'],
        ['temperature', 0],
      ],
    ]);
    expect(keyOf(makeCtx(), 'chat')).toBe(key);
    expect(hashCacheKey(key)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashCacheKey(key)).toBe(createHash('sha256').update(key).digest('hex'));
  });

  it('includes the tenant unless shared, whatever the declared list', () => {
    expect(keyFields({ fields })).toEqual(['tenant', 'messages', 'model', 'temperature']);
    expect(keyFields({ fields, shared: true })).toEqual(['messages', 'model', 'temperature']);
    expect(keyFields({ fields: ['tenant', ...fields], shared: true })[0]).toBe('tenant');
    expect(keyOf(makeCtx({ tenant: 'a' }), 'chat')).not.toBe(keyOf(makeCtx({ tenant: 'b' }), 'chat'));
    const shared = compileCacheKey({ cache: 'faq', fields, shared: true });
    expect(shared(makeCtx({ tenant: 'a' }), 'chat')).toBe(shared(makeCtx({ tenant: 'b' }), 'chat'));
  });

  it('does not depend on the declared order of fields', () => {
    const reordered = compileCacheKey({
      cache: 'faq',
      fields: ['temperature', 'tenant', 'messages', 'model'],
    });
    expect(reordered(makeCtx(), 'chat')).toBe(keyOf(makeCtx(), 'chat'));
  });

  it('changes with every declared field, and only those', () => {
    const base = { model: 'gpt-5', messages: MESSAGES, temperature: 0 };
    const k = keyOf(makeCtx({ body: base }), 'chat');
    expect(keyOf(makeCtx({ body: { ...base, temperature: 0.2 } }), 'chat')).not.toBe(k);
    expect(keyOf(makeCtx({ body: { ...base, model: 'gpt-5-mini' } }), 'chat')).not.toBe(k);
    expect(keyOf(makeCtx({ body: { ...base, messages: [MESSAGES[1]] } }), 'chat')).not.toBe(k);
    expect(keyOf(makeCtx({ body: { ...base, top_p: 0.5, stream: true } }), 'chat')).toBe(k);
  });

  it('distinguishes absent from null', () => {
    const k = compileCacheKey({ cache: 'c', fields: ['temperature'] });
    const absent = k(makeCtx({ body: { model: 'm' } }), 'r');
    const nul = k(makeCtx({ body: { model: 'm', temperature: null } }), 'r');
    expect(absent).not.toBe(nul);
  });

  it('is scoped by cache name and route', () => {
    const other = compileCacheKey({ cache: 'other', fields });
    expect(other(makeCtx(), 'chat')).not.toBe(keyOf(makeCtx(), 'chat'));
    expect(keyOf(makeCtx(), 'chat2')).not.toBe(keyOf(makeCtx(), 'chat'));
  });

  it('reads body.<field>, header.<name> (any case) and metadata.<k>', () => {
    const k = compileCacheKey({
      cache: 'c',
      fields: ['body.response_format', 'header.X-Lang', 'metadata.app'],
    });
    const ctx = (format: string, lang: string, app: string) =>
      makeCtx({
        body: { model: 'm', response_format: { type: format } },
        headers: { 'x-lang': lang },
        metadata: { app },
      });
    const base = k(ctx('json_object', 'en', 'a'), 'r');
    expect(k(ctx('json_object', 'en', 'a'), 'r')).toBe(base);
    expect(k(ctx('text', 'en', 'a'), 'r')).not.toBe(base);
    expect(k(ctx('json_object', 'fr', 'a'), 'r')).not.toBe(base);
    expect(k(ctx('json_object', 'en', 'b'), 'r')).not.toBe(base);
  });

  it('keys on the whole body except stream and stream_options when no fields are declared', () => {
    const k = compileCacheKey({ cache: 'c' });
    const body = { model: 'm', messages: MESSAGES, thinking: { budget: 1 } };
    const base = k(makeCtx({ body }), 'r');
    expect(
      k(makeCtx({ body: { ...body, stream: true, stream_options: { include_usage: true } } }), 'r'),
    ).toBe(base);
    expect(k(makeCtx({ body: { ...body, thinking: { budget: 2 } } }), 'r')).not.toBe(base);
  });

  it('rejects a field the schema would have rejected', () => {
    expect(() => compileCacheKey({ cache: 'c', fields: ['nope'] })).toThrow(/invalid cache key field/);
  });
});

describe('cacheDirectives', () => {
  it('reads and writes by default', () => {
    expect(cacheDirectives(makeCtx())).toEqual({ read: true, write: true, idempotencyKey: null });
  });

  it('honours no-cache (skip read) and no-store (skip write), in any case and list', () => {
    expect(cacheDirectives(makeCtx({ headers: { 'cache-control': 'No-Cache' } }))).toMatchObject({
      read: false,
      write: true,
    });
    expect(cacheDirectives(makeCtx({ headers: { 'cache-control': 'max-age=0, no-store' } }))).toMatchObject({
      read: true,
      write: false,
    });
  });

  it('reads the Idempotency-Key header', () => {
    expect(cacheDirectives(makeCtx({ headers: { 'idempotency-key': ' abc ' } })).idempotencyKey).toBe('abc');
    expect(cacheDirectives(makeCtx({ headers: { 'idempotency-key': '  ' } })).idempotencyKey).toBeNull();
  });

  it('keys an idempotent request on tenant and idempotency key only', () => {
    const headers = { 'idempotency-key': 'abc' };
    const key = requestCacheKey(keyOf, 'faq', makeCtx({ headers }), 'chat');
    expect(key).toBe(idempotentCacheKey('faq', 'acme', 'abc'));
    expect(idempotentCacheKey('faq', 'globex', 'abc')).not.toBe(key);
    expect(idempotentCacheKey('other', 'acme', 'abc')).not.toBe(key);
  });
});
