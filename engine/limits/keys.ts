/**
 * Counter keys: the key tuple of a limit or budget (`key: [tenant, label.tier]`) turned into one
 * string per request. `compileKey` resolves the field names once (at policy compile time); the
 * returned function only reads values.
 *
 * Format: `field=value|field=value`, fields in declared order. In a present value `%` becomes
 * `%25` and `|` becomes `%7C` (an injective escape that never throws, unlike
 * `encodeURIComponent` on a lone surrogate), so a value never contains `|` and `a|b` + `c` cannot
 * collide with `a` + `b|c`. An absent value is the bare field name with no `=`, distinct from the empty string
 * (`field=`). Absent means: no tenant, no requested model (''), a missing label/header/metadata
 * key, or no target (admission happens before a target is chosen: a limit keyed on `target`
 * must be acquired per attempt to mean anything).
 */
import { fieldGetter, normalizeField } from '../match/match.js';
import type { RequestContext } from '../types.js';

export interface KeyInput {
  readonly ctx: RequestContext;
  /** The matched route's name. */
  readonly route: string;
  /** The target (model name in the policy) of the attempt, when known. */
  readonly target?: string | null;
}

export type KeyFunction = (input: KeyInput) => string;

const SPECIAL = /[%|]/g;

function escapeValue(value: string): string {
  // Most values (a route, a tenant, a tier) have neither: no regular expression run, no copy.
  if (value.indexOf('%') < 0 && value.indexOf('|') < 0) return value;
  return value.replace(SPECIAL, (c) => (c === '%' ? '%25' : '%7C'));
}

type Part = (input: KeyInput) => string | undefined;

function part(field: string): Part {
  switch (field) {
    case 'route':
      return (input) => input.route;
    case 'target':
      return (input) => input.target ?? undefined;
  }
  const get = fieldGetter(field);
  return (input) => {
    const v = get(input.ctx);
    return typeof v === 'string' ? v : undefined;
  };
}

/**
 * @example
 * const key = compileKey(['tenant', 'header.X-User']);
 * key({ ctx, route: 'chat' }) // 'tenant=acme|header.x-user=bob%7Cx'  (or '...|header.x-user' when absent)
 */
export function compileKey(fields: readonly string[]): KeyFunction {
  const names = fields.map(normalizeField);
  const parts = names.map(part);
  const n = parts.length;
  return (input) => {
    let out = '';
    for (let i = 0; i < n; i++) {
      if (i > 0) out += '|';
      const v = parts[i](input);
      out += v === undefined ? names[i] : `${names[i]}=${escapeValue(v)}`;
    }
    return out;
  };
}
