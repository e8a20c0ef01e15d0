/**
 * Prometheus metrics of one server instance. Every metric lives in the instance's own registry,
 * never prom-client's global one, so several servers (tests, embedding programs) never collide.
 */

import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { PolicyIdentity, ResponseMeta } from '../engine/index.js';

export interface ServerMetrics {
  readonly registry: Registry;
  /** One finished request (its meta is null when it never reached the engine). */
  observeRequest(status: number, meta: ResponseMeta | null, seconds: number): void;
  observeReload(result: 'success' | 'failure' | 'unchanged'): void;
  setPolicy(identity: PolicyIdentity | null): void;
}

export function createServerMetrics(): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const requests = new Counter({
    name: 'switchyard_requests_total',
    help: 'Requests answered, by route, target and HTTP status.',
    labelNames: ['route', 'target', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'switchyard_request_duration_seconds',
    help: 'Time from receiving a request to the end of its response (streams: the last event).',
    labelNames: ['route', 'target', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [registry],
  });
  const attempts = new Counter({
    name: 'switchyard_upstream_attempts_total',
    help: 'Upstream calls, by target and outcome (ok or an error class).',
    labelNames: ['target', 'outcome'] as const,
    registers: [registry],
  });
  const tokens = new Counter({
    name: 'switchyard_tokens_total',
    help: 'Tokens reported by upstreams, by target and kind (prompt, completion).',
    labelNames: ['target', 'kind'] as const,
    registers: [registry],
  });
  const cost = new Counter({
    name: 'switchyard_cost_usd_total',
    help: 'Cost of answered requests in USD (usage x the model price), by target.',
    labelNames: ['target'] as const,
    registers: [registry],
  });
  const reloads = new Counter({
    name: 'switchyard_policy_reloads_total',
    help: 'Policy loads and reloads, by result (success, failure, unchanged).',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const policyInfo = new Gauge({
    name: 'switchyard_policy_info',
    help: 'The serving policy: always 1, identified by its labels.',
    labelNames: ['name', 'version', 'hash'] as const,
    registers: [registry],
  });
  for (const result of ['success', 'failure', 'unchanged'] as const) reloads.inc({ result }, 0);

  return {
    registry,
    observeRequest(status, meta, seconds) {
      const labels = { route: meta?.route ?? 'none', target: meta?.target ?? 'none', status: String(status) };
      requests.inc(labels);
      duration.observe(labels, seconds);
      if (meta === null) return;
      for (const attempt of meta.attempts) attempts.inc({ target: attempt.target, outcome: attempt.outcome });
      if (meta.target !== null && meta.usage !== null) {
        tokens.inc({ target: meta.target, kind: 'prompt' }, meta.usage.promptTokens);
        tokens.inc({ target: meta.target, kind: 'completion' }, meta.usage.completionTokens);
      }
      if (meta.target !== null && meta.costUsd !== null) cost.inc({ target: meta.target }, meta.costUsd);
    },
    observeReload(result) {
      reloads.inc({ result });
    },
    setPolicy(identity) {
      policyInfo.reset();
      if (identity !== null) policyInfo.set({ ...identity }, 1);
    },
  };
}
