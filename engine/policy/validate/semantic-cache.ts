/**
 * Semantic caches (`mode: semantic`) and a route's cache layers. A semantic cache needs a concrete
 * embedding model (its vectors are only comparable with the same model's), keeps its index in
 * process memory (there is no Redis vector index), never crosses tenants, and leaves `messages`
 * out of its key (the prompt is compared by embedding). A route lists at most one exact cache and
 * then at most one semantic cache: the exact one is read first.
 */

import { isRecord } from '../../shared/guards.js';
import { joinPointer } from '../source-map.js';
import type { Checks } from './checks.js';
import type { References } from './references.js';
import { code } from './wording.js';

/** Fields that only a semantic cache reads. */
const SEMANTIC_ONLY = ['embedding', 'threshold', 'dimensions', 'embeddingTimeout'] as const;

export function semanticCaches(c: Checks, refs: References): void {
  const caches = isRecord(c.doc.caches) ? c.doc.caches : {};
  const models = isRecord(c.doc.models) ? c.doc.models : {};
  const problem = (pointer: string, message: string, severity: 'error' | 'warning' = 'error'): void => {
    c.out.push(c.ctx.diag('SEM_SEMANTIC_CACHE', severity, `${c.ctx.subject(pointer)} ${message}`, pointer));
  };
  for (const [name, cache] of Object.entries(caches)) {
    const base = joinPointer('/caches', name);
    if (!isRecord(cache) || !c.clean(base)) continue;
    if (cache.mode !== 'semantic') {
      for (const field of SEMANTIC_ONLY) {
        if (cache[field] !== undefined)
          problem(
            joinPointer(base, field),
            'is read by `mode: semantic` caches only; this cache is exact',
            'warning',
          );
      }
      continue;
    }
    const embedding = cache.embedding;
    if (typeof embedding !== 'string') {
      problem(
        joinPointer(base, 'mode'),
        'is `semantic`, which needs `embedding:` (the model that embeds prompts)',
      );
    } else {
      refs.reference('models', embedding, joinPointer(base, 'embedding'));
      const model = models[embedding];
      if (isRecord(model) && model.model === '*')
        problem(
          joinPointer(base, 'embedding'),
          `names ${code(embedding)}, a wildcard model (\`model: "*"\`); an embedding model must name one upstream model so its vectors stay comparable`,
        );
    }
    if (cache.store === 'redis')
      problem(
        joinPointer(base, 'store'),
        'is `redis`, but a semantic cache keeps its vector index in memory, one per replica (see docs/semantic-cache.md)',
      );
    if (cache.shared === true)
      problem(joinPointer(base, 'shared'), 'is true, but a semantic cache is always per tenant');
    if (Array.isArray(cache.key)) {
      for (const [k, field] of cache.key.entries()) {
        if (field === 'messages')
          problem(
            joinPointer(base, 'key', String(k)),
            'is `messages`, which a semantic cache compares by embedding, not exactly; remove it from `key`',
          );
      }
    }
  }
  cacheLayers(c, caches);
}

function cacheLayers(c: Checks, caches: Record<string, unknown>): void {
  const list = c.doc.routes;
  if (!Array.isArray(list)) return;
  list.forEach((route, i) => {
    const pointer = `/routes/${i}/cache`;
    if (!isRecord(route) || !Array.isArray(route.cache) || !c.clean(pointer)) return;
    const modes = route.cache.map((name) => {
      const cache = typeof name === 'string' ? caches[name] : undefined;
      return isRecord(cache) && (cache.mode === 'exact' || cache.mode === 'semantic') ? cache.mode : null;
    });
    if (modes.includes(null)) return; // an unknown cache: its reference error says so
    const ok = modes.length === 1 || (modes[0] === 'exact' && modes[1] === 'semantic');
    if (ok) return;
    c.out.push(
      c.ctx.diag(
        'SEM_CACHE_LAYERS',
        'error',
        `${c.ctx.subject(pointer)} lists ${modes.map((m) => code(m ?? '')).join(' then ')} caches; the layers are one \`exact\` cache, then one \`semantic\` cache`,
        pointer,
      ),
    );
  });
}
