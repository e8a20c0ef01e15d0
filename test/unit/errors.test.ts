import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  EngineError,
  ERRORS,
  errorBody,
  errorTypeForStatus,
  formatErrorMessage,
} from '../../engine/errors.js';

describe('the error catalogue', () => {
  it('gives every code a snake_case name, a status, a type that fits it, a stage and a doc line', () => {
    for (const [code, spec] of Object.entries(ERRORS)) {
      expect(code).toMatch(/^[a-z]+(_[a-z]+)*$/);
      expect(spec.doc.length).toBeGreaterThan(10);
      expect(spec.message.length).toBeGreaterThan(5);
      expect(spec.status).toBeGreaterThanOrEqual(400);
      expect(spec.status).toBeLessThan(600);
      // The status decides the type everywhere but for an aborted request (499, the caller's act).
      if (spec.status !== 499) expect(spec.type).toBe(errorTypeForStatus(spec.status));
    }
  });

  it('builds OpenAI-shaped bodies, with param only when given', () => {
    expect(errorBody('no_route', { detail: 'No route matches model "x"' })).toEqual({
      error: { message: 'No route matches model "x"', type: 'invalid_request_error', code: 'no_route' },
    });
    expect(errorBody('invalid_request', { detail: "'messages' is required." }, 'messages')).toEqual({
      error: {
        message: "'messages' is required.",
        type: 'invalid_request_error',
        code: 'invalid_request',
        param: 'messages',
      },
    });
  });

  it('keeps an unknown placeholder visible instead of dropping it', () => {
    expect(formatErrorMessage('upstream_timeout')).toBe('The upstream did not answer in time ({lastClass}).');
  });

  it('never puts the cause of a 5xx in the body', () => {
    const error = new EngineError('internal_error', {
      cause: new Error('ECONNREFUSED 10.0.0.7:443'),
      route: 'chat',
    });
    expect(error.route).toBe('chat');
    expect(error.status).toBe(500);
    expect(JSON.stringify(error.toBody())).not.toContain('10.0.0.7');
    expect(error.toBody()).toEqual({
      error: { message: 'Internal error.', type: 'api_error', code: 'internal_error' },
    });
  });
});

describe('the error reference', () => {
  const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

  /** Every source file that can raise a client-visible error, the catalogue itself excluded. */
  function sources(): string {
    const out: string[] = [];
    for (const dir of ['engine', 'server', 'cli']) {
      for (const file of readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })) {
        if (!file.endsWith('.ts') || file.endsWith('.generated.ts')) continue;
        if (dir === 'engine' && file === 'errors.ts') continue;
        out.push(readFileSync(join(root, dir, file), 'utf8'));
      }
    }
    return out.join('\n');
  }

  it('documents every code of the catalogue in docs/errors.md', () => {
    const doc = readFileSync(join(root, 'docs/errors.md'), 'utf8');
    for (const code of Object.keys(ERRORS)) expect(doc, code).toContain(`| \`${code}\` |`);
    const documented = [...doc.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.keys(ERRORS).sort());
  });

  it('has no code that nothing raises', () => {
    const text = sources();
    const unused = Object.keys(ERRORS).filter((code) => !text.includes(`'${code}'`));
    expect(unused).toEqual([]);
  });
});
