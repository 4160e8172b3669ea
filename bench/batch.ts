// The whole daily job on a synthetic day written straight into HBase (the ingest bench measures
// the Kafka path): time per step and peak resident memory of the job's process.
// Usage: towerflow bench batch [--interactions 1000000] [--items 100000] [--users 50000] [--json]

import { runBatch } from '../batch/job.js';
import { HBaseClient } from '../clients/hbase/thrift2.js';
import { ItemVectors } from '../clients/milvus/client.js';
import { createRedis } from '../clients/redis.js';
import { IsolatedStack } from '../infra/local/isolated-stack.js';
import { syntheticDataset } from '../model/data/synthetic.js';
import { behaviourEvents, itemEvents, userEvents } from '../replay/events.js';
import { HBaseHistoryStore } from '../stores/history/hbase.js';
import { HBaseProfileStore } from '../stores/profiles/hbase.js';
import { benchArgs, hostInfo, intOption, progress, Report } from './lib.js';

const args = benchArgs(['interactions', 'items', 'users']);
const N = intOption(args, 'interactions', 1_000_000);
const ITEMS = intOption(args, 'items', 100_000);
const USERS = intOption(args, 'users', 50_000);
const report = new Report('batch', args.json);
const DAY = '2026-01-15';
const dayStart = Date.parse(`${DAY}T00:00:00Z`);

const stack = new IsolatedStack({ redisDb: 9, portOffset: 6 });
const cfg = stack.cfg;
const hbase = HBaseClient.fromConfig(cfg);
const redis = createRedis(cfg);
const milvus = ItemVectors.fromConfig(cfg);
let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 200);

try {
  await redis.connect();
  await redis.flushdb();
  progress(
    `generating ${N.toLocaleString('en-US')} interactions over ${ITEMS.toLocaleString('en-US')} items`,
  );
  const ds = syntheticDataset({ users: USERS, items: ITEMS, interactions: N, seed: 11 });
  // squeeze the synthetic 90 days into one day, keeping the order
  const first = ds.interactions[0]?.ts ?? 0;
  const last = ds.interactions.at(-1)?.ts ?? first + 1;
  for (const x of ds.interactions) x.ts = dayStart / 1000 + ((x.ts - first) / (last - first + 1)) * 86_399;
  const history = new HBaseHistoryStore(hbase, cfg.historySaltBuckets);
  const profiles = new HBaseProfileStore(hbase);
  await history.ensure();
  await profiles.ensure();
  const t0 = performance.now();
  await profiles.applyItems(itemEvents(ds, dayStart));
  await profiles.applyUsers(userEvents(ds, dayStart));
  const events = behaviourEvents(ds).map(({ v: _v, ...e }) => e);
  for (let i = 0; i < events.length; i += 2000) {
    await Promise.all(
      [0, 500, 1000, 1500].map((o) => history.write(events.slice(i + o, Math.min(i + o + 500, i + 2000)))),
    );
    if (i % 200_000 === 0) progress(`written ${i.toLocaleString('en-US')} events to HBase`);
  }
  const loadS = (performance.now() - t0) / 1000;
  peakRss = 0; // the job's own peak, not the generator's
  if (global.gc) global.gc();
  const r = await runBatch(
    { cfg, hbase, redis, milvus },
    { date: DAY, windowDays: 1, say: (m) => progress(m) },
  );
  report.table(
    `Daily job on a synthetic day: ${N.toLocaleString('en-US')} interactions, ${ITEMS.toLocaleString('en-US')} items, ${USERS.toLocaleString('en-US')} users (loaded into HBase in ${loadS.toFixed(0)} s, not part of the job)`,
    ['step', 'seconds'],
    Object.entries(r.steps).map(([k, v]) => [k, v]),
  );
  report.table(
    'Job',
    ['measure', 'value'],
    [
      ['total seconds', Object.values(r.steps).reduce((a, b) => a + b, 0)],
      ['peak resident memory (MiB)', peakRss / 2 ** 20],
      ['training samples/s', r.training.samplesPerSecond],
      ['vectors inserted/s', r.vectors.perSecond],
      ['index build s', r.vectors.indexSeconds],
      ['alias + pointer switch ms', r.aliasSwitchMs],
      [
        'HR@50 candidate / popularity',
        `${(r.metrics.candidate?.['HR@50'] ?? 0).toFixed(3)} / ${(r.metrics.popularity?.['HR@50'] ?? 0).toFixed(3)}`,
      ],
    ],
  );
  report.finish({
    interactions: N,
    items: ITEMS,
    steps_s: r.steps,
    total_s: Object.values(r.steps).reduce((a, b) => a + b, 0),
    peak_rss_mib: Math.round(peakRss / 2 ** 20),
    vectors_per_s: Math.round(r.vectors.perSecond),
    index_build_s: r.vectors.indexSeconds,
    alias_switch_ms: r.aliasSwitchMs,
    gate: r.gate,
    host: await hostInfo(),
  });
} finally {
  clearInterval(sampler);
  hbase.close();
  await milvus.close();
  await redis.quit().catch(() => {});
  await stack.close();
}
