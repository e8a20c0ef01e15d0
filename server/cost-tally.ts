/**
 * Spend of this replica since it started, by tenant, route and model (the serving target), for
 * `GET /admin/spend` next to the budgets' counters. Prometheus has the same split across replicas
 * (`switchyard_cost_usd_total{tenant,route,target}`); this is the quick look without a scraper.
 * Each dimension keeps at most `maxValues` names (tenants, routes and models come from the policy,
 * so the bound only matters across many reloads); spend beyond it is added to `other`. Spend by
 * the policy's `accounting.attribute` fields (`byAttribute`) arrives bucketed by the engine
 * (`meta.attribution`, capped per field by `accounting.maxValues`); the same bound applies on top,
 * and to the number of fields.
 */

import type { ResponseMeta } from '../engine/index.js';

export const OTHER = 'other';

interface Entry {
  usd: number;
  requests: number;
}

export interface CostTallyReport {
  /** When this replica started counting (ISO 8601); the figures are this replica's alone. */
  readonly since: string;
  readonly totalUsd: number;
  /** Descending by spend. */
  readonly byTenant: readonly { name: string; usd: number; requests: number }[];
  readonly byRoute: readonly { name: string; usd: number; requests: number }[];
  readonly byModel: readonly { name: string; usd: number; requests: number }[];
  /** Per attributed field (`metadata.feature`), its values descending by spend; empty without `accounting`. */
  readonly byAttribute: Readonly<Record<string, readonly { name: string; usd: number; requests: number }[]>>;
}

class Dimension {
  readonly #entries = new Map<string, Entry>();
  constructor(readonly maxValues: number) {}

  add(name: string, usd: number): void {
    let e = this.#entries.get(name);
    if (e === undefined) {
      const key = this.#entries.size >= this.maxValues ? OTHER : name;
      e = this.#entries.get(key);
      if (e === undefined) {
        e = { usd: 0, requests: 0 };
        this.#entries.set(key, e);
      }
    }
    e.usd += usd;
    e.requests++;
  }

  rows(): { name: string; usd: number; requests: number }[] {
    return [...this.#entries]
      .map(([name, e]) => ({ name, usd: e.usd, requests: e.requests }))
      .sort((a, b) => b.usd - a.usd || a.name.localeCompare(b.name));
  }
}

export class CostTally {
  readonly #since: number;
  #total = 0;
  readonly #tenant: Dimension;
  readonly #route: Dimension;
  readonly #model: Dimension;
  readonly #attributes = new Map<string, Dimension>();
  readonly #maxValues: number;

  constructor(now = Date.now(), maxValues = 1000) {
    this.#since = now;
    this.#maxValues = maxValues;
    this.#tenant = new Dimension(maxValues);
    this.#route = new Dimension(maxValues);
    this.#model = new Dimension(maxValues);
  }

  /** An answered request: counted when it has a cost (cache hits and errors cost nothing). */
  add(meta: Pick<ResponseMeta, 'tenant' | 'route' | 'target' | 'costUsd' | 'attribution'>): void {
    if (meta.target === null || meta.costUsd === null || !(meta.costUsd > 0)) return;
    this.#total += meta.costUsd;
    this.#tenant.add(meta.tenant ?? 'none', meta.costUsd);
    this.#route.add(meta.route ?? 'none', meta.costUsd);
    this.#model.add(meta.target, meta.costUsd);
    const attribution = meta.attribution;
    if (attribution === undefined) return;
    for (const field in attribution) {
      let dimension = this.#attributes.get(field);
      if (dimension === undefined) {
        // Fields come from the policy, at most 8 per version; only many reloads could add more.
        if (this.#attributes.size >= this.#maxValues) continue;
        dimension = new Dimension(this.#maxValues);
        this.#attributes.set(field, dimension);
      }
      dimension.add(attribution[field], meta.costUsd);
    }
  }

  report(): CostTallyReport {
    return {
      since: new Date(this.#since).toISOString(),
      totalUsd: this.#total,
      byTenant: this.#tenant.rows(),
      byRoute: this.#route.rows(),
      byModel: this.#model.rows(),
      byAttribute: Object.fromEntries([...this.#attributes].map(([field, d]) => [field, d.rows()])),
    };
  }
}
