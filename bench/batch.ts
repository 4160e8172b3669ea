// The whole daily job on a synthetic day written straight into HBase (the ingest bench measures
// the Kafka path): time per step and peak resident memory of the job's process.
// Usage: towerflow bench batch [--interactions 1000000] [--items 100000] [--users 50000] [--json]

import { runBatch } from '../batch/job.js';
import { HBaseClient } from '../clients/hbase/thrift2.js';
import { createRedis } from '../clients/redis.js';
import { IsolatedStack } from '../infra/local/isolated-stack.js';
import { openItemVectors } from '../stores/vectors/open.js';
import { benchArgs, hostInfo, intOption, progress, Report } from './lib.js';
import { writeSyntheticDay } from './support/synthetic-day.js';

const args = benchArgs(['interactions', 'items', 'users']);
const N = intOption(args, 'interactions', 1_000_000);
const ITEMS = intOption(args, 'items', 100_000);
const USERS = intOption(args, 'users', 50_000);
const report = new Report('batch', args.json);
const DAY = '2026-01-15';

const stack = new IsolatedStack({ redisDb: 9, portOffset: 6 });
const cfg = stack.cfg;
const hbase = HBaseClient.fromConfig(cfg);
const redis = createRedis(cfg);
const vectorStore = openItemVectors(cfg);
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
  const { loadSeconds: loadS } = await writeSyntheticDay(cfg, hbase, {
    day: DAY,
    users: USERS,
    items: ITEMS,
    interactions: N,
    seed: 11,
  });
  peakRss = 0; // the job's own peak, not the generator's
  if (global.gc) global.gc();
  const r = await runBatch(
    { cfg, hbase, redis, vectorStore },
    // one epoch: the daily run's cost (a first run from scratch would take BATCH_FIRST_EPOCHS)
    { date: DAY, windowDays: 1, epochs: 1, say: (m) => progress(m) },
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
  await vectorStore.close();
  await redis.quit().catch(() => {});
  await stack.close();
}
