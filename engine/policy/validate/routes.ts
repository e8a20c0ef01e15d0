/**
 * Routes: unique names, reachability (first match wins, so a catch-all or an identical `when`
 * shadows the routes after it) and each route's references, targets and streaming.
 */

import { canonicalJson } from '../../shared/canonical-json.js';
import { isRecord } from '../../shared/guards.js';
import type { Checks } from './checks.js';
import type { References } from './references.js';
import { prefill } from './streaming.js';
import { group } from './targets.js';
import { code } from './wording.js';

export function routes(c: Checks, refs: References): void {
  const list = c.doc.routes;
  if (!Array.isArray(list)) return;
  const names = new Map<string, number>();
  const whens = new Map<string, number>();
  let catchAll: number | undefined;
  list.forEach((route, i) => {
    if (!isRecord(route)) return;
    const base = `/routes/${i}`;
    const name = route.name;
    // Duplicate names.
    if (typeof name === 'string' && c.clean(`${base}/name`)) {
      const first = names.get(name);
      if (first !== undefined) {
        c.out.push(
          c.ctx.diag(
            'SEM_DUPLICATE_ROUTE',
            'error',
            `route ${code(name)} is defined twice; route names must be unique`,
            `${base}/name`,
            {
              related: [c.ctx.related(`route ${code(name)} is first defined here`, `/routes/${first}/name`)],
            },
          ),
        );
      } else {
        names.set(name, i);
      }
    }
    // Reachability: first match wins, so a catch-all or an identical `when` shadows later routes.
    const label = (k: number): string => {
      const n = c.ctx.routeName(k);
      return n !== undefined ? `route ${code(n)}` : `route #${k + 1}`;
    };
    if (catchAll !== undefined) {
      c.out.push(
        c.ctx.diag(
          'SEM_UNREACHABLE_ROUTE',
          'warning',
          `${label(i)} is unreachable: ${label(catchAll)} before it has no \`when\` and matches every request`,
          base,
          { related: [c.ctx.related(`${label(catchAll)} matches everything`, `/routes/${catchAll}`)] },
        ),
      );
    } else if (route.when !== undefined && c.clean(`${base}/when`)) {
      const key = canonicalJson(route.when);
      const earlier = whens.get(key);
      if (earlier !== undefined) {
        c.out.push(
          c.ctx.diag(
            'SEM_UNREACHABLE_ROUTE',
            'warning',
            `${label(i)} is unreachable: ${label(earlier)} before it has the same \`when\` and wins first`,
            base,
            {
              related: [c.ctx.related(`${label(earlier)} has the same \`when\``, `/routes/${earlier}/when`)],
            },
          ),
        );
      } else {
        whens.set(key, i);
      }
    }
    if (route.when === undefined && catchAll === undefined) catchAll = i;
    // References.
    if (Array.isArray(route.limits)) {
      for (const [k, l] of route.limits.entries()) refs.reference('limits', l, `${base}/limits/${k}`);
    }
    if (Array.isArray(route.budgets)) {
      for (const [k, b] of route.budgets.entries()) refs.reference('budgets', b, `${base}/budgets/${k}`);
    }
    if (Array.isArray(route.guardrails)) {
      for (const [k, g] of route.guardrails.entries())
        refs.reference('guardrails', g, `${base}/guardrails/${k}`);
    }
    if (typeof route.cache === 'string') refs.reference('caches', route.cache, `${base}/cache`);
    else if (Array.isArray(route.cache)) {
      for (const [k, name] of route.cache.entries()) refs.reference('caches', name, `${base}/cache/${k}`);
    }
    group(c, refs, route, base, 0);
    prefill(c, route, base);
  });
}
