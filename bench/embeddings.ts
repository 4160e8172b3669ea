// Incremental user-ID embeddings (streams/processors/embeddings.ts) on the local real services.
// Setup: the first 20k events of ml-latest-small replayed and trained into a live version.
//  1. throughput: with the processor stopped, a backlog of N events (known users, live items)
//     is posted; then the processor starts. events/s: its own event counter sampled every 50 ms,
//     from the last sample before it consumed to the first with the whole backlog handled;
//     "incl. start": N / time from spawn until its group has committed everything. Once per
//     EMBEDDINGS_BATCH_EVENTS value in --sizes (default 64 and the setting).
//  2. freshness at a fixed rate (default 1,000 events/s): every request carries one probe event
//     of a brand-new user, whose row exists only once that event is applied; time from the 202
//     to the row in Redis tagged with the live version, and to a recall answer (GET /v1/recall
//     of `towerflow serve`, asked as soon as the row is seen) that says it used that row
//     (`id_row: incremental`).
// Usage: towerflow bench embeddings [--events 60000] [--sizes 64,2048] [--search-batches 4,16] [--rate 1000] [--seconds 30] [--json]

import path from 'node:path';
import { runBatch } from '../batch/job.js';
import { HBaseClient } from '../clients/hbase/thrift2.js';
import { createRedis } from '../clients/redis.js';
import { projectRoot } from '../config/index.js';
import { appPaths, appsUp } from '../infra/local/apps.js';
import { IsolatedStack } from '../infra/local/isolated-stack.js';
import { loadDataset } from '../model/data/load.js';
import { IngestClient } from '../replay/client.js';
import { replay } from '../replay/run.js';
import type { BehaviourEvent } from '../schemas/behaviour.js';
import { RedisIdRowStore } from '../stores/embeddings/redis.js';
import { openItemVectors } from '../stores/vectors/open.js';
import { type LivePointer, ModelRegistry } from '../versions/registry.js';
import {
  benchArgs,
  fmt,
  hostInfo,
  intListOption,
  intOption,
  metricSum,
  mulberry32,
  now,
  pidFileCpuSeconds,
  progress,
  Report,
  recallStageMeans,
  sleep,
  summarize,
} from './lib.js';

const args = benchArgs(['events', 'sizes', 'rate', 'seconds', 'search-batches']);
const N = intOption(args, 'events', 60_000);
const RATE = intOption(args, 'rate', 1000);
const SECONDS = intOption(args, 'seconds', 30);
const POLL_MS = 20;

const report = new Report('embeddings', args.json);

const stack = new IsolatedStack({ redisDb: 12, portOffset: 9, extraEnv: { LOG_LEVEL: 'warn' } });
const cfg = stack.cfg;
const SIZES = intListOption(args, 'sizes', `64,${cfg.embeddingsBatchEvents}`);
const SEARCH_BATCHES = intListOption(args, 'search-batches', String(cfg.recallSearchBatch));
const metricsUrl = `http://${cfg.bindHost}:${cfg.streamMetricsPortBase + 3}/metrics`;

const random = mulberry32(7);
let seq = 0;
let users: string[] = [];
let items: string[] = [];
const makeEvent = (user = users[Math.floor(random() * users.length)] as string): BehaviourEvent => ({
  event_id: `be${(seq++).toString(36)}`,
  user_id: user,
  item_id: items[Math.floor(items.length * random() ** 2)] as string,
  type: 'rating',
  ts: Date.now(),
});

async function post(events: BehaviourEvent[]): Promise<void> {
  const r = await stack.post('/v1/events', { events });
  if (r.status !== 202)
    throw new Error(`ingest answered ${r.status}: ${JSON.stringify(r.body).slice(0, 300)}`);
}

/** Sum of one metric's samples on the processor's /metrics (0 when absent). */
async function scrapedSum(name: string, label?: string): Promise<number> {
  return metricSum(await (await fetch(metricsUrl)).text(), name, label);
}

const cpuOf = (app: string): number => pidFileCpuSeconds(appPaths(cfg, app).pidFile) ?? Number.NaN;

// ---- setup: a live version -------------------------------------------------------------------

async function publish(): Promise<LivePointer> {
  const redis = createRedis(cfg);
  const hbase = HBaseClient.fromConfig(cfg);
  const vectorStore = openItemVectors(cfg);
  try {
    await redis.connect();
    await redis.flushdb();
    // the processor consumes the replay before the publish: it commits it without updates
    await stack.up(['ingest', 'history', 'sequence', 'items', 'embeddings', 'serve']);
    const ds = await loadDataset(path.join(projectRoot(), 'datasets', 'ml-latest-small'));
    const client = new IngestClient({ baseUrl: stack.ingestUrl, apiKey: stack.apiKey });
    progress('replaying the first 20k events of ml-latest-small');
    await replay(ds, client, { batch: 1000, concurrency: 4, limit: 20_000 });
    await stack.waitForZeroLag(['history', 'sequence', 'embeddings'], 300_000);
    await stack.waitForZeroLag(['items'], 60_000, stack.topics.items);
    progress('daily job: train, gate, publish');
    const r = await runBatch({ cfg, hbase, redis, vectorStore }, { date: '2018-09-30', windowDays: 9000 });
    if (!r.published) throw new Error('the daily job did not publish');
    const pointer = (await new ModelRegistry(cfg, redis).live()) as LivePointer;
    const vocab = JSON.parse(
      await (await import('node:fs/promises')).readFile(
        path.join(new ModelRegistry(cfg, redis).versionDir(pointer.version), 'vocab.json'),
        'utf8',
      ),
    ) as { users: string[] };
    users = vocab.users;
    for await (const page of vectorStore.scan(pointer.version)) items.push(...page.map((p) => p.item_id));
    items = items.sort();
    return pointer;
  } finally {
    hbase.close();
    await vectorStore.close();
    await redis.quit();
  }
}

// ---- phase 1: backlog throughput -------------------------------------------------------------

async function throughput(batchEvents: number) {
  await stack.down(['embeddings']);
  progress(`posting a backlog of ${N.toLocaleString('en-US')} events`);
  for (let i = 0; i < N; i += 1000)
    await post(Array.from({ length: Math.min(1000, N - i) }, () => makeEvent()));
  await stack.waitForZeroLag(['history', 'sequence'], 300_000);
  const backlog = await stack.lag('embeddings');
  // the processor's own counter, sampled every 50 ms from its spawn (its /metrics answers before
  // it joins the group): the rate is over the samples taken while it consumed, startup excluded
  const samples: { t: number; n: number }[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const n = await scrapedSum('towerflow_embeddings_events_total').catch(() => undefined);
      if (n !== undefined) samples.push({ t: now(), n });
      await sleep(50);
    }
  })();
  const t0 = now();
  await appsUp(cfg, ['embeddings'], {
    env: { ...stack.env, EMBEDDINGS_BATCH_EVENTS: String(batchEvents) },
    timeoutMs: 90_000,
  });
  const healthyS = (now() - t0) / 1000;
  for (;;) {
    if ((await stack.lag('embeddings')) === 0) break;
    if ((now() - t0) / 1000 > 900) throw new Error('the embeddings processor still lags after 900 s');
    await sleep(50);
  }
  const end = now();
  sampling = false;
  await sampler;
  const cpu = cpuOf('stream-embeddings'); // the process started with the measurement
  // from the last sample before consumption began to the first one with everything handled
  const firstActive = samples.findIndex((x) => x.n > 0);
  const from = samples[Math.max(0, firstActive - 1)];
  const to = samples.find((x) => x.n >= backlog) ?? samples.at(-1);
  const steadyRate = from && to && to.t > from.t ? (to.n - from.n) / ((to.t - from.t) / 1000) : Number.NaN;
  const count = await scrapedSum('towerflow_embeddings_microbatch_seconds_count');
  return {
    backlog,
    healthyS,
    wallS: (end - t0) / 1000,
    steadyRate,
    cpu,
    microBatches: count,
    loadS: await scrapedSum('towerflow_embeddings_item_load_seconds'),
  };
}

// ---- phase 2: freshness at a fixed rate ------------------------------------------------------

async function freshness(version: string) {
  const redis = createRedis(cfg);
  await redis.connect();
  const rows = new RedisIdRowStore(redis);
  const perRequest = Math.max(1, Math.round(RATE / 50)); // a request every 20 ms
  const intervalMs = (perRequest / RATE) * 1000;
  const total = Math.round((SECONDS * 1000) / intervalMs);
  const rowMs: number[] = [];
  const recallMs: number[] = [];
  const callMs: number[] = [];
  const probes: Promise<void>[] = [];
  let failed = 0;
  let recallWithoutRow = 0;
  async function probe(user: string, acceptedAt: number): Promise<void> {
    while (!(await rows.get(user, version))) {
      if (now() - acceptedAt > 30_000) {
        failed++;
        return;
      }
      // every 20 ms: the answer is late by at most that, and ~65 probes in flight polling every
      // 2 ms were 30k Redis reads/s of the bench's own, which slowed everything it measures
      await sleep(POLL_MS);
    }
    rowMs.push(now() - acceptedAt);
    // the next recall must already be computed with the row (its cache entry names the row)
    const c0 = now();
    const res = await fetch(`http://${cfg.bindHost}:${cfg.recallPort}/v1/recall?user_id=${user}&k=50`, {
      headers: stack.recallAuth,
    });
    const body = (await res.json()) as { id_row?: string; model_version?: string };
    callMs.push(now() - c0);
    if (res.status === 200 && body.id_row === 'incremental' && body.model_version === version)
      recallMs.push(now() - acceptedAt);
    else recallWithoutRow++;
  }
  const t0 = now();
  const inflight = new Set<Promise<void>>();
  for (let b = 0; b < total; b++) {
    const wait = t0 + b * intervalMs - now();
    if (wait > 0) await sleep(wait);
    const probeUser = `probe-${b}-${seq}`;
    const events = [...Array.from({ length: perRequest - 1 }, () => makeEvent()), makeEvent(probeUser)];
    const p = post(events).then(() => {
      probes.push(probe(probeUser, now()));
    });
    inflight.add(p);
    p.finally(() => inflight.delete(p));
    if (inflight.size > 64) await Promise.race(inflight);
    if (b % 250 === 0) progress(`rate ${RATE}/s: ${b}/${total} requests`);
  }
  await Promise.all(inflight);
  const achieved = (total * perRequest) / ((now() - t0) / 1000);
  await Promise.all(probes);
  await redis.quit();
  // where a recall's time went (serve's own stage histograms)
  const text = await (await fetch(`http://${cfg.bindHost}:${cfg.recallPort}/metrics`)).text();
  const stages = recallStageMeans(text, ['features', 'user_vector', 'milvus']).map(
    (s) => `${s.stage} ${fmt(s.mean_ms, 1)} ms`,
  );
  return {
    achieved,
    row: summarize(rowMs),
    recall: summarize(recallMs),
    call: summarize(callMs),
    stages: stages.join(', '),
    failed,
    recallWithoutRow,
  };
}

// ---- run ---------------------------------------------------------------------------------------

try {
  const pointer = await publish();
  progress(
    `live ${pointer.version}: ${users.length} users in vocab, ${items.length} items in the collection`,
  );
  const runs: { size: number; t: Awaited<ReturnType<typeof throughput>> }[] = [];
  const fresh: { size: number; searchBatch: number; f: Awaited<ReturnType<typeof freshness>> }[] = [];
  for (const size of SIZES) {
    const t = await throughput(size);
    runs.push({ size, t });
    for (const searchBatch of SEARCH_BATCHES) {
      // the recall API restarted with this RECALL_SEARCH_BATCH, side by side in this run
      await stack.down(['serve']);
      stack.env.RECALL_SEARCH_BATCH = String(searchBatch);
      await stack.up(['serve']);
      progress(`EMBEDDINGS_BATCH_EVENTS=${size}, RECALL_SEARCH_BATCH=${searchBatch}: freshness at ${RATE}/s`);
      await sleep(2000);
      fresh.push({ size, searchBatch, f: await freshness(pointer.version) });
    }
  }
  const rateOf = (t: (typeof runs)[number]['t']) => t.steadyRate;
  report.table(
    `Backlog of ${N.toLocaleString('en-US')} events (steps ${cfg.embeddingsSteps}, negatives ${cfg.embeddingsNegatives}, ${items.length} live items)`,
    [
      'EMBEDDINGS_BATCH_EVENTS',
      'events/s',
      'events/s incl. start',
      'start→healthy s',
      'vectors load s',
      'micro-batches',
      'CPU s / wall s',
    ],
    runs.map(({ size, t }) => [
      size,
      rateOf(t),
      t.backlog / t.wallS,
      t.healthyS,
      t.loadS,
      t.microBatches,
      `${fmt(t.cpu, 1)} / ${fmt(t.wallS, 1)}`,
    ]),
  );
  report.table(
    `Freshness at ${RATE.toLocaleString('en-US')} events/s for ${SECONDS} s (one new-user probe per request): 202 → row in Redis with the live version, and 202 → a recall answer computed with it`,
    [
      'EMBEDDINGS_BATCH_EVENTS',
      'RECALL_SEARCH_BATCH',
      'achieved/s',
      'probes',
      'no row in 30 s',
      'row p50 ms',
      'row p99 ms',
      'recall p50 ms',
      'recall p99 ms',
      'recall max ms',
      'recall without the row',
    ],
    fresh.map(({ size, searchBatch, f }) => [
      size,
      searchBatch,
      f.achieved,
      f.row.n,
      f.failed,
      f.row.p50_ms,
      f.row.p99_ms,
      f.recall.p50_ms,
      f.recall.p99_ms,
      f.recall.max_ms,
      f.recallWithoutRow,
    ]),
  );
  report.note(
    `EMBEDDINGS_BATCH_WAIT_MS=${cfg.embeddingsBatchWaitMs} is the consumer's fetch wait (minBytes ≈ one micro-batch)`,
  );
  report.note(
    `recall is asked once per probe, as soon as its row is seen (polled every ${POLL_MS} ms); "recall without the row" counts answers that did not say id_row: incremental`,
  );
  for (const { size, searchBatch, f } of fresh)
    report.note(
      `EMBEDDINGS_BATCH_EVENTS=${size}, RECALL_SEARCH_BATCH=${searchBatch}: the recall call itself p50 ${fmt(f.call.p50_ms, 0)} / p99 ${fmt(f.call.p99_ms, 0)} ms; serve's mean per stage: ${f.stages}`,
    );
  report.finish({
    throughput: runs.map(({ size, t }) => ({
      batch_events: size,
      events_per_s: Math.round(rateOf(t)),
      events_per_s_with_startup: Math.round(t.backlog / t.wallS),
      item_load_s: t.loadS,
      backlog: t.backlog,
    })),
    freshness: fresh.map(({ size, searchBatch, f }) => ({
      batch_events: size,
      search_batch: searchBatch,
      rate_per_s: Math.round(f.achieved),
      p50_ms: f.row.p50_ms,
      p99_ms: f.row.p99_ms,
      recall_p50_ms: f.recall.p50_ms,
      recall_p99_ms: f.recall.p99_ms,
      recall_without_row: f.recallWithoutRow,
      failed: f.failed,
    })),
    host: await hostInfo(),
  });
} finally {
  await stack.close();
}
