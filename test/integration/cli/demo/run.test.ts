import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heldOutQueries } from '../../../../batch/gate.js';
import { EXPERIMENT_NEXT, EXPERIMENT_SHARE } from '../../../../cli/demo/experiment.js';
import { createKafka } from '../../../../clients/kafka/kafkajs.js';
import { createRedis } from '../../../../clients/redis.js';
import { loadConfig, projectRoot } from '../../../../config/index.js';
import { appsDown, appsUp } from '../../../../infra/local/apps.js';
import { IsolatedStack } from '../../../../infra/local/isolated-stack.js';
import { loadDataset } from '../../../../model/data/load.js';
import type { Dataset } from '../../../../model/data/types.js';
import { leaveLastOut } from '../../../../model/eval/protocol.js';
import { byUserInTimeOrder } from '../../../../model/samples.js';
import { ModelVersion } from '../../../../model/version.js';
import { holdOutNext } from '../../../../replay/experiment-traffic.js';
import { userQueryOf } from '../../../../serving/recall.js';
import { RedisSequenceStore } from '../../../../stores/sequence/redis.js';
import { armOf } from '../../../../versions/experiments/assign.js';
import type { ExperimentReport } from '../../../../versions/experiments/report.js';
import { sampleRatio } from '../../../../versions/experiments/stats.js';
import { ModelRegistry } from '../../../../versions/registry.js';

// The main job end to end on a small MovieLens sample, in its own stack: `towerflow demo
// --experiment --json` as a user runs it (replay, processors, the daily job, recall asked as a
// client asks, the held-out events posted, freshness, yesterday's model against today's on
// simulated users), then what it served is compared with what it measured offline, the
// experiment's report with what its users were, and every dashboard panel is checked against the
// live Prometheus for this stack.
const USERS = 120;
const exec = promisify(execFile);
const bin = path.join(projectRoot(), 'bin', 'towerflow.js');

interface DemoJson {
  users: number;
  events_in_dataset: number;
  events_posted: number;
  served: { 'HR@50': number; 'HR@100': number };
  offline: { 'HR@50': number; 'HR@100': number };
  popularity: Record<string, number>;
  agreement: { identicalTop50: number; meanOverlap50: number };
  sources: Record<string, number>;
  model_version: string;
  online: { events: number; hits: number; hit_rate: number; 'HR@50': number };
  freshness: { stored_ms: number; recall_changed_ms: number };
  experiment: ExperimentReport & { users_simulated: number; posted: number };
}

/** What the demo's steps before its experiment see: each user's last EXPERIMENT_NEXT interactions left out. */
const beforeExperiment = (ds: Dataset): Dataset => ({
  ...ds,
  interactions: holdOutNext(ds, EXPERIMENT_NEXT).past,
});

describe('towerflow demo on a small sample: served = offline, online hit rate, every dashboard panel has data', () => {
  const stack = new IsolatedStack({ redisDb: 13, portOffset: 14 });
  const cfg = stack.cfg;
  const dir = path.join(cfg.homeDir, 'sample');
  let demo: DemoJson;
  let heldOutUsers = 0;
  let simulated: string[] = [];

  beforeAll(async () => {
    // the first USERS users of ml-latest-small, in MovieLens' own layout
    const src = path.join(projectRoot(), 'datasets', 'ml-latest-small');
    mkdirSync(dir, { recursive: true });
    const lines = readFileSync(path.join(src, 'ratings.csv'), 'utf8').trimEnd().split('\n');
    const keep = new Set<string>();
    const out = [lines[0] as string];
    for (const l of lines.slice(1)) {
      const user = l.slice(0, l.indexOf(','));
      if (keep.size < USERS) keep.add(user);
      if (keep.has(user)) out.push(l);
    }
    writeFileSync(path.join(dir, 'ratings.csv'), `${out.join('\n')}\n`);
    writeFileSync(path.join(dir, 'movies.csv'), readFileSync(path.join(src, 'movies.csv')));
    const loaded = await loadDataset(dir);
    heldOutUsers = leaveLastOut(beforeExperiment(loaded)).test.length;
    simulated = [...holdOutNext(loaded, EXPERIMENT_NEXT).next.keys()];
    // the services are the suite's shared ones (started by the global setup): the demo starts none
    const { stdout } = await exec('node', [bin, 'demo', '--dataset', dir, '--experiment', '--json'], {
      env: { ...stack.env, TOWERFLOW_LOCAL_SERVICES: 'none' },
      maxBuffer: 64 * 2 ** 20,
      timeout: 900_000,
    });
    demo = JSON.parse(stdout) as DemoJson;
  }, 960_000);
  afterAll(async () => {
    await stack.close();
  });

  it('serves the offline ranking: HR@50 within 0.01, and the same top 50 for nearly every user', () => {
    expect(demo.users).toBe(heldOutUsers);
    expect(demo.events_posted).toBe(demo.events_in_dataset);
    expect(demo.sources).toEqual({ personal: heldOutUsers });
    expect(Math.abs(demo.served['HR@50'] - demo.offline['HR@50'])).toBeLessThanOrEqual(0.01);
    expect(Math.abs(demo.served['HR@100'] - demo.offline['HR@100'])).toBeLessThanOrEqual(0.01);
    // what is left is the ANN index: on this catalogue its top 50 is the exact one for most users
    expect(demo.agreement.meanOverlap50).toBeGreaterThan(0.98);
  });

  it('counts the held-out interactions against the answers as the online hit rate', () => {
    expect(demo.online.events).toBe(heldOutUsers);
    expect(demo.online.hits).toBe(Math.round(demo.served['HR@100'] * heldOutUsers));
    expect(demo.online['HR@50']).toBeCloseTo(demo.served['HR@50'], 10);
    expect(demo.freshness.stored_ms).toBeGreaterThan(0);
  });

  it('compares yesterday’s model with today’s on every simulated user, split by the sticky hash', () => {
    const e = demo.experiment;
    expect(e.name).toMatch(/^demo-v\d{8}-\d{6}$/);
    const candidate = e.name.slice('demo-'.length);
    expect(candidate).not.toBe(demo.model_version);
    expect([e.mode, e.state, e.share]).toEqual(['ab', 'running', EXPERIMENT_SHARE]);
    expect(simulated).toHaveLength(USERS);
    expect([e.users_simulated, e.posted]).toEqual([USERS, EXPERIMENT_NEXT * USERS]);
    const users = (arm: string) => simulated.filter((u) => armOf(e.name, EXPERIMENT_SHARE, u) === arm).length;
    // every user's events joined to their one exposure: nothing late, nothing unattributed
    expect(e.arms.map((a) => [a.name, a.model_version, a.users, a.events])).toEqual([
      ['control', demo.model_version, users('control'), EXPERIMENT_NEXT * users('control')],
      ['candidate', candidate, users('candidate'), EXPERIMENT_NEXT * users('candidate')],
    ]);
    for (const a of e.arms) expect(a.hit_rate).toBe(a.hits / a.events);
    expect(e.srm_p).toBe(sampleRatio(users('control'), users('candidate'), EXPERIMENT_SHARE).p);
    expect(e.ci_low).toBeLessThan(e.lift);
    expect(e.ci_high).toBeGreaterThan(e.lift);
    process.stderr.write(
      `demo experiment: ${e.arms.map((a) => `${a.name} ${a.model_version} ${a.users} users, ${a.events} events, ${a.hits} hits, hit rate ${a.hit_rate.toFixed(3)}`).join('; ')}; lift ${e.lift.toFixed(3)} [${e.ci_low.toFixed(3)}, ${e.ci_high.toFixed(3)}], srm p ${e.srm_p.toFixed(3)}; ${e.recommendation}; served HR@100 ${demo.served['HR@100'].toFixed(3)}\n`,
    );
  });

  it('computes the user vector online with the same code and features as offline (1e-6)', async () => {
    // as the demo's steps saw the data: without what the experiment's users did later
    const ds = beforeExperiment(await loadDataset(dir));
    const split = leaveLastOut(ds);
    // a user the freshness probe did not click for (the first), whose whole training history fits
    // the Redis sequence next to the held-out event and the experiment's events the demo posted afterwards
    const history = byUserInTimeOrder(split.train);
    const room = cfg.sequenceLength - 1 - EXPERIMENT_NEXT;
    const c = split.test.find((t, i) => i > 0 && (history.get(t.user)?.length ?? 0) < room);
    if (!c) throw new Error('no test case with a short history');
    const redis = createRedis(cfg);
    await redis.connect();
    const versionDir = new ModelRegistry(cfg, redis).versionDir(demo.model_version);
    const served = await ModelVersion.load(versionDir, { cpuUserTower: cfg.recallUserTower === 'js' });
    const offline = await ModelVersion.load(versionDir);
    try {
      // the demo posted the held-out events afterwards: the online sequence before them is what recall saw
      const sequence = new RedisSequenceStore(redis, { length: cfg.sequenceLength, ttlSeconds: 60 });
      const recent = (await sequence.recent(c.user))
        .filter((e) => e.ts / 1000 < c.ts || (e.ts / 1000 === c.ts && e.item_id !== c.item))
        .map((e) => ({ itemId: e.item_id, ts: e.ts / 1000 }));
      // the offline query of the daily job's gate, batched with others as the gate runs it
      const queries = heldOutQueries(ds, history, [c, ...split.test.filter((t) => t !== c).slice(0, 39)]);
      const online = userQueryOf(c.user, recent, undefined, c.ts);
      expect(online.history).toEqual(queries[0]?.history);
      const a = served.userVectors([online]);
      const b = offline.userVectors(queries).subarray(0, served.dim);
      expect(a.length).toBe(served.dim);
      for (let i = 0; i < a.length; i++)
        expect(Math.abs((a[i] as number) - (b[i] as number))).toBeLessThan(1e-6);
    } finally {
      served.dispose();
      offline.dispose();
      await redis.quit();
    }
  });

  it('every panel of every dashboard has data for this stack, and every metric of the dashboards and rules exists', async () => {
    // what a healthy demo does not produce: one rejected event, one dead letter, one degraded answer, one item change
    expect(
      (
        await stack.post('/v1/events', {
          event_id: 'bad',
          user_id: 'u 1',
          item_id: 'i',
          type: 'click',
          ts: 1,
        })
      ).status,
    ).toBe(400);
    const producer = createKafka(cfg).producer();
    await producer.connect();
    await producer.send({
      topic: stack.topics.behaviour,
      messages: [{ key: 'u1', value: '{"not": "an event"' }],
    });
    await producer.disconnect();
    const item = {
      event_id: 'ops-item-1',
      op: 'upsert',
      item_id: 'ops-item-1',
      ts: Date.now(),
      features: { genres: ['Drama'], title: 'Ops (2026)' },
    };
    expect((await stack.post('/v1/items', item)).status).toBe(202);
    // a second recall API of the same stack whose Milvus is unreachable answers degraded
    const env = {
      ...stack.env,
      TOWERFLOW_HOME: path.join(cfg.homeDir, 'degraded'),
      RECALL_PORT: String(cfg.recallPort + 50),
      MILVUS_ADDRESS: '127.0.0.1:1',
    };
    const degradedCfg = loadConfig(env);
    await appsUp(degradedCfg, ['serve'], { env, timeoutMs: 90_000 });
    try {
      const res = await fetch(`http://127.0.0.1:${degradedCfg.recallPort}/v1/recall?user_id=1&k=5`, {
        headers: stack.recallAuth,
      });
      expect(((await res.json()) as { degraded: boolean }).degraded).toBe(true);
      await stack.waitForZeroLag(['history', 'sequence']);
      await stack.waitForZeroLag(['items'], 60_000, stack.topics.items);
      // Prometheus scrapes every 5 s: poll until every panel has data or a minute has passed
      const verify = async () => {
        const { stdout } = await exec(
          'node',
          [bin, 'dashboards', 'verify', '--json', '--stack', cfg.kafkaClientId, '--since', '1800'],
          {
            env: stack.env,
            maxBuffer: 16 * 2 ** 20,
          },
        ).catch((e: { stdout: string }) => e);
        return JSON.parse(stdout) as {
          ok: boolean;
          dashboards: number;
          panels: number;
          queries: number;
          empty: unknown[];
          errors: unknown[];
          missingMetrics: string[];
        };
      };
      const end = Date.now() + 90_000;
      let r = await verify();
      while (!r.ok && Date.now() < end) {
        await new Promise((res) => setTimeout(res, 5000));
        r = await verify();
      }
      expect({ empty: r.empty, errors: r.errors, missingMetrics: r.missingMetrics }).toEqual({
        empty: [],
        errors: [],
        missingMetrics: [],
      });
      expect(r.dashboards).toBe(6);
      expect(r.ok).toBe(true);
    } finally {
      await appsDown(degradedCfg, ['serve']);
    }
  });
});
