/** The classifiers' pure parts: the complexity heuristic, strict answer parsing, the prompt, similarity, the mock's rule. */
import { describe, expect, it } from 'vitest';
import {
  bandOf,
  classifiedText,
  complexityScore,
  complexitySignals,
  cosine,
  DEFAULT_CLASSIFIER_PROMPT,
  nearest,
  norm,
  parseLabel,
  renderPrompt,
} from '../../../engine/classify/index.js';
import { mockAnswer, mockClassification } from '../../../engine/providers/mock-answer.js';
import { labelsLine } from '../../../engine/shared/classify-prompt.js';

describe('complexity heuristic', () => {
  it('scores a greeting near 0 and a long reasoning request with code near 1', () => {
    expect(complexityScore('hi')).toBeLessThan(0.05);
    const hard = `Explain step by step why this is slow, and prove the bound. Why? How?\n\`\`\`ts\n${'const x = f(y);\n'.repeat(150)}\`\`\``;
    expect(complexityScore(hard)).toBeGreaterThan(0.9);
  });

  it('counts reasoning cues, code-like lines, questions and length as documented', () => {
    expect(complexitySignals('Prove it step by step').reasoning).toBe(1);
    expect(complexitySignals('Why is the sky blue').reasoning).toBe(0.5);
    expect(complexitySignals('whyever not').reasoning).toBe(0); // whole words only
    expect(complexitySignals('```\nx\n```').code).toBe(1);
    expect(complexitySignals('def f(x):\n  return x\nplain words').code).toBe(0.5);
    expect(complexitySignals('a? b? c? d?').questions).toBe(1);
    expect(complexitySignals('a'.repeat(1000)).length).toBe(0.5);
    // 0.4 × 0.5 (one cue) + 0.1 × (1/3) (one question), rounded to 3 decimals.
    expect(complexityScore('why?')).toBe(Math.round((0.4 * 0.5 + 0.1 / 3 + (0.2 * 4) / 2000) * 1000) / 1000);
  });

  it('is deterministic and stays within [0, 1]', () => {
    const text = 'Compare and analyse the trade-offs. Why? '.repeat(200);
    expect(complexityScore(text)).toBe(complexityScore(text));
    expect(complexityScore(text)).toBeLessThanOrEqual(1);
    expect(complexityScore('')).toBe(0);
  });

  it('puts a score in the band with the smallest bound at or above it', () => {
    const bands = [
      { label: 'simple', upTo: 0.3 },
      { label: 'medium', upTo: 0.6 },
      { label: 'complex', upTo: 1 },
    ];
    expect(bandOf(bands, 0)).toBe('simple');
    expect(bandOf(bands, 0.3)).toBe('simple');
    expect(bandOf(bands, 0.31)).toBe('medium');
    expect(bandOf(bands, 1)).toBe('complex');
  });
});

describe('parseLabel (strict)', () => {
  const labels = ['code', 'summarise', 'small-talk'];
  it('accepts the exact label after trimming, case folding, quotes and one trailing period', () => {
    expect(parseLabel('code', labels)).toBe('code');
    expect(parseLabel('  CODE\n', labels)).toBe('code');
    expect(parseLabel('Summarise.', labels)).toBe('summarise');
    expect(parseLabel('"small-talk"', labels)).toBe('small-talk');
    expect(parseLabel('`code`', labels)).toBe('code');
  });
  it('refuses anything else', () => {
    expect(parseLabel('not code', labels)).toBeNull();
    expect(parseLabel('code, summarise', labels)).toBeNull();
    expect(parseLabel('The label is code', labels)).toBeNull();
    expect(parseLabel('', labels)).toBeNull();
    expect(parseLabel('small talk', labels)).toBeNull();
  });
});

describe('prompt', () => {
  it('renders labels and descriptions, and the mock recognises the labels line', () => {
    const prompt = renderPrompt(DEFAULT_CLASSIFIER_PROMPT, [
      ['code', 'programming'],
      ['chat', ''],
    ]);
    expect(prompt).toContain('Labels: code, chat');
    expect(prompt).toContain('- code: programming');
    expect(prompt).not.toContain('- chat');
    expect(labelsLine(prompt)).toEqual(['code', 'chat']);
    expect(
      renderPrompt('Pick one of {{labels}}.', [
        ['a', ''],
        ['b', ''],
      ]),
    ).toBe('Pick one of a, b.');
  });
});

describe('similarity', () => {
  it('computes cosine and the nearest example', () => {
    const a = Float32Array.from([1, 0]);
    const b = Float32Array.from([0, 1]);
    const c = Float32Array.from([1, 1]);
    expect(cosine(a, norm(a), a, norm(a))).toBeCloseTo(1);
    expect(cosine(a, norm(a), b, norm(b))).toBeCloseTo(0);
    expect(cosine(a, norm(a), Float32Array.from([0, 0]), 0)).toBe(0);
    const best = nearest(
      [
        { label: 'x', vector: a, norm: norm(a) },
        { label: 'y', vector: b, norm: norm(b) },
      ],
      Float32Array.from([0.2, 0.9]),
    );
    expect(best?.label).toBe('y');
    expect(nearest([], c)).toBeNull();
  });
});

describe('classified text', () => {
  it('reads the scope like a guardrail does', () => {
    const body = {
      messages: [
        { role: 'system', content: 'sys' },
        { role: 'user', content: 'first' },
        { role: 'assistant', content: 'reply' },
        { role: 'user', content: [{ type: 'text', text: 'second' }] },
      ],
    };
    expect(classifiedText(body, 'last_user')).toBe('second');
    expect(classifiedText(body, 'user')).toBe('first\n\nsecond');
  });
});

describe('the mock as a classifier', () => {
  const body = (user: string, system = 'Answer with one label.\nLabels: code, small-talk, summarise') => ({
    messages: [
      { role: 'system', content: system },
      { role: 'user', content: user },
    ],
  });
  it('answers the first label named in the user message, whole words, ignoring case', () => {
    expect(mockClassification(body('Write CODE please'), 'Write CODE please')).toBe('code');
    expect(mockClassification(body('some small talk'), 'some small talk')).toBe('small-talk');
    expect(mockClassification(body('decode this'), 'decode this')).not.toBe('code');
  });
  it('else a label chosen by a hash of the message: deterministic', () => {
    const first = mockClassification(body('hello there'), 'hello there');
    expect(['code', 'small-talk', 'summarise']).toContain(first);
    expect(mockClassification(body('hello there'), 'hello there')).toBe(first);
  });
  it('answers normally without a labels line', () => {
    expect(mockClassification(body('code', 'You are helpful.'), 'code')).toBeNull();
    expect(mockAnswer(body('code', 'You are helpful.'), null)).toEqual({
      kind: 'text',
      content: 'Echo: code',
      json: false,
    });
    expect(mockAnswer(body('write code'), 'fixed reply')).toEqual({
      kind: 'text',
      content: 'code',
      json: false,
    });
  });
});
