/** explain shows the classifiers, which routes read each, and takes given labels from the request. */
import { describe, expect, it } from 'vitest';
import { createEngine, loadPolicy } from '../../../engine/index.js';
import { explainDecision, renderExplainHuman, withClassifiers } from '../../../server/explain.js';

describe('explain with classifiers', () => {
  it('lists each classifier with the routes that depend on it, and explains given labels', async () => {
    const loaded = await loadPolicy('policies/smart-router.yaml');
    if (!loaded.ok) throw new Error('the example policy does not load');
    const engine = createEngine(loaded.policy);
    const body = { model: 'auto', messages: [{ role: 'user', content: 'write code' }] };
    const explain = (classes?: Record<string, string>) => {
      const decision = engine.decide(
        { body, ...(classes === undefined ? {} : { classes }) },
        { explain: true },
      );
      if (decision.kind === 'rejected') throw new Error(decision.message);
      return withClassifiers(explainDecision(loaded.policy.identity, decision), loaded.policy);
    };
    const unclassified = explain();
    expect(unclassified.classifiers).toEqual([
      {
        name: 'task',
        kind: 'model',
        labels: ['code', 'summarise', 'chat'],
        model: 'triage',
        default: 'chat',
        timeoutMs: 1000,
        routes: ['coding', 'summaries'],
      },
      {
        name: 'effort',
        kind: 'complexity',
        labels: ['simple', 'complex'],
        model: null,
        default: null,
        timeoutMs: null,
        routes: ['hard'],
      },
    ]);
    const text = renderExplainHuman(unclassified);
    expect(text).toContain(
      'task: model via triage, default chat, timeout 1s; labels code, summarise, chat; read by coding, summaries',
    );
    expect(text).toContain('coding: class.task is absent, wanted "code" (not classified by explain');
    expect(explain({ task: 'code' }).route).toBe('coding');
    await engine.close();
  });
});

describe('explain with traffic rules', () => {
  it("shows the matched route's limits, budgets and cache layers, in JSON and for people", async () => {
    const { parsePolicy } = await import('../../../engine/index.js');
    const parsed = parsePolicy([
      {
        file: 'p.yaml',
        text: `switchyard: v1
policy: { name: t, version: "1" }
providers:
  mock: { kind: mock }
models:
  fast: { provider: mock, model: m }
  cheap: { provider: mock, model: c }
  embed: { provider: mock, model: e }
tenants:
  acme: { keys: [sk-a], labels: { tier: free } }
limits:
  free: { key: [tenant], requests: 10/min, tokens: 5000/min, when: { label.tier: free } }
budgets:
  monthly: { key: [tenant], usd: 50/month, onExceeded: { downgradeTo: [cheap] } }
caches:
  faq: { mode: exact, ttl: 1h }
  near: { mode: semantic, ttl: 1h, embedding: embed, threshold: 0.9 }
routes:
  - name: plain
    when: { model: plain }
    targets: [fast]
  - name: chat
    targets: [fast, cheap]
    limits: [free]
    budgets: [monthly]
    cache: [faq, near]
`,
      },
    ]);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.diagnostics));
    const engine = createEngine(parsed.policy);
    const explain = (model: string) => {
      const decision = engine.decide(
        {
          body: { model, messages: [{ role: 'user', content: 'hi' }] },
          headers: { authorization: 'Bearer sk-a' },
        },
        { explain: true },
      );
      if (decision.kind === 'rejected') throw new Error(decision.message);
      return withClassifiers(explainDecision(parsed.policy.identity, decision), parsed.policy);
    };
    expect(explain('plain').rules).toBeUndefined();
    const report = explain('gpt-5');
    expect(report.rules).toEqual({
      limits: [
        {
          name: 'free',
          key: ['tenant'],
          requests: '10/min',
          tokens: '5000/min',
          concurrency: null,
          when: { 'label.tier': 'free' },
        },
      ],
      budgets: [{ name: 'monthly', key: ['tenant'], usd: '50/month', onExceeded: 'downgrade to cheap' }],
      caches: [
        { name: 'faq', mode: 'exact', ttl: '1h', threshold: null },
        { name: 'near', mode: 'semantic', ttl: '1h', threshold: 0.9 },
      ],
    });
    const text = renderExplainHuman(report);
    expect(text).toContain(
      'limit free: 10 requests/min, 5000 tokens/min per tenant, when {"label.tier":"free"}',
    );
    expect(text).toContain('budget monthly: $50/month per tenant; then downgrade to cheap');
    expect(text).toContain('cache faq (layer 1): exact, ttl 1h');
    expect(text).toContain('cache near (layer 2): semantic, ttl 1h, similarity >= 0.9');
    await engine.close();
  });
});
