// The recall API under load: a version published by the real daily job over a synthetic
// catalogue (default 100k items), users' recent sequences in Redis, `towerflow serve` as its
// own process, and requests at fixed rates with at most 8 in flight, once the machine has
// settled after the publish (CPU under 20 % busy over 5 s, or 4 minutes passed).
// CPU per request is the serve process's and Milvus' CPU over a rate's requests (Redis apart).
// --rounds N runs the rates N times in a row after one warm-up, each round reported.
// Usage: towerflow bench recall [--items 100000] [--interactions 300000] [--users 20000] [--seconds 15] [--rates 100,200,400,800] [--batches 1,4] [--rounds 1] [--json]

import { runBatch } from '../batch/job.js';
import { HBaseClient } from '../clients/hbase/thrift2.js';
import { createRedis } from '../clients/redis.js';
import { appPaths } from '../infra/local/apps.js';
import { IsolatedStack } from '../infra/local/isolated-stack.js';
import { RedisProfileCache } from '../stores/profiles/redis-cache.js';
import { RedisSequenceStore } from '../stores/sequence/redis.js';
import { openItemVectors } from '../stores/vectors/open.js';
import {
  benchArgs,
  cpuBusy,
  cpuProbe,
  hostInfo,
  intListOption,
  intOption,
  keepAliveClient,
  median,
  mulberry32,
  pidFileCpuSeconds,
  progress,
  Report,
  recallAtRate,
  recallStageMeans,
  servicePidFile,
  summarize,
  waitForQuiet,
} from './lib.js';
import { writeSyntheticDay } from './support/synthetic-day.js';

const args = benchArgs(['items', 'interactions', 'users', 'seconds', 'rates', 'batches', 'rounds']);
const ITEMS = intOption(args, 'items', 100_000);
const N = intOption(args, 'interactions', 300_000);
const USERS = intOption(args, 'users', 20_000);
const SECONDS = intOption(args, 'seconds', 15);
const CONCURRENCY = 8;
const RATES = intListOption(args, 'rates', '100,200,400,800');
// RECALL_SEARCH_BATCH values compared side by side (serve restarted for each)
const BATCHES = intListOption(args, 'batches', '1,4');
const ROUNDS = intOption(args, 'rounds', 1);
/** The p99 objective at 200 requests/s (issue 27: held in at least 8 of 10 rounds). */
const P99_OBJECTIVE_MS = 20;
const report = new Report('recall', args.json);
const DAY = '2026-01-15';

const stack = new IsolatedStack({ redisDb: 10, portOffset: 7 });
const cfg = stack.cfg;
const hbase = HBaseClient.fromConfig(cfg);
const redis = createRedis(cfg);
const vectorStore = openItemVectors(cfg);

const get = keepAliveClient(cfg.bindHost, cfg.recallPort, CONCURRENCY, stack.recallAuth);

/** CPU seconds so far of the processes a request costs: the recall API, Milvus and Redis. */
function serverCpu(): { serve: number; milvus: number; redis: number } {
  return {
    serve: pidFileCpuSeconds(appPaths(cfg, 'serve').pidFile) ?? 0,
    milvus: pidFileCpuSeconds(servicePidFile('milvus')) ?? 0,
    redis: pidFileCpuSeconds(servicePidFile('redis')) ?? 0,
  };
}

async function atRate(rate: number, users: string[]) {
  const total = rate * SECONDS;
  const server0 = serverCpu();
  const cpu0 = process.cpuUsage();
  const machine0 = cpuBusy();
  const { latencies, errors, seconds } = await recallAtRate(get, {
    rate,
    total,
    concurrency: CONCURRENCY,
    users,
    random: mulberry32(rate),
  });
  const cpu = process.cpuUsage(cpu0);
  const server1 = serverCpu();
  const machine = cpuBusy(machine0.sample);
  const msPerRequest = (k: 'serve' | 'milvus' | 'redis') => ((server1[k] - server0[k]) * 1000) / total;
  // the load generator's own CPU per request: it competes with what it measures
  const clientCpuMs = (cpu.user + cpu.system) / 1000 / total;
  return {
    rate,
    achieved: total / seconds,
    errors,
    client_cpu_ms: clientCpuMs,
    // the servers' CPU per request (serve + Milvus; Redis shown apart: it also serves others)
    cpu_ms_per_request: msPerRequest('serve') + msPerRequest('milvus'),
    serve_cpu_ms: msPerRequest('serve'),
    milvus_cpu_ms: msPerRequest('milvus'),
    redis_cpu_ms: msPerRequest('redis'),
    // the whole machine over the run (this process included): how close to the 2 cores it ran
    machine_busy: machine.busy,
    steal: machine.steal,
    ...summarize(latencies),
  };
}

/** Mean time per recall stage, from the serve process's histogram sums and counts. */
async function stageMeans(): Promise<{ stage: string; count: number; mean_ms: number }[]> {
  return recallStageMeans(await (await fetch(`http://${cfg.bindHost}:${cfg.recallPort}/metrics`)).text());
}

/** Resident memory of the local Milvus (all of its processes), when this machine runs it. */
async function milvusRssMiB(): Promise<number | null> {
  const { makeContext, status } = await import('../infra/local/stack.js');
  const m = (await status(makeContext(() => {}))).find((x) => x.name === 'milvus');
  return m?.rssBytes ? Math.round(m.rssBytes / 2 ** 20) : null;
}

try {
  await redis.connect();
  await redis.flushdb();
  const milvusBefore = await milvusRssMiB();
  progress(`publishing a version over ${ITEMS.toLocaleString('en-US')} synthetic items with the daily job`);
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
  const published = await runBatch(
    { cfg, hbase, redis, vectorStore },
    // one epoch: the daily run's cost (a first run from scratch would take BATCH_FIRST_EPOCHS)
    { date: DAY, windowDays: 1, epochs: 1, say: (m) => progress(m) },
  );
  const milvusLoaded = await milvusRssMiB();
  const users = [...ds.users.keys()];
  const runs: {
    batch: number;
    /** The machine's CPU busy share over the last 5 s before measuring. */
    busy_before: number;
    /** False when the wait gave up (4 minutes) before the machine went under 20 % busy. */
    settled: boolean;
    /** A fixed piece of work timed just before the rates (`cpuProbe`): how fast the machine was. */
    probe: ReturnType<typeof cpuProbe>;
    results: Awaited<ReturnType<typeof atRate>>[];
    /** Every round's results (the last round's are `results`). */
    rounds: Awaited<ReturnType<typeof atRate>>[][];
    stages: Awaited<ReturnType<typeof stageMeans>>;
  }[] = [];
  for (const batch of BATCHES) {
    stack.env.RECALL_SEARCH_BATCH = String(batch);
    await stack.down(['serve']);
    await stack.up(['serve']);
    // warm-up: model load, connections, JIT; then let the publish's compactions and flushes finish
    await atRate(50, users);
    progress('waiting for the machine to settle after the publish');
    const quiet = await waitForQuiet(0.2);
    const probe = cpuProbe();
    progress(`CPU probe: ${probe.wall_ms.toFixed(1)} ms wall, ${probe.cpu_ms.toFixed(1)} ms CPU`);
    const rounds: Awaited<ReturnType<typeof atRate>>[][] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const results = [];
      for (const rate of RATES) {
        progress(
          `RECALL_SEARCH_BATCH=${batch}, round ${round}/${ROUNDS}: ${rate} requests/s for ${SECONDS} s, at most ${CONCURRENCY} in flight`,
        );
        results.push(await atRate(rate, users));
      }
      rounds.push(results);
    }
    runs.push({
      batch,
      busy_before: quiet.busy,
      settled: !quiet.timedOut,
      probe,
      results: rounds.at(-1) ?? [],
      rounds,
      stages: await stageMeans(),
    });
  }
  report.table(
    'where the time goes: mean ms per stage over all requests (from towerflow serve /metrics)',
    ['RECALL_SEARCH_BATCH', 'stage', 'count', 'mean ms'],
    runs.flatMap((r) => r.stages.map((s) => [r.batch, s.stage, s.count, s.mean_ms])),
  );
  report.table(
    `GET /v1/recall?k=50 over ${ITEMS.toLocaleString('en-US')} items (${published.version}), ${USERS.toLocaleString('en-US')} users with sequences, ≤ ${CONCURRENCY} in flight`,
    [
      'RECALL_SEARCH_BATCH',
      'target rps',
      'achieved',
      'ok',
      'errors',
      'p50 ms',
      'p99 ms',
      'max ms',
      'server CPU ms/req',
      'serve',
      'Milvus',
      'Redis',
      'client CPU ms/req',
      'machine busy %',
      'steal %',
    ],
    runs.flatMap((r) =>
      r.rounds
        .flat()
        .map((x) => [
          r.batch,
          x.rate,
          x.achieved,
          x.n,
          x.errors,
          x.p50_ms,
          x.p99_ms,
          x.max_ms,
          x.cpu_ms_per_request,
          x.serve_cpu_ms,
          x.milvus_cpu_ms,
          x.redis_cpu_ms,
          x.client_cpu_ms,
          x.machine_busy * 100,
          x.steal * 100,
        ]),
    ),
  );
  const best = runs.at(-1) as (typeof runs)[number];
  // each round's p99 at 200 requests/s against the objective, and the CPU per request there
  const roundsAt200 = best.rounds
    .map((round) => round.find((x) => x.rate === 200))
    .filter((x) => x !== undefined);
  const held = roundsAt200.filter((x) => x.p99_ms <= P99_OBJECTIVE_MS).length;
  if (roundsAt200.length > 0)
    report.note(
      `RECALL_SEARCH_BATCH=${best.batch}: p99 at 200 requests/s ≤ ${P99_OBJECTIVE_MS} ms in ${held} of ${roundsAt200.length} rounds (${roundsAt200.map((x) => x.p99_ms.toFixed(1)).join(', ')} ms); server CPU per request median ${median(roundsAt200.map((x) => x.cpu_ms_per_request)).toFixed(2)} ms (serve ${median(roundsAt200.map((x) => x.serve_cpu_ms)).toFixed(2)}, Milvus ${median(roundsAt200.map((x) => x.milvus_cpu_ms)).toFixed(2)}; Redis apart ${median(roundsAt200.map((x) => x.redis_cpu_ms)).toFixed(2)})`,
    );
  const results = best.results;
  const stages = best.stages;
  const at200 = results.find((r) => r.rate === 200);
  const crossing = results.find((r) => r.p99_ms > 50);
  // with at most CONCURRENCY in flight the load is closed-loop at the top: past capacity the
  // achieved rate stops growing while latency stays bounded, so report where that happened
  const maxAchieved = Math.max(...results.map((r) => r.achieved));
  const saturated = results.find((r) => r.achieved < 0.95 * r.rate);
  report.note(
    crossing
      ? `RECALL_SEARCH_BATCH=${best.batch}: p99 first exceeds 50 ms at ${crossing.rate} requests/s (achieved ${Math.round(crossing.achieved)})`
      : `RECALL_SEARCH_BATCH=${best.batch}: p99 stayed under 50 ms at every rate, up to ${Math.round(maxAchieved)} requests/s achieved`,
  );
  if (saturated)
    report.note(
      `RECALL_SEARCH_BATCH=${best.batch}: capacity reached: ${saturated.rate} requests/s asked, ${Math.round(saturated.achieved)} achieved with at most ${CONCURRENCY} in flight (most achieved at any rate: ${Math.round(maxAchieved)})`,
    );
  for (const r of runs)
    report.note(
      `${
        r.settled
          ? `RECALL_SEARCH_BATCH=${r.batch}: measured once the machine's CPU was ${(r.busy_before * 100).toFixed(0)} % busy over 5 s (after the warm-up)`
          : `RECALL_SEARCH_BATCH=${r.batch}: the machine did not settle within 4 minutes (${(r.busy_before * 100).toFixed(0)} % busy over the last 5 s); measured anyway`
      }; CPU probe ${r.probe.wall_ms.toFixed(1)} ms wall, ${r.probe.cpu_ms.toFixed(1)} ms CPU`,
    );
  report.note(
    `Milvus resident memory: ${milvusBefore ?? '?'} MiB before, ${milvusLoaded ?? '?'} MiB with the ${ITEMS.toLocaleString('en-US')}-item collection (${published.version}) built, indexed and loaded`,
  );
  report.finish({
    items: ITEMS,
    milvus_rss_mib: { before: milvusBefore, loaded: milvusLoaded },
    qps: Math.round(at200?.achieved ?? 0),
    p50_ms: at200?.p50_ms,
    p99_ms: at200?.p99_ms,
    p99_crosses_50ms_at_rps: crossing?.rate ?? null,
    max_achieved_rps: Math.round(maxAchieved),
    saturated_at_rps: saturated?.rate ?? null,
    search_batch: best.batch,
    cpu_ms_per_request: at200?.cpu_ms_per_request,
    serve_cpu_ms_per_request: at200?.serve_cpu_ms,
    milvus_cpu_ms_per_request: at200?.milvus_cpu_ms,
    redis_cpu_ms_per_request: at200?.redis_cpu_ms,
    rounds_at_200: roundsAt200.map((x) => ({ p99_ms: x.p99_ms, cpu_ms_per_request: x.cpu_ms_per_request })),
    rounds_p99_held: { held, of: roundsAt200.length, objective_ms: P99_OBJECTIVE_MS },
    rates: results,
    stages,
    runs,
    host: await hostInfo(),
  });
} finally {
  hbase.close();
  await vectorStore.close();
  await redis.quit().catch(() => {});
  await stack.close();
}
