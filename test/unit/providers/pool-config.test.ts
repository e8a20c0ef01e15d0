/**
 * A provider's `connections` and `keepAlive` from policy YAML to the compiled ProviderSpec (and so
 * to every request the provider makes), and what the schema refuses.
 */
import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../../engine/index.js';
import { DEFAULT_POOL } from '../../../engine/providers/pool.js';

function load(providers: string) {
  return parsePolicy([
    {
      file: 'pool.yaml',
      text: `switchyard: v1
policy: { name: pool, version: "1" }
providers:${providers}
models:
  m: { provider: first, model: m }
routes:
  - name: main
    targets: [m]
`,
    },
  ]);
}

describe('provider pool settings', () => {
  it('compiles connections and keepAlive into the provider spec', () => {
    const loaded = load(`
  first: { kind: openai, baseUrl: "http://127.0.0.1:1/v1", connections: 2, keepAlive: 5s }
  off: { kind: anthropic, keepAlive: false, connections: 65535 }
  zero: { kind: openai, baseUrl: "http://127.0.0.1:2/v1", keepAlive: 0ms }
  plain: { kind: openai, baseUrl: "http://127.0.0.1:3/v1" }
  fake: { kind: mock }`);
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.diagnostics));
    const providers = loaded.policy.providers;
    expect(providers.get('first')?.pool).toEqual({ connections: 2, keepAliveMs: 5000 });
    expect(providers.get('off')?.pool).toEqual({ connections: 65535, keepAliveMs: 0 });
    expect(providers.get('zero')?.pool).toEqual({ connections: DEFAULT_POOL.connections, keepAliveMs: 0 });
    expect(providers.get('plain')?.pool).toEqual({ connections: 1024, keepAliveMs: 30_000 });
    expect(DEFAULT_POOL).toEqual({ connections: 1024, keepAliveMs: 30_000 });
    expect(providers.get('fake')?.pool).toBeUndefined();
  });

  it.each([
    ['connections: 0', '/providers/first/connections'],
    ['connections: 1.5', '/providers/first/connections'],
    ['connections: 65536', '/providers/first/connections'],
    ['connections: many', '/providers/first/connections'],
    ['keepAlive: true', '/providers/first/keepAlive'],
    ['keepAlive: 5 minutes', '/providers/first/keepAlive'],
    ['keepAlive: 30', '/providers/first/keepAlive'],
  ])('refuses %s', (field, pointer) => {
    const loaded = load(`\n  first: { kind: openai, baseUrl: "http://127.0.0.1:1/v1", ${field} }`);
    expect(loaded.ok).toBe(false);
    expect(loaded.diagnostics.some((d) => d.severity === 'error' && d.pointer.startsWith(pointer))).toBe(
      true,
    );
  });

  it('refuses pool settings on a mock provider, which has no connections', () => {
    const loaded = load(`
  first: { kind: openai, baseUrl: "http://127.0.0.1:1/v1" }
  fake: { kind: mock, connections: 4 }`);
    expect(loaded.ok).toBe(false);
  });
});
