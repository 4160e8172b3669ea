// What a shadow experiment costs the live answers: two versions published by the real daily job
// over a synthetic catalogue (yesterday's and today's), `towerflow serve` as its own process, and
// requests at a fixed rate in phases that alternate the shadow off and on (at each share asked
// for) in the same run, so the live p50 with and without shadow is compared on the same machine
// state. The shadow's own latency and overlap@K come from serve's histograms.
// Usage: towerflow bench shadow [--items 20000] [--interactions 60000] [--users 5000] [--seconds 15] [--rate 100] [--shares 10,99] [--rounds 2] [--json]

import { runBatch } from '../batch/job.js';
import { HBaseClient } from '../clients/hbase/thrift2.js';
import { createRedis } from '../clients/redis.js';
import { IsolatedStack } from '../infra/local/isolated-stack.js';
import { RedisProfileCache } from '../stores/profiles/redis-cache.js';
import { RedisSequenceStore } from '../stores/sequence/redis.js';
import { openItemVectors } from '../stores/vectors/open.js';
import { defineExperiment } from '../versions/experiments/definition.js';
import { ExperimentRegistry } from '../versions/experiments/registry.js';
import { ModelRegistry } from '../versions/registry.js';
import {
  benchArgs,
  cpuBusy,
  hostInfo,
  intListOption,
  intOption,
  keepAliveClient,
  metricSum,
  mulberry32,
  progress,
  Report,
  recallAtRate,
  summarize,
  waitForQuiet,
} from './lib.js';
import { writeSyntheticDay } from './support/synthetic-day.js';

const args = benchArgs(['items', 'interactions', 'users', 'seconds', 'rate', 'shares', 'rounds']);
const ITEMS = intOption(args, 'items', 20_000);
const N = intOption(args, 'interactions', 60_000);
const USERS = intOption(args, 'users', 5_000);
const SECONDS = intOption(args, 'seconds', 15);
const RATE = intOption(args, 'rate', 100);
/** Shadow shares in percent (each strictly between 0 and 100). */
const SHARES = intListOption(args, 'shares', '10,99');
const ROUNDS = intOption(args, 'rounds', 2);
const CONCURRENCY = 8;
const report = new Report('shadow', args.json);
const DAY = '2026-01-15';

const stack = new IsolatedStack({ redisDb: 6, portOffset: 6, extraEnv: { LOG_LEVEL: 'warn' } });
const cfg = stack.cfg;
const hbase = HBaseClient.fromConfig(cfg);
const redis = createRedis(cfg);
const vectorStore = openItemVectors(cfg);
const get = keepAliveClient(cfg.bindHost, cfg.recallPort, CONCURRENCY, stack.recallAuth);

/** `seconds` of requests at RATE, at most CONCURRENCY in flight; the latencies of the 200s. */
async function atRate(seconds: number, users: string[], seed: number) {
  const total = Math.round(RATE * seconds);
  const machine0 = cpuBusy();
  const r = await recallAtRate(get, {
    rate: RATE,
    total,
    concurrency: CONCURRENCY,
    users,
    random: mulberry32(seed),
  });
  return {
    latencies: r.latencies,
    errors: r.errors,
    achieved: total / r.seconds,
    busy: cpuBusy(machine0.sample).busy,
  };
}

/** serve's shadow counters and histogram sums, to difference around a phase. */
async function shadowMetrics() {
  const text = await (await fetch(`${stack.recallUrl}/metrics`)).text();
  return {
    done: metricSum(text, 'towerflow_recall_shadow_total', 'outcome="done"'),
    skipped: metricSum(text, 'towerflow_recall_shadow_total', 'outcome="skipped"'),
    failed: metricSum(text, 'towerflow_recall_shadow_total', 'outcome="failed"'),
    secondsSum: metricSum(text, 'towerflow_recall_shadow_seconds_sum'),
    overlapSum: metricSum(text, 'towerflow_recall_shadow_overlap_sum'),
    overlapCount: metricSum(text, 'towerflow_recall_shadow_overlap_count'),
  };
}

try {
  await redis.connect();
  await redis.flushdb();
  progress(`two versions over ${ITEMS.toLocaleString('en-US')} synthetic items with the daily job`);
  const { ds, events } = await writeSyntheticDay(cfg, hbase, {
    day: DAY,
    users: USERS,
    items: ITEMS,
    interactions: N,
    seed: 5,
    profileCache: new RedisProfileCache(redis, cfg.profileCacheTtlSeconds),
  });
  const sequence = new RedisSequenceStore(redis, { length: cfg.sequenceLength, ttlSeconds: 86_400 });
  for (let i = 0; i < events.length; i += 5000) await sequence.apply(events.slice(i, i + 5000));
  const deps = { cfg, hbase, redis, vectorStore };
  const yesterday = await runBatch(deps, { date: DAY, windowDays: 1, epochs: 1, say: (m) => progress(m) });
  // today's: warm-started from yesterday's, published whatever its gate says (the bench compares costs)
  const today = await runBatch(deps, {
    date: DAY,
    windowDays: 1,
    epochs: 1,
    force: true,
    say: (m) => progress(m),
  });
  // the daily job released yesterday's collection from memory: the candidate must be searchable
  await vectorStore.load(yesterday.version);
  const experiments = new ExperimentRegistry(redis, new ModelRegistry(cfg, redis).dir);
  const users = [...ds.users.keys()];
  await stack.up(['serve']);
  progress('warm-up, then waiting for the machine to settle after the publishes');
  await atRate(5, users, 1);
  const quiet = await waitForQuiet(0.2);

  const phases: { share: number; round: number }[] = [];
  for (let round = 0; round < ROUNDS; round++)
    for (const share of [0, ...SHARES]) phases.push({ share: share / 100, round });
  const results: {
    share: number;
    round: number;
    latencies: number[];
    errors: number;
    achieved: number;
    busy: number;
    shadow: Awaited<ReturnType<typeof shadowMetrics>>;
  }[] = [];
  let running: string | undefined;
  for (const [i, p] of phases.entries()) {
    if (running) await experiments.end(running, 'aborted');
    running = undefined;
    if (p.share > 0) {
      running = `bench-shadow-${Date.now().toString(36)}-${i}`;
      await experiments.start(
        defineExperiment(
          { name: running, candidate: yesterday.version, share: p.share, mode: 'shadow' },
          { alias: cfg.milvusAlias, version: today.version },
          new Date(),
        ),
      );
    }
    // a start or end is seen within EXPERIMENT_REFRESH_MS; 2 s of requests not measured covers it
    await atRate(2, users, 1000 + i);
    progress(`phase ${i + 1}/${phases.length}: shadow ${p.share > 0 ? `on, share ${p.share}` : 'off'}`);
    const before = await shadowMetrics();
    const r = await atRate(SECONDS, users, 2000 + i);
    const after = await shadowMetrics();
    const shadow = Object.fromEntries(
      Object.entries(after).map(([k, v]) => [k, v - before[k as keyof typeof before]]),
    ) as typeof after;
    results.push({ ...p, ...r, shadow });
  }
  if (running) await experiments.end(running, 'aborted');

  const byShare = [0, ...SHARES.map((s) => s / 100)].map((share) => {
    const of = results.filter((r) => r.share === share);
    const all = of.flatMap((r) => r.latencies);
    const done = of.reduce((s, r) => s + r.shadow.done, 0);
    return {
      share,
      ...summarize(all),
      errors: of.reduce((s, r) => s + r.errors, 0),
      per_round_p50_ms: of.map((r) => summarize(r.latencies).p50_ms),
      shadow_done: done,
      shadow_skipped: of.reduce((s, r) => s + r.shadow.skipped, 0),
      shadow_failed: of.reduce((s, r) => s + r.shadow.failed, 0),
      shadow_mean_ms: done > 0 ? (of.reduce((s, r) => s + r.shadow.secondsSum, 0) / done) * 1000 : null,
      overlap_mean:
        done > 0
          ? of.reduce((s, r) => s + r.shadow.overlapSum, 0) /
            of.reduce((s, r) => s + r.shadow.overlapCount, 0)
          : null,
      machine_busy: of.reduce((s, r) => s + r.busy, 0) / Math.max(1, of.length),
    };
  });
  const off = byShare[0] as (typeof byShare)[number];
  report.table(
    `GET /v1/recall?k=50 at ${RATE} requests/s (≤ ${CONCURRENCY} in flight), ${ROUNDS} rounds of ${SECONDS} s per setting, alternating; control ${today.version}, shadow candidate ${yesterday.version}, ${ITEMS.toLocaleString('en-US')} items`,
    [
      'shadow share',
      'ok',
      'errors',
      'live p50 ms',
      'p50 per round',
      'Δp50 vs off',
      'live p99 ms',
      'shadows done',
      'skipped',
      'failed',
      'shadow mean ms',
      'overlap@50',
      'machine busy %',
    ],
    byShare.map((b) => [
      b.share === 0 ? 'off' : b.share,
      b.n,
      b.errors,
      b.p50_ms,
      b.per_round_p50_ms.map((x) => x.toFixed(2)).join(' / '),
      b.share === 0 ? '' : b.p50_ms - off.p50_ms,
      b.p99_ms,
      b.shadow_done,
      b.shadow_skipped,
      b.shadow_failed,
      b.shadow_mean_ms,
      b.overlap_mean,
      b.machine_busy * 100,
    ]),
  );
  report.note(
    `${quiet.timedOut ? 'the machine did not settle within 4 minutes' : 'measured once the machine settled'} (${(quiet.busy * 100).toFixed(0)} % busy over 5 s before the first phase)`,
  );
  report.finish({
    items: ITEMS,
    rate: RATE,
    control: today.version,
    candidate: yesterday.version,
    p50_off_ms: off.p50_ms,
    settings: byShare,
    host: await hostInfo(),
  });
} finally {
  hbase.close();
  await vectorStore.close();
  await redis.quit().catch(() => {});
  await stack.close();
}
