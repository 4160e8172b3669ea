import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../../../clients/kafka/kafkajs.js';
import { createRedis } from '../../../../clients/redis.js';
import { IsolatedStack } from '../../../../infra/local/isolated-stack.js';
import type { BehaviourEvent } from '../../../../schemas/behaviour.js';
import type { Exposure } from '../../../../schemas/exposure.js';
import type { ArmResults } from '../../../../stores/experiments/index.js';
import { RedisExperimentResultStore } from '../../../../stores/experiments/redis.js';
import { armOf } from '../../../../versions/experiments/assign.js';
import { defineExperiment } from '../../../../versions/experiments/definition.js';
import { ExperimentRegistry } from '../../../../versions/experiments/registry.js';
import { registryDir } from '../../../../versions/registry.js';

// The experiments processor on the real Kafka and Redis: an experiment ended while another runs
// keeps its report as it was at its end. Its users click again within its window (their exposures
// of it still in their join states) after it ended, by both arrival orders: only the new
// experiment counts them.
const FIRST = 'ab-first';
const NEXT = 'ab-next';
const SHARE = 0.5;
const MIN = 60_000;

const exposure = (experiment: string, user: string, ts: number, items: string[]): Exposure => ({
  request_id: `r-${experiment}-${user}-${ts}`,
  user_id: user,
  experiment,
  arm: armOf(experiment, SHARE, user),
  model_version: 'v20240131-030405',
  source: 'personal',
  items,
  ts,
});
let seq = 0;
const event = (user: string, item: string, ts: number): BehaviourEvent => ({
  event_id: `e-${seq++}`,
  user_id: user,
  item_id: item,
  type: 'click',
  ts,
});

describe('experiments processor: an ended experiment’s counts are final (real Kafka and Redis)', () => {
  const stack = new IsolatedStack({ redisDb: 8, portOffset: 8 });
  const cfg = stack.cfg;
  const redis = createRedis(cfg);
  const results = new RedisExperimentResultStore(redis);
  const registry = new ExperimentRegistry(redis, registryDir(cfg));
  const producer = createKafka(cfg).producer({ idempotent: true });
  const users = Array.from({ length: 20 }, (_, i) => `u${i}`);
  const start = (name: string) =>
    registry.start(
      defineExperiment(
        { name, candidate: 'v20240201-030405', share: SHARE },
        { alias: cfg.milvusAlias, version: 'v20240131-030405' },
        new Date(),
      ),
    );
  const produce = (role: 'exposures' | 'behaviour', values: object[]) =>
    producer.send({
      topic: stack.topics[role],
      acks: -1,
      messages: values.map((v) => ({ key: (v as { user_id: string }).user_id, value: JSON.stringify(v) })),
    });
  const drained = (role: 'exposures' | 'behaviour') =>
    stack.waitForZeroLag(['experiments'], 60_000, stack.topics[role]);
  const totals = async (name: string) =>
    [...(await results.results(name))].map(([arm, r]: [string, ArmResults]) => [
      arm,
      r.exposedUsers,
      [...r.users.values()].reduce((s, c) => s + c.events, 0),
      [...r.users.values()].reduce((s, c) => s + c.hits, 0),
    ]);

  beforeAll(async () => {
    await redis.connect();
    await redis.flushdb(); // db 8 is this file's
    await start(FIRST);
    await stack.up(['experiments']);
    await producer.connect();
  });
  afterAll(async () => {
    await producer.disconnect();
    await stack.close();
    await redis.quit();
  });

  it('counts no event after its end, whether the event or the late exposure comes second', async () => {
    const t0 = Date.now() - 10 * MIN;
    // half the users' exposures come first, the other half's after their clicks (late)
    const early = users.slice(0, 10);
    const late = users.slice(10);
    await produce(
      'exposures',
      early.map((u) => exposure(FIRST, u, t0, [`it-${u}`])),
    );
    await drained('exposures');
    await produce(
      'behaviour',
      users.map((u) => event(u, `it-${u}`, t0 + MIN)),
    );
    await drained('behaviour');
    const atEnd = await totals(FIRST);
    const armsOf = (us: string[]) =>
      ['control', 'candidate'].map((a) => us.filter((u) => armOf(FIRST, SHARE, u) === a).length);
    const [c = 0, k = 0] = armsOf(early);
    expect(atEnd).toEqual([
      ['control', c, c, c],
      ['candidate', k, k, k],
    ]);

    await registry.end(FIRST, 'aborted');
    await start(NEXT);
    const after = Date.now() + 1; // after the end: still within FIRST's window of its exposures
    await produce(
      'exposures',
      users.map((u) => exposure(NEXT, u, after, [`it-${u}`])),
    );
    await drained('exposures');
    await produce(
      'behaviour',
      users.map((u) => event(u, `it-${u}`, after + 1)),
    );
    await drained('behaviour');
    // the late half's exposures of FIRST arrive now: they join their click of while it ran, not the one after
    await produce(
      'exposures',
      late.map((u) => exposure(FIRST, u, t0, [`it-${u}`])),
    );
    await drained('exposures');

    const [cl = 0, kl = 0] = armsOf(late);
    expect(await totals(FIRST)).toEqual([
      ['control', c + cl, c + cl, c + cl],
      ['candidate', k + kl, k + kl, k + kl],
    ]);
    const [cn = 0, kn = 0] = ['control', 'candidate'].map(
      (a) => users.filter((u) => armOf(NEXT, SHARE, u) === a).length,
    );
    expect(await totals(NEXT)).toEqual([
      ['control', cn, cn, cn],
      ['candidate', kn, kn, kn],
    ]);
  });
});
