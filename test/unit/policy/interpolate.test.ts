// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${...} is the interpolation syntax under test
import { describe, expect, it } from 'vitest';
import { interpolate } from '../../../engine/policy/interpolate.js';

describe('interpolate', () => {
  const env = { KEY: 'sk-123', EMPTY: '', PORT: '8080' };

  it('leaves strings without ${ untouched', () => {
    expect(interpolate('plain $ text {x}', env)).toEqual({
      value: 'plain $ text {x}',
      substituted: false,
      problems: [],
    });
  });

  it('substitutes several variables anywhere in the string', () => {
    const r = interpolate('Bearer ${KEY} on :${PORT}/${KEY}', env);
    expect(r.value).toBe('Bearer sk-123 on :8080/sk-123');
    expect(r.substituted).toBe(true);
    expect(r.problems).toEqual([]);
  });

  it('keeps the result a string (no re-typing)', () => {
    expect(interpolate('${PORT}', env).value).toBe('8080');
  });

  it('uses the default when the variable is unset or empty', () => {
    expect(interpolate('${NOPE:-fallback}', env).value).toBe('fallback');
    expect(interpolate('${EMPTY:-fallback}', env).value).toBe('fallback');
    expect(interpolate('${KEY:-fallback}', env).value).toBe('sk-123');
    expect(interpolate('${NOPE:-}', env).value).toBe('');
    expect(interpolate('${NOPE:-a:b-c d}', env).value).toBe('a:b-c d');
  });

  it('accepts a set-but-empty variable without default', () => {
    expect(interpolate('x${EMPTY}y', env)).toEqual({ value: 'xy', substituted: true, problems: [] });
  });

  it('treats $${ as a literal ${', () => {
    expect(interpolate('$${KEY} and ${KEY}', env).value).toBe('${KEY} and sk-123');
    expect(interpolate('$${KEY}', env).substituted).toBe(false);
    expect(interpolate('$$ and $x', env).value).toBe('$$ and $x');
  });

  it('reports a missing variable by name, with the token and its occurrence', () => {
    const r = interpolate('${A} ${MISSING} ${MISSING}', { A: 'x' });
    expect(r.problems).toEqual([
      expect.objectContaining({ kind: 'missing', name: 'MISSING', token: '${MISSING}', occurrence: 0 }),
      expect.objectContaining({ kind: 'missing', name: 'MISSING', token: '${MISSING}', occurrence: 1 }),
    ]);
    expect(r.problems[0].message).toContain('MISSING');
  });

  it.each(['${}', '${1ABC}', '${A B}', '${A-B}', '${A:-${B}}', '${UNTERMINATED'])(
    'reports malformed %j',
    (text) => {
      const r = interpolate(text, env);
      expect(r.problems.map((p) => p.kind)).toContain('syntax');
    },
  );

  it('never puts a value into a problem message', () => {
    const r = interpolate('${KEY} ${BAD NAME} ${MISSING}', env);
    for (const p of r.problems) expect(p.message).not.toContain('sk-123');
  });
});
