import Fastify, { type FastifyInstance } from 'fastify';
import { Counter, Histogram, type Registry } from 'prom-client';
import { type Condition, FilterError } from '../clients/milvus/filter.js';
import type { Config } from '../config/index.js';
import type { Logger } from '../runtime/logger.js';
import { addMetricsRoute } from '../runtime/metrics.js';
import { ID_PATTERN } from '../schemas/ids.js';
import { type RecallDeps, type RecallRequest, recall } from './recall.js';

/** Category values: what catalogues use, nothing an expression needs (quotes, brackets, backslashes). */
const CATEGORY = /^[\p{L}\p{N} _.&()'-]{1,64}$/u;

interface FieldProblem {
  field: string;
  message: string;
}

/** Parses and bounds the query string of GET /v1/recall; every problem names its parameter. */
export function parseRecallQuery(
  q: Record<string, unknown>,
  maxK: number,
): { ok: true; req: RecallRequest } | { ok: false; errors: FieldProblem[] } {
  const errors: FieldProblem[] = [];
  const str = (name: string): string | undefined => {
    const v = q[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') {
      errors.push({ field: name, message: 'give it once' });
      return undefined;
    }
    return v;
  };
  const known = new Set([
    'user_id',
    'k',
    'category',
    'exclude_category',
    'published_after',
    'published_before',
  ]);
  for (const name of Object.keys(q))
    if (!known.has(name)) errors.push({ field: name, message: 'unknown parameter' });
  const userId = str('user_id');
  if (userId === undefined || !ID_PATTERN.test(userId))
    errors.push({ field: 'user_id', message: `required, matching ${ID_PATTERN.source}` });
  const kRaw = str('k') ?? '50';
  const k = /^\d{1,6}$/.test(kRaw) ? Number(kRaw) : Number.NaN;
  if (!(k >= 1 && k <= maxK)) errors.push({ field: 'k', message: `a whole number from 1 to ${maxK}` });
  const conditions: Condition[] = [];
  const list = (name: string, op: 'in' | 'not in') => {
    const v = str(name);
    if (v === undefined) return;
    const values = v.split(',').filter((x) => x.length > 0);
    if (values.length === 0 || values.length > 64)
      errors.push({ field: name, message: 'from 1 to 64 comma-separated values' });
    else if (!values.every((x) => CATEGORY.test(x)))
      errors.push({
        field: name,
        message: "values of letters, digits, spaces and _ . - & ( ) ' only, up to 64 characters",
      });
    else conditions.push({ field: 'category', op, values });
  };
  list('category', 'in');
  list('exclude_category', 'not in');
  const time = (name: string, op: '>=' | '<') => {
    const v = str(name);
    if (v === undefined) return;
    if (!/^\d{1,15}$/.test(v)) errors.push({ field: name, message: 'Unix milliseconds' });
    else conditions.push({ field: 'published_at', op, value: Number(v) });
  };
  time('published_after', '>=');
  time('published_before', '<');
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, req: { userId: userId as string, k, conditions } };
}

/** GET /v1/recall, /healthz, /metrics. */
export function buildRecallApp(
  cfg: Config,
  log: Logger,
  deps: RecallDeps,
  registry: Registry,
): FastifyInstance {
  const app = Fastify({ logger: false, disableRequestLogging: true });
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
  const withMetrics: RecallDeps = {
    ...deps,
    onDegraded: (dependency, err) => {
      degraded.inc({ dependency });
      log.warn({ dependency, err: (err as Error).message }, 'dependency failed; served around it');
    },
  };

  app.get('/v1/recall', async (request, reply) => {
    const t0 = performance.now();
    const parsed = parseRecallQuery(request.query as Record<string, unknown>, cfg.recallMaxK);
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
  addMetricsRoute(app, registry);
  return app;
}
