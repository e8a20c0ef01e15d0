import { describe, expect, it } from 'vitest';
import { chooseIndexKey, findFirstMatch, findFirstMatchLinear } from '../../../engine/compile/graph.js';
import { compileYaml, makeContext } from './helpers.js';

describe('chooseIndexKey', () => {
  it('prefers model, then tenant, path, metadata, label, header; fewer values break ties', () => {
    expect(chooseIndexKey({ 'header.x': 'a', model: 'm', tenant: 't' })?.field).toBe('model');
    expect(chooseIndexKey({ 'label.tier': 'a', tenant: 't' })?.field).toBe('tenant');
    expect(chooseIndexKey({ 'header.X-Team': 'a' })).toEqual({ field: 'header.x-team', values: ['a'] });
    expect(chooseIndexKey({ 'metadata.a': { in: ['x', 'y'] }, 'metadata.b': 'z' })?.field).toBe('metadata.b');
  });

  it('uses `in` even beside other operators and looks into all, never any or not', () => {
    expect(chooseIndexKey({ model: { in: ['a', 'a', 'b'], glob: '*' } })).toEqual({
      field: 'model',
      values: ['a', 'b'],
    });
    expect(chooseIndexKey({ all: [{ tenant: 'acme' }] })?.field).toBe('tenant');
    expect(chooseIndexKey({ any: [{ model: 'a' }] })).toBeNull();
    expect(chooseIndexKey({ not: { model: 'a' } })).toBeNull();
    expect(chooseIndexKey({ model: { glob: 'gpt-*' } })).toBeNull();
    expect(chooseIndexKey({ stream: true, 'body.user': 'x' })).toBeNull();
    expect(chooseIndexKey(undefined)).toBeNull();
  });
});

describe('route index', () => {
  const policy = compileYaml(`
routes:
  - { name: m1, when: { model: a }, targets: [fast] }
  - { name: t1, when: { 'metadata.task': x, stream: true }, targets: [fast] }
  - { name: g1, when: { model: { glob: "a*" } }, targets: [fast] }
  - { name: m2, when: { model: { in: [a, b] } }, targets: [fast] }
  - { name: t2, when: { 'metadata.task': x }, targets: [fast] }
  - { name: h1, when: { 'header.X-Team': red }, targets: [fast] }
  - { name: all, targets: [fast] }
  - { name: after, when: { model: c }, targets: [fast] }
`);

  it('files routes under their key, the rest in the always-check list, cut at exact matches', () => {
    expect(policy.index.keyOf).toEqual([
      'model',
      'metadata.task',
      null,
      'model',
      'metadata.task',
      'header.x-team',
      null,
      'model',
    ]);
    // `m1` is exact: `m2` can never be first for model a, so the bucket ends at m1.
    const model = policy.index.fields.find((f) => f.field === 'model');
    expect(model?.buckets.get('a')).toEqual([0]);
    expect(model?.buckets.get('b')).toEqual([3]);
    // The catch-all is exact: the always-check list ends there.
    expect(policy.index.always).toEqual([2, 6]);
    expect(policy.index.exact).toEqual([true, false, false, true, true, true, true, true]);
  });

  it('finds the same route as the linear scan', () => {
    const cases = [
      makeContext({ model: 'a' }),
      makeContext({ model: 'ab' }),
      makeContext({ model: 'b', metadata: { task: 'x' } }),
      makeContext({ model: 'z', metadata: { task: 'x' }, stream: true }),
      makeContext({ model: 'z', headers: { 'x-team': 'red' } }),
      makeContext({ model: 'c' }),
      makeContext({ model: '' }),
    ];
    const got = cases.map((c) => policy.routes[findFirstMatch(policy.index, policy.routes, c)]?.name);
    expect(got).toEqual(['m1', 'g1', 'm2', 't1', 'h1', 'all', 'all']);
    for (const c of cases) {
      expect(findFirstMatch(policy.index, policy.routes, c)).toBe(findFirstMatchLinear(policy.routes, c));
    }
  });

  it('returns -1 when nothing matches', () => {
    const p = compileYaml(`routes: [ { name: a, when: { model: a }, targets: [fast] } ]`);
    expect(findFirstMatch(p.index, p.routes, makeContext({ model: 'b' }))).toBe(-1);
  });

  it('merges three or more candidate lists in route order', () => {
    const p = compileYaml(`
routes:
  - { name: h, when: { 'header.x': '1', stream: true }, targets: [fast] }
  - { name: t, when: { tenant: acme, stream: true }, targets: [fast] }
  - { name: g, when: { stream: true }, targets: [fast] }
  - { name: m, when: { model: gpt-5 }, targets: [fast] }
  - { name: t2, when: { tenant: acme }, targets: [fast] }
`);
    const c = makeContext({ model: 'gpt-5', tenant: 'acme', headers: { x: '1' } });
    expect(p.routes[findFirstMatch(p.index, p.routes, c)].name).toBe('m');
    const s = makeContext({ model: 'gpt-5', tenant: 'acme', headers: { x: '1' }, stream: true });
    expect(p.routes[findFirstMatch(p.index, p.routes, s)].name).toBe('h');
  });
});
