/**
 * Cost attribution buckets (engine/runtime/attribution.ts) under any sequence of client values:
 * the distinct values kept per field never exceed `maxValues`; a request is counted under its own
 * value, `none` (absent or empty) or `other`; a value once kept is always kept; and `other` is
 * only ever given once the field is full or the value is too long. fast-check prints the seed of
 * any failure; set FC_NUM_RUNS for a longer run.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileAccounting } from '../../engine/compile/accounting.js';
import {
  ATTRIBUTION_NONE,
  ATTRIBUTION_OTHER,
  Attribution,
  MAX_ATTRIBUTED_VALUE_LENGTH,
} from '../../engine/runtime/attribution.js';
import type { RequestContext } from '../../engine/types.js';

const NUM_RUNS = Number(process.env.FC_NUM_RUNS ?? 200);

/** Values from a small alphabet (so repeats happen), sometimes absent, empty or over-long. */
const valueArb = fc.oneof(
  { weight: 8, arbitrary: fc.string({ unit: fc.constantFrom('a', 'b', 'c'), minLength: 1, maxLength: 3 }) },
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constant('') },
  { weight: 1, arbitrary: fc.constant('x'.repeat(MAX_ATTRIBUTED_VALUE_LENGTH + 1)) },
);

const ctx = (feature: string | undefined): RequestContext =>
  ({
    metadata: feature === undefined ? {} : { feature },
    headers: {},
    labels: {},
  }) as unknown as RequestContext;

describe('attribution buckets', () => {
  it('stay within maxValues, are the value, none or other, and never take back a kept value', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(valueArb, { maxLength: 200 }),
        (maxValues, values) => {
          const accounting = compileAccounting({ attribute: ['metadata.feature'], maxValues })!;
          const attribution = new Attribution();
          const kept = new Set<string>();
          for (const value of values) {
            const bucket = attribution.attribute(accounting, ctx(value))['metadata.feature'];
            if (value === undefined || value === '') {
              expect(bucket).toBe(ATTRIBUTION_NONE);
            } else if (kept.has(value)) {
              expect(bucket).toBe(value);
            } else if (bucket === ATTRIBUTION_OTHER) {
              expect(value.length > MAX_ATTRIBUTED_VALUE_LENGTH || kept.size >= maxValues).toBe(true);
            } else {
              expect(bucket).toBe(value);
              kept.add(value);
            }
            expect(kept.size).toBeLessThanOrEqual(maxValues);
          }
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });
});
