import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../config/index.js';
import { UserScope } from '../../../runtime/key-scope.js';
import type { Logger } from '../../../runtime/logger.js';
import { buildRecallApp } from '../../../serving/app.js';
import type { RecallDeps } from '../../../serving/recall.js';

const quiet = { warn() {}, info() {}, error() {}, debug() {} } as unknown as Logger;
const KEYS = {
  ingest: ['write-key'],
  recall: ['read-key', { key: 'tenant-key', users: UserScope.parse('acme.*') }],
  operator: ['op-key'],
};
const read = { authorization: 'Bearer read-key' };

describe('recall API status counter (the availability SLI)', () => {
  it('counts every answer of GET /v1/recall by status, a thrown 500 included, and nothing else', async () => {
    // stores that answer nothing, and a live-model holder broken in a way the recall path does
    // not serve around (it throws instead of rejecting): a bug, so a 500
    const empty = new Proxy({}, { get: () => async () => [] });
    const deps = {
      searcher: {},
      sequence: empty,
      history: empty,
      profiles: empty,
      profileCache: empty,
      models: { current: () => undefined },
      popularity: empty,
    } as unknown as RecallDeps;
    const registry = new Registry();
    const app = buildRecallApp(loadConfig({}), quiet, deps, registry, KEYS);
    expect((await app.inject({ url: '/v1/recall?user_id=u1&k=10', headers: read })).statusCode).toBe(500);
    expect((await app.inject({ url: '/v1/recall?user_id=u1&k=0', headers: read })).statusCode).toBe(400);
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/livez' })).statusCode).toBe(200);
    const counts = (await registry.getSingleMetric('towerflow_recall_requests_total')?.get())?.values ?? [];
    expect(Object.fromEntries(counts.map((v) => [v.labels.status, v.value]))).toEqual({ '500': 1, '400': 1 });
    await app.close();
  });
});

describe('recall API door', () => {
  const app = (env: Record<string, string> = {}) =>
    buildRecallApp(
      loadConfig(env),
      quiet,
      {
        searcher: {},
        models: {
          current: async () => {
            throw new Error('no live version');
          },
        },
      } as unknown as RecallDeps,
      new Registry(),
      KEYS,
    );

  it('answers a key limited to some users 403 naming user_id for any other user, before any store is asked', async () => {
    const empty = new Proxy({}, { get: () => async () => [] });
    const a = buildRecallApp(
      loadConfig({}),
      quiet,
      {
        searcher: {},
        sequence: empty,
        history: empty,
        profiles: empty,
        profileCache: empty,
        models: { current: () => undefined },
        popularity: empty,
      } as unknown as RecallDeps,
      new Registry(),
      KEYS,
    );
    const tenant = { authorization: 'Bearer tenant-key' };
    const other = await a.inject({ url: '/v1/recall?user_id=globex.1', headers: tenant });
    expect(other.statusCode).toBe(403);
    expect(other.json()).toEqual({
      error: 'forbidden',
      message: 'user_id: this key may act only for users acme.*, not "globex.1"',
      errors: [{ field: 'user_id', message: 'user "globex.1" is outside this key\'s users' }],
    });
    // its own user gets past the door (to the recall path, whose live model this app lacks: 500)
    expect((await a.inject({ url: '/v1/recall?user_id=acme.1', headers: tenant })).statusCode).toBe(500);
    await a.close();
  });

  it('answers 401 without a key and 403 to an ingest key; the open routes need none', async () => {
    const a = app();
    expect((await a.inject({ url: '/v1/recall?user_id=u1' })).statusCode).toBe(401);
    const wrong = await a.inject({ url: '/v1/recall?user_id=u1', headers: { 'x-api-key': 'write-key' } });
    expect([wrong.statusCode, wrong.json().error]).toEqual([403, 'forbidden']);
    for (const url of ['/livez', '/openapi.json', '/metrics'])
      expect((await a.inject({ url })).statusCode).toBe(200);
    // no model and no popularity store here: not ready, and it says so without asking for a key
    for (const url of ['/readyz', '/healthz']) expect((await a.inject({ url })).statusCode).toBe(503);
    await a.close();
  });

  it('answers 429 with Retry-After past the key’s burst (RECALL_RATE_LIMIT_*)', async () => {
    const a = app({ RECALL_RATE_LIMIT_PER_SECOND: '1', RECALL_RATE_LIMIT_BURST: '1' });
    // k=0: a 400 that spends a token without touching the (absent) stores
    expect((await a.inject({ url: '/v1/recall?user_id=u1&k=0', headers: read })).statusCode).toBe(400);
    const limited = await a.inject({ url: '/v1/recall?user_id=u1&k=0', headers: read });
    expect([limited.statusCode, limited.headers['retry-after']]).toEqual([429, '1']);
    await a.close();
  });

  it('answers 405 with Allow to an undeclared method on /v1/recall, 404 elsewhere', async () => {
    const a = app();
    const post = await a.inject({ method: 'POST', url: '/v1/recall', headers: read });
    expect([post.statusCode, post.headers.allow]).toEqual([405, 'GET, HEAD']);
    expect((await a.inject({ url: '/v1/recal', headers: read })).statusCode).toBe(404);
    await a.close();
  });

  it('publishes RECALL_MAX_K as the maximum of k in its document', async () => {
    const a = app({ RECALL_MAX_K: '77' });
    const doc = (await a.inject({ url: '/openapi.json' })).json();
    const k = doc.paths['/v1/recall'].get.parameters.find((p: { name: string }) => p.name === 'k');
    expect(k.schema).toEqual({ type: 'integer', minimum: 1, maximum: 77, default: 50 });
    await a.close();
  });
});
