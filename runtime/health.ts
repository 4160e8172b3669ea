import type { FastifyInstance } from 'fastify';

/**
 * A process's present state, as its probes report it: `live` (its loop runs; a restart would
 * not help otherwise) and `ready` (it can do its work now). Computed at each request from what
 * holds now, never from an error that has since passed.
 */
export interface HealthReport {
  live: boolean;
  ready: boolean;
  [detail: string]: unknown;
}

/**
 * `/livez` and `/readyz` (200 or 503, the report as the body); `/healthz` answers as `/readyz`,
 * kept for the callers that used it before the two were apart.
 */
export function addHealthRoutes(
  app: FastifyInstance,
  report: () => HealthReport | Promise<HealthReport>,
): void {
  const route =
    (ok: (h: HealthReport) => boolean) => async (_req: unknown, reply: { code(n: number): void }) => {
      const h = await report();
      reply.code(ok(h) ? 200 : 503);
      return h;
    };
  app.get(
    '/livez',
    route((h) => h.live),
  );
  app.get(
    '/readyz',
    route((h) => h.ready),
  );
  app.get(
    '/healthz',
    route((h) => h.ready),
  );
}
