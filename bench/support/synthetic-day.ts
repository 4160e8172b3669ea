// A synthetic day of behaviour written straight into HBase (profiles and history), for the
// benchmarks that need a published version without going through Kafka.

import type { HBaseClient } from '../../clients/hbase/thrift2.js';
import type { Config } from '../../config/index.js';
import { syntheticDataset } from '../../model/data/synthetic.js';
import type { Dataset } from '../../model/data/types.js';
import { behaviourEvents, itemEvents, userEvents } from '../../replay/events.js';
import type { BehaviourEvent } from '../../schemas/behaviour.js';
import { HBaseHistoryStore } from '../../stores/history/hbase.js';
import { applyUserProfiles } from '../../stores/profiles/apply-users.js';
import { HBaseProfileStore } from '../../stores/profiles/hbase.js';
import type { RedisProfileCache } from '../../stores/profiles/redis-cache.js';
import { progress } from '../lib.js';

export interface SyntheticDay {
  ds: Dataset;
  /** The day's behaviour events, in time order. */
  events: BehaviourEvent[];
  loadSeconds: number;
}

/** Generates the interactions, squeezes their 90 days into `day` (order kept) and writes them. */
export async function writeSyntheticDay(
  cfg: Config,
  hbase: HBaseClient,
  o: {
    day: string;
    users: number;
    items: number;
    interactions: number;
    seed: number;
    /** Also copy user profiles to recall's Redis copy, as the items processor would have. */
    profileCache?: RedisProfileCache;
  },
): Promise<SyntheticDay> {
  const ds = syntheticDataset({ users: o.users, items: o.items, interactions: o.interactions, seed: o.seed });
  const dayStart = Date.parse(`${o.day}T00:00:00Z`);
  const first = ds.interactions[0]?.ts ?? 0;
  const last = ds.interactions.at(-1)?.ts ?? first + 1;
  for (const x of ds.interactions) x.ts = dayStart / 1000 + ((x.ts - first) / (last - first + 1)) * 86_399;
  const history = new HBaseHistoryStore(hbase, cfg.historySaltBuckets);
  const profiles = new HBaseProfileStore(hbase);
  await history.ensure();
  await profiles.ensure();
  const t0 = performance.now();
  // 2,000 rows a round, 4 Thrift calls of 500 in parallel over the pool (one call of 1M item
  // profiles ran for over 17 minutes)
  const inRounds = async <T>(what: string, all: T[], write: (part: T[]) => Promise<unknown>) => {
    for (let i = 0; i < all.length; i += 2000) {
      await Promise.all(
        [0, 500, 1000, 1500].map((o) => write(all.slice(i + o, Math.min(i + o + 500, i + 2000)))),
      );
      if (i % 200_000 === 0) progress(`written ${i.toLocaleString('en-US')} ${what} to HBase`);
    }
  };
  await inRounds('item profiles', itemEvents(ds, dayStart), (p) => profiles.applyItems(p));
  const cache = o.profileCache;
  await inRounds('user profiles', userEvents(ds, dayStart), (p) =>
    cache ? applyUserProfiles(profiles, cache, p) : profiles.applyUsers(p),
  );
  const events = behaviourEvents(ds);
  const rows = events.map(({ v: _v, ...e }) => e);
  await inRounds('events', rows, (p) => history.write(p));
  return { ds, events, loadSeconds: (performance.now() - t0) / 1000 };
}
