/**
 * The classifiers at runtime, through the engine: only the classifiers a candidate route needs
 * run; results are cached for identical input; a timeout, failure or unparseable answer gives the
 * default label; the call's cost is the request's and its route's budgets'; embedding examples are
 * embedded once. Upstream calls are counted by wrapping the mock provider.
 */
import { describe, expect, it } from 'vitest';
import type { CompiledPolicy } from '../../../engine/compile/compile.js';
import { parsePolicy } from '../../../engine/compile/load-policy.js';
import { createProvider } from '../../../engine/providers/index.js';
import type { Provider, ProviderCallRequest, ProviderCallResult } from '../../../engine/providers/types.js';
import type { RecordInput } from '../../../engine/replay/record.js';
import { createEngine, type EngineOptions } from '../../../engine/runtime/engine.js';
import { VirtualClock } from '../../../engine/shared/virtual-clock.js';

const HEAD = `switchyard: v1
policy: { name: t, version: "1" }
providers:
  mock: { kind: mock }
models:
  triage: { provider: mock, model: triage-1, price: { input: 1000, output: 1000 } }
  emb: { provider: mock, model: emb-1, price: { input: 1000, output: 0 } }
  small: { provider: mock, model: small-1, price: { input: 1, output: 1 } }
  big: { provider: mock, model: big-1, price: { input: 1, output: 1 } }
`;

function compiled(yaml: string): CompiledPolicy {
  const r = parsePolicy([{ file: 'p.yaml', text: yaml }]);
  if (!r.ok) throw new Error(JSON.stringify(r.diagnostics));
  return r.policy;
}

type Script = (req: ProviderCallRequest, real: Provider) => Promise<ProviderCallResult>;

/** An engine whose mock provider counts calls per upstream model; `script` may replace an answer. */
function engineFor(policy: CompiledPolicy, script?: Script, extra: EngineOptions = {}) {
  const calls: string[] = [];
  const lines: RecordInput[] = [];
  const clock = new VirtualClock({ auto: true, start: Date.UTC(2026, 0, 1) });
  const engine = createEngine(policy, {
    clock,
    random: () => 0.5,
    recorder: { record: (entry) => lines.push(entry) },
    createProvider: (spec, deps) => {
      const real = createProvider(spec, deps);
      return {
        spec: real.spec,
        call: (req) => {
          calls.push(`${req.endpoint}:${req.upstreamModel}`);
          return script === undefined ? real.call(req) : script(req, real);
        },
      };
    },
    ...extra,
  });
  return { engine, calls, lines, clock };
}

const ask = (content: string, model = 'auto') => ({ body: { model, messages: [{ role: 'user', content }] } });
const settle = () => new Promise((r) => setImmediate(r));

const MODEL_CLASSIFIER = `${HEAD}classifiers:
  task: { kind: model, model: triage, labels: { code: "", chat: "" }, default: chat, timeout: 500ms }
budgets:
  spend: { key: [tenant], usd: 100/month }
routes:
  - name: pinned
    when: { model: pinned }
    targets: [small]
  - name: coding
    when: { class.task: code }
    targets: [big]
    budgets: [spend]
  - name: default
    targets: [small]
`;

describe('model classifier at runtime', () => {
  it('does not classify a request a route without class conditions takes first', async () => {
    const { engine, calls, lines } = engineFor(compiled(MODEL_CLASSIFIER));
    const r = await engine.handle(ask('write code', 'pinned'));
    await settle();
    expect(r.headers['x-switchyard-route']).toBe('pinned');
    expect(calls).toEqual(['chat:small-1']);
    expect(lines[0].classes).toBeUndefined();
  });

  it('classifies, routes on the label, caches identical input, and counts the cost', async () => {
    const { engine, calls, lines } = engineFor(compiled(MODEL_CLASSIFIER));
    const first = await engine.handle(ask('please write code'));
    const second = await engine.handle(ask('please write code'));
    await settle();
    expect(first.headers['x-switchyard-route']).toBe('coding');
    expect(second.headers['x-switchyard-route']).toBe('coding');
    expect(calls.filter((c) => c === 'chat:triage-1')).toHaveLength(1);
    expect(lines.map((l) => l.classes?.[0]?.source)).toEqual(['model', 'cache']);
    const classCost = lines[0].classes?.[0]?.costUsd ?? 0;
    expect(classCost).toBeGreaterThan(0);
    // The first request paid for the classification, the second (a cache hit) did not.
    expect((first.meta.costUsd ?? 0) - (second.meta.costUsd ?? 0)).toBeCloseTo(classCost, 12);
    // And the route's budget counted it.
    const spend = await engine.spend();
    const spent = spend.budgets.find((b) => b.name === 'spend')?.keys.reduce((sum, k) => sum + k.spentUsd, 0);
    expect(spent).toBeCloseTo((first.meta.costUsd ?? 0) + (second.meta.costUsd ?? 0), 6);
    await engine.close();
  });

  it('takes the default label on a timeout, a failure, or an answer that is not a label', async () => {
    const silent: Script = (req, real) =>
      req.upstreamModel === 'triage-1'
        ? new Promise((_, reject) => req.signal.addEventListener('abort', () => reject(req.signal.reason)))
        : real.call(req);
    const t = engineFor(compiled(MODEL_CLASSIFIER), silent);
    const timedOut = await t.engine.handle(ask('write code'));
    await settle();
    expect(timedOut.status).toBe(200);
    expect(timedOut.headers['x-switchyard-route']).toBe('default');
    expect(t.lines[0].classes?.[0]).toMatchObject({ label: 'chat', source: 'default', detail: 'timeout' });

    const failing: Script = async (req, real) =>
      req.upstreamModel === 'triage-1'
        ? {
            ok: false,
            error: {
              class: 'server_error',
              status: 500,
              message: 'x',
              retryAfterMs: null,
              body: { error: { message: 'x', type: 'x', code: null } },
            },
          }
        : real.call(req);
    const f = engineFor(compiled(MODEL_CLASSIFIER), failing);
    await f.engine.handle(ask('write code'));
    await settle();
    expect(f.lines[0].classes?.[0]).toMatchObject({ label: 'chat', source: 'default', detail: 'error' });

    const chatty: Script = async (req, real) => {
      if (req.upstreamModel !== 'triage-1') return real.call(req);
      const r = await real.call(req);
      if (!r.ok || r.kind !== 'json') return r;
      const body = structuredClone(r.body) as { choices: { message: { content: string } }[] };
      body.choices[0].message.content = 'I think it is code';
      return { ...r, body: body as never };
    };
    const u = engineFor(compiled(MODEL_CLASSIFIER), chatty);
    const unparsed = await u.engine.handle(ask('write code'));
    await settle();
    expect(unparsed.headers['x-switchyard-route']).toBe('default');
    expect(u.lines[0].classes?.[0]).toMatchObject({ label: 'chat', source: 'default', detail: 'unparsed' });
    // The unparseable answer was still paid for.
    expect(u.lines[0].classes?.[0]?.costUsd).toBeGreaterThan(0);
  });

  it('uses given labels instead of classifying (replay, test cases)', async () => {
    const { engine, calls, lines } = engineFor(compiled(MODEL_CLASSIFIER));
    const r = await engine.handle({ ...ask('hello'), classes: { task: { label: 'code', costUsd: 0.5 } } });
    await settle();
    expect(r.headers['x-switchyard-route']).toBe('coding');
    expect(calls).not.toContain('chat:triage-1');
    expect(lines[0].classes).toEqual([{ classifier: 'task', label: 'code', source: 'given', costUsd: 0.5 }]);
    expect(r.meta.costUsd ?? 0).toBeGreaterThanOrEqual(0.5);
    // A label the classifier does not declare is not taken: the classifier runs.
    await engine.handle({ ...ask('hello'), classes: { task: 'nonsense' } });
    expect(calls).toContain('chat:triage-1');
  });
});

describe('embedding classifier at runtime', () => {
  const POLICY = `${HEAD}classifiers:
  topic:
    kind: embedding
    model: emb
    labels:
      billing: ["refund my invoice", "update my card"]
      outage: ["the site is down"]
    default: other
    minSimilarity: 0.99
routes:
  - name: billing
    when: { class.topic: billing }
    targets: [big]
  - name: default
    targets: [small]
`;
  it('embeds the examples once and takes the nearest example, or the default below minSimilarity', async () => {
    const { engine, calls, lines } = engineFor(compiled(POLICY));
    const a = await engine.handle(ask('update my card'));
    const b = await engine.handle(ask('something unrelated'));
    await settle();
    expect(a.headers['x-switchyard-route']).toBe('billing');
    expect(b.headers['x-switchyard-route']).toBe('default');
    // Examples once (one batched call), then one call per distinct input.
    expect(calls.filter((c) => c === 'embeddings:emb-1')).toHaveLength(3);
    expect(lines[0].classes?.[0]).toMatchObject({ label: 'billing', source: 'embedding', similarity: 1 });
    expect(lines[1].classes?.[0]).toMatchObject({
      label: 'other',
      source: 'default',
      detail: 'below_similarity',
    });
  });
});

describe('embedding classifier whose examples cannot be embedded', () => {
  it('takes the default label, and waits 30s before trying the examples again', async () => {
    const policy = compiled(`${HEAD}classifiers:
  topic: { kind: embedding, model: emb, labels: { billing: ["refund"] }, default: other }
routes:
  - name: billing
    when: { class.topic: billing }
    targets: [big]
  - name: default
    targets: [small]
`);
    const down: Script = async (req, real) =>
      req.endpoint === 'embeddings'
        ? {
            ok: false,
            error: {
              class: 'overloaded',
              status: 503,
              message: 'x',
              retryAfterMs: null,
              body: { error: { message: 'x', type: 'x', code: null } },
            },
          }
        : real.call(req);
    const { engine, calls, lines, clock } = engineFor(policy, down);
    await engine.handle(ask('refund'));
    await engine.handle(ask('refund please'));
    await settle();
    expect(calls.filter((c) => c.startsWith('embeddings'))).toHaveLength(1);
    expect(lines.map((l) => l.classes?.[0]?.detail)).toEqual(['examples', 'examples']);
    expect(lines.map((l) => l.decision?.kind === 'route' && l.decision.route)).toEqual([
      'default',
      'default',
    ]);
    await clock.advance(30_000);
    await engine.handle(ask('refund again'));
    expect(calls.filter((c) => c.startsWith('embeddings'))).toHaveLength(2);
  });
});

describe('complexity classifier at runtime', () => {
  it('classifies without any upstream call', async () => {
    const policy = compiled(`${HEAD}classifiers:
  effort: { kind: complexity, labels: { simple: 0.3, complex: 1 } }
routes:
  - name: hard
    when: { class.effort: complex }
    targets: [big]
  - name: default
    targets: [small]
`);
    const { engine, calls, lines } = engineFor(policy);
    const hard = await engine.handle(ask('Prove step by step why this holds. Why? Explain the derivation.'));
    const easy = await engine.handle(ask('hello'));
    await settle();
    expect(hard.headers['x-switchyard-route']).toBe('hard');
    expect(easy.headers['x-switchyard-route']).toBe('default');
    expect(calls).toEqual(['chat:big-1', 'chat:small-1']);
    expect(lines[0].classes?.[0]).toMatchObject({
      classifier: 'effort',
      label: 'complex',
      source: 'heuristic',
      costUsd: 0,
    });
  });
});

describe('engine.decide (explain) and the call-free complexity classifier', () => {
  const POLICY = `${HEAD}classifiers:
  task: { kind: model, model: triage, labels: { code: "", chat: "" }, default: chat }
  effort: { kind: complexity, labels: { simple: 0.3, complex: 1 } }
routes:
  - name: coding
    when: { class.task: code }
    targets: [big]
  - name: hard
    when: { class.effort: complex }
    targets: [big]
  - name: rest
    targets: [small]
`;
  const HARD =
    'Prove step by step why the square root of 2 is irrational. Why does the proof work? Derive it.';

  it('scores complexity itself, leaves model classifiers unlabelled, and never calls upstream', async () => {
    const { engine, calls } = engineFor(compiled(POLICY));
    const hard = engine.decide(ask(HARD), { explain: true });
    expect(hard.kind === 'route' && hard.route).toBe('hard');
    expect(hard.kind !== 'rejected' && hard.skipped.map((s) => s.reason)).toEqual([
      'class.task is absent, wanted "code"',
    ]);
    const easy = engine.decide(ask('Good morning'), { explain: true });
    expect(easy.kind === 'route' && easy.route).toBe('rest');
    expect(calls).toEqual([]);
    await engine.close();
  });

  it('takes a given label over the heuristic, and a given model label routes', async () => {
    const { engine } = engineFor(compiled(POLICY));
    const given = engine.decide({ ...ask(HARD), classes: { effort: 'simple' } }, { explain: true });
    expect(given.kind === 'route' && given.route).toBe('rest');
    const code = engine.decide({ ...ask('Good morning'), classes: { task: 'code' } }, { explain: true });
    expect(code.kind === 'route' && code.route).toBe('coding');
    await engine.close();
  });
});
