import { describe, expect, it } from 'vitest';
import { compileKeywordDetector, loadKeywordFile } from '../../../engine/guardrails/detectors/index.js';

const found = (terms: string[], text: string, options = {}) =>
  compileKeywordDetector(terms, options)
    .find(text)
    .map((s) => text.slice(s.start, s.end));

describe('compileKeywordDetector', () => {
  it('matches whole words and phrases, case-insensitively by default', () => {
    expect(found(['pass', 'top secret'], 'Pass, passport, bypass; TOP   Secret\nfiles; top secrets')).toEqual(
      ['Pass', 'TOP   Secret'],
    );
    expect(found(['Pass'], 'Pass pass', { caseSensitive: true })).toEqual(['Pass']);
  });

  it('treats digits as word characters and symbols at a term edge as needing no boundary', () => {
    expect(found(['v2', 'c#', '.env'], 'v2 v20 c# c#9 my.env file')).toEqual(['v2', 'c#', 'c#', '.env']);
  });

  it('matches accented terms in precomposed and decomposed spelling; accents are significant', () => {
    const text = 'un café, un cafe\u0301, un cafe';
    expect(found(['café'], text)).toEqual(['café', 'cafe\u0301']);
    expect(found(['cafe'], text)).toEqual(['cafe']);
    expect(found(['cafe'], text, { ignoreAccents: true })).toEqual(['café', 'cafe\u0301', 'cafe']);
  });

  it('matches CJK and Thai terms inside text, with no word boundary', () => {
    expect(found(['秘密', 'รหัสผ่าน', 'パスワード'], '这是秘密文件。รหัสผ่านของฉัน、パスワードを')).toEqual([
      '秘密',
      'รหัสผ่าน',
      'パスワード',
    ]);
    // A Latin term next to Han characters has its boundary.
    expect(found(['password'], '使用password登录')).toEqual(['password']);
  });

  it('sees through compatibility forms and zero-width characters, keeping original offsets', () => {
    const text = 'ig\u200Bnore ＩＧＮＯＲＥ 𝐢𝐠𝐧𝐨𝐫𝐞 ﬁle';
    expect(found(['ignore', 'file'], text)).toEqual(['ig\u200Bnore', 'ＩＧＮＯＲＥ', '𝐢𝐠𝐧𝐨𝐫𝐞', 'ﬁle']);
  });

  it('resolves overlaps leftmost-longest and honours from', () => {
    const d = compileKeywordDetector(['new york', 'york city', 'new']);
    expect(d.find('new york city').map((s) => [s.start, s.end])).toEqual([[0, 8]]);
    expect(d.find('new york city', 4).map((s) => [s.start, s.end])).toEqual([[4, 13]]);
    // The boundary before `from` is read from the context.
    expect(d.find('xnew', 1)).toEqual([]);
  });

  it('breaks phrases across long whitespace or zero-width runs (bounded span length)', () => {
    expect(found(['top secret'], 'top        secret')).toEqual([]);
    expect(found(['ignore'], 'ig\u200B\u200B\u200Bnore')).toEqual([]);
    const d = compileKeywordDetector(['top secret']);
    expect(d.maxMatchLength).toBeGreaterThanOrEqual('top    secret'.length);
  });

  it('scales to 20,000 terms', () => {
    const terms = Array.from({ length: 20_000 }, (_, i) => `term${i.toString(36)} x${i}`);
    const d = compileKeywordDetector(terms);
    expect(d.size).toBe(20_000);
    expect(found(terms, 'a TERM2s x100 and term2s x101')).toEqual(['TERM2s x100']);
  });

  it('ignores empty terms', () => {
    expect(compileKeywordDetector(['', '  ', '\u200B']).find('anything')).toEqual([]);
  });
});

describe('loadKeywordFile', () => {
  it('reads one term per line, trimmed, skipping comments and blank lines', () => {
    expect(loadKeywordFile('\uFEFF# terms\n  alpha  \r\n\n# beta\nC#\r  top secret\n')).toEqual([
      'alpha',
      'C#',
      'top secret',
    ]);
  });
});
