/**
 * The `accounting` block: the request fields spend is attributed to, resolved to getters once.
 * The bucketing of their values (the cardinality cap) is runtime state: engine/runtime/attribution.ts.
 */
import { indexGetter, normalizeField } from '../match/match.js';
import type { Accounting } from '../policy/types.generated.js';
import type { RequestContext } from '../types.js';

export const DEFAULT_ATTRIBUTION_MAX_VALUES = 100;

export interface CompiledAttribute {
  /** The field as the policy names it, header names lower-cased (`metadata.feature`, `header.x-team`). */
  readonly field: string;
  readonly get: (ctx: RequestContext) => string | undefined;
}

export interface CompiledAccounting {
  readonly attributes: readonly CompiledAttribute[];
  /** The most distinct values kept per field; later new values count as `other`. */
  readonly maxValues: number;
}

export function compileAccounting(accounting: Accounting | undefined): CompiledAccounting | null {
  if (accounting === undefined) return null;
  return Object.freeze({
    attributes: Object.freeze(
      accounting.attribute.map((raw) => {
        const field = normalizeField(raw);
        return Object.freeze({ field, get: indexGetter(field) });
      }),
    ),
    maxValues: accounting.maxValues ?? DEFAULT_ATTRIBUTION_MAX_VALUES,
  });
}
