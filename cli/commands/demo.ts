import path from 'node:path';
import { Command } from 'commander';
import { makeContext, status, up } from '../../infra/local/stack.js';

type Step = { step: string; result: string; seconds: number };

async function timed(steps: Step[], step: string, fn: () => Promise<string>): Promise<void> {
  process.stderr.write(`demo: ${step}…\n`);
  const t0 = performance.now();
  const result = await fn();
  steps.push({ step, result, seconds: Number(((performance.now() - t0) / 1000).toFixed(1)) });
  process.stderr.write(`demo: ${step}: ${result}\n`);
}

/**
 * The main job: services and processes up; MovieLens replayed through the ingest API into Kafka,
 * HBase and Redis (all but each user's last interaction) and checked; the daily job trained on
 * that history and published to Milvus; every user's last interaction predicted through
 * GET /v1/recall (HR@K/NDCG@K next to popularity); a freshness probe through the recall API.
 */
export function demoCommand(): Command {
  return new Command('demo')
    .description(
      'run the system end to end on local real services: ingest, stream processing, the daily job, recall quality through the API, freshness',
    )
    .option('--dataset <dir>', 'dataset to replay', 'datasets/ml-latest-small')
    .option(
      '--keep-data',
      'keep what earlier runs left in the stores (by default the demo starts from empty local stores)',
    )
    .action(async (o: { dataset: string; keepData?: boolean }) => {
      // native clients load only when this command runs, so `infra down` never depends on them
      const { appsDown, appsUp } = await import('../../infra/local/apps.js');
      const { resetProjectState, storesAreLocal } = await import('../../infra/local/reset.js');
      const { HBaseClient } = await import('../../clients/hbase/thrift2.js');
      const { createKafka } = await import('../../clients/kafka/kafkajs.js');
      const { groupLag } = await import('../../clients/kafka/admin.js');
      const { topicNames } = await import('../../clients/kafka/topics.js');
      const { ItemVectors } = await import('../../clients/milvus/client.js');
      const { createRedis } = await import('../../clients/redis.js');
      const { loadDataset } = await import('../../model/data/load.js');
      const { IngestClient } = await import('../../replay/client.js');
      const { replay } = await import('../../replay/run.js');
      const { behaviourEvents } = await import('../../replay/events.js');
      const { resolveApiKeys } = await import('../../ingest/api-keys.js');
      const { HBaseHistoryStore } = await import('../../stores/history/hbase.js');
      const { HBaseProfileStore } = await import('../../stores/profiles/hbase.js');
      const { RedisPopularityStore } = await import('../../stores/popularity/redis.js');
      const { RedisSequenceStore } = await import('../../stores/sequence/redis.js');
      const { ALL_TIME_POPULARITY_KEY } = await import('../../stores/sequence/keys.js');
      const { groupIdOf } = await import('../../streams/runtime.js');
      const { runBatch } = await import('../../batch/job.js');
      const { leaveLastOut } = await import('../../model/eval/protocol.js');
      const { evaluatePopularity } = await import('../../model/eval/popularity.js');
      const { evaluateThroughApi } = await import('../../serving/evaluate-api.js');

      const ctx = makeContext();
      const cfg = ctx.cfg;
      const t0 = Date.now();
      const steps: Step[] = [];
      await timed(steps, 'services', async () => {
        await up(ctx);
        return 'Kafka, HBase (+ Thrift2), Redis, Milvus, Prometheus healthy on 127.0.0.1';
      });
      if (!o.keepData)
        await timed(steps, 'reset', async () => {
          // held-out interactions must not already be in the history, or the evaluation is void
          if (!storesAreLocal(cfg))
            throw new Error(
              'the demo empties its stores first and does that only on this machine; use --keep-data against external clusters',
            );
          await appsDown(cfg);
          await resetProjectState(cfg, { redisAndRegistry: true });
          return "stopped the project's processes and emptied its topics, consumer groups, tables, collections, Redis database and model registry";
        });
      await timed(steps, 'processes', async () => {
        await appsUp(cfg, [], { say: (m) => process.stderr.write(`  ${m}\n`) });
        return 'ingest API, the history, sequence, items and embeddings processors and the recall API healthy';
      });

      const apiKey = resolveApiKeys(cfg)[0] as string;
      const client = new IngestClient({ baseUrl: `http://${cfg.bindHost}:${cfg.ingestPort}`, apiKey });
      const full = await loadDataset(path.resolve(cfg.root, o.dataset));
      // DESIGN.md §6: each user's last interaction is held out; the system sees everything else
      const split = leaveLastOut(full);
      const ds = { ...full, interactions: split.train };
      await timed(steps, 'replay', async () => {
        const r = await replay(ds, client, { batch: 1000, concurrency: 4 });
        return `${r.items} items, ${r.users} user profiles and ${r.events.toLocaleString('en-US')} events (all but each user's last of ${full.interactions.length.toLocaleString('en-US')}) posted in time order (${Math.round(r.eventsPerSecond).toLocaleString('en-US')} events/s accepted)`;
      });

      const admin = createKafka(cfg).admin();
      await admin.connect();
      const topics = topicNames(cfg);
      const totalLag = async () => {
        let sum = 0;
        for (const [p, topic] of [
          ['history', topics.behaviour],
          ['sequence', topics.behaviour],
          ['items', topics.items],
        ] as const)
          for (const l of (await groupLag(admin, groupIdOf(cfg, p), topic)).values()) sum += l;
        return sum;
      };
      await timed(steps, 'processing', async () => {
        const deadline = Date.now() + 300_000;
        for (let lag = await totalLag(); lag > 0; lag = await totalLag()) {
          if (Date.now() > deadline) throw new Error(`processors still ${lag} records behind after 300 s`);
          await new Promise((r) => setTimeout(r, 250));
        }
        return 'every consumer group committed everything (lag 0)';
      });
      await admin.disconnect();

      const hbase = HBaseClient.fromConfig(cfg);
      const redis = createRedis(cfg);
      await redis.connect();
      const history = new HBaseHistoryStore(hbase, cfg.historySaltBuckets);
      const profiles = new HBaseProfileStore(hbase);
      const sequence = new RedisSequenceStore(redis, {
        length: cfg.sequenceLength,
        ttlSeconds: cfg.sequenceTtlSeconds,
      });
      const popularity = new RedisPopularityStore(redis);
      try {
        await timed(steps, 'check', async () => {
          const events = behaviourEvents(ds);
          let missing = 0;
          for (let i = 0; i < events.length; i += 500)
            missing += (await history.exists(events.slice(i, i + 500))).filter((x) => !x).length;
          if (missing > 0) throw new Error(`${missing} of ${events.length} replayed events are not in HBase`);
          let mismatched = 0;
          for (const u of ds.users.keys()) {
            const h = (await history.latest(u, cfg.sequenceLength)).map((e) => e.event_id).join();
            const r = (await sequence.recent(u)).map((e) => e.event_id).join();
            if (h !== r) mismatched++;
          }
          if (mismatched > 0) throw new Error(`${mismatched} users' Redis sequences differ from HBase`);
          return `HBase holds all ${events.length.toLocaleString('en-US')} events; for all ${ds.users.size} users the Redis sequence (last ${cfg.sequenceLength}) equals HBase's latest`;
        });
        const top = await popularity.top(ALL_TIME_POPULARITY_KEY, 5);
        const titles = await Promise.all(
          top.map(
            async (t) => `${(await profiles.getItem(t.item_id))?.features.title ?? t.item_id} (${t.count})`,
          ),
        );
        process.stderr.write(`demo: most popular items: ${titles.join('; ')}\n`);

        await timed(steps, 'daily job', async () => {
          const milvus = ItemVectors.fromConfig(cfg);
          try {
            // the window: every day of the dataset, ending with its last event's day
            const times = ds.interactions.map((x) => x.ts * 1000);
            const last = Math.max(...times);
            const days = Math.ceil((last - Math.min(...times)) / 86_400_000) + 1;
            const r = await runBatch(
              { cfg, hbase, redis, milvus },
              {
                date: new Date(last).toISOString().slice(0, 10),
                windowDays: days,
                say: (m) => process.stderr.write(`  batch: ${m}\n`),
              },
            );
            const hr = (m?: Record<string, number>) => (m?.['HR@50'] ?? Number.NaN).toFixed(3);
            return `published ${r.version} (${r.vectors.rows.toLocaleString('en-US')} item vectors in ${r.collection}); HR@50 on each user's held-out last event: two-tower ${hr(r.metrics.candidate)}, popularity ${hr(r.metrics.popularity)}${r.metrics.live ? `, previous version ${hr(r.metrics.live)}` : ''}`;
          } finally {
            await milvus.close();
          }
        });

        const recallBase = `http://${cfg.bindHost}:${cfg.recallPort}`;
        await timed(steps, 'recall quality', async () => {
          const api = await evaluateThroughApi(recallBase, split, {
            maxK: cfg.recallMaxK,
            onProgress: (n) =>
              n % 100 === 0 ? process.stderr.write(`  ${n}/${split.test.length} users\n`) : undefined,
          });
          const pop = evaluatePopularity(full, split);
          const row = (name: string, m: Record<string, number>) =>
            `  ${name.padEnd(26)}${['HR@10', 'HR@20', 'HR@50', 'HR@100', 'NDCG@10', 'NDCG@50'].map((k) => (m[k] ?? 0).toFixed(4).padStart(9)).join('')}`;
          process.stderr.write(
            `\n  each user's held-out last interaction, ${api.users} users (DESIGN.md §6; training items excluded)\n` +
              `  ${''.padEnd(26)}${['HR@10', 'HR@20', 'HR@50', 'HR@100', 'NDCG@10', 'NDCG@50'].map((k) => k.padStart(9)).join('')}\n` +
              `${row('two-tower via /v1/recall', api.metrics)}\n${row('popularity', pop.metrics)}\n\n`,
          );
          const mix = Object.entries(api.sources)
            .map(([k, v]) => `${v} ${k}`)
            .join(', ');
          return `HR@50 through GET /v1/recall ${api.metrics['HR@50'].toFixed(3)} vs popularity ${pop.metrics['HR@50'].toFixed(3)}; NDCG@10 ${api.metrics['NDCG@10'].toFixed(3)} vs ${pop.metrics['NDCG@10'].toFixed(3)} (${api.users} users; ${mix}; ${api.versions.join(', ')}; request p50 ${api.latencyMs.p50.toFixed(0)} ms, p99 ${api.latencyMs.p99.toFixed(0)} ms)`;
        });

        await timed(steps, 'freshness', async () => {
          const user = split.test[0]?.user ?? [...ds.users.keys()][0] ?? '1';
          const url = `${recallBase}/v1/recall?user_id=${encodeURIComponent(user)}&k=10`;
          const ask = async () =>
            ((await (await fetch(url)).json()) as { items: { item_id: string }[] }).items;
          const before = await ask();
          const titles = await Promise.all(
            before
              .slice(0, 3)
              .map(async (i) => (await profiles.getItem(i.item_id))?.features.title ?? i.item_id),
          );
          process.stderr.write(`  GET ${url} → ${titles.join('; ')}, …\n`);
          // the user consumes the top recommendation: it leaves the list and the user vector moves
          const e = {
            event_id: `demo-probe-${Date.now()}`,
            user_id: user,
            item_id: before[0]?.item_id ?? [...ds.items.keys()][0] ?? '1',
            type: 'click',
            ts: Date.now(),
          };
          await client.post('/v1/events', [e]);
          const accepted = performance.now();
          let stored: number | undefined;
          let changed: number | undefined;
          while (stored === undefined || changed === undefined) {
            const now = () => performance.now() - accepted;
            if (stored === undefined) {
              const inRedis = (await sequence.recent(user)).some((x) => x.event_id === e.event_id);
              if (inRedis && (await history.exists([e]))[0] === true) stored = now();
            }
            if (changed === undefined) {
              const after = await ask();
              if (after.map((i) => i.item_id).join() !== before.map((i) => i.item_id).join()) changed = now();
            }
            if (now() > 30_000) throw new Error('the probe event changed nothing after 30 s');
            await new Promise((r) => setTimeout(r, 5));
          }
          return `user ${user} clicked their top item: in HBase and Redis ${stored.toFixed(0)} ms after the 202, recall answer changed after ${changed.toFixed(0)} ms`;
        });

        await timed(steps, 'prometheus', async () => {
          const deadline = Date.now() + 30_000;
          for (;;) {
            const res = await fetch(
              `${cfg.prometheusUrl}/api/v1/query?query=sum(towerflow_stream_written_total)`,
            );
            const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
            const v = body.data.result[0]?.value[1];
            if (v !== undefined) return `scraping the processes: sum(towerflow_stream_written_total) = ${v}`;
            if (Date.now() > deadline)
              throw new Error('Prometheus has no towerflow_stream_written_total after 30 s');
            await new Promise((r) => setTimeout(r, 1000));
          }
        });
      } finally {
        hbase.close();
        await redis.quit();
      }

      console.table(steps);
      const mem = (await status(ctx)).reduce((s, r) => s + (r.rssBytes ?? 0), 0);
      const base = `http://${cfg.bindHost}`;
      process.stdout.write(
        `\nDone in ${((Date.now() - t0) / 1000).toFixed(0)} s (services use ${(mem / 2 ** 20).toFixed(0)} MiB resident).\n` +
          'Try:\n' +
          `  curl -H "Authorization: Bearer $(cat ${path.relative(cfg.root, path.join(cfg.homeDir, 'ingest-api-key'))})" -H 'content-type: application/json' \\\n` +
          `    -d '{"event_id":"try-1","user_id":"1","item_id":"1","type":"click","ts":${Date.now()}}' ${base}:${cfg.ingestPort}/v1/events\n` +
          `  ${base}:${cfg.recallPort}/v1/recall?user_id=1&k=10   ${base}:${cfg.recallPort}/v1/recall?user_id=1&k=10&category=Comedy\n` +
          `  ${base}:${cfg.ingestPort}/openapi.json   ${base}:${cfg.ingestPort}/metrics   ${base}:${cfg.streamMetricsPortBase}/metrics\n` +
          `  Prometheus: ${cfg.prometheusUrl}/graph?g0.expr=rate(towerflow_stream_written_total%5B1m%5D)\n` +
          'Status: node bin/towerflow.js apps status; node bin/towerflow.js infra status\n' +
          'Stop:   node bin/towerflow.js apps down && node bin/towerflow.js infra down\n',
      );
    });
}
