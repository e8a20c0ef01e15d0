import { describe, expect, it } from 'vitest';
import { createEngine, parsePolicy } from '../../../engine/index.js';
import { describeMismatch, markInterpolated } from '../../../engine/match/match.js';
import type { When } from '../../../engine/policy/types.generated.js';
import { explainDecision, renderExplainHuman } from '../../../server/explain.js';
import { makeContext } from './helpers.js';

const HEAD = `switchyard: v1
policy: { name: p, version: "1" }
providers:
  m: { kind: mock }
models:
  a: { provider: m, model: ma }
  b: { provider: m, model: mb }
`;

function explain(text: string, env: Record<string, string>, request: { headers?: Record<string, string> }) {
  const r = parsePolicy([{ file: 'p.yaml', text }], { env });
  if (!r.ok) throw new Error(JSON.stringify(r.diagnostics, null, 2));
  const engine = createEngine(r.policy);
  const decision = engine.decide(
    {
      body: { model: 'x', messages: [{ role: 'user', content: 'hi' }] },
      headers: request.headers ?? {},
    },
    { explain: true },
  );
  const report = explainDecision(r.policy.identity, decision);
  return { report, text: `${JSON.stringify(report)}\n${renderExplainHuman(report)}` };
}

describe('explain never prints environment values of `when`', () => {
  const policy = `${HEAD}routes:
  - name: admin
    when: { header.x-admin-token: "\${ADMIN_TOKEN}" }
    targets: [a]
  - name: not-admin
    when: { not: { header.x-team: "\${TEAM_SECRET}" } }
    targets: [a]
  - name: ops
    when: { header.x-key: { in: [public, "\${OPS_KEY}"] } }
    targets: [a]
  - name: rest
    targets: [b]
`;
  const env = { ADMIN_TOKEN: 'SUPERSECRET', TEAM_SECRET: 'TEAMSECRET', OPS_KEY: 'OPSSECRET' };

  it('says "the value of an environment variable" instead of the value', () => {
    const { report, text } = explain(policy, env, { headers: { 'x-team': 'TEAMSECRET', 'x-key': 'nope' } });
    expect(report.route).toBe('rest');
    expect(text).not.toContain('SUPERSECRET');
    expect(text).not.toContain('TEAMSECRET');
    expect(text).not.toContain('OPSSECRET');
    const reasons = report.skipped.map((s) => s.reason);
    expect(reasons[0]).toBe('header.x-admin-token is absent, wanted the value of an environment variable');
    expect(reasons[1]).toContain('the value of an environment variable');
    expect(reasons[2]).toBe(
      'header.x-key is "nope", wanted one of [public, the value of an environment variable]',
    );
  });

  it('never prints the caller’s authorization header', () => {
    const { report, text } = explain(
      `${HEAD}routes:\n  - name: bearer\n    when: { header.authorization: { glob: "Bearer team-*" } }\n    targets: [a]\n  - name: rest\n    targets: [b]\n`,
      {},
      { headers: { authorization: 'Bearer sk-caller-secret' } },
    );
    expect(report.route).toBe('rest');
    expect(text).not.toContain('sk-caller-secret');
    expect(report.skipped[0].reason).toContain('header.authorization is present (value not shown)');
  });

  it('describeMismatch masks marked values and leaves others as before', () => {
    const when: When = { model: 'gpt-5', 'header.x-a': 'hidden' };
    markInterpolated(when, 'header.x-a');
    const ctx = makeContext({ model: 'gpt-5', headers: { 'x-a': 'other' } });
    expect(describeMismatch(when, ctx)).toBe(
      'header.x-a is "other", wanted the value of an environment variable',
    );
    expect(describeMismatch({ model: 'gpt-4' }, ctx)).toBe('model is "gpt-5", wanted "gpt-4"');
  });
});

describe('explain plan and retryOn', () => {
  it('does not list classes the engine never retries on the same target', () => {
    const { report, text } = explain(
      `${HEAD}routes:\n  - name: r\n    retry: { attempts: 2, retryOn: [server_error, timeout, first_token, idle, context_length, content_policy] }\n    targets: [a, b]\n`,
      {},
      {},
    );
    expect(report.plan?.targets[0].retry.retryOn).toEqual(['server_error']);
    expect(text).toContain('retries: up to 2 on server_error (');
    expect(text).not.toMatch(/retries: up to 2 on [^(]*timeout/);
  });
});

describe('explain counts upstream calls', () => {
  it.each([
    [
      'two targets without retries',
      'defaults:\n  retry: { attempts: 0 }\n',
      '',
      2,
      'at most 2 upstream calls;',
    ],
    ['the default retries (1 + 2 each)', '', '', 6, 'at most 6 upstream calls;'],
    [
      'a route cap below the retries',
      '',
      '    maxAttempts: 4\n',
      4,
      "at most 4 upstream calls (the route's maxAttempts);",
    ],
    [
      'retries only on classes never retried',
      'defaults:\n  retry: { attempts: 3, retryOn: [timeout] }\n',
      '',
      2,
      'at most 2 upstream calls;',
    ],
    [
      'a first target that never falls back',
      '',
      '    retry: { attempts: 0, fallbackOn: [] }\n',
      1,
      'at most 1 upstream call;',
    ],
  ])('%s', (_what, defaults, route, calls, line) => {
    const { report, text } = explain(
      `${HEAD}${defaults}routes:\n  - name: r\n    targets: [a, b]\n${route}`,
      {},
      {},
    );
    expect(report.plan?.maxUpstreamCalls).toBe(calls);
    expect(text).toContain(line);
  });
});

describe('explain shows prices and prompt caching per target', () => {
  const policy = `switchyard: v1
policy: { name: p, version: "1" }
providers:
  claude: { kind: anthropic, apiKey: sk-ant-test }
  m: { kind: mock }
models:
  sonnet: { provider: claude, model: claude-sonnet-4-5, price: { input: 3, output: 15, cachedInput: 0.3, cacheWrite: 3.75 } }
  free: { provider: m, model: mf }
routes:
  - name: agent
    promptCache: { tools: true }
    targets: [sonnet, free]
`;

  it('prints the declared rates and what is marked cacheable, and nothing for a model without them', () => {
    const { report, text } = explain(policy, {}, {});
    expect(report.plan?.targets.map((t) => [t.name, t.price, t.promptCache])).toEqual([
      [
        'sonnet',
        { input: 3, output: 15, cachedInput: 0.3, cacheWrite: 3.75 },
        { system: false, tools: true },
      ],
      ['free', null, { system: false, tools: true }],
    ]);
    expect(text).toContain('price: $3 in, $15 out, $0.3 cached in, $3.75 cache write per 1M tokens');
    expect(text).toContain('prompt cache: tools marked cacheable');
    expect(text.match(/price:/g)).toHaveLength(1);
  });
});
