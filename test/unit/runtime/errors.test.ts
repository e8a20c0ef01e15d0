import { describe, expect, it } from 'vitest';
import {
  ENGINE_ERRORS,
  EngineError,
  engineErrorBody,
  toErrorResponse,
} from '../../../engine/runtime/errors.js';

describe('EngineError catalogue', () => {
  it('documents every code with a status, a type and a message', () => {
    for (const [code, spec] of Object.entries(ENGINE_ERRORS)) {
      expect(code).toMatch(/^SY_[A-Z_]+$/);
      expect(spec.doc.length).toBeGreaterThan(10);
      expect(spec.message.length).toBeGreaterThan(5);
      expect(spec.status).toBeGreaterThanOrEqual(400);
      expect(spec.type).toMatch(/_error$/);
    }
  });

  it('builds OpenAI-shaped bodies', () => {
    expect(engineErrorBody('SY_NO_ROUTE', { policy: 'prod' })).toEqual({
      error: {
        message: 'No route of policy "prod" accepts this request.',
        type: 'invalid_request_error',
        code: 'SY_NO_ROUTE',
      },
    });
  });

  it('never leaks the cause of a 5xx', () => {
    const error = new EngineError('SY_INTERNAL', {
      cause: new Error('ECONNREFUSED 10.0.0.7:443'),
      route: 'chat',
    });
    expect(error.route).toBe('chat');
    expect(JSON.stringify(error.toBody())).not.toContain('10.0.0.7');
    expect(toErrorResponse(new Error('secret stack'))).toEqual({
      status: 500,
      body: { error: { message: 'Internal error.', type: 'api_error', code: 'SY_INTERNAL' } },
    });
  });
});
