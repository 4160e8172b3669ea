import { Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../../config/index.js';
import type { ExperimentDefinition } from '../../versions/experiments/definition.js';
import { pct, reportText } from '../output/experiment-report.js';
import { formatTable } from '../output/table.js';
import { requireServices, type ServiceName } from '../preflight.js';

const write = (text: string) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
const say = (m: string) => process.stderr.write(`experiment: ${m}\n`);

/** Redis (and Milvus when asked), connected; closed by `close`. */
async function deps(services: ServiceName[]) {
  const cfg = loadConfig();
  await requireServices(cfg, services);
  const { createRedis } = await import('../../clients/redis.js');
  const { openItemVectors } = await import('../../stores/vectors/open.js');
  const { ExperimentRegistry } = await import('../../versions/experiments/registry.js');
  const { registryDir } = await import('../../versions/registry.js');
  const redis = createRedis(cfg);
  await redis.connect();
  const vectorStore = openItemVectors(cfg);
  return {
    cfg,
    redis,
    vectorStore,
    experiments: new ExperimentRegistry(redis, registryDir(cfg)),
    async close() {
      await redis.quit().catch(() => redis.disconnect());
      await vectorStore.close();
    },
  };
}

async function withDeps<T>(services: ServiceName[], fn: (d: Awaited<ReturnType<typeof deps>>) => Promise<T>) {
  const d = await deps(services);
  try {
    return await fn(d);
  } finally {
    await d.close();
  }
}

const share = (v: string): number => {
  const n = Number(v);
  if (!(n > 0 && n < 1)) throw new InvalidArgumentError('--share must be a number strictly between 0 and 1');
  return n;
};

function definitionRow(d: ExperimentDefinition) {
  return {
    name: d.name,
    state: d.state,
    mode: d.mode,
    share: d.share,
    control: d.control,
    candidate: d.candidate,
    started: d.startedAt,
    ended: d.endedAt ?? '',
  };
}

/** `towerflow experiment start|status|report|promote|abort`: model versions compared on live traffic. */
export function experimentCommand(): Command {
  const cmd = new Command('experiment').description(
    'compare a candidate model version with the live one on live traffic (A/B or shadow), then promote or abort it',
  );
  cmd
    .command('start')
    .description(
      'start an experiment on the live alias: the candidate’s collection is loaded, then every recall API instance splits users (ab) or shadows requests (shadow); the same start again changes nothing',
    )
    .requiredOption(
      '--name <name>',
      'experiment name: lowercase letters, digits, - and _ (a Redis key part and a metric label)',
    )
    .requiredOption(
      '--candidate <version>',
      'the model version to compare (vYYYYMMDD-HHMMSS), built and not retired',
    )
    .option(
      '--share <fraction>',
      'share of users in the candidate arm (ab), or of requests shadowed (shadow)',
      share,
      0.1,
    )
    .option(
      '--mode <mode>',
      'ab: users split between the arms; shadow: the candidate answers unseen beside the live version',
      'ab',
    )
    .option('--json', 'print the definition as JSON')
    .action(async (o: { name: string; candidate: string; share: number; mode: string; json?: boolean }) => {
      const { startExperiment } = await import('../../batch/experiments.js');
      const { HBaseClient } = await import('../../clients/hbase/thrift2.js');
      const r = await withDeps(['redis', 'milvus', 'hbase'], async (d) => {
        // the item profiles, for the items changed since the candidate was built
        const hbase = HBaseClient.fromConfig(d.cfg);
        try {
          const req = { name: o.name, candidate: o.candidate, share: o.share, mode: o.mode };
          return await startExperiment({ ...d, hbase }, req, say);
        } finally {
          hbase.close();
        }
      });
      const def = r.definition;
      write(
        o.json
          ? JSON.stringify({ ...def, changed: r.changed, ...(r.caughtUp ? { caught_up: r.caughtUp } : {}) })
          : `${r.changed ? 'started' : 'already running'}: ${def.name} (${def.mode}, ${pct(def.share)} to ${def.candidate}; control ${def.control} on ${def.alias})${caughtUpText(r.caughtUp)}`,
      );
    });
  cmd
    .command('status')
    .argument('[name]', 'one experiment (default: every experiment, newest first)')
    .description(
      'experiments and their state; with a name, also the users, events and hit rate of each arm so far',
    )
    .option('--json', 'print as JSON')
    .action(async (name: string | undefined, o: { json?: boolean }) => {
      await withDeps(['redis'], async (d) => {
        if (!name) {
          const all = await d.experiments.list();
          if (o.json) write(JSON.stringify(all));
          else write(all.length === 0 ? 'no experiments yet' : formatTable(all.map(definitionRow)));
          return;
        }
        const { buildReport } = await import('../../versions/experiments/report.js');
        const { RedisExperimentResultStore } = await import('../../stores/experiments/redis.js');
        const def = await requireDefinition(d.experiments, name);
        const r = buildReport(def, await new RedisExperimentResultStore(d.redis).results(name));
        const arms = r.arms.map((a) => ({
          arm: a.name,
          model_version: a.model_version,
          users: a.users,
          events: a.events,
          hits: a.hits,
          hit_rate: a.hit_rate,
        }));
        if (o.json) write(JSON.stringify({ ...def, arms }));
        else
          write(
            `${formatTable([definitionRow(def)])}\n${formatTable(arms.map((a) => ({ ...a, hit_rate: pct(a.hit_rate) })))}`,
          );
      });
    });
  cmd
    .command('report')
    .argument('<name>')
    .description(
      'per arm: users, events, online hit rate and latency p50/p99 over the run (from Prometheus, when it has them); the relative lift with its 95 % CI (delta method on users), the sample-ratio test, and a recommendation with its reason',
    )
    .option('--json', 'print the report as one JSON object')
    .action(async (name: string, o: { json?: boolean }) => {
      const { buildReport } = await import('../../versions/experiments/report.js');
      const { RedisExperimentResultStore } = await import('../../stores/experiments/redis.js');
      const { armLatency } = await import('../experiment-latency.js');
      await withDeps(['redis'], async (d) => {
        const def = await requireDefinition(d.experiments, name);
        const latency = await armLatency(d.cfg.prometheusUrl, def, d.cfg.kafkaClientId);
        const r = buildReport(def, await new RedisExperimentResultStore(d.redis).results(name), latency);
        if (o.json) {
          write(JSON.stringify(r));
          return;
        }
        write(reportText(r));
      });
    });
  cmd
    .command('promote')
    .argument('<name>')
    .description(
      'make the candidate live as a daily publish does (collection loaded, alias and live pointer moved, reload announced), end the experiment, and release the control’s collection after BATCH_RELEASE_GRACE_SECONDS; holds the batch job’s lease; run again or at once, it moves the alias once',
    )
    .option('--json', 'print the outcome as JSON')
    .action(async (name: string, o: { json?: boolean }) => {
      const { promoteExperiment } = await import('../../batch/experiments.js');
      const r = await withDeps(['redis', 'milvus'], (d) => promoteExperiment(d, name, say));
      write(
        o.json
          ? JSON.stringify(r)
          : r.changed || r.switched
            ? `promoted: ${r.live.version} is live (collection ${r.live.collection})`
            : `already promoted: ${r.live.version} is live`,
      );
    });
  cmd
    .command('abort')
    .argument('<name>')
    .description(
      'end the experiment (the recall API stops splitting) and, after BATCH_RELEASE_GRACE_SECONDS, free the candidate’s collection: dropped, or only released when rollback may return to it, kept when live or held by another experiment (its ID rows go with a dropped or released one); holds the batch job’s lease; safe to run again',
    )
    .option('--json', 'print the outcome as JSON')
    .action(async (name: string, o: { json?: boolean }) => {
      const { abortExperiment } = await import('../../batch/experiments.js');
      const r = await withDeps(['redis', 'milvus'], (d) => abortExperiment(d, name, say));
      write(
        o.json
          ? JSON.stringify(r)
          : `${r.changed ? 'aborted' : 'already aborted'}: ${name}; candidate ${r.definition.candidate} ${r.candidate}${r.idRows > 0 ? `, ${r.idRows} of its ID rows dropped` : ''}`,
      );
    });
  return cmd;
}

/** The start's catch-up of the candidate's collection, when it did something. */
function caughtUpText(c: { upserted: number; deleted: number; error?: string } | undefined): string {
  if (c?.error) return `; items changed since the candidate was built not caught up: ${c.error}`;
  if (!c || c.upserted + c.deleted === 0) return '';
  return `; items changed since the candidate was built: ${c.upserted} re-inferred, ${c.deleted} removed`;
}

async function requireDefinition(
  experiments: { get(name: string): Promise<ExperimentDefinition | undefined> },
  name: string,
): Promise<ExperimentDefinition> {
  const def = await experiments.get(name);
  if (def) return def;
  const { ExitCode, UserFacingError } = await import('../../runtime/errors.js');
  throw new UserFacingError({
    cause: `no experiment named ${name}`,
    fix: '`towerflow experiment status` lists them',
    exitCode: ExitCode.USAGE,
  });
}
