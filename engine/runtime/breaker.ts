/**
 * Per-target circuit breakers on the Clock port.
 *
 *   closed ──(`failures` counted failures within `windowMs`)──▶ open
 *   open ──(`cooldownMs` elapsed)──▶ half_open: admits exactly one probe at a time
 *   half_open ──probe succeeds──▶ closed        half_open ──probe fails──▶ open (fresh cooldown)
 *
 * A call needs a permit (`tryAcquire`), and every permit is settled once with the call's outcome
 * (`settle`). Only failures that say something about the target's health count; errors that are
 * the request's fault (bad_request, auth, context_length, content_policy, guardrail) and
 * cancellations release the permit without changing state.
 */

import type { Clock } from '../shared/clock.js';
import { type BreakerSettings, ERROR_CLASSES, type ErrorClass, type ResolvedTarget } from '../types.js';

export type BreakerState = 'closed' | 'open' | 'half_open';

/** The request's own fault (or an answer a guardrail refused): never the target's health. */
const REQUEST_FAULTS: ReadonlySet<ErrorClass> = new Set<ErrorClass>([
  'context_length',
  'content_policy',
  'bad_request',
  'auth',
  'guardrail',
]);

/** The classes that count towards opening a breaker: every class but the request's own fault. */
export const BREAKER_FAILURE_CLASSES: ReadonlySet<ErrorClass> = new Set<ErrorClass>(
  ERROR_CLASSES.filter((c) => !REQUEST_FAULTS.has(c)),
);

export function countsAsBreakerFailure(errorClass: ErrorClass): boolean {
  return BREAKER_FAILURE_CLASSES.has(errorClass);
}

/** The right to make one call; `probe` marks the half-open probe or the forced all-open call. */
export interface BreakerPermit {
  readonly probe: boolean;
}

/** What a settled call tells the breaker; `cancelled` = the caller gave up (abort), no verdict. */
export type BreakerOutcome = 'success' | 'cancelled' | ErrorClass;

export interface BreakerSnapshot {
  readonly state: BreakerState;
  /** Counted failures still inside the window (closed state). */
  readonly recentFailures: number;
  /** When an open breaker half-opens; null unless open. */
  readonly cooldownEndsAt: number | null;
}

/**
 * A permit that knows whether it was settled. A flag on the permit rather than a WeakSet of
 * settled ones: a long-lived WeakSet keeps every young permit alive through minor GCs (one per
 * request, promoted and left for a mark-compact).
 */
class Permit implements BreakerPermit {
  #settled = false;

  constructor(readonly probe: boolean) {}

  /** Marks `permit` settled; false when it already was. */
  static claim(permit: BreakerPermit): boolean {
    if (!(#settled in permit)) return claimForeign(permit);
    if (permit.#settled) return false;
    permit.#settled = true;
    return true;
  }
}

/** Permits not made by a breaker (tests build their own): settled once all the same. */
const foreignSettled = new WeakSet<BreakerPermit>();

function claimForeign(permit: BreakerPermit): boolean {
  if (foreignSettled.has(permit)) return false;
  foreignSettled.add(permit);
  return true;
}

export class CircuitBreaker {
  #state: BreakerState = 'closed';
  /** Timestamps of counted failures, oldest first; never longer than `settings.failures`. */
  #failures: number[] = [];
  #openedAt = 0;
  /** Start time of the half-open probe in flight, or null. */
  #probeSince: number | null = null;

  constructor(
    readonly settings: BreakerSettings,
    private readonly clock: Clock,
  ) {}

  get state(): BreakerState {
    this.#refresh();
    return this.#state;
  }

  /** When the breaker half-opens (open), or now (closed / half-open: it admits or will soon). */
  cooldownEndsAt(): number {
    this.#refresh();
    return this.#state === 'open' ? this.#openedAt + this.settings.cooldownMs : this.clock.now();
  }

  snapshot(): BreakerSnapshot {
    this.#refresh();
    this.#prune();
    return {
      state: this.#state,
      recentFailures: this.#failures.length,
      cooldownEndsAt: this.#state === 'open' ? this.#openedAt + this.settings.cooldownMs : null,
    };
  }

  /** A permit when the breaker admits a call now: always when closed, one probe when half-open. */
  tryAcquire(): BreakerPermit | null {
    this.#refresh();
    if (this.#state === 'closed') return this.#permit(false);
    if (this.#state === 'half_open' && this.#probeSince === null) {
      this.#probeSince = this.clock.now();
      return this.#permit(true);
    }
    return null;
  }

  /**
   * A permit regardless of state: the route's all-open case calls the target whose cooldown ends
   * first rather than failing blind. The call acts as a probe: success closes, failure re-opens.
   */
  forceAcquire(): BreakerPermit {
    this.#refresh();
    if (this.#state === 'half_open') this.#probeSince = this.clock.now();
    return this.#permit(true);
  }

  /** Settles a permit once (later calls are ignored) with what the call found. */
  settle(permit: BreakerPermit, outcome: BreakerOutcome): void {
    if (!Permit.claim(permit)) return;
    const p = permit;
    this.#refresh();
    const now = this.clock.now();
    if (outcome === 'success') {
      // A probe's success closes; a stale permit issued before the breaker opened proves little.
      // In the closed state a success does not forgive earlier failures: the breaker opens after
      // `failures` within `window` (docs/design.md §2), so only failures older than the window go.
      if (p.probe && this.#state !== 'closed') this.#close();
      else if (this.#state === 'closed') this.#prune();
      return;
    }
    if (outcome === 'cancelled' || !countsAsBreakerFailure(outcome)) {
      if (p.probe && this.#state === 'half_open') this.#probeSince = null;
      return;
    }
    if (this.#state === 'closed') {
      if (this.settings.failures <= 0) return; // a zero threshold disables the breaker
      this.#failures.push(now);
      this.#prune();
      if (this.#failures.length >= this.settings.failures) this.#open(now);
    } else if (p.probe) {
      this.#open(now);
    }
  }

  #permit(probe: boolean): BreakerPermit {
    return new Permit(probe);
  }

  #open(now: number): void {
    this.#state = 'open';
    this.#openedAt = now;
    this.#failures = [];
    this.#probeSince = null;
  }

  #close(): void {
    this.#state = 'closed';
    this.#failures = [];
    this.#probeSince = null;
  }

  #refresh(): void {
    const now = this.clock.now();
    if (this.#state === 'open' && now >= this.#openedAt + this.settings.cooldownMs) {
      this.#state = 'half_open';
      this.#probeSince = null;
    }
    // A probe that never settled (a leaked permit) must not wedge the breaker half-open forever.
    if (
      this.#state === 'half_open' &&
      this.#probeSince !== null &&
      now - this.#probeSince > Math.max(this.settings.cooldownMs, this.settings.windowMs)
    ) {
      this.#probeSince = null;
    }
  }

  #prune(): void {
    const horizon = this.clock.now() - this.settings.windowMs;
    let drop = 0;
    while (drop < this.#failures.length && this.#failures[drop] <= horizon) drop += 1;
    // Only the last `failures` timestamps can ever matter, which bounds the memory per target.
    drop = Math.max(drop, this.#failures.length - Math.max(1, this.settings.failures));
    if (drop > 0) this.#failures.splice(0, drop);
  }
}

/** Identifies a breaker: the target's name, its provider and its breaker settings. */
export function breakerKey(target: Pick<ResolvedTarget, 'name' | 'provider' | 'breaker'>): string {
  const b = target.breaker;
  return `${target.name}\u0000${target.provider}\u0000${b.failures}/${b.windowMs}/${b.cooldownMs}`;
}

function nameOfKey(key: string): string {
  return key.slice(0, key.indexOf('\u0000'));
}

/** The target name a {@link breakerKey} belongs to. */
export const targetOfBreakerKey = nameOfKey;

/**
 * The breakers of one engine, keyed by {@link breakerKey}: a reload that keeps a target's
 * definition keeps its state; a changed definition starts fresh. Per target name at most the two
 * most recent definitions are kept (the serving snapshot and the one requests may still finish
 * on), and `retain` drops the names a new policy no longer has, so memory stays bounded.
 */
export class BreakerRegistry {
  readonly #breakers = new Map<string, CircuitBreaker>();
  /**
   * Per target name, the target object last looked up and its breaker: a compiled policy hands
   * out the same target objects request after request, so the key need not be built each time.
   */
  readonly #last = new Map<string, { target: object; key: string; breaker: CircuitBreaker }>();

  constructor(private readonly clock: Clock) {}

  get(target: Pick<ResolvedTarget, 'name' | 'provider' | 'breaker'>): CircuitBreaker {
    const last = this.#last.get(target.name);
    // The breaker must still be registered: `retain` may have dropped it since.
    if (last !== undefined && last.target === target && this.#breakers.get(last.key) === last.breaker)
      return last.breaker;
    const key = breakerKey(target);
    let breaker = this.#breakers.get(key);
    if (breaker === undefined) {
      breaker = new CircuitBreaker(target.breaker, this.clock);
      this.#evictOlderDefinitions(target.name);
      this.#breakers.set(key, breaker);
    }
    this.#last.set(target.name, { target, key, breaker });
    return breaker;
  }

  /** Keeps the breakers of these target names (or exact keys) and drops every other one. */
  retain(namesOrKeys: Iterable<string>): void {
    const keep = new Set(namesOrKeys);
    for (const key of [...this.#breakers.keys()]) {
      if (!keep.has(key) && !keep.has(nameOfKey(key))) this.#breakers.delete(key);
    }
    for (const [name, last] of [...this.#last]) if (!this.#breakers.has(last.key)) this.#last.delete(name);
  }

  get size(): number {
    return this.#breakers.size;
  }

  snapshot(): ReadonlyMap<string, BreakerSnapshot> {
    const out = new Map<string, BreakerSnapshot>();
    for (const [key, breaker] of this.#breakers) out.set(key, breaker.snapshot());
    return out;
  }

  #evictOlderDefinitions(name: string): void {
    const same = [...this.#breakers.keys()].filter((key) => nameOfKey(key) === name);
    // Map iteration is insertion order: drop the oldest until one remains (the new key makes two).
    for (const key of same.slice(0, Math.max(0, same.length - 1))) this.#breakers.delete(key);
  }
}
