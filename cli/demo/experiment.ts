import { startExperiment } from '../../batch/experiments.js';
import type { HBaseClient } from '../../clients/hbase/thrift2.js';
import type { Redis } from '../../clients/redis.js';
import type { Config } from '../../config/index.js';
import type { Dataset, Interaction } from '../../model/data/types.js';
import type { IngestClient } from '../../replay/client.js';
import { simulateUsers } from '../../replay/experiment-traffic.js';
import { clientKey } from '../../runtime/api-keys.js';
import { RedisExperimentResultStore } from '../../stores/experiments/redis.js';
import type { ItemVectorStore } from '../../stores/vectors/index.js';
import { PROCESSOR_NAMES } from '../../streams/runtime.js';
import { ExperimentRegistry } from '../../versions/experiments/registry.js';
import { buildReport, type ExperimentReport } from '../../versions/experiments/report.js';
import { registryDir } from '../../versions/registry.js';
import { armLatency } from '../experiment-latency.js';
import { checkFailed } from './check.js';
import { sumSamples } from './metrics-text.js';

/** Interactions per user kept back from every other step for the experiment's simulated users. */
export const EXPERIMENT_NEXT = 3;
/** The candidate's share of users. */
export const EXPERIMENT_SHARE = 0.5;
/** Items per answer: what the quality step asks, within what the experiments processor joins. */
const K = 100;

export interface DemoExperiment {
  name: string;
  control: string;
  candidate: string;
  /** Simulated users and the behaviour events they posted. */
  users: number;
  posted: number;
  report: ExperimentReport;
}

export interface DemoExperimentDeps {
  cfg: Config;
  redis: Redis;
  hbase: HBaseClient;
  vectorStore: ItemVectorStore;
  ingest: IngestClient;
  /** Resolves once the experiments processor has consumed everything of both its topics. */
  waitForLag: () => Promise<void>;
  say: (m: string) => void;
}

/** The experiments processor's count of kept exposures of `name`, from its /metrics. */
async function exposuresCounted(cfg: Config, name: string): Promise<number> {
  const port = cfg.streamMetricsPortBase + PROCESSOR_NAMES.indexOf('experiments');
  const res = await fetch(`http://${cfg.bindHost}:${port}/metrics`);
  if (!res.ok) throw new Error(`the experiments processor's /metrics answered ${res.status}`);
  return sumSamples(await res.text(), 'towerflow_experiment_exposures_total', { experiment: name });
}

/**
 * An A/B experiment of `candidate` against the live version at EXPERIMENT_SHARE, then every user of
 * `future` simulated (replay/experiment-traffic.ts): asks recall, then posts what they did next;
 * the report once the experiments processor has caught up. The experiment stays running.
 */
export async function runDemoExperiment(
  d: DemoExperimentDeps,
  ds: Dataset,
  future: ReadonlyMap<string, readonly Interaction[]>,
  candidate: string,
): Promise<DemoExperiment> {
  const { cfg } = d;
  const name = `demo-${candidate}`;
  const started = await startExperiment(d, { name, candidate, share: EXPERIMENT_SHARE, mode: 'ab' }, (m) =>
    d.say(`  ${m}`),
  );
  const users = [...future].map(([user, next]) => ({ user, next }));
  const traffic = await simulateUsers(ds, users, d.ingest, {
    recall: { url: `http://${cfg.bindHost}:${cfg.recallPort}`, key: clientKey(cfg, 'recall') },
    experiment: name,
    k: Math.min(K, cfg.experimentExposureItems),
    seed: 24,
    round: 200,
    settle: async (answered) => {
      // an event is joined only to exposures the processor has seen (docs/operations.md, ordering)
      const end = Date.now() + 120_000;
      while ((await exposuresCounted(cfg, name)) < answered) {
        if (Date.now() > end)
          throw checkFailed(`the experiments processor has not counted ${answered} exposures after 120 s`);
        await new Promise((r) => setTimeout(r, 250));
      }
    },
    onProgress: (n, total) => d.say(`  ${n}/${total} simulated users asked recall and acted`),
  });
  await d.waitForLag();
  const def = await new ExperimentRegistry(d.redis, registryDir(cfg)).get(name);
  if (!def) throw checkFailed(`experiment ${name} has no definition after its start`);
  const results = await new RedisExperimentResultStore(d.redis).results(name);
  const latency = await armLatency(cfg.prometheusUrl, def, cfg.kafkaClientId);
  return {
    name,
    control: started.definition.control,
    candidate,
    users: traffic.users,
    posted: traffic.events,
    report: buildReport(def, results, latency),
  };
}
