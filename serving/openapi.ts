import { SETTINGS } from '../config/settings.js';
import { RECALL_PARAMS } from './query.js';

// The recall API's OpenAPI 3.1 document, built from the parameter table the parser uses. The
// committed copy (docs/openapi/recall.json) is checked against this by a unit test.

const problem = {
  type: 'object',
  required: ['error', 'message'],
  properties: {
    error: {
      type: 'string',
      description:
        'bad_request, unauthorized, forbidden, conflict, rate_limited, method_not_allowed, not_found',
    },
    message: { type: 'string' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          field: { type: 'string', description: 'The query parameter.' },
          message: { type: 'string' },
        },
      },
    },
  },
};

const recallResponse = {
  type: 'object',
  required: [
    'request_id',
    'user_id',
    'model_version',
    'experiment',
    'arm',
    'source',
    'id_row',
    'degraded',
    'items',
  ],
  properties: {
    request_id: {
      type: 'string',
      description: 'Unique id of this answer; its exposure on `recall.exposures` carries the same.',
    },
    user_id: { type: 'string' },
    model_version: {
      type: ['string', 'null'],
      description:
        'The version whose user tower, ID row and item collection served this answer (null before the first publish, or when the version could not be loaded).',
    },
    experiment: {
      type: ['string', 'null'],
      description:
        'The running A/B experiment this answer belongs to; null outside one (a shadow experiment never shows: its candidate’s answers are computed beside and never returned).',
    },
    arm: {
      type: ['string', 'null'],
      enum: ['control', 'candidate', null],
      description:
        'The arm that answered: the user’s own (a stable hash of experiment and user), or the one the `arm` override asked for; null outside an experiment.',
    },
    source: {
      type: 'string',
      enum: ['personal', 'profile', 'popular'],
      description:
        'personal: user tower over recent behaviour; profile: a user without behaviour, from profile and context; popular: no usable features, no model, or Milvus down.',
    },
    id_row: {
      type: ['string', 'null'],
      enum: ['incremental', 'version', null],
      description:
        "The user-ID row in the user vector: incremental (the user's row moved by the embeddings processor since this version was published) or version (the version's own row); null for popular answers.",
    },
    degraded: { type: 'boolean', description: 'A dependency failed and the answer was served around it.' },
    items: {
      type: 'array',
      items: {
        type: 'object',
        required: ['item_id', 'score'],
        properties: {
          item_id: { type: 'string' },
          score: {
            type: 'number',
            description:
              'Inner product of user and item vectors (minus the popularity correction when on); all-time count for popular items.',
          },
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

/** The document for a RECALL_MAX_K (the committed copy: the default). */
export function recallOpenApi(o: { maxK: number } = { maxK: Number(SETTINGS.recallMaxK.default) }): object {
  return {
    openapi: '3.1.0',
    info: {
      title: 'towerflow recall API',
      version: '1',
      description:
        'Top-k candidate items for a user: the live model version’s user tower over the freshest features, Milvus ANN over that version’s item collection, items the user just consumed left out. /v1/ routes need a recall (read) or operator key; a method a path does not declare is answered 405 with Allow.',
    },
    servers: [{ url: 'http://127.0.0.1:8081' }],
    paths: {
      '/v1/recall': {
        get: {
          summary: 'Recall top-k items for a user',
          parameters: Object.entries(RECALL_PARAMS).map(([name, p]) => ({
            name,
            in: 'query',
            required: p.required ?? false,
            description: p.description,
            schema: name === 'k' ? { ...p.schema, maximum: o.maxK } : p.schema,
          })),
          security: [{ bearer: [] }, { apiKey: [] }],
          responses: {
            '200': {
              description: 'Items, best first; also when a dependency is down (then `degraded`).',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Recall' } } },
            },
            '400': problemResponse(
              'A bad parameter (each named); filters are built only from whitelisted fields and checked values.',
            ),
            '401': problemResponse('Missing or unknown API key.', {
              'WWW-Authenticate': { schema: { type: 'string' } },
            }),
            '403': problemResponse(
              'A key of another kind (an ingest key): recall takes recall or operator keys; or a key limited to some users (`KEY;users=…`) asked for another user; or the `arm` override without an operator key.',
            ),
            '409': problemResponse('The `arm` override while no experiment is running.'),
            '429': problemResponse(
              'More requests than RECALL_RATE_LIMIT_PER_SECOND (burst RECALL_RATE_LIMIT_BURST) from this key; retry after Retry-After seconds.',
              { 'Retry-After': { schema: { type: 'integer', minimum: 1 } } },
            ),
          },
        },
      },
      '/livez': {
        get: {
          summary: 'Liveness: 200 while the process serves',
          responses: { '200': { description: 'live' }, '503': { description: 'not live' } },
        },
      },
      '/readyz': {
        get: {
          summary:
            'Readiness: 200 when it can answer now (the live model is loaded, or the popularity store (Redis) answers for popular items), else 503',
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
          summary: 'Prometheus metrics (latency per source and stage, vector cache hits, degraded answers)',
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
      schemas: { Recall: recallResponse, Problem: problem },
    },
  };
}
