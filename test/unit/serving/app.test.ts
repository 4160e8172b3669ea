import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../config/index.js';
import type { Logger } from '../../../runtime/logger.js';
import { buildRecallApp } from '../../../serving/app.js';
import type { RecallDeps } from '../../../serving/recall.js';

const quiet = { warn() {}, info() {}, error() {}, debug() {} } as unknown as Logger;

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
    const app = buildRecallApp(loadConfig({}), quiet, deps, registry);
    expect((await app.inject({ url: '/v1/recall?user_id=u1&k=10' })).statusCode).toBe(500);
    expect((await app.inject({ url: '/v1/recall?user_id=u1&k=0' })).statusCode).toBe(400);
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/livez' })).statusCode).toBe(200);
    const counts = (await registry.getSingleMetric('towerflow_recall_requests_total')?.get())?.values ?? [];
    expect(Object.fromEntries(counts.map((v) => [v.labels.status, v.value]))).toEqual({ '500': 1, '400': 1 });
    await app.close();
  });
});
