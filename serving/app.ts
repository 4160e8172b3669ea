import Fastify, { type FastifyInstance } from 'fastify';
import { Counter, Histogram, type Registry } from 'prom-client';
import { FilterError } from '../clients/milvus/filter.js';
import type { Config } from '../config/index.js';
import type { Logger } from '../runtime/logger.js';
import { addMetricsRoute } from '../runtime/metrics.js';
import { recallOpenApi } from './openapi.js';
import { parseRecallQuery } from './query.js';
import { type RecallDeps, recall } from './recall.js';

/** GET /v1/recall, /healthz, /metrics. */
export function buildRecallApp(
  cfg: Config,
  log: Logger,
  deps: RecallDeps,
  registry: Registry,
): FastifyInstance {
  const app = Fastify({ logger: false });
  const latency = new Histogram({
    name: 'towerflow_recall_seconds',
    help: 'Recall latency by the path that served it',
    labelNames: ['source'],
    buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  const responses = new Counter({
    name: 'towerflow_recall_requests_total',
    help: 'Recall requests by status',
    labelNames: ['status'],
    registers: [registry],
  });
  const degraded = new Counter({
    name: 'towerflow_recall_degraded_total',
    help: 'Dependency failures served around',
    labelNames: ['dependency'],
    registers: [registry],
  });
  for (const dependency of ['milvus', 'redis', 'hbase']) degraded.inc({ dependency }, 0);
  const stages = new Histogram({
    name: 'towerflow_recall_stage_seconds',
    help: 'Time per stage of a recall request (features, user_vector, milvus, popular)',
    labelNames: ['stage'],
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  const vectorCache = new Counter({
    name: 'towerflow_recall_vector_cache_total',
    help: 'User vector cache lookups by result (hit ratio = hit / all)',
    labelNames: ['result'],
    registers: [registry],
  });
  for (const result of ['hit', 'miss']) vectorCache.inc({ result }, 0);
  const searchBatch = new Histogram({
    name: 'towerflow_recall_search_batch_size',
    help: 'Query vectors per Milvus search call (concurrent requests coalesced)',
    buckets: [1, 2, 4, 8, 16, 32],
    registers: [registry],
  });
  deps.searcher.onBatch = (n) => searchBatch.observe(n);
  const withMetrics: RecallDeps = {
    ...deps,
    onStage: (stage, seconds) => stages.observe({ stage }, seconds),
    onVectorCache: (hit) => vectorCache.inc({ result: hit ? 'hit' : 'miss' }),
    onDegraded: (dependency, err) => {
      degraded.inc({ dependency });
      log.warn({ dependency, err: (err as Error).message }, 'dependency failed; served around it');
    },
  };

  app.get('/v1/recall', async (request, reply) => {
    const t0 = performance.now();
    const parsed = parseRecallQuery(request.query as Record<string, unknown>, {
      maxK: cfg.recallMaxK,
      defaultBeta: cfg.recallPopularityBeta,
    });
    if (!parsed.ok) {
      responses.inc({ status: '400' });
      return reply.code(400).send({
        error: 'bad_request',
        message: parsed.errors.map((e) => `${e.field}: ${e.message}`).join('; '),
        errors: parsed.errors,
      });
    }
    try {
      const r = await recall(withMetrics, parsed.req);
      latency.observe({ source: r.source }, (performance.now() - t0) / 1000);
      responses.inc({ status: '200' });
      return r;
    } catch (e) {
      if (e instanceof FilterError) {
        responses.inc({ status: '400' });
        return reply.code(400).send({
          error: 'bad_request',
          message: e.message,
          errors: [{ field: e.field, message: e.message }],
        });
      }
      throw e;
    }
  });
  app.get('/healthz', async () => ({ ok: true }));
  const doc = recallOpenApi();
  app.get('/openapi.json', async () => doc);
  addMetricsRoute(app, registry);
  return app;
}
