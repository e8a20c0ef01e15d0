/** Probes and scrapes: `/healthz` (alive), `/readyz` (able to serve), `/metrics` (Prometheus). */

import { type Routes, sendJson, sendText } from '../http.js';
import type { Lifecycle } from '../lifecycle.js';
import type { ServerMetrics } from '../metrics.js';
import type { PolicyManager } from '../policy-manager.js';

export interface HealthRoutesOptions {
  manager: PolicyManager;
  lifecycle: Lifecycle;
  metrics: ServerMetrics;
}

const HEALTHY = JSON.stringify({ status: 'ok' });

export function healthRoutes(routes: Routes, options: HealthRoutesOptions): void {
  const { manager, lifecycle, metrics } = options;

  routes.add('GET', '/healthz', { handler: (req) => sendJson(req, 200, HEALTHY) });

  routes.add('GET', '/readyz', {
    handler: (req) => {
      const engine = manager.engine;
      if (lifecycle.closing) return sendJson(req, 503, { status: 'shutting_down' });
      if (!manager.ready || engine === null) {
        return sendJson(req, 503, { status: 'not_ready', reason: 'no valid policy is loaded' });
      }
      const { name, version, hash } = engine.policy.identity;
      if (!engine.storesReady()) {
        return sendJson(req, 503, { status: 'not_ready', reason: 'a shared store (Redis) is not connected' });
      }
      return { status: 'ready', policy: { name, version, hash } };
    },
  });

  metrics.setBreakerSource(() => manager.engine?.breakers?.() ?? []);

  routes.add('GET', '/metrics', {
    handler: async (req) => {
      const text = await metrics.registry.metrics();
      sendText(req, 200, metrics.registry.contentType, text);
    },
  });
}
