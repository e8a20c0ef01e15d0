import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { loadParts, undici } from '../../../engine/providers/undici-lib.js';

const require = createRequire(import.meta.url);

describe('undici parts (engine/providers/undici-lib.ts)', () => {
  it("are the package's own exports", () => {
    const parts = undici();
    const whole = require('undici') as typeof import('undici');
    // Loaded from undici's internal files: the same objects its index exports. If a version of
    // undici moves or changes them, this fails (and the loader falls back to the whole package).
    expect(parts.Pool).toBe(whole.Pool);
    expect(parts.buildConnector).toBe(whole.buildConnector);
    expect(parts.errors).toBe(whole.errors);
    expect(parts.util.parseHeaders).toBe(whole.util.parseHeaders);
    expect(parts.util.headerNameToString).toBe(whole.util.headerNameToString);
    expect(typeof parts.Pool.prototype.dispatch).toBe('function');
    // …and not the fallback: the parts came from the files, not from the whole package.
    expect(loadParts(require)).not.toBe(whole);
  });

  it('falls back to the whole package when a part is not where it was', () => {
    const moved = ((id: string) => {
      if (id.startsWith('undici/lib/'))
        throw Object.assign(new Error(`Cannot find module '${id}'`), { code: 'MODULE_NOT_FOUND' });
      return require(id);
    }) as NodeJS.Require;
    expect(loadParts(moved)).toBe(require('undici'));
  });

  it('falls back when a part has changed shape', () => {
    const changed = ((id: string) => (id === 'undici/lib/core/connect' ? {} : require(id))) as NodeJS.Require;
    expect(loadParts(changed)).toBe(require('undici'));
  });
});
