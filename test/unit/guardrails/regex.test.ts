import { describe, expect, it } from 'vitest';
import { compileRegexDetector } from '../../../engine/guardrails/detectors/index.js';

const texts = (text: string, spans: { start: number; end: number }[]) =>
  spans.map((s) => text.slice(s.start, s.end));

describe('compileRegexDetector', () => {
  it.each(['(a+)+$', '(a|a)*b', '(\\w+\\s?)*$'])(
    'refuses %s, which backtracks catastrophically',
    (pattern) => {
      const r = compileRegexDetector(['\\bok\\b', pattern]);
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.problems).toHaveLength(1);
      expect(r.problems[0].index).toBe(1);
      expect(r.problems[0].message).toMatch(/backtrack catastrophically/);
    },
  );

  it('accepts ordinary patterns, with (?i) as the i flag', () => {
    const r = compileRegexDetector(['\\bpassword\\b', '(?i)confidential', '\\d{3}-\\d{2}-\\d{4}']);
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    expect(r.warnings).toEqual([]);
    const text = 'My password is CONFIDENTIAL: 123-45-6789, passwords differ.';
    const spans = r.detector.find(text);
    expect(texts(text, spans)).toEqual(['password', 'CONFIDENTIAL', '123-45-6789']);
    expect(spans.every((s) => s.label === 'regex')).toBe(true);
    expect(r.detector.maxMatchLength).toBe(Number.POSITIVE_INFINITY);
  });

  it('uses the u flag when the pattern allows it, and compiles without it otherwise', () => {
    const r = compileRegexDetector(['\\p{Lu}{3}', '\\-x']);
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    expect(texts('ÉTÉ -x', r.detector.find('ÉTÉ -x'))).toEqual(['ÉTÉ', '-x']);
  });

  it('reports invalid patterns with their index and the engine reason', () => {
    const r = compileRegexDetector(['ok', '(']);
    expect(r).toEqual({
      ok: false,
      problems: [{ index: 1, message: 'invalid regular expression: Unterminated group' }],
    });
  });

  it('accepts a quadratic pattern with a warning (inputs are capped)', () => {
    const r = compileRegexDetector(['[a-z]+@[a-z]+\\.[a-z]+']);
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    expect(r.warnings[0].message).toMatch(/quadratic/);
  });

  it('falls back to the star-height heuristic when recheck runs out of time', () => {
    const r = compileRegexDetector(['\\bsk-[A-Za-z0-9]{20,}', '(x+)+y'], { checkTimeoutMs: 1 });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.map((p) => p.index)).toEqual([1]);
    const ok = compileRegexDetector(['\\bsk-[A-Za-z0-9]{20,}'], { checkTimeoutMs: 1 });
    if (!ok.ok) throw new Error(JSON.stringify(ok.problems));
    expect(ok.warnings[0].message).toMatch(/heuristic/);
  });

  it('caps matches per pattern and fails closed with one span to the end', () => {
    const r = compileRegexDetector(['\\d'], { maxMatches: 3 });
    if (!r.ok) throw new Error('refused');
    expect(r.detector.find('1 2 3 4 5 6')).toEqual([
      { start: 0, end: 1, label: 'regex' },
      { start: 2, end: 3, label: 'regex' },
      { start: 4, end: 5, label: 'regex' },
      { start: 6, end: 11, label: 'regex' },
    ]);
  });

  it('skips empty matches, resolves overlaps leftmost-longest, and honours from', () => {
    const r = compileRegexDetector(['a*', 'ab', 'abc', '(?<=x)b']);
    if (!r.ok) throw new Error('refused');
    expect(texts('xabc aa', r.detector.find('xabc aa'))).toEqual(['abc', 'aa']);
    // The look-behind sees the context before `from`.
    expect(r.detector.find('xb', 1)).toEqual([{ start: 1, end: 2, label: 'regex' }]);
  });
});
