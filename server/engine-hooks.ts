/** The engine's event hooks, turned into metrics and log lines. */

import type { RecorderPort } from '../engine/index.js';
import type { AlertWebhookSender } from './alert-webhook.js';
import type { Logger } from './logging.js';
import type { ServerMetrics } from './metrics.js';
import type { EngineOptions } from './policy-manager.js';

/**
 * Engine hooks → metrics and log lines. A caller's own hooks (embedding, tests) still run.
 * Store failures are logged once per outage (at the first error, and at recovery), counted always.
 */
export function withServerHooks(
  base: EngineOptions | undefined,
  metrics: ServerMetrics,
  log: Logger,
  recorder: RecorderPort | null,
  alerts: AlertWebhookSender | null = null,
): EngineOptions {
  const failing = new Set<string>();
  return {
    ...base,
    ...(recorder === null ? {} : { recorder }),
    onAttempt(attempt) {
      metrics.observeAttempt(attempt);
      base?.onAttempt?.(attempt);
    },
    onLimit(event) {
      metrics.observeLimit(event);
      base?.onLimit?.(event);
    },
    onGuardrail(verdict) {
      metrics.observeGuardrail(verdict);
      base?.onGuardrail?.(verdict);
    },
    onBudgetAlert(event) {
      metrics.observeBudgetAlert(event);
      log.warn(
        {
          budget: event.budget,
          key: event.key,
          kind: event.kind,
          threshold: event.threshold,
          spentUsd: event.spentUsd,
          limitUsd: event.limitUsd,
          period: event.period,
          ...(event.webhook === null ? {} : { webhook: event.webhook }),
        },
        event.kind === 'exceeded'
          ? `budget ${event.budget} exceeded for ${event.key}`
          : `budget ${event.budget} crossed ${Math.round(event.threshold * 100)}% for ${event.key}`,
      );
      if (event.webhook !== null) alerts?.enqueue(event);
      base?.onBudgetAlert?.(event);
    },
    onStoreError(event) {
      metrics.observeStore(event);
      const id = `${event.store} ${event.url}`;
      if (event.kind === 'error' && !failing.has(id)) {
        failing.add(id);
        log.error(
          { store: event.store, url: event.url, op: event.op, mode: event.mode, err: event.error },
          `shared store failing (${event.store}); rules behave as onStoreError says (${event.mode ?? 'open'})`,
        );
      } else if (event.kind === 'recovered' && failing.delete(id)) {
        log.info({ store: event.store, url: event.url }, `shared store recovered (${event.store})`);
      }
      base?.onStoreError?.(event);
    },
    onCache(event) {
      metrics.observeCache(event);
      base?.onCache?.(event);
    },
    onClassify(result) {
      metrics.observeClassification(result);
      base?.onClassify?.(result);
    },
  };
}
