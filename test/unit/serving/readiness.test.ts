import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { addHealthRoutes } from '../../../runtime/health.js';
import { recallHealth } from '../../../serving/readiness.js';
import type { RecallDeps } from '../../../serving/recall.js';

type Deps = Pick<RecallDeps, 'models' | 'popularity'>;
const live = { pointer: { version: 'v20240101-000000' } };
const never = () => new Promise<never>(() => {});

function deps(opts: { model: 'loaded' | 'none' | 'failing'; popularity: 'up' | 'down' | 'hanging' }): Deps {
  return {
    models: {
      current: async () => {
        if (opts.model === 'failing') throw new Error('registry unreadable');
        return opts.model === 'loaded' ? live : undefined;
      },
    },
    popularity: {
      top: () =>
        opts.popularity === 'up'
          ? Promise.resolve([{ item_id: 'i1', count: 3 }])
          : opts.popularity === 'hanging'
            ? never()
            : Promise.reject(new Error('ECONNREFUSED')),
    },
  } as unknown as Deps;
}

describe('recall API health', () => {
  it('ready with the live model loaded, even with the popularity store down (personal answers)', async () => {
    expect(await recallHealth(deps({ model: 'loaded', popularity: 'down' }), 50)).toEqual({
      live: true,
      ready: true,
      model: 'v20240101-000000',
      popularity: false,
    });
  });

  it('ready with no model when the popularity store answers (popular answers)', async () => {
    expect(await recallHealth(deps({ model: 'none', popularity: 'up' }), 50)).toEqual({
      live: true,
      ready: true,
      model: null,
      popularity: true,
    });
  });

  it('not ready (but live) when nothing can answer: a hanging popularity store counts as down after the timeout', async () => {
    for (const d of [
      deps({ model: 'none', popularity: 'hanging' }),
      deps({ model: 'failing', popularity: 'down' }),
    ])
      expect(await recallHealth(d, 50)).toEqual({ live: true, ready: false, model: null, popularity: false });
  });

  it('answers the present state on each probe: /readyz (and /healthz) 503 while down, 200 once popularity is back', async () => {
    let popularity: 'up' | 'down' = 'down';
    const app = Fastify();
    addHealthRoutes(app, () => recallHealth(deps({ model: 'none', popularity }), 50));
    const codes = async () =>
      Promise.all(
        ['/livez', '/readyz', '/healthz'].map(async (url) => (await app.inject({ url })).statusCode),
      );
    expect(await codes()).toEqual([200, 503, 503]);
    popularity = 'up';
    expect(await codes()).toEqual([200, 200, 200]);
    await app.close();
  });
});
