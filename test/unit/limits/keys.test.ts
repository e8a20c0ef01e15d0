import { describe, expect, it } from 'vitest';
import { compileKey } from '../../../engine/limits/keys.js';
import type { RequestContext } from '../../../engine/types.js';
import { makeContext } from '../../support/decision-fixtures.js';

function ctx(o: Partial<RequestContext> = {}): RequestContext {
  return { ...makeContext({ model: 'gpt-5' }), ...o };
}

describe('compileKey', () => {
  it('reads every kind of field, in declared order', () => {
    const key = compileKey([
      'tenant',
      'route',
      'model',
      'target',
      'label.tier',
      'header.X-User',
      'metadata.app',
    ]);
    const c = ctx({
      tenant: 'acme',
      labels: { tier: 'paid' },
      headers: { 'x-user': 'bob' },
      metadata: { app: 'chat' },
    });
    expect(key({ ctx: c, route: 'chat', target: 'fast' })).toBe(
      'tenant=acme|route=chat|model=gpt-5|target=fast|label.tier=paid|header.x-user=bob|metadata.app=chat',
    );
  });

  it('marks absent values distinctly from empty ones', () => {
    const key = compileKey(['tenant', 'model', 'target', 'metadata.app']);
    expect(key({ ctx: ctx({ tenant: null, model: '' }), route: 'r' })).toBe(
      'tenant|model|target|metadata.app',
    );
    expect(key({ ctx: ctx({ tenant: '', metadata: { app: '' } }), route: 'r', target: null })).toBe(
      'tenant=|model=gpt-5|target|metadata.app=',
    );
  });

  it('escapes values so that separators inside values cannot collide', () => {
    const key = compileKey(['label.a', 'label.b']);
    const one = key({ ctx: ctx({ labels: { a: 'x|y', b: 'z' } }), route: 'r' });
    const two = key({ ctx: ctx({ labels: { a: 'x', b: 'y|z' } }), route: 'r' });
    const three = key({ ctx: ctx({ labels: { a: 'x%7Cy', b: 'z' } }), route: 'r' });
    expect(new Set([one, two, three]).size).toBe(3);
    expect(one).toBe('label.a=x%7Cy|label.b=z');
    expect(three).toBe('label.a=x%257Cy|label.b=z');
    // Lone surrogates and other odd text never throw.
    expect(() => key({ ctx: ctx({ labels: { a: '\ud800', b: '\n=' } }), route: 'r' })).not.toThrow();
  });

  it('ignores inherited members of the records', () => {
    const key = compileKey(['label.constructor']);
    expect(key({ ctx: ctx(), route: 'r' })).toBe('label.constructor');
  });
});
