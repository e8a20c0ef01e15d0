/** Cost attribution buckets (engine/runtime/attribution.ts): values, `none`, and the `other` cap. */
import { describe, expect, it } from 'vitest';
import { compileAccounting } from '../../../engine/compile/accounting.js';
import { Attribution, MAX_ATTRIBUTED_VALUE_LENGTH } from '../../../engine/runtime/attribution.js';
import type { RequestContext } from '../../../engine/types.js';

function ctx(metadata: Record<string, string>, headers: Record<string, string> = {}): RequestContext {
  return { metadata, headers, labels: {} } as unknown as RequestContext;
}

describe('Attribution', () => {
  const accounting = compileAccounting({ attribute: ['metadata.feature', 'header.X-Team'], maxValues: 2 })!;

  it('buckets each declared field: its value, or none when absent or empty', () => {
    const a = new Attribution();
    expect(a.attribute(accounting, ctx({ feature: 'search' }, { 'x-team': 'ml' }))).toEqual({
      'metadata.feature': 'search',
      'header.x-team': 'ml',
    });
    expect(a.attribute(accounting, ctx({ feature: '' }))).toEqual({
      'metadata.feature': 'none',
      'header.x-team': 'none',
    });
  });

  it('keeps the first maxValues values per field; later new ones are other, known ones stay', () => {
    const a = new Attribution();
    const feature = (v: string) => a.attribute(accounting, ctx({ feature: v }))['metadata.feature'];
    expect(['a', 'b', 'c', 'a', 'd', 'b'].map(feature)).toEqual(['a', 'b', 'other', 'a', 'other', 'b']);
    // Each field has its own cap.
    expect(a.attribute(accounting, ctx({}, { 'x-team': 'ml' }))['header.x-team']).toBe('ml');
  });

  it('stays bounded whatever a client sends: 100k random values keep at most maxValues', () => {
    const a = new Attribution();
    const seen = new Set<string>();
    for (let i = 0; i < 100_000; i++) {
      seen.add(a.attribute(accounting, ctx({ feature: `f-${i}` }))['metadata.feature']);
    }
    expect([...seen].sort()).toEqual(['f-0', 'f-1', 'other']);
  });

  it('counts an over-long value as other without taking a slot', () => {
    const a = new Attribution();
    const long = 'x'.repeat(MAX_ATTRIBUTED_VALUE_LENGTH + 1);
    expect(a.attribute(accounting, ctx({ feature: long }))['metadata.feature']).toBe('other');
    expect(
      a.attribute(accounting, ctx({ feature: 'x'.repeat(MAX_ATTRIBUTED_VALUE_LENGTH) }))['metadata.feature'],
    ).toBe('x'.repeat(MAX_ATTRIBUTED_VALUE_LENGTH));
  });

  it('keeps its values across policy versions, so a reload does not reset the cap', () => {
    const a = new Attribution();
    const v1 = compileAccounting({ attribute: ['metadata.feature'], maxValues: 1 })!;
    const v2 = compileAccounting({ attribute: ['metadata.feature'], maxValues: 1 })!;
    expect(a.attribute(v1, ctx({ feature: 'a' }))['metadata.feature']).toBe('a');
    expect(a.attribute(v2, ctx({ feature: 'b' }))['metadata.feature']).toBe('other');
    expect(a.attribute(v2, ctx({ feature: 'a' }))['metadata.feature']).toBe('a');
  });

  it('compiles nothing without an accounting block, and defaults maxValues to 100', () => {
    expect(compileAccounting(undefined)).toBeNull();
    expect(compileAccounting({ attribute: ['label.team'] })?.maxValues).toBe(100);
  });
});
