/**
 * The embedding API refuses what the server refuses: `createEngine().handle()` runs the same
 * check stage, so a malformed body is a 400 with the field named, never an upstream call.
 */
import { describe, expect, it } from 'vitest';
import { createEngine, parsePolicy } from '../../../engine/index.js';
import { MAX_BODY_DEPTH, nestsDeeperThan } from '../../../engine/request-checks.js';
import { mockPolicyYaml } from '../../support/policies.js';

const POLICY = mockPolicyYaml({
  name: 'checks',
  models: '  echo: { provider: demo, model: mock-echo }',
  routes: `  - name: chat
    targets: [echo]`,
});

function engine() {
  const loaded = parsePolicy([{ file: 'p.yaml', text: POLICY }]);
  if (!loaded.ok) throw new Error('policy did not load');
  let calls = 0;
  const e = createEngine(loaded.policy, { onAttempt: () => calls++ });
  return { engine: e, calls: () => calls };
}

function nested(depth: number): unknown {
  let v: unknown = 'leaf';
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

describe('handle() checks the request like the server', () => {
  const cases: { name: string; body: unknown; path?: string; param: string | null }[] = [
    { name: 'no messages', body: { model: 'gpt-5' }, param: 'messages' },
    { name: 'messages not an array', body: { model: 'gpt-5', messages: 'hi' }, param: 'messages' },
    {
      name: 'a message without role',
      body: { model: 'gpt-5', messages: [{ content: 'hi' }] },
      param: 'messages[0].role',
    },
    {
      name: 'stream not a boolean',
      body: { model: 'gpt-5', messages: [{ role: 'user', content: 'hi' }], stream: 'yes' },
      param: 'stream',
    },
    { name: 'a body that is not an object', body: ['x'], param: null },
    { name: 'embeddings without input', body: { model: 'e' }, path: '/v1/embeddings', param: 'input' },
    {
      name: `a body nested deeper than ${MAX_BODY_DEPTH} levels`,
      body: {
        model: 'gpt-5',
        messages: [{ role: 'user', content: 'hi' }],
        metadata: { deep: nested(20_000) },
      },
      param: null,
    },
  ];

  for (const c of cases) {
    it(`refuses ${c.name} with a 400 before any upstream call`, async () => {
      const { engine: e, calls } = engine();
      const res = await e.handle({ body: c.body, ...(c.path ? { path: c.path } : {}) });
      expect(res.status).toBe(400);
      expect(res.kind).toBe('json');
      if (res.kind !== 'json') return;
      const error = (res.body as { error: { type: string; code: string; param?: unknown } }).error;
      expect(error.type).toBe('invalid_request_error');
      expect(error.code).toBe('invalid_request');
      expect(error.param ?? null).toBe(c.param);
      expect(calls()).toBe(0);
      await e.close();
    });
  }

  it('answers a well-formed request', async () => {
    const { engine: e } = engine();
    const res = await e.handle({ body: { model: 'gpt-5', messages: [{ role: 'user', content: 'hi' }] } });
    expect(res.status).toBe(200);
    await e.close();
  });

  it('answers a body the HTTP layer could not parse with its invalid_json error', async () => {
    const { engine: e, calls } = engine();
    const res = await e.handle({
      body: null,
      refused: { code: 'invalid_json', detail: 'The request body is not valid JSON.' },
    });
    expect(res.status).toBe(400);
    expect(res.kind === 'json' && res.body).toEqual({
      error: {
        message: 'The request body is not valid JSON.',
        type: 'invalid_request_error',
        code: 'invalid_json',
      },
    });
    expect(calls()).toBe(0);
    await e.close();
  });
});

describe('nestsDeeperThan', () => {
  const chain = (depth: number, wrap: (v: unknown) => unknown): unknown => {
    let v: unknown = 'leaf';
    for (let i = 0; i < depth; i++) v = wrap(v);
    return v;
  };
  it('counts objects and arrays alike, up to the bound and not past it', () => {
    for (const wrap of [(v: unknown) => ({ k: v }), (v: unknown) => [v], (v: unknown) => ({ a: [v] })]) {
      expect(nestsDeeperThan(chain(2, wrap), 4)).toBe(false);
      expect(nestsDeeperThan(chain(5, wrap), 4)).toBe(true);
    }
    expect(nestsDeeperThan({ a: 1, b: [1, 2, { c: 'x' }] }, 3)).toBe(false);
    expect(nestsDeeperThan({ a: 1, b: [1, 2, { c: 'x' }] }, 2)).toBe(true);
    expect(nestsDeeperThan('text', 0)).toBe(false);
  });
});
