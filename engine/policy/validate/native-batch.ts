/**
 * A route's `batch: { native: true }` hands batch lines to a provider's own batch API. It can act
 * only on targets whose provider has one (OpenAI without `azure`, Anthropic, mock), and prices
 * those answers at the model's `batchPrice`; validation says when neither holds.
 */

import { isRecord } from '../../shared/guards.js';
import { joinPointer } from '../source-map.js';
import type { Checks } from './checks.js';
import { flatten } from './targets.js';

/** Whether a provider (as written in the policy) has a native batch API the engine calls. */
export function hasNativeBatch(provider: unknown): boolean {
  if (!isRecord(provider)) return false;
  if (provider.kind === 'anthropic' || provider.kind === 'mock') return true;
  return provider.kind === 'openai' && provider.azure === undefined;
}

export function nativeBatchTargets(c: Checks): void {
  const { routes, models, providers } = c.doc;
  if (!Array.isArray(routes) || !isRecord(models) || !isRecord(providers)) return;
  routes.forEach((route, index) => {
    if (!isRecord(route) || !isRecord(route.batch) || route.batch.native !== true) return;
    const pointer = joinPointer(joinPointer('/routes', String(index)), 'batch');
    if (!c.clean(pointer)) return;
    const names = new Set(flatten(route.targets));
    const label = typeof route.name === 'string' ? `route "${route.name}"` : 'this route';
    const capable = [...names].filter((name) => {
      const model = models[name];
      return (
        isRecord(model) && typeof model.provider === 'string' && hasNativeBatch(providers[model.provider])
      );
    });
    if (capable.length === 0) {
      c.out.push(
        c.ctx.diag(
          'SEM_NATIVE_BATCH_NO_PROVIDER',
          'error',
          `${label} declares batch.native but none of its targets has a provider with a native batch API (OpenAI without azure, Anthropic, mock), so no line could ever go there`,
          pointer,
        ),
      );
      return;
    }
    for (const name of capable) {
      const model = models[name];
      if (!isRecord(model) || model.price === undefined || model.batchPrice !== undefined) continue;
      c.out.push(
        c.ctx.diag(
          'SEM_NATIVE_BATCH_NO_PRICE',
          'warning',
          `${label} sends batch lines natively to model "${name}", which declares price but no batchPrice: their cost and budgets count the full price`,
          joinPointer('/models', name),
        ),
      );
    }
  });
}
