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
