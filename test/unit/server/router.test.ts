/** The server's router: static routes, parameters, the wildcard, HEAD, and what it does not match. */

import { describe, expect, it } from 'vitest';
import { BadUrlError, Router } from '../../../server/router.js';

function router(): Router<string> {
  return new Router<string>()
    .add('GET', '/healthz', 'health')
    .add('POST', '/v1/chat/completions', 'chat')
    .add('GET', '/v1/files', 'files')
    .add('GET', '/v1/files/:id', 'file')
    .add('DELETE', '/v1/files/:id', 'delete-file')
    .add('GET', '/v1/files/:id/content', 'content')
    .add('POST', '/v1/batches/:id/cancel', 'cancel')
    .add('GET', '/v1/models', 'models')
    .add('GET', '/v1/models/*', 'model');
}

describe('Router', () => {
  const r = router();

  it('finds static routes by method and path, with no parameters', () => {
    expect(r.find('GET', '/healthz')).toMatchObject({ value: 'health', pattern: '/healthz', params: {} });
    expect(r.find('POST', '/v1/chat/completions')?.value).toBe('chat');
    expect(r.find('GET', '/v1/models')?.value).toBe('models');
  });

  it('does not find unknown paths, other methods, or near misses', () => {
    expect(r.find('GET', '/v1/completions')).toBeNull();
    expect(r.find('GET', '/v1/chat/completions')).toBeNull();
    expect(r.find('PUT', '/v1/files/abc')).toBeNull();
    expect(r.find('OPTIONS', '/v1/chat/completions')).toBeNull();
    expect(r.find('GET', '/healthz/')).toBeNull();
    expect(r.find('GET', '/HEALTHZ')).toBeNull();
    expect(r.find('GET', '')).toBeNull();
  });

  it('binds :params to one non-empty segment, decoded', () => {
    expect(r.find('GET', '/v1/files/file-1')).toMatchObject({
      value: 'file',
      pattern: '/v1/files/:id',
      params: { id: 'file-1' },
    });
    expect(r.find('DELETE', '/v1/files/file-1')?.value).toBe('delete-file');
    expect(r.find('GET', '/v1/files/file-1/content')?.params).toEqual({ id: 'file-1' });
    expect(r.find('POST', '/v1/batches/b%201/cancel')?.params).toEqual({ id: 'b 1' });
    expect(r.find('GET', '/v1/files/')).toBeNull();
    expect(r.find('GET', '/v1/files/a/b')).toBeNull();
    expect(r.find('POST', '/v1/batches//cancel')).toBeNull();
  });

  it('binds * to the rest of the path, slashes included (model ids)', () => {
    expect(r.find('GET', '/v1/models/gpt-5')?.params).toEqual({ '*': 'gpt-5' });
    expect(r.find('GET', '/v1/models/meta-llama/Llama-3.1-8B-Instruct')?.params).toEqual({
      '*': 'meta-llama/Llama-3.1-8B-Instruct',
    });
    expect(r.find('GET', '/v1/models/a%2Fb')?.params).toEqual({ '*': 'a/b' });
    expect(r.find('GET', '/v1/models/')?.params).toEqual({ '*': '' });
  });

  it('answers HEAD with the GET route', () => {
    expect(r.find('HEAD', '/healthz')?.value).toBe('health');
    expect(r.find('HEAD', '/v1/files/x')?.value).toBe('file');
    expect(r.find('HEAD', '/v1/chat/completions')).toBeNull();
  });

  it('finds a static route written with percent escapes', () => {
    expect(r.find('GET', '/health%7A')?.value).toBe('health');
  });

  it('refuses malformed percent escapes with BadUrlError', () => {
    expect(() => r.find('GET', '/v1/files/%E0%A4%A')).toThrow(BadUrlError);
    expect(() => r.find('GET', '/v1/models/%')).toThrow(BadUrlError);
  });

  it('keeps parameter values as data: no prototype keys, no shared objects', () => {
    const a = r.find('GET', '/v1/files/__proto__');
    expect(a?.params).toEqual({ id: '__proto__' });
    expect(Object.getPrototypeOf(a?.params)).toBe(Object.prototype);
    const b = r.find('GET', '/v1/files/other');
    expect(b?.params).not.toBe(a?.params);
  });

  it('refuses a route defined twice and a * that is not last', () => {
    expect(() => router().add('GET', '/healthz', 'again')).toThrow(/twice/);
    expect(() => new Router().add('GET', '/a/*/b', 'x')).toThrow(/must end/);
  });
});
