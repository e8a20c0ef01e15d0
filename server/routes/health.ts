/** Probes and scrapes: `/healthz` (alive), `/readyz` (able to serve), `/metrics` (Prometheus). */

import type { FastifyInstance } from 'fastify';
import type { Lifecycle } from '../lifecycle.js';
import type { ServerMetrics } from '../metrics.js';
import type { PolicyManager } from '../policy-manager.js';

export interface HealthRoutesOptions {
  manager: PolicyManager;
  lifecycle: Lifecycle;
  metrics: ServerMetrics;
}

export async function healthRoutes(app: FastifyInstance, options: HealthRoutesOptions): Promise<void> {
  const { manager, lifecycle, metrics } = options;

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const engine = manager.engine;
    if (lifecycle.closing) return reply.code(503).send({ status: 'shutting_down' });
    if (!manager.ready || engine === null) {
      return reply.code(503).send({ status: 'not_ready', reason: 'no valid policy is loaded' });
    }
    const { name, version, hash } = engine.policy.identity;
    if (!engine.storesReady()) {
      return reply.code(503).send({ status: 'not_ready', reason: 'a shared store (Redis) is not connected' });
    }
    return { status: 'ready', policy: { name, version, hash } };
  });

  metrics.setBreakerSource(() => manager.engine?.breakers?.() ?? []);

  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });
}
