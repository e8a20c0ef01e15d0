/**
 * The route index: the part of the decision graph that keeps `decide` from scanning every route.
 *
 * Each route is filed under at most one *key*: a top-level equality or `in` on a string field
 * (model first, then tenant, path, metadata, label, header), which every request the route matches
 * must satisfy. Routes without one go to the always-check list. For a request, the candidates are
 * the buckets of the request's values for each indexed field plus the always-check list: a few
 * small ascending arrays, merged in route order and checked until the first full match. A route
 * that matches is always among the candidates, and candidates are visited in file order, so the
 * answer is exactly the linear scan's (property P3).
 */
import {
  indexGetter,
  isIndexableField,
  normalizeField,
  type Predicate,
  whenConditions,
} from '../match/match.js';
import type { Condition, Operators, When } from '../policy/types.generated.js';
import type { RequestContext } from '../types.js';

/** What the index needs of a route. */
export interface IndexableRoute {
  readonly when: When | undefined;
  readonly match: Predicate;
}

export interface IndexedField {
  readonly field: string;
  readonly get: (ctx: RequestContext) => string | undefined;
  /** Field value → ascending route positions filed under it. */
  readonly buckets: ReadonlyMap<string, readonly number[]>;
}

export interface RouteIndex {
  readonly fields: readonly IndexedField[];
  /**
   * Per route: its `when` is nothing but its index key (or absent), so being a candidate proves the
   * match and the predicate need not run. Buckets and the always-check list end at their first
   * exact route: nothing after it can be the first match of a request that reaches it.
   */
  readonly exact: readonly boolean[];
  /** Ascending positions of routes without an indexable key. */
  readonly always: readonly number[];
  /** Per route: the field it is filed under, or null (always-check). For tests and explain. */
  readonly keyOf: readonly (string | null)[];
}

interface IndexKey {
  readonly field: string;
  readonly values: readonly string[];
}

function fieldRank(field: string): number {
  if (field === 'model') return 0;
  if (field === 'tenant') return 1;
  if (field === 'path') return 2;
  if (field.startsWith('metadata.')) return 3;
  if (field.startsWith('label.')) return 4;
  return 5;
}

function equalityValues(condition: Condition): string[] | null {
  if (typeof condition !== 'object' || condition === null) return [String(condition)];
  const ops: Operators = condition;
  // Any other operator beside `in` only narrows further: `in` stays a necessary condition.
  if (ops.in !== undefined) return [...new Set(ops.in.map((v) => String(v)))];
  return null;
}

/** Every necessary equality of `when`: its own keys and those of its `all` members. */
function collectKeys(when: When, out: IndexKey[]): void {
  for (const [key, condition] of whenConditions(when)) {
    if (!isIndexableField(key)) continue;
    const values = equalityValues(condition);
    if (values !== null) out.push({ field: normalizeField(key), values });
  }
  for (const sub of when.all ?? []) collectKeys(sub, out);
}

/** The most selective indexable key of a route, or null. */
export function chooseIndexKey(when: When | undefined): IndexKey | null {
  if (when === undefined) return null;
  const keys: IndexKey[] = [];
  collectKeys(when, keys);
  let best: IndexKey | null = null;
  for (const k of keys) {
    if (
      best === null ||
      fieldRank(k.field) < fieldRank(best.field) ||
      (fieldRank(k.field) === fieldRank(best.field) && k.values.length < best.values.length)
    ) {
      best = k;
    }
  }
  return best;
}

/** The route's `when` is a lone equality or plain `in` on an indexable field, or absent. */
function isExact(when: When | undefined): boolean {
  if (when === undefined) return true;
  if (when.all !== undefined || when.any !== undefined || when.not !== undefined) return false;
  const conditions = whenConditions(when);
  if (conditions.length !== 1) return false;
  const [field, condition] = conditions[0];
  if (!isIndexableField(field)) return false;
  if (typeof condition !== 'object' || condition === null) return true;
  return Object.keys(condition).every((op) => op === 'in');
}

function pushUnlessClosed(list: number[], position: number, exact: readonly boolean[]): void {
  if (list.length > 0 && exact[list[list.length - 1]]) return;
  list.push(position);
}

/** Builds the index over routes in file order. */
export function createRouteIndex(routes: readonly IndexableRoute[]): RouteIndex {
  const byField = new Map<string, Map<string, number[]>>();
  const always: number[] = [];
  const keyOf: (string | null)[] = [];
  const exact = routes.map((r) => isExact(r.when));
  routes.forEach((route, position) => {
    const key = chooseIndexKey(route.when);
    keyOf.push(key === null ? null : key.field);
    if (key === null) {
      pushUnlessClosed(always, position, exact);
      return;
    }
    let buckets = byField.get(key.field);
    if (buckets === undefined) {
      buckets = new Map();
      byField.set(key.field, buckets);
    }
    for (const value of key.values) {
      const bucket = buckets.get(value);
      if (bucket === undefined) buckets.set(value, [position]);
      else pushUnlessClosed(bucket, position, exact); // positions arrive ascending; values are distinct
    }
  });
  const fields: IndexedField[] = [];
  for (const [field, buckets] of byField) {
    fields.push({ field, get: indexGetter(field), buckets });
  }
  return { fields, exact, always, keyOf };
}

/**
 * The position of the first route (file order) whose predicate holds, or -1. Merges the
 * candidate lists by repeatedly taking the smallest head: lists are few (one per indexed field
 * plus the always-check list) and short, so this beats building and sorting a set.
 */
export function findFirstMatch(
  index: RouteIndex,
  routes: readonly IndexableRoute[],
  ctx: RequestContext,
): number {
  const fields = index.fields;
  const always = index.always;
  const exact = index.exact;
  // Fast path: nothing indexed (small policies) is the plain linear scan over `always`.
  if (fields.length === 0) return scan(always, exact, routes, ctx);
  let lists: (readonly number[])[] | null = null;
  let single: readonly number[] | null = always.length > 0 ? always : null;
  for (let f = 0; f < fields.length; f++) {
    const value = fields[f].get(ctx);
    if (value === undefined) continue;
    const bucket = fields[f].buckets.get(value);
    if (bucket === undefined) continue;
    if (single === null) single = bucket;
    else if (lists === null) lists = [single, bucket];
    else lists.push(bucket);
  }
  if (lists === null) return single === null ? -1 : scan(single, exact, routes, ctx);
  if (lists.length === 2) return mergeTwo(lists[0], lists[1], exact, routes, ctx);
  const cursors = new Array<number>(lists.length).fill(0);
  for (;;) {
    let best = -1;
    let bestRoute = Number.POSITIVE_INFINITY;
    for (let l = 0; l < lists.length; l++) {
      const list = lists[l];
      const c = cursors[l];
      if (c < list.length && list[c] < bestRoute) {
        bestRoute = list[c];
        best = l;
      }
    }
    if (best < 0) return -1;
    cursors[best]++;
    if (exact[bestRoute] || routes[bestRoute].match(ctx)) return bestRoute;
  }
}

function scan(
  list: readonly number[],
  exact: readonly boolean[],
  routes: readonly IndexableRoute[],
  ctx: RequestContext,
): number {
  for (let i = 0; i < list.length; i++) {
    const r = list[i];
    if (exact[r] || routes[r].match(ctx)) return r;
  }
  return -1;
}

function mergeTwo(
  a: readonly number[],
  b: readonly number[],
  exact: readonly boolean[],
  routes: readonly IndexableRoute[],
  ctx: RequestContext,
): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let r: number;
    if (j >= b.length || (i < a.length && a[i] < b[j])) r = a[i++];
    else r = b[j++];
    if (exact[r] || routes[r].match(ctx)) return r;
  }
  return -1;
}

/** The first matching route by plain linear scan: the specification the index must equal. */
export function findFirstMatchLinear(routes: readonly IndexableRoute[], ctx: RequestContext): number {
  for (let i = 0; i < routes.length; i++) if (routes[i].match(ctx)) return i;
  return -1;
}
