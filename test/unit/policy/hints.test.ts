import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { didYouMean, editDistance, hintThreshold } from '../../../engine/policy/hints.js';

describe('editDistance (unrestricted Damerau–Levenshtein)', () => {
  it.each([
    ['', '', 0],
    ['', 'abc', 3],
    ['abc', '', 3],
    ['kitten', 'sitting', 3],
    ['modles', 'models', 1],
    ['fallbak', 'fallback', 1],
    ['ab', 'ba', 1],
    // A transposed pair may be edited again: OSA would say 3 for both of these.
    ['ca', 'abc', 2],
    ['demo', 'mdo', 2],
    ['timeout', 'tiemout', 1],
  ])('%j ↔ %j = %d', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });

  test.prop([fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 })])(
    'is symmetric, zero only for equal strings, and bounded by the longer length',
    (a, b) => {
      const d = editDistance(a, b);
      expect(editDistance(b, a)).toBe(d);
      expect(d === 0).toBe(a === b);
      expect(d).toBeLessThanOrEqual(Math.max(a.length, b.length));
      expect(d).toBeGreaterThanOrEqual(Math.abs(a.length - b.length));
    },
  );
});

describe('didYouMean', () => {
  const keys = [
    'providers',
    'models',
    'tenants',
    'limits',
    'budgets',
    'caches',
    'guardrails',
    'defaults',
    'routes',
  ];

  it('suggests the nearest known name', () => {
    expect(didYouMean('fallbak', ['fallback', 'weighted', 'latency', 'sticky'])).toBe('fallback');
    expect(didYouMean('modles', keys)).toBe('models');
    expect(didYouMean('gaurdrails', keys)).toBe('guardrails');
    expect(didYouMean('route', keys)).toBe('routes');
    expect(didYouMean('Models', keys)).toBe('models');
  });

  it('gives nonsense no hint', () => {
    expect(didYouMean('xyzzy', keys)).toBeUndefined();
    expect(didYouMean('a', ['b'])).toBeUndefined();
    expect(didYouMean('ttl', ['url'])).toBeUndefined();
    expect(didYouMean('anything', [])).toBeUndefined();
  });

  it('does not suggest the input itself', () => {
    expect(didYouMean('models', keys)).toBeUndefined();
  });

  it('allows up to a third of the length for long names', () => {
    expect(didYouMean('per-tenent-limt', ['per-tenant-limit'])).toBe('per-tenant-limit');
    expect(hintThreshold(1)).toBe(0);
    expect(hintThreshold(3)).toBe(1);
    expect(hintThreshold(4)).toBe(2);
    expect(hintThreshold(8)).toBe(2);
    expect(hintThreshold(12)).toBe(4);
  });

  it('breaks ties deterministically, independent of candidate order', () => {
    // 'cat' is one edit from both; equal length gap, so code-unit order decides.
    expect(didYouMean('cat', ['hat', 'bat'])).toBe('bat');
    expect(didYouMean('cat', ['bat', 'hat'])).toBe('bat');
    // Prefer the candidate whose length is closest to the input.
    expect(didYouMean('fast', ['fasts', 'fist'])).toBe('fist');
  });

  test.prop([fc.string({ maxLength: 8 }), fc.uniqueArray(fc.string({ maxLength: 8 }), { maxLength: 8 })])(
    'returns a candidate within the threshold, the same for any candidate order',
    (input, candidates) => {
      const hint = didYouMean(input, candidates);
      expect(didYouMean(input, [...candidates].reverse())).toBe(hint);
      if (hint !== undefined) {
        expect(candidates).toContain(hint);
        const d = editDistance(input, hint);
        expect(d).toBeGreaterThan(0);
        expect(d).toBeLessThanOrEqual(hintThreshold(hint.length));
      }
    },
  );
});
