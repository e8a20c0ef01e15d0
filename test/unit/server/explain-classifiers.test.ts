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
