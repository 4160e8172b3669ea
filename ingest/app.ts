import type { TSchema } from '@sinclair/typebox';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { Counter, Histogram, type Registry } from 'prom-client';
import { type TopicRole, topicNames } from '../clients/kafka/topics.js';
import type { Config } from '../config/index.js';
import { answerUnrouted, guardApi, outsideScope, type Problem } from '../runtime/api-guard.js';
import type { ApiKeys } from '../runtime/api-keys.js';
import { addHealthRoutes } from '../runtime/health.js';
import type { Logger } from '../runtime/logger.js';
import { addMetricsRoute } from '../runtime/metrics.js';
import {
  behaviourContract,
  type Contract,
  itemContract,
  userContract,
  validateBatch,
} from '../schemas/index.js';
import { type KafkaGate, KafkaUnavailableError } from './kafka-gate.js';
import { ingestOpenApi } from './openapi.js';

export interface IngestDeps {
  cfg: Config;
  log: Logger;
  kafka: KafkaGate;
  /** Every kind's keys (ingest keys are accepted; the others are told 403). */
  apiKeys: ApiKeys;
  registry: Registry;
}

/** The three ingest routes: path, contract and topic. */
export const INGEST_ROUTES: { path: string; role: TopicRole; contract: Contract<TSchema> }[] = [
  { path: '/v1/events', role: 'behaviour', contract: behaviourContract as unknown as Contract<TSchema> },
  { path: '/v1/items', role: 'items', contract: itemContract as unknown as Contract<TSchema> },
  { path: '/v1/users', role: 'users', contract: userContract as unknown as Contract<TSchema> },
];

/** Seconds a client should wait before retrying after a 503. */
const RETRY_AFTER_S = 5;

/**
 * The producers' door: authenticated, bounded, validated batches to Kafka. A batch is accepted
 * whole or not at all (400 lists every bad field with its index); 202 only after Kafka has
 * acknowledged every event (acks=all).
 */
export function buildIngestApp(deps: IngestDeps): FastifyInstance {
  const { cfg, kafka, registry } = deps;
  const topics = topicNames(cfg);
  // no per-request logs (logger off): they would cost more than the request at 20k events/s; metrics count them
  const app = Fastify({
    logger: false,
    bodyLimit: cfg.ingestMaxBodyBytes,
    requestTimeout: cfg.apiRequestTimeoutMs,
    connectionTimeout: cfg.apiConnectionTimeoutMs,
  });

  const requests = new Counter({
    name: 'towerflow_ingest_requests_total',
    help: 'Ingest requests by route and status',
    labelNames: ['route', 'status'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'towerflow_ingest_request_seconds',
    help: 'Ingest request latency (to Kafka acknowledgement)',
    labelNames: ['route'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const accepted = new Counter({
    name: 'towerflow_ingest_events_accepted_total',
    help: 'Events acknowledged by Kafka',
    labelNames: ['topic'],
    registers: [registry],
  });
  const rejected = new Counter({
    name: 'towerflow_ingest_events_rejected_total',
    help: 'Events refused, by reason',
    labelNames: ['route', 'reason'],
    registers: [registry],
  });

  for (const r of INGEST_ROUTES) {
    accepted.inc({ topic: topics[r.role] }, 0);
    for (const reason of ['invalid', 'batch_too_large', 'kafka_unavailable'])
      rejected.inc({ route: r.path, reason }, 0);
  }

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unknown';
    requests.inc({ route, status: String(reply.statusCode) });
    latency.observe({ route }, reply.elapsedTime / 1000);
  });

  guardApi(app, {
    keys: deps.apiKeys,
    accept: ['ingest'],
    rate: { perSecond: cfg.ingestRateLimitPerSecond, burst: cfg.ingestRateLimitBurst },
    name: 'ingest',
  });
  answerUnrouted(app);

  app.setErrorHandler((err: FastifyError, _req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) deps.log.error({ err }, 'ingest error');
    const error =
      status === 413
        ? 'payload_too_large'
        : status === 415
          ? 'unsupported_media_type'
          : status === 400
            ? 'bad_request'
            : 'internal';
    reply
      .code(status)
      .send({ error, message: status === 500 ? 'internal error' : err.message } satisfies Problem);
  });

  for (const route of INGEST_ROUTES) {
    app.post(route.path, async (req, reply) => {
      const body = req.body as unknown;
      let values: unknown[];
      if (body !== null && typeof body === 'object' && !Array.isArray(body) && 'events' in body) {
        const events = (body as { events: unknown }).events;
        if (!Array.isArray(events))
          return reply.code(400).send(problem('events', 'Expected an array of events'));
        if (Object.keys(body).length > 1)
          return reply
            .code(400)
            .send(
              problem(
                Object.keys(body).find((k) => k !== 'events') ?? '',
                'Unexpected property next to events',
              ),
            );
        values = events;
      } else if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
        values = [body];
      } else {
        return reply.code(400).send(problem('', 'Expected one event object or {"events": [...]}'));
      }
      if (values.length === 0) return reply.code(400).send(problem('events', 'Expected at least one event'));
      if (values.length > cfg.ingestMaxBatch) {
        rejected.inc({ route: route.path, reason: 'batch_too_large' }, values.length);
        return reply.code(413).send({
          error: 'batch_too_large',
          message: `events: at most ${cfg.ingestMaxBatch} events per request, got ${values.length}`,
        } satisfies Problem);
      }
      const checked = validateBatch(route.contract, values);
      if (!checked.ok) {
        rejected.inc({ route: route.path, reason: 'invalid' }, values.length);
        const bad = new Set(checked.errors.map((e) => e.index)).size;
        return reply.code(400).send({
          error: 'invalid_events',
          message: `${bad} of ${values.length} events invalid; none accepted`,
          errors: checked.errors,
        } satisfies Problem);
      }
      // a key limited to some users writes only their events and profiles, and no items
      if (req.userScope !== undefined && route.role === 'items')
        return reply.code(403).send({
          error: 'forbidden',
          message: `this key may act only for users ${req.userScope.text}; item events need a key without a user scope`,
        } satisfies Problem);
      const scoped = outsideScope(
        req.userScope,
        (checked.values as { user_id: string }[]).map((v, index) => ({
          field: `events[${index}].user_id`,
          index,
          userId: v.user_id,
        })),
      );
      if (scoped) return reply.code(403).send(scoped);
      const topic = topics[route.role];
      try {
        await kafka.sendAll(
          topic,
          checked.values.map((v) => ({ key: route.contract.key(v), value: JSON.stringify(v) })),
        );
      } catch (e) {
        if (!(e instanceof KafkaUnavailableError)) throw e;
        rejected.inc({ route: route.path, reason: 'kafka_unavailable' }, values.length);
        return reply
          .code(503)
          .header('retry-after', String(RETRY_AFTER_S))
          .send({
            error: 'kafka_unavailable',
            message: `${e.message}; retry the same request (event ids make it safe to resend)`,
          } satisfies Problem);
      }
      accepted.inc({ topic }, values.length);
      return reply.code(202).send({ accepted: values.length });
    });
  }

  // ready while the Kafka producer is connected (it reconnects by itself: live meanwhile)
  addHealthRoutes(app, () => ({
    live: true,
    ready: kafka.ready,
    kafka: kafka.ready ? 'ready' : 'connecting',
  }));
  const openapi = ingestOpenApi({ maxBatch: cfg.ingestMaxBatch });
  app.get('/openapi.json', async () => openapi);
  addMetricsRoute(app, registry);
  return app;
}

function problem(field: string, message: string): Problem {
  return { error: 'bad_request', message: `${field || '(body)'}: ${message}`, errors: [{ field, message }] };
}
