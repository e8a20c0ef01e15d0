/**
 * Turning what each request did on each side into the report's aggregates (replay-report.ts):
 * per-side counts, the change kinds with examples, the capped list of changes in file order, the
 * timeline. Everything here is bounded whatever the size of the traffic: counts are exact, lists
 * are capped, the timeline merges its buckets as the traffic's span grows.
 */
import type { GuardrailVerdict } from '../guardrails/index.js';
import type { RecordedLine, RecordInput } from '../replay/record.js';
import type { AttemptRecord, ErrorClass } from '../types.js';
import {
  CHANGE_KINDS,
  type ChangeKind,
  type ReplayBucket,
  type ReplayOutcome,
  type ReplaySide,
} from './replay-report.js';

/**
 * What one side observed of one request: the fields of a `ReplayOutcome` plus the details the
 * aggregates need, without copies (a `ReplayOutcome` is made only for a listed change).
 */
export interface Observed {
  readonly route: string | null;
  readonly target: string | null;
  readonly status: number;
  readonly errorCode: string | null;
  readonly attempts: readonly AttemptRecord[];
  readonly costUsd: number;
  readonly cache: ReplayOutcome['cache'];
  readonly limited: boolean;
  readonly budgetBlocked: boolean;
  readonly guardrailBlocked: boolean;
  readonly guardrails: readonly GuardrailVerdict[] | undefined;
}

function observed(
  route: string | null,
  target: string | null,
  status: number,
  errorCode: string | null,
  attempts: readonly AttemptRecord[],
  costUsd: number | null,
  cache: ReplayOutcome['cache'],
  guardrails: readonly GuardrailVerdict[] | undefined,
): Observed {
  let guardrailBlocked = errorCode === 'guardrail_blocked';
  if (!guardrailBlocked && guardrails !== undefined)
    for (const v of guardrails) if (v.enforced && v.outcome === 'block') guardrailBlocked = true;
  return {
    route,
    target,
    status,
    errorCode,
    attempts,
    costUsd: costUsd ?? 0,
    cache,
    limited: errorCode === 'rate_limited',
    budgetBlocked: errorCode === 'budget_exceeded',
    guardrailBlocked,
    guardrails,
  };
}

/** The contract's view of an observation. */
export function toOutcome(o: Observed): ReplayOutcome {
  return {
    route: o.route,
    target: o.target,
    status: o.status,
    errorCode: o.errorCode,
    attempts: o.attempts.map((a) => a.target),
    costUsd: o.costUsd,
    cache: o.cache,
    limited: o.limited,
    budgetBlocked: o.budgetBlocked,
    guardrailBlocked: o.guardrailBlocked,
  };
}

/** What the recording says a request did (the default baseline). */
export function observedFromRecording(line: RecordedLine): Observed {
  const o = line.outcome;
  return observed(
    line.decision.route,
    o.target,
    o.status,
    o.errorCode ?? null,
    line.attempts,
    o.costUsd,
    o.cache,
    line.guardrails,
  );
}

/** What a replayed request did, from the engine's recorder port (the same fields a recording keeps). */
export function observedFromEngine(entry: RecordInput): Observed {
  const d = entry.decision;
  return observed(
    d !== null && d.kind === 'route' ? d.route : null,
    entry.meta.target,
    entry.status,
    entry.errorCode ?? null,
    entry.meta.attempts,
    entry.meta.costUsd,
    entry.meta.cache,
    entry.guardrails,
  );
}

/** The kinds of change from `before` to `after`, in {@link CHANGE_KINDS} order (empty: unchanged). */
export function changeKinds(before: Observed, after: Observed): ChangeKind[] {
  const kinds: ChangeKind[] = [];
  if (before.route !== after.route) kinds.push('route');
  if (before.target !== after.target) kinds.push('target');
  if (before.status !== after.status) kinds.push('status');
  if (before.status < 400 && after.status >= 400) kinds.push('new_error');
  if (before.status >= 400 && after.status < 400) kinds.push('fixed_error');
  if (after.limited && !before.limited) kinds.push('newly_limited');
  const blocked = (o: Observed): boolean => o.budgetBlocked || o.guardrailBlocked;
  if (blocked(after) && !blocked(before)) kinds.push('newly_blocked');
  if (Math.abs(after.costUsd - before.costUsd) > 1e-9) kinds.push('cost');
  return kinds;
}

function bump(map: Map<string, number>, key: string, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

function record(map: Map<string, number>): Record<string, number> {
  return Object.fromEntries(map);
}

/** The aggregate of one side (see `ReplaySide`). */
export class SideAggregate {
  requests = 0;
  errors = 0;
  fallbacks = 0;
  cacheLookups = 0;
  cacheHits = 0;
  limited = 0;
  budgetBlocked = 0;
  costUsd = 0;
  readonly #routes = new Map<string, number>();
  readonly #targets = new Map<string, number>();
  /** By number: a status's string is made once, for the report, not per request. */
  readonly #statuses = new Map<number, number>();
  readonly #causes = new Map<string, number>();
  readonly #guardrails = new Map<string, number>();

  constructor(readonly label: string) {}

  add(o: Observed): void {
    const out = o;
    this.requests++;
    bump(this.#routes, out.route ?? '(no route)');
    if (out.target !== null) bump(this.#targets, out.target);
    this.#statuses.set(out.status, (this.#statuses.get(out.status) ?? 0) + 1);
    if (out.status >= 400) this.errors++;
    if (isFallback(out)) {
      this.fallbacks++;
      for (const a of o.attempts) if (a.outcome !== 'ok') bump(this.#causes, a.outcome);
    }
    if (out.cache === 'hit' || out.cache === 'miss') this.cacheLookups++;
    if (out.cache === 'hit') this.cacheHits++;
    if (out.limited) this.limited++;
    if (out.budgetBlocked) this.budgetBlocked++;
    if (o.guardrails !== undefined)
      for (const v of o.guardrails)
        bump(this.#guardrails, `${v.guardrail}:${v.outcome}${v.enforced ? '' : ' (shadow)'}`);
    this.costUsd += out.costUsd;
  }

  toSide(): ReplaySide {
    return {
      label: this.label,
      requests: this.requests,
      routes: record(this.#routes),
      targets: record(this.#targets),
      // Integer-like keys: an object lists them in ascending order, whatever the insertion order.
      statuses: Object.fromEntries([...this.#statuses].map(([status, n]) => [String(status), n])),
      errors: this.errors,
      fallbacks: this.fallbacks,
      fallbackCauses: record(this.#causes) as Partial<Record<ErrorClass, number>>,
      cacheLookups: this.cacheLookups,
      cacheHits: this.cacheHits,
      limited: this.limited,
      budgetBlocked: this.budgetBlocked,
      guardrails: record(this.#guardrails),
      // Sums of many small prices: rounded to a micro-cent so the report does not show float noise.
      costUsd: Math.round(this.costUsd * 1e8) / 1e8,
    };
  }
}

/** Answered by another target than the first attempted. */
function isFallback(o: Observed): boolean {
  return o.target !== null && o.attempts.length > 0 && o.attempts[0].target !== o.target;
}

// ---------------------------------------------------------------------------------------------
// Changes

const EXAMPLES = 5;

/** Per kind: the exact count and the ids of the first (in file order) few requests. */
export class ChangeKindTally {
  readonly #counts = new Map<ChangeKind, number>();
  readonly #examples = new Map<ChangeKind, { line: number; id: string }[]>();

  add(kinds: readonly ChangeKind[], line: number, id: string): void {
    for (const kind of kinds) {
      bump(this.#counts as Map<string, number>, kind);
      let list = this.#examples.get(kind);
      if (list === undefined) {
        list = [];
        this.#examples.set(kind, list);
      }
      // Requests finish out of file order: keep the smallest line numbers.
      if (list.length < EXAMPLES || line < list[list.length - 1].line) {
        list.push({ line, id });
        list.sort((a, b) => a.line - b.line);
        if (list.length > EXAMPLES) list.pop();
      }
    }
  }

  toReport(): Record<ChangeKind, { count: number; examples: string[] }> {
    const out = {} as Record<ChangeKind, { count: number; examples: string[] }>;
    for (const kind of CHANGE_KINDS) {
      out[kind] = {
        count: this.#counts.get(kind) ?? 0,
        examples: (this.#examples.get(kind) ?? []).map((e) => e.id),
      };
    }
    return out;
  }
}

/**
 * The first `cap` items in file order (changes, malformed lines), whatever order they arrive in
 * (requests finish out of order); memory stays O(cap).
 */
export class FirstLines<T extends { readonly line: number }> {
  #items: T[] = [];
  /** After a trim to `cap` items: the largest line kept (a later item beyond it is not kept). */
  #bound = Number.POSITIVE_INFINITY;

  constructor(readonly cap: number) {}

  /** Whether an item of this line would be kept: lets a caller skip building it. */
  accepts(line: number): boolean {
    return this.cap > 0 && line < this.#bound;
  }

  add(item: T): void {
    if (this.cap <= 0) return;
    this.#items.push(item);
    if (this.#items.length >= 2 * this.cap) this.#trim();
  }

  #trim(): void {
    this.#items.sort((a, b) => a.line - b.line);
    if (this.#items.length >= this.cap) {
      this.#items.length = this.cap;
      this.#bound = this.#items[this.cap - 1].line;
    }
  }

  toArray(): T[] {
    this.#trim();
    return this.#items;
  }
}

// ---------------------------------------------------------------------------------------------
// Timeline

/** Bucket widths, each a multiple of the one before, so buckets merge exactly when the span grows. */
const WIDTHS_MS = [
  1_000, 5_000, 10_000, 30_000, 60_000, 300_000, 600_000, 1_800_000, 3_600_000, 10_800_000, 21_600_000,
  43_200_000, 86_400_000, 604_800_000,
];
/** At most this many buckets: a chart's width. */
export const MAX_BUCKETS = 120;

interface MutableBucket {
  requests: number;
  baselineErrors: number;
  candidateErrors: number;
  candidateFallbacks: number;
  candidateLimited: number;
  candidateCacheHits: number;
  changed: number;
}

export class Timeline {
  #width = 0;
  #buckets = new Map<number, MutableBucket>();
  #min = Number.POSITIVE_INFINITY;
  #max = Number.NEGATIVE_INFINITY;

  /** `spanMs`, when known in advance, picks the width at once. */
  constructor(spanMs = 0) {
    this.#width = this.#widthFor(spanMs);
  }

  #widthFor(span: number): number {
    for (let i = 0; i < WIDTHS_MS.length; i++) if (span / WIDTHS_MS[i] < MAX_BUCKETS) return i;
    return WIDTHS_MS.length - 1;
  }

  add(at: number, before: Observed | null, after: Observed, changed: boolean): void {
    if (at < this.#min) this.#min = at;
    if (at > this.#max) this.#max = at;
    const wanted = this.#widthFor(this.#max - this.#min);
    if (wanted > this.#width) this.#regroup(wanted);
    const w = WIDTHS_MS[this.#width];
    const start = Math.floor(at / w) * w;
    let b = this.#buckets.get(start);
    if (b === undefined) {
      b = {
        requests: 0,
        baselineErrors: 0,
        candidateErrors: 0,
        candidateFallbacks: 0,
        candidateLimited: 0,
        candidateCacheHits: 0,
        changed: 0,
      };
      this.#buckets.set(start, b);
    }
    b.requests++;
    if (before !== null && before.status >= 400) b.baselineErrors++;
    if (after.status >= 400) b.candidateErrors++;
    if (isFallback(after)) b.candidateFallbacks++;
    if (after.limited) b.candidateLimited++;
    if (after.cache === 'hit') b.candidateCacheHits++;
    if (changed) b.changed++;
  }

  #regroup(width: number): void {
    this.#width = width;
    const w = WIDTHS_MS[width];
    const next = new Map<number, MutableBucket>();
    for (const [start, b] of this.#buckets) {
      const s = Math.floor(start / w) * w;
      const into = next.get(s);
      if (into === undefined) next.set(s, { ...b });
      else {
        into.requests += b.requests;
        into.baselineErrors += b.baselineErrors;
        into.candidateErrors += b.candidateErrors;
        into.candidateFallbacks += b.candidateFallbacks;
        into.candidateLimited += b.candidateLimited;
        into.candidateCacheHits += b.candidateCacheHits;
        into.changed += b.changed;
      }
    }
    this.#buckets = next;
  }

  /** Every bucket from the first to the last request, empty ones included, in time order. */
  toReport(): { bucketMs: number; buckets: ReplayBucket[] } {
    const w = WIDTHS_MS[this.#width];
    const buckets: ReplayBucket[] = [];
    if (this.#buckets.size > 0) {
      const first = Math.floor(this.#min / w) * w;
      const last = Math.floor(this.#max / w) * w;
      for (let s = first; s <= last; s += w) {
        const b = this.#buckets.get(s);
        buckets.push({
          start: new Date(s).toISOString(),
          requests: b?.requests ?? 0,
          baselineErrors: b?.baselineErrors ?? 0,
          candidateErrors: b?.candidateErrors ?? 0,
          candidateFallbacks: b?.candidateFallbacks ?? 0,
          candidateLimited: b?.candidateLimited ?? 0,
          candidateCacheHits: b?.candidateCacheHits ?? 0,
          changed: b?.changed ?? 0,
        });
      }
    }
    return { bucketMs: w, buckets };
  }
}
