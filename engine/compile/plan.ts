/**
 * Attempt plans: a route's target tree, compiled once, turned into an ordered {@link PlanNode} tree
 * per request. `fallback` and `latency` groups keep their declared order (the runtime reorders
 * `latency` from its EWMA tracker); `weighted` groups are ordered by a weighted draw without
 * replacement from the request's seed; `sticky` groups by weighted rendezvous hashing of the
 * sticky key's value (weighted draw when the request has no value).
 *
 * Targets the request cannot use are dropped before ordering: a wildcard model when the request
 * names no model, `capabilities.tools: false` when it has tools, `capabilities.vision: false`
 * when it has image content, a provider without the Responses API when the request uses what
 * only that API carries (engine/ingress/responses.ts). A group left empty is dropped; an empty
 * root means no plan.
 */
import type { Strategy } from '../policy/types.generated.js';
import type { Capabilities, PlanNode, RequestContext, ResolvedTarget } from '../types.js';
import { groupRng, nextFloat, type Rng, rendezvousScore } from './random.js';

export interface CompiledTarget {
  readonly kind: 'target';
  /** The model's name in the policy. */
  readonly model: string;
  readonly weight: number;
  /** `model: "*"`: the upstream model is the requested one. */
  readonly wildcard: boolean;
  readonly capabilities: Capabilities;
  /** Its provider serves the Responses API (`responses` of an `openai` provider). */
  readonly responses: boolean;
  /** Everything resolved for this route; a wildcard's `upstreamModel` is '*' here. */
  readonly template: ResolvedTarget;
  /** The frozen plan node, shared by every request (null for wildcards). */
  readonly node: PlanNode | null;
}

export interface CompiledGroup {
  readonly kind: 'group';
  readonly strategy: Strategy;
  /** The field hashed by `sticky` (inherited from the enclosing group when not declared). */
  readonly stickyKey: string | null;
  readonly stickyGet: ((ctx: RequestContext) => string | undefined) | null;
  /** Pre-order position in the route's tree (the route's own group is 0): salts its PRNG. */
  readonly position: number;
  readonly weight: number;
  readonly children: readonly CompiledNode[];
}

export type CompiledNode = CompiledTarget | CompiledGroup;

/** What a request needs beyond the tree: its context (null for request-independent plans). */
export interface PlanRequest {
  readonly ctx: RequestContext | null;
  readonly tools: boolean;
  readonly images: boolean;
  /** The request needs a provider serving the Responses API; absent: false. */
  readonly responses?: boolean;
}

function buildTarget(t: CompiledTarget, req: PlanRequest): PlanNode | null {
  if (req.tools && !t.capabilities.tools) return null;
  if (req.images && !t.capabilities.vision) return null;
  if (req.responses === true && !t.responses) return null;
  if (!t.wildcard) return t.node;
  const model = req.ctx === null ? '' : req.ctx.model;
  if (model === '') return null;
  return { kind: 'target', target: { ...t.template, upstreamModel: model } };
}

/** The name hashed by rendezvous: the model name, or `group#<position>` for a nested group. */
function memberName(child: CompiledNode): string {
  return child.kind === 'target' ? child.model : `group#${child.position}`;
}

/**
 * Weighted draw without replacement over the kept children: each round draws `r` uniform in
 * [0, total of the remaining positive weights) and takes the first remaining child (declared
 * order) whose running sum exceeds `r`. Weight-0 children follow in declared order.
 */
function orderWeighted(nodes: readonly PlanNode[], kept: readonly CompiledNode[], rng: Rng): PlanNode[] {
  const n = nodes.length;
  const out = new Array<PlanNode>(n);
  const remaining: number[] = [];
  for (let i = 0; i < n; i++) if (kept[i].weight > 0) remaining.push(i);
  let o = 0;
  while (remaining.length > 0) {
    let total = 0;
    for (let i = 0; i < remaining.length; i++) total += kept[remaining[i]].weight;
    const r = nextFloat(rng) * total;
    let acc = 0;
    let pick = remaining.length - 1;
    for (let i = 0; i < remaining.length; i++) {
      acc += kept[remaining[i]].weight;
      if (r < acc) {
        pick = i;
        break;
      }
    }
    out[o++] = nodes[remaining[pick]];
    remaining.splice(pick, 1);
  }
  for (let i = 0; i < n; i++) if (!(kept[i].weight > 0)) out[o++] = nodes[i];
  return out;
}

/** Highest weighted-rendezvous score first; ties keep declared order. */
function orderSticky(nodes: readonly PlanNode[], kept: readonly CompiledNode[], key: string): PlanNode[] {
  const n = nodes.length;
  const scores = new Array<number>(n);
  const order = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    scores[i] = rendezvousScore(key, memberName(kept[i]), kept[i].weight);
    order[i] = i;
  }
  // Insertion sort (groups are small): by score descending, then declared order.
  for (let i = 1; i < n; i++) {
    const cur = order[i];
    let j = i - 1;
    while (j >= 0 && scores[order[j]] < scores[cur]) {
      order[j + 1] = order[j];
      j--;
    }
    order[j + 1] = cur;
  }
  const out = new Array<PlanNode>(n);
  for (let i = 0; i < n; i++) out[i] = nodes[order[i]];
  return out;
}

function buildGroup(g: CompiledGroup, req: PlanRequest): PlanNode | null {
  const all = g.children;
  let nodes: PlanNode[] = [];
  const kept: CompiledNode[] = [];
  for (let i = 0; i < all.length; i++) {
    const child = all[i];
    const node = child.kind === 'target' ? buildTarget(child, req) : buildGroup(child, req);
    if (node === null) continue;
    nodes.push(node);
    kept.push(child);
  }
  if (nodes.length === 0) return null;
  const ctx = req.ctx;
  if (nodes.length > 1 && ctx !== null) {
    if (g.strategy === 'weighted') {
      nodes = orderWeighted(nodes, kept, groupRng(ctx.seed, g.position));
    } else if (g.strategy === 'sticky') {
      const key = g.stickyGet === null ? undefined : g.stickyGet(ctx);
      nodes =
        key === undefined
          ? orderWeighted(nodes, kept, groupRng(ctx.seed, g.position))
          : orderSticky(nodes, kept, key);
    }
  }
  return { kind: 'group', strategy: g.strategy, children: nodes };
}

/** The plan of a route for one request, or null when no target can serve it. */
export function buildPlan(root: CompiledGroup, req: PlanRequest): PlanNode | null {
  return buildGroup(root, req);
}

function flattenInto(node: PlanNode, out: ResolvedTarget[]): void {
  if (node.kind === 'target') out.push(node.target);
  else for (let i = 0; i < node.children.length; i++) flattenInto(node.children[i], out);
}

/** The attempt order: the plan's targets, depth-first. */
export function flattenPlan(plan: PlanNode): ResolvedTarget[] {
  const out: ResolvedTarget[] = [];
  flattenInto(plan, out);
  return out;
}

/**
 * Whether the plan depends on the request beyond its tools/images flags: a weighted or sticky
 * group with a choice to make, or a wildcard target.
 */
export function isDynamic(node: CompiledNode): boolean {
  if (node.kind === 'target') return node.wildcard;
  if ((node.strategy === 'weighted' || node.strategy === 'sticky') && node.children.length > 1) return true;
  return node.children.some(isDynamic);
}
