/** A route or a nested target group: its strategy, sticky key, weights, model references and depth. */

import { isRecord } from '../../shared/guards.js';
import type { Checks } from './checks.js';
import type { Obj } from './document.js';
import type { References } from './references.js';

/** Nested target groups deeper than this are refused: the plan would be unreadable and costly. */
export const MAX_GROUP_DEPTH = 8;

/** Checks the group at `base` (a route, or a group `depth` levels under it) and its subgroups. */
export function group(c: Checks, refs: References, node: Obj, base: string, depth: number): void {
  const strategy = node.strategy;
  if (strategy === 'sticky' && node.stickyKey === undefined && c.clean(`${base}/strategy`)) {
    c.out.push(
      c.ctx.diag(
        'SEM_STICKY_KEY',
        'error',
        `${c.ctx.subject(base)} uses \`strategy: sticky\` without a \`stickyKey\` to hash (e.g. \`header.x-session-id\`)`,
        `${base}/strategy`,
      ),
    );
  }
  if (node.stickyKey !== undefined && strategy !== 'sticky' && c.clean(`${base}/stickyKey`)) {
    c.out.push(
      c.ctx.diag(
        'SEM_STICKY_KEY',
        'warning',
        `\`stickyKey\` has no effect: ${c.ctx.subject(base)} does not use \`strategy: sticky\``,
        `${base}/stickyKey`,
        { key: true },
      ),
    );
  }
  const targets = node.targets;
  if (!Array.isArray(targets)) return;
  if ((strategy === undefined || strategy === 'fallback' || strategy === 'latency') && c.clean(base)) {
    const how = strategy === 'latency' ? '`strategy: latency`' : '`strategy: fallback`';
    targets.forEach((t, k) => {
      if (!isRecord(t) || t.weight === undefined) return;
      const pointer = `${base}/targets/${k}/weight`;
      c.out.push(
        c.ctx.diag(
          'SEM_WEIGHT_IGNORED',
          'warning',
          `\`weight\` has no effect: ${c.ctx.subject(base)} uses ${how}, which does not weigh its targets`,
          pointer,
          { key: true },
        ),
      );
    });
  }
  if (strategy === 'weighted' && c.clean(`${base}/targets`) && targets.length > 0) {
    const sum = targets.reduce<number>((acc, t) => {
      const w = isRecord(t) ? t.weight : undefined;
      return acc + (typeof w === 'number' ? w : 1);
    }, 0);
    if (sum === 0) {
      c.out.push(
        c.ctx.diag(
          'SEM_ZERO_WEIGHTS',
          'error',
          `the weights of ${c.ctx.subject(base)} sum to 0, so \`weighted\` can never pick a target`,
          `${base}/targets`,
        ),
      );
    }
  }
  targets.forEach((t, k) => {
    const pointer = `${base}/targets/${k}`;
    if (typeof t === 'string') refs.reference('models', t, pointer);
    else if (isRecord(t) && typeof t.model === 'string' && t.targets === undefined) {
      refs.reference('models', t.model, `${pointer}/model`);
    } else if (isRecord(t) && Array.isArray(t.targets)) {
      if (depth + 1 > MAX_GROUP_DEPTH) {
        c.out.push(
          c.ctx.diag(
            'SEM_GROUP_DEPTH',
            'error',
            `target groups are nested more than ${MAX_GROUP_DEPTH} deep in ${c.ctx.subject(base)}; flatten the groups`,
            pointer,
          ),
        );
        return;
      }
      group(c, refs, t, pointer, depth + 1);
    }
  });
}

/** Model names a group can send to, in plan order. */
export function flatten(targets: unknown, out: string[] = [], depth = 0): string[] {
  if (!Array.isArray(targets) || depth > MAX_GROUP_DEPTH) return out;
  for (const t of targets) {
    if (typeof t === 'string') out.push(t);
    else if (isRecord(t) && typeof t.model === 'string') out.push(t.model);
    else if (isRecord(t)) flatten(t.targets, out, depth + 1);
  }
  return out;
}

/** A group of the route (or the route itself) orders its targets per request. */
export function reorders(node: Obj, depth = 0): boolean {
  if (depth > MAX_GROUP_DEPTH) return false;
  if (node.strategy !== undefined && node.strategy !== 'fallback') return true;
  return Array.isArray(node.targets) && node.targets.some((t) => isRecord(t) && reorders(t, depth + 1));
}
