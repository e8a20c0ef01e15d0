import { describe, expect, it } from 'vitest';
import { compileCache } from '../../../engine/cache/compile.js';
import { makeCtx } from './helpers.js';

describe('compileCache', () => {
  it('parses ttl and size, applies defaults and compiles when', () => {
    const r = compileCache('faq', {
      mode: 'exact',
      ttl: '24h',
      key: ['model', 'messages'],
      maxSize: '1mb',
      when: { temperature: { lte: 0.2 } },
    });
    if (!r.ok) throw new Error(r.error);
    expect(r.cache).toMatchObject({
      name: 'faq',
      ttlMs: 86_400_000,
      maxSizeBytes: 1024 * 1024,
      maxEntries: 10_000,
      shared: false,
      store: 'memory',
      fields: ['tenant', 'messages', 'model'],
    });
    expect(Object.isFrozen(r.cache)).toBe(true);
    // Bare `temperature` (docs/design.md's example) means body.temperature.
    expect(r.cache.applies(makeCtx({ body: { model: 'm', temperature: 0 } }))).toBe(true);
    expect(r.cache.applies(makeCtx({ body: { model: 'm', temperature: 0.7 } }))).toBe(false);
    expect(r.cache.applies(makeCtx({ body: { model: 'm' } }))).toBe(false);
  });

  it('reports a bad ttl as data', () => {
    const r = compileCache('faq', { mode: 'exact', ttl: '0s' });
    expect(r).toMatchObject({ ok: false, field: 'ttl' });
  });

  it('keys idempotent requests through keyFor', () => {
    const r = compileCache('faq', { mode: 'exact', ttl: '1m', key: ['messages'] });
    if (!r.ok) throw new Error(r.error);
    const a = makeCtx({ headers: { 'idempotency-key': 'x' } });
    const b = makeCtx({ headers: { 'idempotency-key': 'x' }, body: { model: 'other' } });
    expect(r.cache.keyFor(a, 'chat')).toBe(r.cache.keyFor(b, 'chat'));
    expect(r.cache.keyFor(makeCtx(), 'chat')).toBe(r.cache.keyOf(makeCtx(), 'chat'));
  });
});
