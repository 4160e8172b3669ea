import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { addHealthRoutes } from '../../../runtime/health.js';
import { recallHealth } from '../../../serving/readiness.js';
import type { RecallDeps } from '../../../serving/recall.js';

type Deps = Pick<RecallDeps, 'models' | 'redis'>;
const live = { pointer: { version: 'v20240101-000000' } };
const never = () => new Promise<never>(() => {});

function deps(opts: { model: 'loaded' | 'none' | 'failing'; redis: 'up' | 'down' | 'hanging' }): Deps {
  return {
    models: {
      current: async () => {
        if (opts.model === 'failing') throw new Error('registry unreadable');
        return opts.model === 'loaded' ? live : undefined;
      },
    },
    redis: {
      ping: () =>
        opts.redis === 'up'
          ? Promise.resolve('PONG')
          : opts.redis === 'hanging'
            ? never()
            : Promise.reject(new Error('ECONNREFUSED')),
    },
  } as unknown as Deps;
}

describe('recall API health', () => {
  it('ready with the live model loaded, even with Redis down (personal answers)', async () => {
    expect(await recallHealth(deps({ model: 'loaded', redis: 'down' }), 50)).toEqual({
      live: true,
      ready: true,
      model: 'v20240101-000000',
      popularity: false,
    });
  });

  it('ready with no model when Redis answers (popular answers)', async () => {
    expect(await recallHealth(deps({ model: 'none', redis: 'up' }), 50)).toEqual({
      live: true,
      ready: true,
      model: null,
      popularity: true,
    });
  });

  it('not ready (but live) when nothing can answer: a hanging Redis counts as down after the timeout', async () => {
    for (const d of [deps({ model: 'none', redis: 'hanging' }), deps({ model: 'failing', redis: 'down' })])
      expect(await recallHealth(d, 50)).toEqual({ live: true, ready: false, model: null, popularity: false });
  });

  it('answers the present state on each probe: /readyz (and /healthz) 503 while down, 200 once Redis is back', async () => {
    let redis: 'up' | 'down' = 'down';
    const app = Fastify();
    addHealthRoutes(app, () => recallHealth(deps({ model: 'none', redis }), 50));
    const codes = async () =>
      Promise.all(
        ['/livez', '/readyz', '/healthz'].map(async (url) => (await app.inject({ url })).statusCode),
      );
    expect(await codes()).toEqual([200, 503, 503]);
    redis = 'up';
    expect(await codes()).toEqual([200, 200, 200]);
    await app.close();
  });
});
