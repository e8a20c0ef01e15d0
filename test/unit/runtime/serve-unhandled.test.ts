/** `switchyard serve` logs a stray rejection instead of dying; the log line carries no secrets. */
import { describe, expect, it } from 'vitest';
import { describeSafely } from '../../../cli/commands/serve.js';

describe('describeSafely', () => {
  it('keeps the error name and message, masking keys, bearer tokens and URL passwords', () => {
    const line = describeSafely(
      new TypeError('failed with sk-live-abcdef123456 (Bearer tok.en-1) at redis://u:hunter2@db:6379'),
    );
    expect(line).toContain('TypeError: failed with');
    expect(line).not.toContain('abcdef123456');
    expect(line).not.toContain('tok.en-1');
    expect(line).not.toContain('hunter2');
  });

  it('describes non-errors without serialising them', () => {
    expect(describeSafely({ apiKey: 'sk-secret-value' })).toBe('object');
    expect(describeSafely('plain reason')).toBe('plain reason');
  });
});
