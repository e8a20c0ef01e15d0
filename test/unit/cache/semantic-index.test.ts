/**
 * The semantic cache's vector index: the best match at or above the threshold within one
 * partition, bounds on entries and bytes (least recently used out first), TTL on the caller's
 * `now`, and vectors it must refuse.
 */
import { describe, expect, it } from 'vitest';
import { normalizeVector, SemanticIndex, similarity } from '../../../engine/cache/semantic-index.js';
import type { CachedAnswer } from '../../../engine/cache/store.js';

function answer(text: string): CachedAnswer {
  return {
    body: { object: 'chat.completion', choices: [{ message: { content: text }, finish_reason: 'stop' }] },
    model: 'm',
    usage: null,
    storedAt: 0,
    target: 't',
  };
}

function unit(...values: number[]): Float32Array {
  const v = normalizeVector(values);
  if (v === null) throw new Error('zero vector');
  return v;
}

const content = (a: CachedAnswer) =>
  (a.body as { choices: { message: { content: string } }[] }).choices[0].message.content;

describe('SemanticIndex', () => {
  it('returns the most similar entry at or above the threshold, and nothing below it', () => {
    const index = new SemanticIndex();
    index.add('p', unit(1, 0, 0), answer('x'), 1000, 0);
    index.add('p', unit(0.8, 0.6, 0), answer('xy'), 1000, 0);
    const hit = index.search('p', unit(0.9, 0.45, 0), 0.5, 1);
    expect(hit && content(hit.answer)).toBe('xy');
    expect(hit?.similarity).toBeCloseTo(similarity(unit(0.9, 0.45, 0), unit(0.8, 0.6, 0)), 6);
    expect(index.search('p', unit(0, 0, 1), 0.5, 1)).toBeUndefined();
    // Exactly at the threshold is a hit.
    const exact = index.search('p', unit(1, 0, 0), 1, 1);
    expect(exact && content(exact.answer)).toBe('x');
  });

  it("names the request that stored the hit's entry, and counts that id's bytes", () => {
    const index = new SemanticIndex();
    index.add('p', unit(1, 0), answer('a'), 1000, 0, 'req-a');
    index.add('p', unit(0, 1), answer('b'), 1000, 0);
    expect(index.search('p', unit(1, 0.1), 0.9, 1)?.source).toBe('req-a');
    expect(index.search('p', unit(0.1, 1), 0.9, 1)?.source).toBeNull();
    const withId = SemanticIndex.entryBytes(2, '{}', 'req-a');
    expect(withId - SemanticIndex.entryBytes(2, '{}')).toBe(10);
    expect(index.bytes).toBe(
      SemanticIndex.entryBytes(2, JSON.stringify(answer('a')), 'req-a') +
        SemanticIndex.entryBytes(2, JSON.stringify(answer('b'))),
    );
  });

  it('never searches another partition, nor vectors of another length', () => {
    const index = new SemanticIndex();
    index.add('tenant-a', unit(1, 0), answer('a'), 1000, 0);
    expect(index.search('tenant-b', unit(1, 0), 0.1, 1)).toBeUndefined();
    expect(index.search('tenant-a', unit(1, 0, 0), 0.1, 1)).toBeUndefined();
  });

  it('expires entries at storedAt + ttl (exclusive) and reclaims them', () => {
    const index = new SemanticIndex();
    index.add('p', unit(1, 0), answer('a'), 100, 1000);
    expect(index.search('p', unit(1, 0), 0.9, 1099)).toBeDefined();
    expect(index.search('p', unit(1, 0), 0.9, 1100)).toBeUndefined();
    expect(index.size).toBe(0);
    expect(index.partitions).toBe(0);
    index.add('p', unit(1, 0), answer('b'), 100, 2000);
    expect(index.prune(2100)).toBe(1);
    expect(index.bytes).toBe(0);
  });

  it('keeps at most maxEntries, dropping the least recently used first', () => {
    const index = new SemanticIndex({ maxEntries: 2 });
    index.add('p', unit(1, 0, 0), answer('a'), 1000, 0);
    index.add('p', unit(0, 1, 0), answer('b'), 1000, 0);
    index.search('p', unit(1, 0, 0), 0.99, 1); // a is now the most recently used
    index.add('q', unit(0, 0, 1), answer('c'), 1000, 0);
    expect(index.size).toBe(2);
    expect(index.search('p', unit(0, 1, 0), 0.99, 1)).toBeUndefined();
    expect(index.search('p', unit(1, 0, 0), 0.99, 1)).toBeDefined();
    expect(index.search('q', unit(0, 0, 1), 0.99, 1)).toBeDefined();
  });

  it('keeps at most maxSizeBytes (vectors and answers), and refuses an entry larger than the bound', () => {
    const one = SemanticIndex.entryBytes(64, JSON.stringify(answer('a')));
    const index = new SemanticIndex({ maxSizeBytes: one * 3 });
    const v = (i: number) => unit(...Array.from({ length: 64 }, (_, d) => (d === i ? 1 : 0)));
    for (let i = 0; i < 5; i++) expect(index.add('p', v(i), answer('a'), 1000, 0)).toBe(true);
    expect(index.size).toBe(3);
    expect(index.bytes).toBeLessThanOrEqual(one * 3);
    expect(index.search('p', v(0), 0.99, 1)).toBeUndefined();
    expect(index.search('p', v(4), 0.99, 1)).toBeDefined();
    expect(index.add('p', v(5), answer('x'.repeat(one * 3)), 1000, 0)).toBe(false);
    expect(index.size).toBe(3);
  });

  it('refuses a non-unit vector and a ttl that cannot store anything', () => {
    const index = new SemanticIndex();
    expect(index.add('p', new Float32Array([3, 4]), answer('a'), 1000, 0)).toBe(false);
    expect(index.add('p', unit(1, 0), answer('a'), 0, 0)).toBe(false);
    expect(index.add('p', unit(1, 0), answer('a'), Number.NaN, 0)).toBe(false);
    expect(index.size).toBe(0);
    expect(normalizeVector([0, 0])).toBeNull();
    expect(normalizeVector([1, Number.NaN])).toBeNull();
  });

  it('keeps every live vector findable as its partition grows and shrinks (rows moved on removal)', () => {
    const index = new SemanticIndex();
    const v = (i: number) => unit(...Array.from({ length: 100 }, (_, d) => (d === i ? 1 : 0.01)));
    // Entries 0..99; even ones expire first, odd ones live on.
    for (let i = 0; i < 100; i++) index.add('p', v(i), answer(`a${i}`), i % 2 === 0 ? 10 : 1000, 0);
    expect(index.prune(10)).toBe(50);
    for (let i = 1; i < 100; i += 2) {
      const hit = index.search('p', v(i), 0.999, 11);
      expect(hit && content(hit.answer)).toBe(`a${i}`);
    }
    for (let i = 1; i < 90; i += 2) index.add('p', v(i), answer('x'), 1, 11);
    expect(index.prune(12)).toBe(45);
    const kept = index.search('p', v(97), 0.999, 12);
    expect(kept && content(kept.answer)).toBe('a97');
    expect(index.add('p', unit(1, 0), answer('other dims'), 1000, 12)).toBe(false);
  });

  it('hands out a fresh copy of the answer', () => {
    const index = new SemanticIndex();
    index.add('p', unit(1, 0), answer('a'), 1000, 0);
    const first = index.search('p', unit(1, 0), 0.9, 1);
    (first?.answer as { model: string }).model = 'mutated';
    expect(index.search('p', unit(1, 0), 0.9, 1)?.answer.model).toBe('m');
  });
});
