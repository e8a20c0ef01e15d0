import { describe, expect, it } from 'vitest';
import {
  type CompiledLimit,
  compileLimit,
  estimateTokens,
  formatResetDuration,
  type LimitSpec,
  RateLimiter,
} from '../../../engine/limits/limiter.js';
import { MemoryStore } from '../../../engine/limits/memory-store.js';
import { ResilientStore } from '../../../engine/limits/resilient-store.js';
import type { LimiterStore } from '../../../engine/limits/store.js';
import type { RequestContext } from '../../../engine/types.js';
import { makeContext } from '../../support/decision-fixtures.js';

function limit(name: string, spec: LimitSpec): CompiledLimit {
  const r = compileLimit(name, spec);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

function ctx(o: Partial<RequestContext> = {}, body: Record<string, unknown> = {}): RequestContext {
  const base = makeContext();
  return { ...base, tenant: 'acme', inputTokens: 100, ...o, body: { ...base.body, ...body } };
}

describe('compileLimit', () => {
  it('compiles rates, burst (first kind only) and defaults', () => {
    const l = limit('per-tenant', { key: ['tenant'], requests: '600/min', tokens: '200000/min', burst: 50 });
    expect(l.kinds.map((k) => [k.kind, k.params])).toEqual([
      ['requests', { amount: 1, periodMs: 100, capacity: 50 }],
      ['tokens', { amount: 10, periodMs: 3, capacity: 200_000 }],
    ]);
    expect(l.store).toBe('memory');
    expect(l.onStoreError).toBe('open');
    expect(limit('t', { key: ['tenant'], tokens: '1000/min', burst: 5000 }).kinds[0].params.capacity).toBe(
      5000,
    );
  });

  it('sizes each kind with the object form of burst', () => {
    const l = limit('both', {
      key: ['tenant'],
      requests: '600/min',
      tokens: '200000/min',
      burst: { requests: 20, tokens: 5000 },
    });
    expect(l.kinds.map((k) => k.params.capacity)).toEqual([20, 5000]);
    const tokensOnly = limit('t', {
      key: ['tenant'],
      requests: '10/s',
      tokens: '1000/s',
      burst: { tokens: 50 },
    });
    expect(tokensOnly.kinds.map((k) => k.params.capacity)).toEqual([10, 50]);
  });

  it('reports unusable rates as errors, not throws', () => {
    expect(compileLimit('z', { key: ['tenant'], requests: '0/min' })).toMatchObject({ ok: false });
    expect(compileLimit('z', { key: ['tenant'], requests: 'many' })).toMatchObject({ ok: false });
    expect(compileLimit('z', { key: ['tenant'] })).toMatchObject({ ok: false });
  });

  it('fingerprints: same definition, same keys; a changed kind resets only that kind', () => {
    const a = limit('l', { key: ['tenant'], requests: '10/s', tokens: '1000/min', when: { tenant: 'x' } });
    const same = limit('l', {
      key: ['tenant'],
      requests: '10/s',
      tokens: '1000/min',
      onStoreError: 'closed',
    });
    const changed = limit('l', { key: ['tenant'], requests: '10/s', tokens: '2000/min' });
    const renamed = limit('m', { key: ['tenant'], requests: '10/s', tokens: '1000/min' });
    const rekeyed = limit('l', { key: ['tenant', 'model'], requests: '10/s', tokens: '1000/min' });
    const prefixes = (l: CompiledLimit) => l.kinds.map((k) => k.keyPrefix);
    expect(prefixes(same)).toEqual(prefixes(a));
    expect(prefixes(changed)[0]).toBe(prefixes(a)[0]);
    expect(prefixes(changed)[1]).not.toBe(prefixes(a)[1]);
    expect(prefixes(renamed)[0]).not.toBe(prefixes(a)[0]);
    expect(prefixes(rekeyed)[0]).not.toBe(prefixes(a)[0]);
    // Spelling does not matter, the exact rate does.
    expect(prefixes(limit('l', { key: ['tenant'], requests: '600/minute' }))[0]).toBe(
      prefixes(limit('l', { key: ['tenant'], requests: '600/min' }))[0],
    );
    expect(prefixes(limit('l', { key: ['tenant'], requests: '600/min' }))[0]).not.toBe(
      prefixes(limit('l', { key: ['tenant'], requests: '10/s' }))[0], // same rate, smaller burst
    );
  });
});

describe('estimateTokens', () => {
  it('is input + max_completion_tokens, else max_tokens, else the default; embeddings have no output', () => {
    expect(estimateTokens(ctx({}, { max_completion_tokens: 50, max_tokens: 70 }))).toBe(150);
    expect(estimateTokens(ctx({}, { max_tokens: 70 }))).toBe(170);
    expect(estimateTokens(ctx(), 500)).toBe(600);
    expect(estimateTokens(ctx({}, { max_tokens: 'lots' }), 500)).toBe(600);
    expect(estimateTokens(ctx({ endpoint: 'embeddings' }))).toBe(100);
  });
});

describe('formatResetDuration', () => {
  it('formats like OpenAI (Go durations)', () => {
    expect(formatResetDuration(0)).toBe('0s');
    expect(formatResetDuration(17)).toBe('17ms');
    expect(formatResetDuration(1000)).toBe('1s');
    expect(formatResetDuration(1500)).toBe('1.5s');
    expect(formatResetDuration(360_000)).toBe('6m0s');
    expect(formatResetDuration(86_400)).toBe('1m26.4s');
    expect(formatResetDuration(3_723_400)).toBe('1h2m3.4s');
    expect(formatResetDuration(0.2)).toBe('1ms');
  });
});

describe('RateLimiter', () => {
  const perTenant = limit('per-tenant', { key: ['tenant'], requests: '2/min', tokens: '1000/min' });

  function setup(extra: LimiterStore | null = null) {
    const memory = new MemoryStore();
    const limiter = new RateLimiter({ storeFor: () => extra ?? memory, defaultOutputTokens: 200 });
    return { memory, limiter };
  }

  it('admits, reserves tokens and returns OpenAI headers', async () => {
    const { limiter } = setup();
    const a = await limiter.admit([perTenant], { ctx: ctx(), route: 'chat' }, 0);
    expect(a.allowed).toBe(true);
    expect(a.reservedTokens).toBe(300);
    expect(a.headers).toEqual({
      'x-ratelimit-limit-requests': '2',
      'x-ratelimit-remaining-requests': '1',
      'x-ratelimit-reset-requests': '30s',
      'x-ratelimit-limit-tokens': '1000',
      'x-ratelimit-remaining-tokens': '700',
      'x-ratelimit-reset-tokens': '18s',
    });
  });

  it('reconciles: refunds an over-estimate, charges an under-estimate, once', async () => {
    const { limiter } = setup();
    const a = await limiter.admit([perTenant], { ctx: ctx(), route: 'chat', estimatedTokens: 600 }, 0);
    await a.reservation.reconcile(100, 0);
    await a.reservation.reconcile(100_000, 0); // ignored: only the first call counts
    const b = await limiter.admit([perTenant], { ctx: ctx(), route: 'chat', estimatedTokens: 0 }, 0);
    expect(b.headers['x-ratelimit-remaining-tokens']).toBe('900');
    await b.reservation.reconcile(950, 0); // charged beyond capacity: a debt
    const c = await limiter.admit(
      [perTenant],
      { ctx: ctx({ tenant: 'acme' }), route: 'chat', estimatedTokens: 1 },
      0,
    );
    expect(c.allowed).toBe(false);
    expect(c.refusedBy.map((o) => o.kind)).toEqual(['requests', 'tokens']);
  });

  it('is all or nothing: a refusal by one limit refunds the others', async () => {
    const { limiter } = setup();
    const tight = limit('tight', { key: ['tenant'], tokens: '100/min' });
    const r = await limiter.admit([perTenant, tight], { ctx: ctx(), route: 'chat', estimatedTokens: 150 }, 0);
    expect(r.allowed).toBe(false);
    expect(r.tooLarge).toBe(true);
    expect(r.retryAfterMs).toBe(Number.POSITIVE_INFINITY);
    expect(r.headers['retry-after']).toBeUndefined();
    expect(r.headers['x-ratelimit-limit-tokens']).toBe('100');
    // Nothing was kept by per-tenant: two requests still fit.
    for (let i = 0; i < 2; i++) {
      const ok = await limiter.admit([perTenant], { ctx: ctx(), route: 'chat', estimatedTokens: 10 }, 0);
      expect(ok.allowed).toBe(true);
    }
    const third = await limiter.admit([perTenant], { ctx: ctx(), route: 'chat', estimatedTokens: 10 }, 0);
    expect(third).toMatchObject({ allowed: false, retryAfterMs: 30_000, tooLarge: false });
    expect(third.headers['retry-after']).toBe('30');
    expect(third.headers['x-ratelimit-remaining-requests']).toBe('0');
    expect(third.headers['x-ratelimit-remaining-tokens']).toBe('980'); // after the refused request's refund
    await third.reservation.reconcile(5_000, 0); // no-op for a refused request
    const later = await limiter.admit(
      [perTenant],
      { ctx: ctx(), route: 'chat', estimatedTokens: 10 },
      30_000,
    );
    expect(later.allowed).toBe(true);
  });

  it('reports the tightest limit per kind and applies only matching limits', async () => {
    const { limiter } = setup();
    const free = limit('free', { key: ['tenant'], requests: '1/min', when: { 'label.tier': 'free' } });
    const paid = ctx({ labels: { tier: 'paid' } });
    const freeCtx = ctx({ tenant: 'bob', labels: { tier: 'free' } });
    const a = await limiter.admit([perTenant, free], { ctx: paid, route: 'r' }, 0);
    expect(a.outcomes.map((o) => o.limit)).toEqual(['per-tenant', 'per-tenant']);
    const b = await limiter.admit([perTenant, free], { ctx: freeCtx, route: 'r' }, 0);
    expect(b.headers['x-ratelimit-limit-requests']).toBe('1');
    expect(b.headers['x-ratelimit-remaining-requests']).toBe('0');
    expect(await limiter.admit([], { ctx: paid, route: 'r' }, 0)).toMatchObject({
      allowed: true,
      headers: {},
    });
  });

  it('keys limits per tuple', async () => {
    const { limiter } = setup();
    const one = limit('one', { key: ['tenant', 'model'], requests: '1/min' });
    expect((await limiter.admit([one], { ctx: ctx({ model: 'a' }), route: 'r' }, 0)).allowed).toBe(true);
    expect((await limiter.admit([one], { ctx: ctx({ model: 'b' }), route: 'r' }, 0)).allowed).toBe(true);
    expect((await limiter.admit([one], { ctx: ctx({ model: 'a' }), route: 'r' }, 0)).allowed).toBe(false);
  });

  it('marks degraded admissions (store down, onStoreError open)', async () => {
    const down: LimiterStore = {
      acquire: () => Promise.reject(new Error('down')),
      adjust: () => Promise.reject(new Error('down')),
      close: async () => {},
    };
    const open = new ResilientStore(
      { ...down, add: async () => 0, get: async () => 0 },
      { onStoreError: 'open' },
    );
    const { limiter } = setup(open);
    const a = await limiter.admit([perTenant], { ctx: ctx(), route: 'r' }, 0);
    expect(a).toMatchObject({ allowed: true, degraded: true });
    await expect(a.reservation.reconcile(10, 0)).resolves.toBeUndefined();
  });
});
