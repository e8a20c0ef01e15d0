/**
 * Recent latency per target (EWMA) for `strategy: latency`, and the attempt order of a plan.
 *
 * The latency of an attempt is its time to first token for streams and its whole duration for
 * JSON answers: what the caller waits for. Timeouts are observed too (with the time they took),
 * so a target that starts hanging sinks in the order instead of keeping a stale good average.
 */
import type { PlanNode, ResolvedTarget } from '../types.js';

export interface LatencyView {
  /** The EWMA in ms, or undefined when the target has no sample yet. */
  get(target: string): number | undefined;
}

export interface LatencyTrackerOptions {
  /** Weight of a new sample, in (0, 1]. Default 0.3. */
  readonly alpha?: number;
}

export class LatencyTracker implements LatencyView {
  readonly #ewma = new Map<string, number>();
  readonly #alpha: number;

  constructor(options: LatencyTrackerOptions = {}) {
    const alpha = options.alpha ?? 0.3;
    this.#alpha = alpha > 0 && alpha <= 1 ? alpha : 0.3;
  }

  observe(target: string, ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    const previous = this.#ewma.get(target);
    this.#ewma.set(target, previous === undefined ? ms : previous + this.#alpha * (ms - previous));
  }

  get(target: string): number | undefined {
    return this.#ewma.get(target);
  }

  /** Drops the samples of targets a new policy no longer has. */
  retain(names: Iterable<string>): void {
    const keep = new Set(names);
    for (const name of [...this.#ewma.keys()]) if (!keep.has(name)) this.#ewma.delete(name);
  }

  get size(): number {
    return this.#ewma.size;
  }
}

/**
 * Flattens a plan depth-first into the attempt order. Groups keep the order `decide` gave them,
 * except `latency` groups, which the runtime sorts by EWMA ascending. A target without a sample
 * sorts FIRST (it gets measured instead of starving behind a known-good target); ties, including
 * several unmeasured targets, keep declared order (the sort is stable). A nested group ranks by
 * the target it would try first. A target named twice keeps its first position only, so the walk
 * never calls one target from two places in the chain.
 */
export function orderPlan(
  plan: PlanNode,
  latency: LatencyView,
  /** The plan flattened in its default order (`Decision.targets`): returned as is when already the order. */
  flat?: readonly ResolvedTarget[],
): readonly ResolvedTarget[] {
  // Most plans have no latency group and name each target once: their order is the flat one,
  // and a request need not build it again.
  if (flat !== undefined && !hasLatencyGroup(plan) && namesDistinct(flat)) return flat;
  const out: ResolvedTarget[] = [];
  const seen = new Set<string>();
  for (const target of flatten(plan, latency)) {
    if (seen.has(target.name)) continue;
    seen.add(target.name);
    out.push(target);
  }
  return out;
}

function flatten(node: PlanNode, latency: LatencyView): ResolvedTarget[] {
  if (node.kind === 'target') return [node.target];
  const children = node.children.map((child) => flatten(child, latency));
  if (node.strategy === 'latency') {
    const rank = (targets: readonly ResolvedTarget[]): number => {
      const first = targets[0];
      if (first === undefined) return Number.POSITIVE_INFINITY;
      return latency.get(first.name) ?? Number.NEGATIVE_INFINITY;
    };
    const ranked = children.map((targets, index) => ({ targets, index, score: rank(targets) }));
    ranked.sort((a, b) => (a.score === b.score ? a.index - b.index : a.score < b.score ? -1 : 1));
    return ranked.flatMap((r) => r.targets);
  }
  return children.flat();
}

function hasLatencyGroup(node: PlanNode): boolean {
  if (node.kind === 'target') return false;
  if (node.strategy === 'latency') return true;
  for (let i = 0; i < node.children.length; i++) if (hasLatencyGroup(node.children[i])) return true;
  return false;
}

/** No target named twice; pairwise for the usual handful, a Set beyond. */
function namesDistinct(targets: readonly ResolvedTarget[]): boolean {
  if (targets.length > 16) return new Set(targets.map((t) => t.name)).size === targets.length;
  for (let i = 1; i < targets.length; i++) {
    for (let j = 0; j < i; j++) if (targets[i].name === targets[j].name) return false;
  }
  return true;
}
