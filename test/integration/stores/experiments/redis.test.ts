import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../../../clients/redis.js';
import { loadConfig } from '../../../../config/index.js';
import type { Attribution, ExperimentResultStore } from '../../../../stores/experiments/index.js';
import {
  type GuardedHashWrite,
  joinStateKey,
  RedisJoinStateStore,
} from '../../../../stores/experiments/join-state.js';
import { RedisExperimentResultStore } from '../../../../stores/experiments/redis.js';
import { fenceKey } from '../../../../stores/fence.js';

// The experiment result store's contract, run against each backend on its real server, and the
// join states it commits with the counts.
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

  it('applies a batch exactly once: a re-delivery after a crash finds the fence moved and writes nothing', async () => {
    const batch = [
      at(10, a, 'control', 'u1', DAY1, 0),
      at(11, a, 'control', 'u1', DAY2, 3),
      at(12, a, 'candidate', 'u2', DAY2, 1),
      at(13, b, 'candidate', 'u3', DAY1, 60), // a second experiment in the same batch
    ];
    expect(await store.fence(fence)).toBe(-1);
    expect(await store.commit(fence, -1, 14, batch, [])).toEqual({ ok: true });
    expect(await store.fence(fence)).toBe(14);
    expect(await store.commit(fence, -1, 14, batch, [])).toEqual({ ok: false, fence: 14, moved: [] });
    // the next batch: a new miss, a miss that becomes a hit, a hit that moves to another bucket
    const next = [
      at(15, a, 'candidate', 'u2', DAY2, 0),
      { ...at(16, a, 'control', 'u1', DAY1, 7), before: 0 },
      { ...at(16, a, 'control', 'u1', DAY2, 1), before: 3 },
    ];
    expect(await store.commit(fence, 14, 16, next, [])).toEqual({ ok: true });
    const r = await store.results(a);
    expect(r.get('control')?.users).toEqual(new Map([['u1', { events: 2, hits: 2 }]]));
    expect(r.get('candidate')?.users).toEqual(new Map([['u2', { events: 2, hits: 1 }]]));
    // u1's DAY2 hit moved from 2-5 to 1: the emptied bucket is left out
    expect(r.get('control')?.positions).toEqual(
      new Map([
        ['6-10', 1],
        ['1', 1],
      ]),
    );
    expect(r.get('candidate')?.positions).toEqual(new Map([['1', 1]]));
    expect((await store.results(b)).get('candidate')?.positions).toEqual(new Map([['51-100', 1]]));
  });

  it('writes the join states with the counts only if no state moved since it was read', async () => {
    const states = new RedisJoinStateStore(redis, 60_000);
    const users = [`s1-${run}`, `s2-${run}`];
    const p = { ...fence, partition: 1 };
    const state = (ts: number) => ({
      exposures: [{ ts, request_id: `r${ts}`, experiment: a, arm: 'control' as const, items: ['i1'] }],
      events: [],
    });
    const read = await states.read(users);
    expect([...read.values()].map((r) => r.version)).toEqual([0, 0]);
    const writes = users.map((u) => states.write(u, read.get(u), state(DAY1)) as GuardedHashWrite);
    expect(await store.commit(p, -1, 3, [at(3, a, 'control', users[0] as string, DAY1, 1)], writes)).toEqual({
      ok: true,
    });
    const after = await states.read(users);
    expect([...after.values()].map((r) => [r.version, r.state])).toEqual([
      [1, state(DAY1)],
      [1, state(DAY1)],
    ]);
    expect(await redis.ttl(joinStateKey(users[0] as string))).toBe(120);
    // another batch joined against the first read: its writes find s1 and s2 moved, and nothing is written
    const stale = users.map((u) => states.write(u, read.get(u), state(DAY2)) as GuardedHashWrite);
    expect(await store.commit(p, 3, 4, [at(4, a, 'control', users[1] as string, DAY2, 1)], stale)).toEqual({
      ok: false,
      fence: 3,
      moved: users,
    });
    expect(await store.fence(p)).toBe(3);
    expect((await store.results(a)).get('control')?.users.get(users[1] as string)).toBeUndefined();
    // a write that replaces the state sends only what changed, and drops what is gone
    const w = states.write(
      users[0] as string,
      after.get(users[0] as string),
      state(DAY2),
    ) as GuardedHashWrite;
    expect([w.version, w.set, w.del]).toEqual([1, [`x|r${DAY2}`, `${DAY2}|${a}|control|i1`], [`x|r${DAY1}`]]);
    expect(states.write(users[0] as string, after.get(users[0] as string), state(DAY1))).toBeUndefined();
    expect(await store.commit(p, 3, 4, [], [w])).toEqual({ ok: true });
    expect((await states.read([users[0] as string])).get(users[0] as string)?.state).toEqual(state(DAY2));
    await redis.del(...users.map(joinStateKey), fenceKey(p.group, p.topic, p.partition));
  });

  it('commits a batch with more arguments than one function call can take', async () => {
    // 40,000 users' states: about 280,000 script arguments (a call spread past ~120,000 throws)
    const states = new RedisJoinStateStore(redis, 60_000);
    const users = Array.from({ length: 40_000 }, (_, i) => `big${i}-${run}`);
    const p = { ...fence, partition: 2 };
    const writes = users.map(
      (u, i) =>
        states.write(u, undefined, {
          exposures: [],
          events: [{ ts: DAY1, event_id: `e${i}`, item_id: 'i1', claims: [] }],
        }) as GuardedHashWrite,
    );
    try {
      expect(await store.commit(p, -1, 40_000, [], writes)).toEqual({ ok: true });
      const some = await states.read([users[0] as string, users[39_999] as string]);
      expect([...some.values()].map((r) => [r.version, r.state.events.length])).toEqual([
        [1, 1],
        [1, 1],
      ]);
    } finally {
      for (let i = 0; i < users.length; i += 5000)
        await redis.del(...users.slice(i, i + 5000).map(joinStateKey));
      await redis.del(fenceKey(p.group, p.topic, p.partition));
    }
  });

  it('forgets an experiment on drop', async () => {
    await store.drop(b);
    const r = await store.results(b);
    expect(r.get('candidate')).toEqual({ exposedUsers: 0, users: new Map(), positions: new Map() });
  });
});
