/**
 * A route's `promptCache` only acts on targets whose provider takes explicit cache markers
 * (Anthropic); on a route with none it would do nothing, silently, so validation says so.
 */

import { isRecord } from '../../shared/guards.js';
import { joinPointer } from '../source-map.js';
import type { Checks } from './checks.js';
import { flatten } from './targets.js';

function marksSomething(declared: unknown): boolean {
  if (declared === true) return true;
  return isRecord(declared) && (declared.system === true || declared.tools === true);
}

export function promptCacheTargets(c: Checks): void {
  const { routes, models, providers } = c.doc;
  if (!Array.isArray(routes) || !isRecord(models) || !isRecord(providers)) return;
  routes.forEach((route, index) => {
    if (!isRecord(route) || !marksSomething(route.promptCache)) return;
    const pointer = joinPointer(joinPointer('/routes', String(index)), 'promptCache');
    if (!c.clean(pointer)) return;
    const names = new Set(flatten(route.targets));
    const anthropic = [...names].some((name) => {
      const model = models[name];
      const provider =
        isRecord(model) && typeof model.provider === 'string' ? providers[model.provider] : null;
      return isRecord(provider) && provider.kind === 'anthropic';
    });
    if (anthropic) return;
    const label = typeof route.name === 'string' ? `route "${route.name}"` : 'this route';
    c.out.push(
      c.ctx.diag(
        'SEM_PROMPT_CACHE_NO_EFFECT',
        'warning',
        `${label} declares promptCache but none of its targets is an Anthropic model: only Anthropic takes cache markers (OpenAI caches long prefixes on its own), so it changes nothing here`,
        pointer,
      ),
    );
  });
}
