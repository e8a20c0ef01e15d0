import { describe, expect, it } from 'vitest';
import {
  compileKeywordDetector,
  compilePiiDetector,
  createStreamRedactor,
  createStreamScanner,
  defaultWindow,
  findAll,
  LOOKAROUND,
  MAX_DEFAULT_WINDOW,
  mergeSpans,
  redact,
} from '../../../engine/guardrails/detectors/index.js';

const pii = compilePiiDetector(['email', 'card']);
const words = compileKeywordDetector(['top secret', 'zeus']);
const detectors = [pii, words];

function streamed(text: string, size: number): string {
  const r = createStreamRedactor(detectors, { window: 40 });
  let out = '';
  for (let i = 0; i < text.length; i += size) out += r.push(text.slice(i, i + size));
  return out + r.end();
}

describe('redact', () => {
  it('replaces spans with [REDACTED:<label>] or a custom replacement', () => {
    const text = 'mail a@b.io about zeus';
    const spans = findAll(detectors, text);
    expect(redact(text, spans)).toBe('mail [REDACTED:email] about [REDACTED:keyword]');
    expect(redact(text, spans, (s) => '*'.repeat(s.end - s.start))).toBe('mail ****** about ****');
  });

  it('merges overlapping spans into their union; touching spans stay apart', () => {
    expect(
      mergeSpans([
        { start: 5, end: 9, label: 'b' },
        { start: 0, end: 6, label: 'a' },
        { start: 9, end: 10, label: 'c' },
      ]),
    ).toEqual([
      { start: 0, end: 9, label: 'a' },
      { start: 9, end: 10, label: 'c' },
    ]);
  });
});

describe('createStreamRedactor', () => {
  it('defaults the window to the longest span - 1 + look-around, capped', () => {
    expect(defaultWindow([words])).toBe(words.maxMatchLength - 1 + LOOKAROUND);
    expect(defaultWindow([pii])).toBe(pii.maxMatchLength - 1 + LOOKAROUND);
    expect(defaultWindow([compilePiiDetector(['secret'])])).toBe(MAX_DEFAULT_WINDOW);
    expect(defaultWindow([])).toBe(0);
  });

  it('redacts a match split across chunks, whatever the chunk size', () => {
    const text = 'Write to joe@example.com about TOP SECRET plans; card 4111 1111 1111 1111. Bye zeus';
    const expected = redact(text, findAll(detectors, text));
    for (const size of [1, 2, 3, 7, 16, 100]) expect(streamed(text, size), `chunk ${size}`).toBe(expected);
  });

  it('holds back at most window + MIN_RELEASE units and releases safe text early', () => {
    const r = createStreamRedactor(detectors, { window: 40 });
    expect(r.push('x'.repeat(60))).toBe('');
    expect(r.push('y'.repeat(20))).toBe('x'.repeat(40));
    expect(r.end()).toBe('x'.repeat(20) + 'y'.repeat(20));
  });

  it('never splits a surrogate pair between releases', () => {
    const r = createStreamRedactor([words], { window: 3 });
    const text = '😀'.repeat(40);
    let out = '';
    for (const ch of text) {
      const part = r.push(ch);
      if (part.length > 0) {
        const last = part.charCodeAt(part.length - 1);
        expect(last >= 0xd800 && last <= 0xdbff).toBe(false);
      }
      out += part;
    }
    expect(out + r.end()).toBe(text);
  });
});

describe('createStreamScanner', () => {
  it('reports the first violation with stream offsets and releases only text before it', () => {
    const s = createStreamScanner(detectors, { window: 40 });
    const text = `${'a'.repeat(50)} mail joe@example.com then zeus ${'b'.repeat(60)}`;
    let released = '';
    let violation = null;
    for (let i = 0; i < text.length && violation === null; i += 5) {
      const step = s.push(text.slice(i, i + 5));
      released += step.text;
      violation = step.violation;
    }
    if (violation === null) {
      const last = s.end();
      released += last.text;
      violation = last.violation;
    }
    expect(violation).toEqual({ start: 56, end: 71, label: 'email' });
    expect(released).toBe(text.slice(0, 56));
    expect(s.push('more')).toEqual({ text: '', violation: null });
  });

  it('releases everything when nothing matches', () => {
    const s = createStreamScanner(detectors);
    expect(s.push('hello ').text + s.end().text).toBe('hello ');
  });
});
