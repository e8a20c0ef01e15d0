/**
 * Cost attribution by declared request fields (the policy's `accounting.attribute`): each request's
 * value of each field, bounded. The values come from clients, so a field keeps at most
 * `maxValues` distinct values, the first ones this engine sees; any later new value, and any
 * value longer than {@link MAX_ATTRIBUTED_VALUE_LENGTH}, is `other`, and an absent field is
 * `none`. The seen values outlive reloads (they belong to the engine, not to a policy version), so
 * a reload cannot be used to reset the cap; a field no longer declared keeps its set, which stays
 * bounded by the cap.
 */
import type { CompiledAccounting } from '../compile/accounting.js';
import type { RequestContext } from '../types.js';

export const ATTRIBUTION_NONE = 'none';
export const ATTRIBUTION_OTHER = 'other';
/** Longer values are `other`: attribution values are labels (feature names, teams), not text. */
export const MAX_ATTRIBUTED_VALUE_LENGTH = 64;

export class Attribution {
  readonly #seen = new Map<string, Set<string>>();

  /** The bucket of each declared field for `ctx`: its value, `none` or `other`. */
  attribute(accounting: CompiledAccounting, ctx: RequestContext): Readonly<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const { field, get } of accounting.attributes) {
      out[field] = this.#bucket(field, get(ctx), accounting.maxValues);
    }
    return out;
  }

  #bucket(field: string, value: string | undefined, maxValues: number): string {
    if (value === undefined || value === '') return ATTRIBUTION_NONE;
    if (value.length > MAX_ATTRIBUTED_VALUE_LENGTH) return ATTRIBUTION_OTHER;
    let seen = this.#seen.get(field);
    if (seen === undefined) {
      seen = new Set();
      this.#seen.set(field, seen);
    }
    if (seen.has(value)) return value;
    if (seen.size >= maxValues) return ATTRIBUTION_OTHER;
    seen.add(value);
    return value;
  }
}
