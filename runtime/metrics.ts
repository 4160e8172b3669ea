import Fastify, { type FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { addHealthRoutes, type HealthReport } from './health.js';

/** A per-process registry with Node's default metrics (event loop lag, heap, GC, CPU). */
export function createRegistry(role: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ role });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** Adds GET /metrics (Prometheus text format) to a Fastify app. */
export function addMetricsRoute(app: FastifyInstance, registry: Registry): void {
  app.get('/metrics', async (_req, reply) => {
    reply.type(registry.contentType);
    return registry.metrics();
  });
}

/**
 * A small HTTP server for processes that serve nothing else (stream processors, the batch
 * scheduler): /metrics, and /livez, /readyz (and /healthz, as /readyz) from `health`.
 */
export async function serveMetrics(
  registry: Registry,
  host: string,
  port: number,
  health: () => HealthReport | Promise<HealthReport>,
): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  addMetricsRoute(app, registry);
  addHealthRoutes(app, health);
  await app.listen({ host, port });
  return app;
}
