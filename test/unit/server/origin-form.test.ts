/**
 * The request target a route is looked up by: the origin form as it is, the absolute form
 * (`http://host/path`, RFC 9112 §3.2.2) as its path and query, anything else untouched.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { originForm } from '../../../server/app.js';

const pathAndQuery = fc
  .tuple(fc.webPath(), fc.option(fc.webQueryParameters(), { nil: undefined }))
  .map(
    ([path, query]) => `${path.startsWith('/') ? path : `/${path}`}${query === undefined ? '' : `?${query}`}`,
  );

describe('originForm', () => {
  test.prop([pathAndQuery])('an origin-form target is kept as it is', (target) => {
    expect(originForm(target)).toBe(target);
  });

  test.prop([fc.constantFrom('http', 'https', 'HTTP', 'Https'), fc.webAuthority(), pathAndQuery])(
    'an absolute-form target becomes its path and query',
    (scheme, authority, target) => {
      expect(originForm(`${scheme}://${authority}${target}`)).toBe(target);
    },
  );

  it('an authority alone is the root, with its query', () => {
    expect(originForm('http://h')).toBe('/');
    expect(originForm('http://h?a=1')).toBe('/?a=1');
  });

  it('other targets are left alone (and find no route)', () => {
    for (const target of ['*', 'ftp://h/x', 'h:443', 'mailto:x', 'http:/x', ''])
      expect(originForm(target)).toBe(target);
  });
});
