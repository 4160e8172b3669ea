import path from 'node:path';
import { runBatch } from '../../batch/job.js';
import { withBatchMetrics } from '../../batch/metrics.js';
import { HBaseClient } from '../../clients/hbase/thrift2.js';
import { groupLag } from '../../clients/kafka/admin.js';
import { createKafka } from '../../clients/kafka/kafkajs.js';
import { topicNames } from '../../clients/kafka/topics.js';
import { createRedis, type Redis } from '../../clients/redis.js';
import type { Config } from '../../config/index.js';
import { appsDown, appsUp } from '../../infra/local/apps.js';
import { resetProjectState, storesAreLocal } from '../../infra/local/reset.js';
import { makeContext, status, up } from '../../infra/local/stack.js';
import { resolveApiKeys } from '../../ingest/api-keys.js';
import { loadDataset } from '../../model/data/load.js';
import { type Dataset, idOnlyNote } from '../../model/data/types.js';
import { type LeaveLastOutSplit, leaveLastOut } from '../../model/eval/protocol.js';
import { IngestClient } from '../../replay/client.js';
import { behaviourEvents } from '../../replay/events.js';
import { replay } from '../../replay/run.js';
import { ExitCode, UserFacingError } from '../../runtime/errors.js';
import { HBaseHistoryStore } from '../../stores/history/hbase.js';
import { ALL_TIME_POPULARITY_KEY } from '../../stores/popularity/keys.js';
import { RedisPopularityStore } from '../../stores/popularity/redis.js';
import { HBaseProfileStore } from '../../stores/profiles/hbase.js';
import { RedisSequenceStore } from '../../stores/sequence/redis.js';
import { openItemVectors } from '../../stores/vectors/open.js';
import { groupIdOf, type ProcessorName } from '../../streams/runtime.js';
import { ModelRegistry } from '../../versions/registry.js';
import { checkFailed, checkStores } from './check.js';
import { type FreshnessReport, probeFreshness } from './freshness.js';
import { type OnlineReport, postHeldOut } from './online.js';
import { HEAVY_HISTORY, measureQuality, metricsTable, type QualityReport } from './quality.js';
import { StepRunner } from './steps.js';

export interface DemoOptions {
  dataset: string;
  keepData?: boolean;
}

interface Stores {
  hbase: HBaseClient;
  redis: Redis;
  history: HBaseHistoryStore;
  profiles: HBaseProfileStore;
  sequence: RedisSequenceStore;
}

const hr = (m: Record<string, number> | undefined, k = 'HR@50') => (m?.[k] ?? Number.NaN).toFixed(3);

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
async function dailyJob(cfg: Config, s: Stores, ds: Dataset, say: (m: string) => void) {
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
  const say = (m: string) => r.say(m);

  await r.run('services', async () => {
    await up(ctx);
    return {
      result: cfg.localServices.includes('none')
        ? 'no local service started (TOWERFLOW_LOCAL_SERVICES=none): using the configured Kafka, HBase, Redis, Milvus and Prometheus'
        : `${cfg.localServices.join(', ')} healthy on ${cfg.bindHost}`,
      value: undefined,
    };
  });
  if (!o.keepData)
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
  await r.run('processes', async () => {
    await appsUp(cfg, [], { say: (m) => say(`  ${m}`) });
    return {
      result: 'ingest API, the history, sequence, items and embeddings processors and the recall API healthy',
      value: undefined,
    };
  });

  const apiKey = resolveApiKeys(cfg)[0] as string;
  const client = new IngestClient({ baseUrl: `http://${cfg.bindHost}:${cfg.ingestPort}`, apiKey });
  const full = await loadDataset(path.resolve(cfg.root, o.dataset));
  for (const s of full.skipped) say(`demo: skipped ${s.count} rows: ${s.reason}`);
  if (full.idOnly) say(`demo: ${idOnlyNote(full.idOnly, 'posted, and trained as ID-only items')}`);
  // DESIGN.md §6: each user's last interaction is held out; the system sees everything else
  const split: LeaveLastOutSplit = leaveLastOut(full);
  const ds = { ...full, interactions: split.train };
  const topics = topicNames(cfg);
  const behaviourGroups: [ProcessorName, string][] = [
    ['history', topics.behaviour],
    ['sequence', topics.behaviour],
  ];

  const replayed = await r.run('replay', async () => {
    const res = await replay(ds, client, { batch: 1000, concurrency: 4 });
    return {
      result: `${res.items} items, ${res.users} user profiles and ${res.events.toLocaleString('en-US')} events${res.idOnly.events > 0 ? ` (${res.idOnly.events.toLocaleString('en-US')} of them on ${res.idOnly.items} items without a profile)` : ''} (all but each user's last of ${full.interactions.length.toLocaleString('en-US')}) posted in time order (${Math.round(res.eventsPerSecond).toLocaleString('en-US')} events/s accepted)`,
      value: res,
    };
  });
  await r.run('processing', async () => {
    await waitForZeroLag(cfg, [...behaviourGroups, ['items', topics.items]]);
    return { result: 'every consumer group committed everything (lag 0)', value: undefined };
  });

  const s = await openStores(cfg);
  try {
    await r.run('check', async () => ({
      result: await checkStores(behaviourEvents(ds), ds.users.keys(), s, cfg.sequenceLength),
      value: undefined,
    }));
    const top = await new RedisPopularityStore(s.redis).top(ALL_TIME_POPULARITY_KEY, 5);
    const titles = await Promise.all(
      top.map(
        async (t) => `${(await s.profiles.getItem(t.item_id))?.features.title ?? t.item_id} (${t.count})`,
      ),
    );
    say(`demo: most popular items: ${titles.join('; ')}`);

    const job = await r.run('daily job', async () => {
      const res = await dailyJob(cfg, s, ds, (m) => say(`  batch: ${m}`));
      return {
        result: `published ${res.version} (${res.vectors.rows.toLocaleString('en-US')} item vectors in ${res.collection}); the job's own held-out HR@50 (each user's last event of its window): two-tower ${hr(res.metrics.candidate)}, popularity ${hr(res.metrics.popularity)}${res.metrics.live ? `, previous version ${hr(res.metrics.live)}` : ''}`,
        value: res,
      };
    });

    const recallUrl = `http://${cfg.bindHost}:${cfg.recallPort}`;
    const versionDir = new ModelRegistry(cfg, s.redis).versionDir(job.version);
    const quality: QualityReport = await r.run('recall quality', async () => {
      const q = await measureQuality(recallUrl, full, split, versionDir, (n) =>
        n % 100 === 0 ? say(`  ${n}/${split.test.length} users`) : undefined,
      );
      say(
        `\n  each user's held-out last interaction, ${q.users} users (DESIGN.md §6): GET /v1/recall?user_id=U&k=100&at=T as a client asks, next to the same version ranked exactly offline\n${metricsTable(
          [
            ['served (/v1/recall)', q.served],
            ['offline (same version)', q.offline],
            ['popularity', q.popularity],
          ],
        )
          .split('\n')
          .map((l) => `  ${l}`)
          .join('\n')}\n`,
      );
      const g = q.byHistory;
      say(
        `  HR@50 of the ${g.heavy.users} users with more than ${HEAVY_HISTORY} training items: served ${g.heavy.served.toFixed(3)}, offline ${g.heavy.offline.toFixed(3)}; of the other ${g.others.users}: served ${g.others.served.toFixed(3)}, offline ${g.others.offline.toFixed(3)}\n`,
      );
      const mix = Object.entries(q.sources)
        .map(([k, v]) => `${v} ${k}`)
        .join(', ');
      return {
        result: `HR@50 served ${hr(q.served)}, offline ${hr(q.offline)} (same version, same split), popularity ${hr(q.popularity)}; ${(q.agreement.identicalTop50 * 100).toFixed(1)} % of users get exactly the offline top 50, ${(q.agreement.meanOverlap50 * 100).toFixed(1)} % overlap on average (${mix}; ${q.versions.join(', ')}; request p50 ${q.latencyMs.p50.toFixed(0)} ms, p99 ${q.latencyMs.p99.toFixed(0)} ms)`,
        value: q,
      };
    });

    const online: OnlineReport = await r.run('online hit rate', async () => {
      const heldRows = new Set(split.test.map((t) => t.row));
      const heldOut = full.interactions.filter((x) => heldRows.has(x.row));
      const res = await postHeldOut(cfg, client, full, heldOut, job.version, () =>
        waitForZeroLag(cfg, behaviourGroups),
      );
      return {
        result: `posted the ${res.posted} held-out interactions; the sequence processor attributed ${res.events} to the answer each user got before: online hit rate ${res.hitRate.toFixed(3)} (HR@100, the answers had 100 items), HR@50 ${res.hr50.toFixed(3)} (towerflow_online_hits_total / towerflow_online_events_total)`,
        value: res,
      };
    });

    const freshness: FreshnessReport = await r.run('freshness', async () => {
      const user = split.test[0]?.user ?? [...ds.users.keys()][0] ?? '1';
      const f = await probeFreshness(recallUrl, client, s, user, [...ds.items.keys()][0] ?? '1', say);
      return {
        result: `user ${user} clicked their top item: in HBase and Redis ${f.storedMs.toFixed(0)} ms after the 202, recall answer changed after ${f.changedMs.toFixed(0)} ms`,
        value: f,
      };
    });

    await r.run('prometheus', async () => ({ result: await checkScraping(cfg), value: undefined }));

    const dashboards = await r.run('dashboards', async () => {
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
      const empty = v.empty.map((e) => `${e.dashboard} / ${e.panel}`);
      return {
        result: `${v.dashboards} dashboards, ${v.panels} panels, ${v.queries} queries: ${v.queries - v.empty.length - v.emptyWhenHealthy.length - v.errors.length} with data${empty.length ? `; no data yet (this run produced no such event): ${[...new Set(empty)].join('; ')}` : ''}${v.missingMetrics.length ? `; unknown metrics: ${v.missingMetrics.join(', ')}` : ''}; pictures in ${path.relative(cfg.root, outDir)}/ (${files.length} PNG)`,
        value: { ...v, pictures: files.map((f) => path.relative(cfg.root, f)) },
      };
    });

    const mem = (await status(ctx)).reduce((sum, x) => sum + (x.rssBytes ?? 0), 0);
    const seconds = (Date.now() - t0) / 1000;
    return {
      text: `\n${r.table()}\n${tryLines(cfg, seconds, mem)}`,
      json: {
        dataset: o.dataset,
        seconds: Number(seconds.toFixed(1)),
        users: quality.users,
        events_in_dataset: full.interactions.length,
        events_posted: replayed.events + online.posted,
        served: quality.served,
        offline: quality.offline,
        popularity: quality.popularity,
        agreement: quality.agreement,
        by_history: quality.byHistory,
        sources: quality.sources,
        model_version: job.version,
        daily_job: { candidate: job.metrics.candidate, popularity: job.metrics.popularity },
        online: { events: online.events, hits: online.hits, hit_rate: online.hitRate, 'HR@50': online.hr50 },
        freshness: {
          stored_ms: Math.round(freshness.storedMs),
          recall_changed_ms: Math.round(freshness.changedMs),
        },
        skipped: full.skipped,
        id_only: full.idOnly
          ? {
              items: full.idOnly.items.length,
              interactions: full.idOnly.interactions,
              posted: replayed.idOnly.events,
            }
          : { items: 0, interactions: 0, posted: 0 },
        dashboards: {
          panels: dashboards.panels,
          queries: dashboards.queries,
          empty: dashboards.empty.length,
          errors: dashboards.errors.length,
          pictures: dashboards.pictures,
        },
        steps: r.steps,
        services_rss_bytes: mem,
      },
    };
  } finally {
    s.hbase.close();
    await s.redis.quit();
  }
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

function tryLines(cfg: Config, seconds: number, rssBytes: number): string {
  const base = `http://${cfg.bindHost}`;
  return (
    `\nDone in ${seconds.toFixed(0)} s (services use ${(rssBytes / 2 ** 20).toFixed(0)} MiB resident).\n` +
    'Try:\n' +
    `  curl -H "Authorization: Bearer $(cat ${path.relative(cfg.root, path.join(cfg.homeDir, 'ingest-api-key'))})" -H 'content-type: application/json' \\\n` +
    `    -d '{"event_id":"try-1","user_id":"1","item_id":"1","type":"click","ts":${Date.now()}}' ${base}:${cfg.ingestPort}/v1/events\n` +
    `  ${base}:${cfg.recallPort}/v1/recall?user_id=1&k=10   ${base}:${cfg.recallPort}/v1/recall?user_id=1&k=10&category=Comedy\n` +
    `  ${base}:${cfg.ingestPort}/openapi.json   ${base}:${cfg.ingestPort}/metrics   ${base}:${cfg.streamMetricsPortBase}/metrics\n` +
    `  Prometheus: ${cfg.prometheusUrl}/graph?g0.expr=rate(towerflow_stream_written_total%5B1m%5D)\n` +
    'Status: node bin/towerflow.js apps status; node bin/towerflow.js infra status\n' +
    'Stop:   node bin/towerflow.js apps down && node bin/towerflow.js infra down\n'
  );
}
