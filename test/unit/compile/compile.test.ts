import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  BUILTIN_BREAKER,
  BUILTIN_RETRY,
  BUILTIN_TIMEOUT,
  canonicalJson,
  compilePolicy,
  DEFAULT_FALLBACK_ON,
} from '../../../engine/compile/compile.js';
import type { Decision } from '../../../engine/types.js';
import { compileYaml, policyFrom } from './helpers.js';

function routeDecision(d: Decision | undefined): Extract<Decision, { kind: 'route' }> {
  if (d?.kind !== 'route') throw new Error('expected a route decision');
  return d;
}

describe('compilePolicy: identity and hash', () => {
  const yaml = `
routes:
  - name: chat
    when: { model: gpt-5 }
    targets: [fast, strong]
`;

  it('carries name, version and a sha256 of the canonical JSON', () => {
    const c = compileYaml(yaml);
    expect(c.identity.name).toBe('test');
    expect(c.identity.version).toBe('1');
    expect(c.identity.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('the hash ignores key order and whitespace, and sees every change', () => {
    const a = compilePolicy(policyFrom(yaml));
    const reordered = parse(`
routes:
  - targets: [fast,   strong]
    when:    { model: gpt-5 }
    name: chat
`);
    const b = compilePolicy({ ...policyFrom(''), routes: reordered.routes });
    expect(b.identity.hash).toBe(a.identity.hash);
    const c = compilePolicy(policyFrom(yaml.replace('gpt-5', 'gpt-6')));
    expect(c.identity.hash).not.toBe(a.identity.hash);
  });

  it('canonical JSON sorts keys and drops undefined like JSON', () => {
    expect(canonicalJson({ b: 1, a: [1, { d: undefined, c: 'x' }] })).toBe('{"a":[1,{"c":"x"}],"b":1}');
  });
});

describe('compilePolicy: frozen output', () => {
  it('is deeply frozen and does not freeze the caller’s policy', () => {
    const policy = policyFrom(`routes: [ { name: r, targets: [fast] } ]`);
    const c = compilePolicy(policy);
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.routes)).toBe(true);
    expect(Object.isFrozen(c.routes[0])).toBe(true);
    expect(Object.isFrozen(c.document.routes[0])).toBe(true);
    expect(Object.isFrozen(c.index.always)).toBe(true);
    const d = routeDecision(c.routes[0].decisions?.[0]);
    expect(Object.isFrozen(d.targets[0].retry.retryOn)).toBe(true);
    expect(Object.isFrozen(c.models.get('fast'))).toBe(true);
    expect(() => (c.models as Map<string, unknown>).set('x', 1)).toThrow();
    expect(() => (c.providers as Map<string, unknown>).delete('demo')).toThrow();
    expect(Object.isFrozen(policy)).toBe(false);
  });
});

describe('compilePolicy: settings precedence', () => {
  it('uses the built-in defaults', () => {
    const c = compileYaml(`routes: [ { name: r, targets: [fast] } ]`);
    const d = routeDecision(c.routes[0].decisions?.[0]);
    expect(d.timeout).toEqual(BUILTIN_TIMEOUT);
    expect(d.targets[0].retry).toEqual(BUILTIN_RETRY);
    expect(d.targets[0].breaker).toEqual(BUILTIN_BREAKER);
    expect(d.maxAttempts).toBe(6);
    expect(d.stream).toEqual({ midStream: 'error' });
    expect(DEFAULT_FALLBACK_ON).not.toContain('bad_request');
    expect(DEFAULT_FALLBACK_ON).not.toContain('content_policy');
    expect(DEFAULT_FALLBACK_ON).toContain('context_length');
  });

  it('built-in < defaults < route < model, key by key', () => {
    const c = compileYaml(`
models:
  fast:
    provider: demo
    model: fast-1
    timeout: { idle: 7s, total: 1s }
    retry: { backoff: { jitter: none } }
    breaker: { cooldown: 1m }
  strong: { provider: demo, model: strong-1 }
defaults:
  timeout: { connect: 2s, firstToken: 15s, idle: 10s, total: 60s }
  retry: { attempts: 3, backoff: { initial: 100ms, max: 2s }, retryOn: [connect] }
  breaker: { failures: 9, window: 10s }
  maxAttempts: 4
  stream: { midStream: continue }
routes:
  - name: r
    timeout: { firstToken: 20s, total: 90s }
    retry: { attempts: 1, backoff: { initial: 50ms } }
    breaker: { failures: 2 }
    maxAttempts: 3
    targets: [fast, strong]
`);
    const d = routeDecision(c.routes[0].decisions?.[0]);
    expect(d.timeout).toEqual({ connectMs: 2000, firstTokenMs: 20000, idleMs: 10000, totalMs: 90000 });
    expect(d.maxAttempts).toBe(3);
    expect(d.stream.midStream).toBe('continue');
    const [fast, strong] = d.targets;
    // the model's own total is ignored: the deadline is the route's
    expect(fast.timeout).toEqual({ connectMs: 2000, firstTokenMs: 20000, idleMs: 7000, totalMs: 90000 });
    expect(fast.retry.attempts).toBe(1);
    expect(fast.retry.backoff).toEqual({ initialMs: 50, maxMs: 2000, multiplier: 2, jitter: 'none' });
    expect(fast.retry.retryOn).toEqual(['connect']);
    expect(fast.retry.respectRetryAfterMs).toBe(30000);
    expect(fast.breaker).toEqual({ failures: 2, windowMs: 10000, cooldownMs: 60000 });
    expect(strong.retry.backoff.jitter).toBe('full');
    expect(strong.breaker.cooldownMs).toBe(30000);
  });

  it('breaker.enabled: false resolves to failures 0 (disabled), whatever sets failures', () => {
    const c = compileYaml(`
models:
  fast: { provider: demo, model: f, breaker: { failures: 3 } }
defaults: { breaker: { enabled: false } }
routes: [ { name: r, targets: [fast] } ]
`);
    expect(routeDecision(c.routes[0].decisions?.[0]).targets[0].breaker.failures).toBe(0);
  });
});

describe('compilePolicy: catalogue', () => {
  const c = compileYaml(`
providers:
  openai: { kind: openai, baseUrl: "https://api.openai.com/v1", apiKey: sk, headers: { X-A: b }, maxResponseSize: 1mb }
  azure: { kind: openai, baseUrl: "https://x.azure.com", azure: { apiVersion: "2024-10-21" } }
  anthropic: { kind: anthropic }
  demo: { kind: mock, latency: 20ms, sequence: [ok, rate_limited] }
models:
  fast: { provider: openai, model: gpt-5-nano, price: { input: 0.05, output: 0.4 }, context: 400000 }
  strong: { provider: anthropic, model: claude-4, capabilities: { prefill: true, vision: false } }
  any: { provider: demo, model: "*" }
tenants:
  acme: { keys: [k1, k2], labels: { tier: paid } }
  globex: { keys: [k3] }
routes:
  - name: chat
    when: { model: { in: [gpt-5, default] }, not: { model: banned } }
    targets: [fast, { strategy: fallback, targets: [strong] }]
  - name: rest
    targets: [any]
`);

  it('builds provider specs with their defaults', () => {
    expect(c.providers.get('openai')).toMatchObject({
      kind: 'openai',
      apiKey: 'sk',
      headers: { 'X-A': 'b' },
      maxResponseBytes: 1024 * 1024,
      azure: null,
    });
    expect(c.providers.get('azure')?.azure).toEqual({ apiVersion: '2024-10-21', deployment: null });
    expect(c.providers.get('anthropic')).toMatchObject({
      baseUrl: 'https://api.anthropic.com',
      anthropicVersion: '2023-06-01',
      maxResponseBytes: 16 * 1024 * 1024,
    });
    expect(c.providers.get('demo')?.mock).toEqual({
      reply: null,
      latencyMs: 20,
      chunkDelayMs: 0,
      batchLatencyMs: 1000,
      sequence: ['ok', 'rate_limited'],
    });
  });

  it('resolves models: price, context, capabilities (prefill false, tools/vision true by default)', () => {
    expect(c.models.get('fast')).toMatchObject({
      price: { input: 0.05, output: 0.4 },
      context: 400000,
      capabilities: { prefill: false, tools: true, vision: true },
      wildcard: false,
    });
    expect(c.models.get('strong')?.capabilities).toEqual({ prefill: true, tools: true, vision: false });
    expect(c.models.get('any')?.wildcard).toBe(true);
  });

  it('maps tenant keys and requires auth when tenants exist', () => {
    expect(c.tenantsByKey.get('k2')).toEqual({ name: 'acme', labels: { tier: 'paid' } });
    expect(c.tenantsByKey.get('k3')).toEqual({ name: 'globex', labels: {} });
    expect(c.requiresAuth).toBe(true);
    expect(compileYaml(`routes: [ { name: r, targets: [fast] } ]`).requiresAuth).toBe(false);
  });

  it('lists accepted models: when values and non-wildcard upstream names, sorted', () => {
    expect(c.acceptedModels).toEqual(['claude-4', 'default', 'gpt-5', 'gpt-5-nano']);
  });

  it('marks request-dependent routes dynamic and precomputes the others', () => {
    expect(c.routes[0].dynamic).toBe(false);
    // Two shapes of tools × images, twice: the route mixes a provider that serves the Responses
    // API (OpenAI's own) with one that does not, so Responses-only requests are a shape too.
    expect(c.routes[0].decisions).toHaveLength(8);
    expect(c.routes[0].checksImages).toBe(true);
    expect(c.routes[0].checksResponses).toBe(true);
    expect(c.routes[1].dynamic).toBe(true);
    expect(c.routes[1].decisions).toBeNull();
  });
});
