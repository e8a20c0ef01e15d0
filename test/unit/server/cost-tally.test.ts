/** The per-replica spend tally of `/admin/spend`: sums by dimension, sorted, bounded with `other`. */
import { describe, expect, it } from 'vitest';
import { CostTally } from '../../../server/cost-tally.js';

describe('CostTally', () => {
  it('sums cost by tenant, route and model, most spent first; free answers are not counted', () => {
    const t = new CostTally(Date.UTC(2026, 0, 1));
    t.add({ tenant: 'acme', route: 'chat', target: 'big', costUsd: 0.5 });
    t.add({ tenant: 'globex', route: 'chat', target: 'small', costUsd: 0.25 });
    t.add({ tenant: 'acme', route: 'code', target: 'big', costUsd: 1 });
    t.add({ tenant: 'acme', route: 'chat', target: 'big', costUsd: 0 }); // a cache hit
    t.add({ tenant: 'acme', route: 'chat', target: null, costUsd: null }); // an error
    const r = t.report();
    expect(r.since).toBe('2026-01-01T00:00:00.000Z');
    expect(r.totalUsd).toBe(1.75);
    expect(r.byTenant).toEqual([
      { name: 'acme', usd: 1.5, requests: 2 },
      { name: 'globex', usd: 0.25, requests: 1 },
    ]);
    expect(r.byRoute.map((e) => e.name)).toEqual(['code', 'chat']);
    expect(r.byModel).toEqual([
      { name: 'big', usd: 1.5, requests: 2 },
      { name: 'small', usd: 0.25, requests: 1 },
    ]);
  });

  it('keeps at most maxValues names per dimension; the rest goes to other', () => {
    const t = new CostTally(0, 2);
    for (const tenant of ['a', 'b', 'c', 'd', 'a']) t.add({ tenant, route: 'r', target: 'm', costUsd: 1 });
    expect(t.report().byTenant).toEqual([
      { name: 'a', usd: 2, requests: 2 },
      { name: 'other', usd: 2, requests: 2 },
      { name: 'b', usd: 1, requests: 1 },
    ]);
  });
});

describe('CostTally by attributed field', () => {
  it('sums the engine-bucketed values of each field; requests without attribution add none', () => {
    const t = new CostTally(0);
    t.add({
      tenant: 'a',
      route: 'r',
      target: 'm',
      costUsd: 1,
      attribution: { 'metadata.feature': 'search' },
    });
    t.add({ tenant: 'a', route: 'r', target: 'm', costUsd: 2, attribution: { 'metadata.feature': 'other' } });
    t.add({
      tenant: 'a',
      route: 'r',
      target: 'm',
      costUsd: 4,
      attribution: { 'metadata.feature': 'search' },
    });
    t.add({ tenant: 'a', route: 'r', target: 'm', costUsd: 8 });
    expect(t.report().byAttribute).toEqual({
      'metadata.feature': [
        { name: 'search', usd: 5, requests: 2 },
        { name: 'other', usd: 2, requests: 1 },
      ],
    });
    expect(new CostTally(0).report().byAttribute).toEqual({});
  });

  it('bounds the values of a field and the number of fields by maxValues', () => {
    const t = new CostTally(0, 2);
    for (const v of ['a', 'b', 'c']) {
      t.add({ tenant: 't', route: 'r', target: 'm', costUsd: 1, attribution: { [`f${v}`]: v, g: v } });
    }
    const r = t.report().byAttribute;
    expect(Object.keys(r).sort()).toEqual(['fa', 'g']);
    expect(r.g.map((e) => e.name)).toEqual(['a', 'b', 'other']);
  });
});
