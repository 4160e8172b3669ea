import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Config } from '../config/index.js';
import { answerUnrouted, guardApi, outsideScope } from '../runtime/api-guard.js';
import type { ApiKeys } from '../runtime/api-keys.js';
import { addHealthRoutes } from '../runtime/health.js';
import type { Logger } from '../runtime/logger.js';
import { addMetricsRoute } from '../runtime/metrics.js';
import { FilterError } from '../stores/vectors/filter.js';
import { exposureOf, routeOf } from './arms.js';
import { recallOpenApi } from './openapi.js';
import { parseRecallQuery } from './query.js';
import { recallHealth } from './readiness.js';
import { type RecallDeps, type RecallOutcome, recall } from './recall.js';
import { ShadowRunner } from './shadow.js';

/** Recall latency buckets (s), the same for every latency series so that they compare. */
const LATENCY_BUCKETS = [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1];

/**
 * GET /v1/recall for callers with a recall or operator key (an ingest key is told 403), each key
 * rate-limited; /livez, /readyz (and /healthz, as /readyz), /metrics and /openapi.json open.
 */
export function buildRecallApp(
  cfg: Config,
  log: Logger,
  deps: RecallDeps,
  registry: Registry,
  keys: ApiKeys,
): FastifyInstance {
  const app = Fastify({
    logger: false,
    requestTimeout: cfg.apiRequestTimeoutMs,
    connectionTimeout: cfg.apiConnectionTimeoutMs,
  });
  guardApi(app, {
    keys,
    accept: ['recall', 'operator'],
    rate: { perSecond: cfg.recallRateLimitPerSecond, burst: cfg.recallRateLimitBurst },
    name: 'recall',
  });
  answerUnrouted(app);
  const latency = new Histogram({
    name: 'towerflow_recall_seconds',
    help: 'Recall latency by the path that served it',
    labelNames: ['source'],
    buckets: LATENCY_BUCKETS,
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
  const answers = new Counter({
    name: 'towerflow_recall_answers_total',
    help: 'Answers by the model version and the path that served them',
    labelNames: ['model_version', 'source'],
    registers: [registry],
  });
  const armLatency = new Histogram({
    name: 'towerflow_recall_arm_seconds',
    help: 'Recall latency of answers an A/B experiment’s arm served, by arm (forced arms not counted)',
    labelNames: ['arm'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const shadows = new ShadowRunner(cfg.shadowMaxInFlight, registry, log);
  registerLiveModelGauges(registry, deps);
  const withMetrics: RecallDeps = {
    ...deps,
    onStage: (stage, seconds) => stages.observe({ stage }, seconds),
    onVectorCache: (hit) => vectorCache.inc({ result: hit ? 'hit' : 'miss' }),
    onDegraded: (dependency, err) => {
      degraded.inc({ dependency });
      log.warn({ dependency, err: (err as Error).message }, 'dependency failed; served around it');
    },
  };

  // every answer counted, 5xx included (the availability SLI, docs/slos.md): a throw below
  // becomes Fastify's 500 after the handler, so the status is only known here
  app.addHook('onResponse', async (request, reply) => {
    if (request.routeOptions.url === '/v1/recall') responses.inc({ status: String(reply.statusCode) });
  });
  app.get('/v1/recall', async (request, reply) => {
    const t0 = performance.now();
    const parsed = parseRecallQuery(request.query as Record<string, unknown>, {
      maxK: cfg.recallMaxK,
      defaultBeta: cfg.recallPopularityBeta,
    });
    if (!parsed.ok) {
      return reply.code(400).send({
        error: 'bad_request',
        message: parsed.errors.map((e) => `${e.field}: ${e.message}`).join('; '),
        errors: parsed.errors,
      });
    }
    const scoped = outsideScope(request.userScope, [{ field: 'user_id', userId: parsed.req.userId }]);
    if (scoped) return reply.code(403).send(scoped);
    if (parsed.req.arm && !request.isOperator) {
      const message =
        'arm: the arm override is for debugging and needs an operator key (RECALL_OPERATOR_KEYS)';
      return reply.code(403).send({ error: 'forbidden', message, errors: [{ field: 'arm', message }] });
    }
    // a backtest (`at`) replays the past: no experiment's traffic, answered by the live version,
    // unless an operator names the arm (which is outside the experiment's counts anyway)
    const backtest = parsed.req.at !== undefined && parsed.req.arm === undefined;
    const routing = routeOf(
      backtest ? undefined : deps.experiments?.current,
      parsed.req.userId,
      parsed.req.arm,
      (deps.sample ?? Math.random)(),
    );
    if (!routing.ok)
      return reply.code(409).send({
        error: 'conflict',
        message: routing.message,
        errors: [{ field: 'arm', message: routing.message }],
      });
    const route = routing.route;
    try {
      const out: RecallOutcome = await recall(withMetrics, parsed.req, route);
      const r = out.response;
      const seconds = (performance.now() - t0) / 1000;
      latency.observe({ source: r.source }, seconds);
      if (route.arm && !route.forced) armLatency.observe({ arm: route.arm }, seconds);
      answers.inc({ model_version: r.model_version ?? 'none', source: r.source });
      const requestId = randomUUID();
      const ts = Date.now();
      const exposures = deps.exposures;
      const shadow = out.shadow;
      // after the answer is written: neither the exposure nor the shadow delays it
      setImmediate(() => {
        exposures?.record(exposureOf(requestId, r, route, ts));
        if (shadow) shadows.run(shadow);
      });
      return { request_id: requestId, ...r };
    } catch (e) {
      if (e instanceof FilterError) {
        return reply.code(400).send({
          error: 'bad_request',
          message: e.message,
          errors: [{ field: e.field, message: e.message }],
        });
      }
      throw e;
    }
  });
  addHealthRoutes(app, () => recallHealth(deps));
  const doc = recallOpenApi({ maxK: cfg.recallMaxK });
  app.get('/openapi.json', async () => doc);
  addMetricsRoute(app, registry);
  return app;
}

/**
 * The live version as the recall API sees it, read at each scrape: its name, when it was
 * published (the model-age alert) and the offline HR@50 its daily job measured (quality over time).
 */
function registerLiveModelGauges(registry: Registry, deps: RecallDeps): void {
  // the three gauges are collected in one scrape: one read of the live pointer serves them all
  let read: { at: number; live: ReturnType<RecallDeps['models']['current']> } | undefined;
  const live = () => {
    const now = Date.now();
    if (!read || now - read.at > 1000) read = { at: now, live: deps.models.current() };
    return read.live.catch(() => undefined);
  };
  new Gauge({
    name: 'towerflow_model_live_info',
    help: 'The live model version (value 1)',
    labelNames: ['version'],
    registers: [registry],
    async collect() {
      const l = await live();
      this.reset();
      if (l) this.set({ version: l.pointer.version }, 1);
    },
  });
  new Gauge({
    name: 'towerflow_model_live_published_timestamp_seconds',
    help: 'When the live version was published (Unix seconds)',
    registers: [registry],
    async collect() {
      const l = await live();
      this.reset();
      if (l) this.set(Date.parse(l.pointer.publishedAt) / 1000);
    },
  });
  new Gauge({
    name: 'towerflow_model_live_offline_hr50',
    help: 'HR@50 the daily job measured on its held-out slice for the live version, by model (candidate = this version, live = the one it replaced, popularity)',
    labelNames: ['model'],
    registers: [registry],
    async collect() {
      const l = await live();
      this.reset();
      const metrics = (l?.model.meta.metrics ?? {}) as Record<string, Record<string, number>>;
      for (const [model, m] of Object.entries(metrics))
        if (typeof m?.['HR@50'] === 'number') this.set({ model }, m['HR@50']);
    },
  });
}
