import { SETTINGS } from '../config/settings.js';
import { BehaviourEvent } from '../schemas/behaviour.js';
import { ItemEvent } from '../schemas/item.js';
import { UserProfileEvent } from '../schemas/user.js';

// The ingest API's OpenAPI 3.1 document, built from the same TypeBox schemas that validate
// requests. The committed copy (docs/openapi/ingest.json) is checked against this by a unit test.

/** Drops TypeBox's symbol keys and `$id`s so the schema embeds cleanly under components. */
const plain = (schema: object): object =>
  JSON.parse(JSON.stringify(schema), (k, v) => (k === '$id' ? undefined : v)) as object;

/**
 * An item event as the server takes it: `oneOf` an upsert (features required) and a removal
 * (features forbidden), the rule itemContract adds to the TypeBox schema.
 */
function itemEventSchema(): object {
  const { properties, required, ...rest } = plain(ItemEvent) as {
    properties: Record<string, object>;
    required: string[];
  };
  const { features, op, ...common } = properties;
  const opDescription = (op as { description?: string }).description;
  return {
    description: (ItemEvent as { description?: string }).description,
    oneOf: [
      {
        ...rest,
        title: 'upsert',
        required: [...required, 'features'],
        properties: { ...common, op: { const: 'upsert', description: opDescription }, features },
      },
      {
        ...rest,
        title: 'remove',
        required,
        properties: { ...common, op: { const: 'remove', description: opDescription } },
      },
    ],
  };
}

const problem = {
  type: 'object',
  required: ['error', 'message'],
  properties: {
    error: {
      type: 'string',
      description: 'Machine-readable kind: unauthorized, invalid_events, batch_too_large, …',
    },
    message: { type: 'string' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          index: { type: 'integer', description: 'Position of the event in the batch.' },
          field: { type: 'string', description: 'Dotted path of the field; empty for the whole event.' },
          message: { type: 'string' },
        },
      },
    },
  },
};

const problemResponse = (description: string, headers?: object) => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Problem' } } },
});

function ingestPath(name: string, summary: string, maxBatch: number) {
  const ref = { $ref: `#/components/schemas/${name}` };
  return {
    post: {
      summary,
      security: [{ bearer: [] }, { apiKey: [] }],
      requestBody: {
        required: true,
        content: {
          'application/json': {
            schema: {
              oneOf: [
                ref,
                {
                  type: 'object',
                  required: ['events'],
                  additionalProperties: false,
                  properties: {
                    events: {
                      type: 'array',
                      items: ref,
                      minItems: 1,
                      maxItems: maxBatch,
                      description: 'At most INGEST_MAX_BATCH.',
                    },
                  },
                },
              ],
            },
          },
        },
      },
      responses: {
        '202': {
          description: 'Every event acknowledged by Kafka (acks=all).',
          content: {
            'application/json': { schema: { type: 'object', properties: { accepted: { type: 'integer' } } } },
          },
        },
        '400': {
          description: 'Invalid events (each bad field with its index); none accepted.',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Problem' } } },
        },
        '401': problemResponse('Missing or unknown API key.', {
          'WWW-Authenticate': { schema: { type: 'string' } },
        }),
        '403': problemResponse(
          'A key of another kind (a recall or operator key): ingest takes ingest keys; or a key limited to some users (`KEY;users=…`) sent another user’s events (each listed), or item events.',
        ),
        '413': {
          description: 'Body larger than INGEST_MAX_BODY_BYTES or more than INGEST_MAX_BATCH events.',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Problem' } } },
        },
        '429': problemResponse(
          'More requests than INGEST_RATE_LIMIT_PER_SECOND (burst INGEST_RATE_LIMIT_BURST) from this key; retry after Retry-After seconds.',
          { 'Retry-After': { schema: { type: 'integer', minimum: 1 } } },
        ),
        '503': {
          description:
            'Kafka unavailable or too slow to acknowledge; retry after Retry-After seconds with the same event ids (part of the batch may already be enqueued; downstream writes are idempotent by event id).',
          headers: { 'Retry-After': { schema: { type: 'integer' } } },
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Problem' } } },
        },
      },
    },
  };
}

/** The document for an INGEST_MAX_BATCH (the committed copy: the default). */
export function ingestOpenApi(
  o: { maxBatch: number } = { maxBatch: Number(SETTINGS.ingestMaxBatch.default) },
): object {
  return {
    openapi: '3.1.0',
    info: {
      title: 'towerflow ingest API',
      version: '1',
      description:
        'Behaviour, item and user-profile events into Kafka. Each route takes one event or {"events": [...]}. /v1/ routes need an ingest (write) key; a method a path does not declare is answered 405 with Allow.',
    },
    servers: [{ url: 'http://127.0.0.1:8080' }],
    paths: {
      '/v1/events': ingestPath(
        'BehaviourEvent',
        'Post behaviour events (Kafka behaviour.events, keyed by user_id)',
        o.maxBatch,
      ),
      '/v1/items': ingestPath(
        'ItemEvent',
        'Post item upserts and removals (Kafka item.events, keyed by item_id)',
        o.maxBatch,
      ),
      '/v1/users': ingestPath(
        'UserProfileEvent',
        'Post user profiles (Kafka user.events, keyed by user_id)',
        o.maxBatch,
      ),
      '/livez': {
        get: {
          summary: 'Liveness: 200 while the process serves (the producer reconnects by itself)',
          responses: { '200': { description: 'live' }, '503': { description: 'not live' } },
        },
      },
      '/readyz': {
        get: {
          summary: 'Readiness: 200 when the Kafka producer is connected, else 503',
          responses: { '200': { description: 'ready' }, '503': { description: 'not ready' } },
        },
      },
      '/healthz': {
        get: {
          summary: 'As /readyz (kept for existing callers)',
          responses: { '200': { description: 'ready' }, '503': { description: 'not ready' } },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics',
          responses: { '200': { description: 'text exposition format' } },
        },
      },
      '/openapi.json': {
        get: { summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1' } } },
      },
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer' },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-Api-Key' },
      },
      schemas: {
        BehaviourEvent: plain(BehaviourEvent),
        ItemEvent: itemEventSchema(),
        UserProfileEvent: plain(UserProfileEvent),
        Problem: problem,
      },
    },
  };
}
