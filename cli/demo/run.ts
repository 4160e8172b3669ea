import path from 'node:path';
import { type BatchOptions, type BatchReport, runBatch } from '../../batch/job.js';
import { withBatchMetrics } from '../../batch/metrics.js';
import { HBaseClient } from '../../clients/hbase/thrift2.js';
import { groupLag } from '../../clients/kafka/admin.js';
import { createKafka } from '../../clients/kafka/kafkajs.js';
import { topicNames } from '../../clients/kafka/topics.js';
import { createRedis, type Redis } from '../../clients/redis.js';
import type { Config } from '../../config/index.js';
import type { VerifyReport } from '../../infra/grafana/src/verify.js';
import { appsDown, appsUp } from '../../infra/local/apps.js';
import { resetProjectState, storesAreLocal } from '../../infra/local/reset.js';
import { makeContext, status, up } from '../../infra/local/stack.js';
import { loadDataset } from '../../model/data/load.js';
import { type Dataset, type Interaction, idOnlyNote } from '../../model/data/types.js';
import { type LeaveLastOutSplit, leaveLastOut } from '../../model/eval/protocol.js';
import { IngestClient } from '../../replay/client.js';
import { behaviourEvents } from '../../replay/events.js';
import { holdOutNext } from '../../replay/experiment-traffic.js';
import { type ReplayResult, replay } from '../../replay/run.js';
import { clientKey, generatedKeyFile } from '../../runtime/api-keys.js';
import { ExitCode, UserFacingError } from '../../runtime/errors.js';
import type { RecallEndpoint } from '../../serving/evaluate-api.js';
import { HBaseHistoryStore } from '../../stores/history/hbase.js';
import { RedisPopularityStore } from '../../stores/popularity/redis.js';
import { HBaseProfileStore } from '../../stores/profiles/hbase.js';
import { RedisSequenceStore } from '../../stores/sequence/redis.js';
import { openItemVectors } from '../../stores/vectors/open.js';
import { groupIdOf, type ProcessorName } from '../../streams/runtime.js';
import { ModelRegistry } from '../../versions/registry.js';
import { reportText } from '../output/experiment-report.js';
import { checkFailed, checkStores } from './check.js';
import { type DemoExperiment, EXPERIMENT_NEXT, runDemoExperiment } from './experiment.js';
import { type FreshnessReport, probeFreshness } from './freshness.js';
import { type OnlineReport, postHeldOut } from './online.js';
import { measureQuality, type QualityReport } from './quality.js';
import { StepRunner } from './steps.js';
import {
  type DemoOutcome,
  dailyJobLine,
  dashboardsLine,
  demoJson,
  experimentLine,
  freshnessLine,
  historyLine,
  onlineLine,
  qualityLine,
  qualityTable,
  replayLine,
} from './summary.js';

export interface DemoOptions {
  dataset: string;
  keepData?: boolean;
  /** Also yesterday's model against today's in an A/B experiment with simulated users. */
  experiment?: boolean;
}

interface Stores {
  hbase: HBaseClient;
  redis: Redis;
  history: HBaseHistoryStore;
  profiles: HBaseProfileStore;
  sequence: RedisSequenceStore;
}

/** Waits until the given consumer groups have committed everything of their topics. */
async function waitForZeroLag(cfg: Config, groups: [ProcessorName, string][], timeoutMs = 300_000) {
  const admin = createKafka(cfg).admin();
  await admin.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let lag = 0;
      for (const [p, topic] of groups)
        for (const l of (await groupLag(admin, groupIdOf(cfg, p), topic)).values()) lag += l;
      if (lag === 0) return;
      if (Date.now() > deadline)
        throw checkFailed(`processors still ${lag} records behind after ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await admin.disconnect();
  }
}

async function openStores(cfg: Config): Promise<Stores> {
  const hbase = HBaseClient.fromConfig(cfg);
  const redis = createRedis(cfg);
  await redis.connect();
  return {
    hbase,
    redis,
    history: new HBaseHistoryStore(hbase, cfg.historySaltBuckets),
    profiles: new HBaseProfileStore(hbase),
    sequence: new RedisSequenceStore(redis, {
      length: cfg.sequenceLength,
      ttlSeconds: cfg.sequenceTtlSeconds,
    }),
  };
}

/** The daily job over every day of the replayed data; returns the published version and its gate numbers. */
async function dailyJob(
  cfg: Config,
  s: Stores,
  ds: Dataset,
  say: (m: string) => void,
  extra: Pick<BatchOptions, 'publish'> = {},
) {
  const vectorStore = openItemVectors(cfg);
  try {
    const times = ds.interactions.map((x) => x.ts * 1000);
    const last = Math.max(...times);
    const days = Math.ceil((last - Math.min(...times)) / 86_400_000) + 1;
    // the batch metrics are served while the job runs, as `towerflow batch run` does
    return await withBatchMetrics(
      cfg,
      (metrics) =>
        runBatch(
          { cfg, hbase: s.hbase, redis: s.redis, vectorStore },
          {
            date: new Date(last).toISOString().slice(0, 10),
            windowDays: days,
            ...extra,
            say,
            onStep: (st) => metrics.onStep(st),
          },
        ),
      { lingerMs: 6000 },
    );
  } finally {
    await vectorStore.close();
  }
}

export interface DemoSummary {
  text: string;
  json: Record<string, unknown>;
}

/** Runs the demo's steps; the summary is returned for the caller to print. */
export async function runDemo(o: DemoOptions): Promise<DemoSummary> {
  const ctx = makeContext();
  const cfg = ctx.cfg;
  const t0 = Date.now();
  const r = new StepRunner();
  await startServices(r, ctx);
  if (!o.keepData) await resetProject(r, cfg);
  await startProcesses(r, cfg);
  const data = await loadDemoData(r, cfg, o.dataset, o.experiment === true);
  const replayed = await replayTrainingPart(r, data);
  await waitProcessed(r, cfg, data);
  const s = await openStores(cfg);
  try {
    await checkStoresStep(r, cfg, s, data.ds);
    await sayMostPopular(r, s);
    const job = await dailyJobStep(r, cfg, s, data.ds);
    const recall = { url: `http://${cfg.bindHost}:${cfg.recallPort}`, key: clientKey(cfg, 'recall') };
    const quality = await recallQuality(
      r,
      recall,
      data,
      new ModelRegistry(cfg, s.redis).versionDir(job.version),
    );
    const online = await onlineHitRate(r, cfg, data, job.version);
    const freshness = await freshnessStep(r, recall, s, data);
    const experiment = data.future ? await experimentStep(r, cfg, s, data, data.future) : undefined;
    await r.run('prometheus', async () => ({ result: await checkScraping(cfg), value: undefined }));
    const dashboards = await dashboardsStep(r, cfg, t0);
    return await summarize(r, ctx, t0, {
      dataset: o.dataset,
      full: data.loaded,
      replayed,
      job,
      quality,
      online,
      freshness,
      dashboards,
      ...(experiment ? { experiment } : {}),
    });
  } finally {
    s.hbase.close();
    await s.redis.quit();
  }
}

/** The steps' table and the try lines as text, and everything measured as JSON. */
async function summarize(
  r: StepRunner,
  ctx: ReturnType<typeof makeContext>,
  t0: number,
  outcome: Omit<DemoOutcome, 'seconds' | 'steps' | 'rssBytes'>,
): Promise<DemoSummary> {
  const mem = (await status(ctx)).reduce((sum, x) => sum + (x.rssBytes ?? 0), 0);
  const seconds = (Date.now() - t0) / 1000;
  return {
    text: `\n${r.table()}\n${tryLines(ctx.cfg, seconds, mem, outcome.experiment?.name)}`,
    json: demoJson({ ...outcome, seconds, steps: r.steps, rssBytes: mem }),
  };
}

async function startServices(r: StepRunner, ctx: ReturnType<typeof makeContext>): Promise<void> {
  const cfg = ctx.cfg;
  await r.run('services', async () => {
    await up(ctx);
    return {
      result: cfg.localServices.includes('none')
        ? 'no local service started (TOWERFLOW_LOCAL_SERVICES=none): using the configured Kafka, HBase, Redis, Milvus and Prometheus'
        : `${cfg.localServices.join(', ')} healthy on ${cfg.bindHost}`,
      value: undefined,
    };
  });
}

async function resetProject(r: StepRunner, cfg: Config): Promise<void> {
  await r.run('reset', async () => {
    // held-out interactions must not already be in the history, or the evaluation is void
    if (!storesAreLocal(cfg))
      throw new UserFacingError({
        cause: 'the demo empties its stores first and does that only on this machine',
        fix: 'pass --keep-data against external clusters',
        exitCode: ExitCode.USAGE,
      });
    await appsDown(cfg);
    await resetProjectState(cfg, { redisAndRegistry: true });
    return {
      result:
        "stopped the project's processes and emptied its topics, consumer groups, tables, collections, Redis database and model registry",
      value: undefined,
    };
  });
}

async function startProcesses(r: StepRunner, cfg: Config): Promise<void> {
  await r.run('processes', async () => {
    await appsUp(cfg, [], { say: (m) => r.say(`  ${m}`) });
    return {
      result: 'ingest API, the history, sequence, items and embeddings processors and the recall API healthy',
      value: undefined,
    };
  });
}

/** The dataset, its leave-last-out split and what the later steps post it with. */
interface DemoData {
  /** The dataset as loaded. */
  loaded: Dataset;
  /** What the steps before the experiment see: the loaded dataset less `future`. */
  full: Dataset;
  /** With --experiment: each user's last EXPERIMENT_NEXT interactions, what the simulated users do. */
  future?: Map<string, Interaction[]>;
  split: LeaveLastOutSplit;
  /** The dataset without the held-out interactions: what is replayed. */
  ds: Dataset;
  client: IngestClient;
  topics: ReturnType<typeof topicNames>;
  behaviourGroups: [ProcessorName, string][];
}

async function loadDemoData(
  r: StepRunner,
  cfg: Config,
  dataset: string,
  experiment: boolean,
): Promise<DemoData> {
  const apiKey = clientKey(cfg, 'ingest');
  const client = new IngestClient({ baseUrl: `http://${cfg.bindHost}:${cfg.ingestPort}`, apiKey });
  const loaded = await loadDataset(path.resolve(cfg.root, dataset));
  for (const s of loaded.skipped) r.say(`demo: skipped ${s.count} rows: ${s.reason}`);
  if (loaded.idOnly) r.say(`demo: ${idOnlyNote(loaded.idOnly, 'posted, and trained as ID-only items')}`);
  // the experiment's users act after everything else: their next interactions stay out of it all
  const next = experiment ? holdOutNext(loaded, EXPERIMENT_NEXT) : undefined;
  const full = next ? { ...loaded, interactions: next.past } : loaded;
  if (next)
    r.say(
      `demo: each user's last ${EXPERIMENT_NEXT} interactions (${[...next.next.values()].reduce((n, x) => n + x.length, 0).toLocaleString('en-US')}) kept for the experiment's simulated users`,
    );
  // DESIGN.md §6: each user's last interaction is held out; the system sees everything else
  const split: LeaveLastOutSplit = leaveLastOut(full);
  const topics = topicNames(cfg);
  return {
    loaded,
    full,
    ...(next ? { future: next.next } : {}),
    split,
    ds: { ...full, interactions: split.train },
    client,
    topics,
    behaviourGroups: [
      ['history', topics.behaviour],
      ['sequence', topics.behaviour],
    ],
  };
}

function replayTrainingPart(r: StepRunner, data: DemoData): Promise<ReplayResult> {
  return r.run('replay', async () => {
    const res = await replay(data.ds, data.client, { batch: 1000, concurrency: 4 });
    return { result: replayLine(res, data.full.interactions.length), value: res };
  });
}

async function waitProcessed(r: StepRunner, cfg: Config, data: DemoData): Promise<void> {
  await r.run('processing', async () => {
    await waitForZeroLag(cfg, [...data.behaviourGroups, ['items', data.topics.items]]);
    return { result: 'every consumer group committed everything (lag 0)', value: undefined };
  });
}

async function checkStoresStep(r: StepRunner, cfg: Config, s: Stores, ds: Dataset): Promise<void> {
  await r.run('check', async () => ({
    result: await checkStores(behaviourEvents(ds), ds.users.keys(), s, cfg.sequenceLength),
    value: undefined,
  }));
}

async function sayMostPopular(r: StepRunner, s: Stores): Promise<void> {
  const top = await new RedisPopularityStore(s.redis).top('all', 5);
  const titles = await Promise.all(
    top.map(
      async (t) => `${(await s.profiles.getItem(t.item_id))?.features.title ?? t.item_id} (${t.count})`,
    ),
  );
  r.say(`demo: most popular items: ${titles.join('; ')}`);
}

function dailyJobStep(r: StepRunner, cfg: Config, s: Stores, ds: Dataset): Promise<BatchReport> {
  return r.run('daily job', async () => {
    const res = await dailyJob(cfg, s, ds, (m) => r.say(`  batch: ${m}`));
    return { result: dailyJobLine(res), value: res };
  });
}

function recallQuality(
  r: StepRunner,
  recall: RecallEndpoint,
  data: DemoData,
  versionDir: string,
): Promise<QualityReport> {
  const { full, split } = data;
  return r.run('recall quality', async () => {
    const q = await measureQuality(recall, full, split, versionDir, (n) =>
      n % 100 === 0 ? r.say(`  ${n}/${split.test.length} users`) : undefined,
    );
    r.say(qualityTable(q));
    r.say(historyLine(q));
    return { result: qualityLine(q), value: q };
  });
}

function onlineHitRate(r: StepRunner, cfg: Config, data: DemoData, version: string): Promise<OnlineReport> {
  const { full, split } = data;
  return r.run('online hit rate', async () => {
    const heldRows = new Set(split.test.map((t) => t.row));
    const heldOut = full.interactions.filter((x) => heldRows.has(x.row));
    const res = await postHeldOut(cfg, data.client, full, heldOut, version, () =>
      waitForZeroLag(cfg, data.behaviourGroups),
    );
    return { result: onlineLine(res), value: res };
  });
}

function freshnessStep(
  r: StepRunner,
  recall: RecallEndpoint,
  s: Stores,
  data: DemoData,
): Promise<FreshnessReport> {
  const { ds, split } = data;
  return r.run('freshness', async () => {
    const user = split.test[0]?.user ?? [...ds.users.keys()][0] ?? '1';
    const f = await probeFreshness(recall, data.client, s, user, [...ds.items.keys()][0] ?? '1', (m) =>
      r.say(m),
    );
    return { result: freshnessLine(user, f), value: f };
  });
}

/**
 * Yesterday's model (the daily job's, live) against today's: the daily job again over the window
 * that now holds the held-out interactions too, built without publishing, then an A/B experiment
 * of the two on simulated users who do what they did next (`future`), and its report.
 */
function experimentStep(
  r: StepRunner,
  cfg: Config,
  s: Stores,
  data: DemoData,
  future: Map<string, Interaction[]>,
): Promise<DemoExperiment> {
  return r.run('experiment', async () => {
    const today = await dailyJob(cfg, s, data.full, (m) => r.say(`  batch: ${m}`), { publish: false });
    const vectorStore = openItemVectors(cfg);
    try {
      const e = await runDemoExperiment(
        {
          cfg,
          redis: s.redis,
          hbase: s.hbase,
          vectorStore,
          ingest: data.client,
          waitForLag: () =>
            waitForZeroLag(cfg, [
              ['experiments', data.topics.exposures],
              ['experiments', data.topics.behaviour],
            ]),
          say: (m) => r.say(m),
        },
        data.loaded,
        future,
        today.version,
      );
      r.say(`\n${reportText(e.report)}\n`);
      return { result: experimentLine(e), value: e };
    } finally {
      await vectorStore.close();
    }
  });
}

/** Every dashboard query checked against Prometheus over the demo's run, and the dashboards rendered. */
function dashboardsStep(
  r: StepRunner,
  cfg: Config,
  t0: number,
): Promise<VerifyReport & { pictures: string[] }> {
  return r.run('dashboards', async () => {
    const { verifyDashboards, projectRuleFiles } = await import('../../infra/grafana/src/verify.js');
    const { renderDashboards } = await import('../../infra/grafana/src/render.js');
    const since = Math.ceil((Date.now() - t0) / 1000) + 60;
    const check = () =>
      verifyDashboards({
        prometheusUrl: cfg.prometheusUrl,
        stack: cfg.kafkaClientId,
        sinceSeconds: since,
        ruleFiles: projectRuleFiles(cfg.root),
      });
    // the last steps' series reach Prometheus with its next scrapes (every 5 s): look again for up to 30 s
    let v = await check();
    for (const end = Date.now() + 30_000; v.empty.length > 0 && Date.now() < end; v = await check())
      await new Promise((res) => setTimeout(res, 5000));
    const outDir = path.join(cfg.homeDir, 'dashboards');
    const files = await renderDashboards({
      prometheusUrl: cfg.prometheusUrl,
      outDir,
      stack: cfg.kafkaClientId,
      sinceSeconds: since,
    });
    return {
      result: dashboardsLine(v, path.relative(cfg.root, outDir), files.length),
      value: { ...v, pictures: files.map((f) => path.relative(cfg.root, f)) },
    };
  });
}

async function checkScraping(cfg: Config): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const res = await fetch(`${cfg.prometheusUrl}/api/v1/query?query=sum(towerflow_stream_written_total)`);
    const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
    const v = body.data.result[0]?.value[1];
    if (v !== undefined) return `scraping the processes: sum(towerflow_stream_written_total) = ${v}`;
    if (Date.now() > deadline)
      throw checkFailed('Prometheus has no towerflow_stream_written_total after 30 s');
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function tryLines(cfg: Config, seconds: number, rssBytes: number, experiment?: string): string {
  const base = `http://${cfg.bindHost}`;
  const keyFile = (kind: 'ingest' | 'recall') => path.relative(cfg.root, generatedKeyFile(cfg, kind));
  return (
    `\nDone in ${seconds.toFixed(0)} s (services use ${(rssBytes / 2 ** 20).toFixed(0)} MiB resident).\n` +
    'Try:\n' +
    `  curl -H "Authorization: Bearer $(cat ${keyFile('ingest')})" -H 'content-type: application/json' \\\n` +
    `    -d '{"event_id":"try-1","user_id":"1","item_id":"1","type":"click","ts":${Date.now()}}' ${base}:${cfg.ingestPort}/v1/events\n` +
    `  curl -H "Authorization: Bearer $(cat ${keyFile('recall')})" '${base}:${cfg.recallPort}/v1/recall?user_id=1&k=10&category=Comedy'\n` +
    `  ${base}:${cfg.ingestPort}/openapi.json   ${base}:${cfg.ingestPort}/metrics   ${base}:${cfg.streamMetricsPortBase}/metrics\n` +
    `  Prometheus: ${cfg.prometheusUrl}/graph?g0.expr=rate(towerflow_stream_written_total%5B1m%5D)\n` +
    (experiment
      ? `Experiment (still running): node bin/towerflow.js experiment report ${experiment}; then experiment promote ${experiment} or experiment abort ${experiment}\n`
      : '') +
    'Status: node bin/towerflow.js apps status; node bin/towerflow.js infra status\n' +
    'Stop:   node bin/towerflow.js apps down && node bin/towerflow.js infra down\n'
  );
}
