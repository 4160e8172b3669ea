import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../../clients/redis.js';
import { loadConfig } from '../../../config/index.js';
import { joinStateKey, RedisJoinStateStore } from '../../../stores/experiments/join-state.js';
import { RedisExperimentResultStore } from '../../../stores/experiments/redis.js';
import { fenceKey } from '../../../stores/fence.js';
import { type JoinCommitDeps, joinAndCommit } from '../../../streams/experiment-commit.js';
import type { JoinRecord } from '../../../streams/experiment-join.js';

// The join's commit on the real Redis: an exposure batch and an event batch of the same users
// joined at the same time, as the processor's two topics are. Each reads the users' states before
// the other has written them, so without the version check neither would see the other and no
// click would be attributed; with it, the batch that commits second is joined again.
const cfg = loadConfig(process.env);
const redis = createRedis(cfg);
const run = randomUUID().slice(0, 8);
const NAME = `exp-c-${run}`;
const T = Date.parse('2024-02-01T12:00:00Z');
const users = Array.from({ length: 100 }, (_, i) => `c${i}-${run}`);
const armOf = (i: number) => (i % 2 === 0 ? 'control' : 'candidate');
const group = `test-exp-commit-${run}`;
const exposures = { group, topic: 'recall.exposures', partition: 0 };
const behaviour = { group, topic: 'behaviour.events', partition: 0 };

describe('joinAndCommit (real Redis)', () => {
  const results = new RedisExperimentResultStore(redis);
  const rejoined: string[] = [];
  const deps: JoinCommitDeps = {
    states: new RedisJoinStateStore(redis, 30 * 60_000),
    results,
    settings: { windowMs: 30 * 60_000, exposuresPerUser: 20, eventsPerUser: 50, items: 100 },
    onRejoin: (reason) => rejoined.push(reason),
  };
  const exposureRecords: JoinRecord[] = users.map((u, i) => ({
    kind: 'exposure',
    offset: i,
    user_id: u,
    exposure: { ts: T, request_id: `r-${u}`, experiment: NAME, arm: armOf(i), items: [`it-${u}`] },
  }));
  const eventRecords: JoinRecord[] = users.map((u, i) => ({
    kind: 'event',
    offset: i,
    user_id: u,
    event: { ts: T + 1000, event_id: `e-${u}`, item_id: `it-${u}` },
  }));
  const pastFence = (records: JoinRecord[]) => async (fence: number) =>
    records.filter((r) => r.offset > fence);

  beforeAll(async () => {
    if (redis.status === 'wait') await redis.connect();
  });
  afterAll(async () => {
    await results.drop(NAME);
    await redis.del(
      ...users.map(joinStateKey),
      ...[exposures, behaviour].map((p) => fenceKey(p.group, p.topic, p.partition)),
    );
    redis.disconnect();
  });

  it('attributes every click once when both sides of the same users are joined at the same time', async () => {
    const [x, e] = await Promise.all([
      joinAndCommit(deps, exposures, users.length - 1, pastFence(exposureRecords)),
      joinAndCommit(deps, behaviour, users.length - 1, pastFence(eventRecords)),
    ]);
    const r = await results.results(NAME);
    for (const arm of ['control', 'candidate']) {
      const mine = users.filter((_, i) => armOf(i) === arm);
      expect(r.get(arm)?.users).toEqual(new Map(mine.map((u) => [u, { events: 1, hits: 1 }])));
      expect(r.get(arm)?.exposedUsers).toBe(mine.length);
    }
    // the second to commit found every user moved, and joined them again
    expect(rejoined).toEqual(['state']);
    expect((x?.rows.length ?? 0) + (e?.rows.length ?? 0)).toBe(users.length);
  });

  it('joins nothing again when both batches are delivered again', async () => {
    const before = await results.results(NAME);
    const again = await Promise.all([
      joinAndCommit(deps, exposures, users.length - 1, pastFence(exposureRecords)),
      joinAndCommit(deps, behaviour, users.length - 1, pastFence(eventRecords)),
    ]);
    expect(again).toEqual([undefined, undefined]);
    expect(await results.results(NAME)).toEqual(before);
  });
});
