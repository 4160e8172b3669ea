import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../../../clients/redis.js';
import { loadConfig } from '../../../../config/index.js';
import type { Attribution, ExperimentResultStore } from '../../../../stores/experiments/index.js';
import { RedisExperimentResultStore } from '../../../../stores/experiments/redis.js';
import { fenceKey } from '../../../../stores/fence.js';

// The experiment result store's contract, run against each backend on its real server.
const cfg = loadConfig(process.env);
const redis = createRedis(cfg);
const run = randomUUID().slice(0, 8);
const backends: [string, () => ExperimentResultStore][] = [
  ['redis', () => new RedisExperimentResultStore(redis)],
];

const DAY1 = Date.parse('2024-02-01T12:00:00Z');
const DAY2 = Date.parse('2024-02-02T12:00:00Z');

describe.each(backends)('experiment results (%s)', (_name, make) => {
  const store = make();
  const a = `exp-a-${run}`;
  const b = `exp-b-${run}`;
  const fence = { group: `test-exp-${run}`, topic: 'behaviour.events', partition: 0 };
  const at = (
    offset: number,
    experiment: string,
    arm: string,
    user: string,
    ts: number,
    position: number,
  ): Attribution => ({
    offset,
    experiment,
    arm,
    user_id: user,
    ts,
    position,
  });

  beforeAll(async () => {
    if (redis.status === 'wait') await redis.connect();
  });
  afterAll(async () => {
    await store.drop(a);
    await store.drop(b);
    await redis.del(fenceKey(fence.group, fence.topic, fence.partition));
    redis.disconnect();
  });

  it('counts exposed users once however often they are marked, over days', async () => {
    const rows = [
      { experiment: a, arm: 'control', user_id: 'u1', ts: DAY1 },
      { experiment: a, arm: 'control', user_id: 'u1', ts: DAY1 },
      { experiment: a, arm: 'control', user_id: 'u1', ts: DAY2 },
      { experiment: a, arm: 'candidate', user_id: 'u2', ts: DAY2 },
    ];
    expect(await store.markExposed(rows)).toEqual([
      { experiment: a, arm: 'control', added: 1 }, // DAY1
      { experiment: a, arm: 'control', added: 1 }, // DAY2
      { experiment: a, arm: 'candidate', added: 1 },
    ]);
    expect((await store.markExposed(rows)).map((r) => r.added)).toEqual([0, 0, 0]);
    const r = await store.results(a);
    expect(r.get('control')?.exposedUsers).toBe(1);
    expect(r.get('candidate')?.exposedUsers).toBe(1);
  });

  it('applies a batch exactly once: a re-delivery after a crash counts nothing', async () => {
    const batch = [
      at(10, a, 'control', 'u1', DAY1, 0),
      at(11, a, 'control', 'u1', DAY2, 3),
      at(12, a, 'candidate', 'u2', DAY2, 1),
      at(13, b, 'candidate', 'u3', DAY1, 60), // a second experiment in the same batch
    ];
    expect(await store.attribute(fence, batch, 14)).toEqual(batch);
    expect(await store.attribute(fence, batch, 14)).toEqual([]);
    // a re-delivery that overlaps the fence counts only what is past it
    const late = at(15, a, 'candidate', 'u2', DAY2, 0);
    expect(await store.attribute(fence, [...batch, late], 15)).toEqual([late]);
    const r = await store.results(a);
    expect(r.get('control')?.users).toEqual(new Map([['u1', { events: 2, hits: 1 }]]));
    expect(r.get('candidate')?.users).toEqual(new Map([['u2', { events: 2, hits: 1 }]]));
    expect(r.get('control')?.positions).toEqual(new Map([['2-5', 1]]));
    expect(r.get('candidate')?.positions).toEqual(new Map([['1', 1]]));
    expect((await store.results(b)).get('candidate')?.positions).toEqual(new Map([['51-100', 1]]));
  });

  it('forgets an experiment on drop', async () => {
    await store.drop(b);
    const r = await store.results(b);
    expect(r.get('candidate')).toEqual({ exposedUsers: 0, users: new Map(), positions: new Map() });
  });
});
