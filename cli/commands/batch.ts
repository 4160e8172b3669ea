import { Command, InvalidArgumentError } from 'commander';
import type { BatchMetrics } from '../../batch/metrics.js';
import { isDay } from '../../batch/window.js';
import { loadConfig } from '../../config/index.js';
import { ExitCode, UserFacingError } from '../../runtime/errors.js';
import { positiveInt } from '../options.js';
import { requireServices } from '../preflight.js';

interface RunOpts {
  date?: string;
  force?: boolean;
  publish?: boolean;
  windowDays?: number;
  epochs?: number;
  json?: boolean;
}

async function deps() {
  const cfg = loadConfig();
  await requireServices(cfg, ['redis', 'hbase', 'milvus']);
  const { HBaseClient } = await import('../../clients/hbase/thrift2.js');
  const { createRedis } = await import('../../clients/redis.js');
  const { openItemVectors } = await import('../../stores/vectors/open.js');
  const redis = createRedis(cfg);
  await redis.connect();
  const hbase = HBaseClient.fromConfig(cfg);
  const vectorStore = openItemVectors(cfg);
  return {
    cfg,
    hbase,
    redis,
    vectorStore,
    async close() {
      hbase.close();
      await redis.quit().catch(() => redis.disconnect());
      await vectorStore.close();
    },
  };
}

async function runOnce(o: RunOpts, say: (m: string) => void, metrics?: BatchMetrics) {
  const { runBatch } = await import('../../batch/job.js');
  const d = await deps();
  try {
    return await runBatch(d, {
      ...o,
      say,
      onStep: (s) => {
        metrics?.onStep(s);
        if (s.step % 50 === 0)
          say(
            `  train step ${s.step} (epoch ${s.epoch + 1}) loss ${s.loss.toFixed(3)}, ${Math.round(s.samplesPerSecond).toLocaleString('en-US')} samples/s`,
          );
      },
    });
  } finally {
    await d.close();
  }
}

export function batchCommand(): Command {
  const batch = new Command('batch').description(
    'the daily full update: retrain from HBase, gate, publish item vectors to Milvus',
  );
  const withRunOptions = (c: Command) =>
    c
      .option(
        '--date <YYYY-MM-DD>',
        'last day of the training window (default: yesterday, UTC)',
        (v: string) => {
          if (!isDay(v)) throw new InvalidArgumentError('--date must be a day as YYYY-MM-DD');
          return v;
        },
      )
      .option(
        '--window-days <n>',
        'days of history to train on (default: BATCH_WINDOW_DAYS)',
        positiveInt('--window-days'),
      )
      .option('--epochs <n>', 'training epochs (default: BATCH_EPOCHS)', positiveInt('--epochs'))
      .option('--force', 'publish even if the gate refuses');
  withRunOptions(batch.command('run').description('run the job once now'))
    .option(
      '--no-publish',
      'build a candidate only (trained, gated for information, its collection written, not live): for `towerflow experiment start --candidate`',
    )
    .option('--json', 'print the report as one JSON object on stdout')
    .action(async (o: RunOpts) => {
      const say = (m: string) => process.stderr.write(`batch: ${m}\n`);
      const { withBatchMetrics } = await import('../../batch/metrics.js');
      // served while the run lasts, and one scrape interval after it, so even a one-off run is on the dashboards
      const r = await withBatchMetrics(loadConfig(), (metrics) => runOnce(o, say, metrics), {
        lingerMs: 6000,
      });
      if (o.json) process.stdout.write(`${JSON.stringify(r)}\n`);
      else
        process.stdout.write(
          `${r.published ? 'published' : `built (not published: ${r.held})`} ${r.version} (collection ${r.collection}, ${r.vectors.rows.toLocaleString('en-US')} items)\n` +
            `gate: ${r.gate.reason}\n` +
            `steps (s): ${Object.entries(r.steps)
              .map(([k, v]) => `${k} ${v}`)
              .join(', ')}\n`,
        );
    });
  withRunOptions(
    batch.command('schedule').description('run the job on BATCH_SCHEDULE (cron, UTC) until SIGTERM'),
  ).action(async (o: RunOpts) => {
    const cfg = loadConfig();
    const { createLogger } = await import('../../runtime/logger.js');
    const { runScheduler } = await import('../../batch/schedule.js');
    const log = createLogger(cfg, 'batch');
    await runScheduler(cfg, log, (metrics) => runOnce(o, (m) => log.info(m), metrics));
  });
  batch
    .command('rollback')
    .description(
      'make the previous published version live again: loads its collection, moves the live pointer and the alias, then releases the version rolled back from after BATCH_RELEASE_GRACE_SECONDS',
    )
    .action(async () => {
      const { ModelRegistry } = await import('../../versions/registry.js');
      const { rollBack } = await import('../../batch/rollback.js');
      const d = await deps();
      try {
        const registry = new ModelRegistry(d.cfg, d.redis);
        const r = await rollBack(d.cfg, registry, d.vectorStore, d.redis, (m) =>
          process.stderr.write(`batch rollback: ${m}\n`),
        );
        if (!r)
          throw new UserFacingError({
            cause: 'no previous version to roll back to',
            fix: 'the live version stays; `towerflow batch status` lists the versions',
            exitCode: ExitCode.REFUSED,
          });
        const back = r.live;
        process.stdout.write(`live: ${back.version} (collection ${back.collection})\n`);
      } finally {
        await d.close();
      }
    });
  batch
    .command('status')
    .description('the live version and the ones rollback can return to')
    .option('--json')
    .action(async (o: { json?: boolean }) => {
      const { ModelRegistry } = await import('../../versions/registry.js');
      const d = await deps();
      try {
        const registry = new ModelRegistry(d.cfg, d.redis);
        const st = {
          live: await registry.live(),
          previous: (await registry.state()).previous,
          dir: registry.dir,
        };
        process.stdout.write(o.json ? `${JSON.stringify(st)}\n` : `${JSON.stringify(st, null, 2)}\n`);
      } finally {
        await d.close();
      }
    });
  return batch;
}
