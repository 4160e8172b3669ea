import { Counter, Histogram, type Registry } from 'prom-client';
import { createRedis } from '../../clients/redis.js';
import type { Config } from '../../config/index.js';
import type { BehaviourEvent } from '../../schemas/behaviour.js';
import type { Exposure } from '../../schemas/exposure.js';
import type { Attribution } from '../../stores/experiments/index.js';
import { type RecentExposure, RedisRecentExposureStore } from '../../stores/experiments/recent.js';
import { RedisExperimentResultStore } from '../../stores/experiments/redis.js';
import { ARMS } from '../../versions/experiments/assign.js';
import { EXPERIMENT_NAME, type ExperimentDefinition } from '../../versions/experiments/definition.js';
import { ExperimentRegistry } from '../../versions/experiments/registry.js';
import { registryDir } from '../../versions/registry.js';
import { arrivedLate, joinExposures, joinSpans } from '../experiment-join.js';
import { groupIdOf, type PartitionBatch, PROCESSOR_ROLES, type StreamProcessor } from '../runtime.js';

/** Hit positions the histogram resolves (the report's position buckets: 1, 2–5, …, 51–100, >100). */
const POSITION_BUCKETS = [1, 5, 10, 20, 50, 100];
/** How long "no experiment is running" is believed before Redis is asked again. */
const RUNNING_TTL_MS = 2000;
/** How long an experiment name without a definition stays unknown before it is looked up again. */
const UNKNOWN_TTL_MS = 10_000;

export const SKIP_REASONS = ['no_experiment', 'unknown_experiment'] as const;

/**
 * recall.exposures + behaviour.events → per-arm experiment results (DESIGN.md §9).
 *
 * Exposures of a known experiment are kept per user for the join window (Redis, bounded, TTL)
 * and mark their user as exposed in their arm; both writes are idempotent. Each behaviour event
 * of a user is joined to the user's exposures of the window before it (streams/experiment-join.ts)
 * and counted per arm (events, hits, hit position) exactly once per partition: the counts and
 * the partition's fence move together in one script (stores/experiments/redis.ts).
 *
 * Ordering: the two topics are consumed independently, so an event consumed before its exposure
 * arrives is not attributed to it. The exposure's arrival then finds the user's later event
 * already joined (the mark each join leaves, stores/experiments/recent.ts) and counts itself late
 * (`towerflow_experiment_late_exposures_total`): of the two, exactly one sees the other.
 */
export function experimentsProcessor(cfg: Config): StreamProcessor {
  const redis = createRedis(cfg);
  const windowMs = cfg.experimentWindowSeconds * 1000;
  const recent = new RedisRecentExposureStore(redis, {
    windowMs,
    perUser: cfg.experimentUserExposures,
    items: cfg.experimentExposureItems,
  });
  const results = new RedisExperimentResultStore(redis);
  const book = new ExperimentBook(new ExperimentRegistry(redis, registryDir(cfg)), cfg.milvusAlias);
  const group = groupIdOf(cfg, 'experiments');
  let m: ReturnType<typeof experimentMetrics> | undefined;

  async function writeExposures(values: Exposure[]): Promise<void> {
    const kept: (RecentExposure & { user_id: string })[] = [];
    for (const e of values) {
      if (e.experiment === null || e.arm === null) {
        m?.skipped.inc({ reason: 'no_experiment' });
        continue;
      }
      if (!(await book.known(e.experiment))) {
        m?.skipped.inc({ reason: 'unknown_experiment' });
        continue;
      }
      kept.push({
        ts: e.ts,
        request_id: e.request_id,
        experiment: e.experiment,
        arm: e.arm,
        items: e.items,
        user_id: e.user_id,
      });
    }
    if (kept.length === 0) return;
    const added = await recent.add(kept);
    const exposed = await results.markExposed(kept);
    if (m) {
      for (const [i, e] of kept.entries()) {
        const a = added[i];
        const labels = { experiment: e.experiment, arm: e.arm };
        if (!a?.added) continue; // re-delivered: counted when it first came
        m.exposures.inc(labels);
        if (arrivedLate(e.ts, a.lastEventTs, windowMs)) m.late.inc(labels);
      }
      for (const x of exposed) m.exposedUsers.inc({ experiment: x.experiment, arm: x.arm }, x.added);
    }
  }

  async function writeEvents(batch: PartitionBatch): Promise<void> {
    // nothing to attribute while no A/B experiment runs: the batch commits without a store call
    if (!(await book.anyRunning())) return;
    const events = batch.records.map((r) => {
      const e = r.value as BehaviourEvent;
      return { offset: r.offset, user_id: e.user_id, item_id: e.item_id, ts: e.ts };
    });
    // each user's mark and read in one script: an exposure that misses the read sees the mark
    const exposures = await recent.joinRead(joinSpans(events, windowMs));
    const rows = joinExposures(events, exposures, windowMs);
    if (rows.length === 0) return;
    const fresh = await results.attribute(
      { group, topic: batch.topic, partition: batch.partition },
      rows,
      batch.lastOffset,
    );
    if (m) count(m, fresh);
  }

  return {
    name: 'experiments',
    roles: PROCESSOR_ROLES.experiments,
    reject: (role, value) => (role === 'exposures' ? rejectExposure(value as Exposure) : undefined),
    async setup() {
      await redis.connect();
      await book.anyRunning(); // zeroes the running experiment's series
    },
    registerMetrics(registry: Registry) {
      m = experimentMetrics(registry);
      book.onRunning = (name) => m && zeroArms(m, name);
    },
    async write(batch: PartitionBatch) {
      if (batch.role === 'exposures') await writeExposures(batch.records.map((r) => r.value as Exposure));
      else await writeEvents(batch);
      // every record is through (kept, joined or of no experiment), as the other processors count
      return batch.records.length;
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/**
 * Why an exposure its contract accepts cannot be used: an experiment without an arm (or the
 * reverse) is a serving bug, and a name no experiment could have (definition.ts) would become a
 * Redis key part and a metric label.
 */
export function rejectExposure(e: Exposure): string | undefined {
  if ((e.experiment === null) !== (e.arm === null))
    return `experiment and arm must both be set or both null, got experiment ${JSON.stringify(e.experiment)} and arm ${JSON.stringify(e.arm)}`;
  if (e.experiment !== null && !EXPERIMENT_NAME.test(e.experiment))
    return `experiment must match ${EXPERIMENT_NAME.source}, got ${JSON.stringify(e.experiment)}`;
  return undefined;
}

function count(m: ReturnType<typeof experimentMetrics>, fresh: readonly Attribution[]): void {
  for (const a of fresh) {
    const labels = { experiment: a.experiment, arm: a.arm };
    m.events.inc(labels);
    if (a.position > 0) {
      m.hits.inc(labels);
      m.position.observe(labels, a.position);
    }
  }
}

/**
 * Which experiments exist and whether one is running, from the experiment registry, cached: a
 * definition once found stays known (definitions are never deleted), an unknown name is asked
 * again after UNKNOWN_TTL_MS, the running experiment after RUNNING_TTL_MS. Only known names
 * become Redis key parts and metric labels, so the labels are bounded by the experiments started.
 */
class ExperimentBook {
  private readonly defs = new Map<string, { def: ExperimentDefinition | undefined; at: number }>();
  private running: { name: string | undefined; at: number } = { name: undefined, at: -Infinity };
  onRunning: (name: string) => void = () => {};

  constructor(
    private readonly registry: ExperimentRegistry,
    private readonly alias: string,
  ) {}

  async known(name: string): Promise<boolean> {
    const c = this.defs.get(name);
    if (c && (c.def || Date.now() - c.at < UNKNOWN_TTL_MS)) return c.def !== undefined;
    const def = await this.registry.get(name);
    this.defs.set(name, { def, at: Date.now() });
    return def !== undefined;
  }

  /**
   * The running A/B experiment's name, or undefined (a shadow experiment returns only the live
   * answer, so its exposures carry no arm and there is nothing to join).
   */
  async anyRunning(): Promise<string | undefined> {
    if (Date.now() - this.running.at < RUNNING_TTL_MS) return this.running.name;
    const running = await this.registry.running(this.alias);
    const def = running?.mode === 'ab' ? running : undefined;
    if (def && def.name !== this.running.name) this.onRunning(def.name);
    this.running = { name: def?.name, at: Date.now() };
    if (def) this.defs.set(def.name, { def, at: Date.now() });
    return def?.name;
  }
}

/** Series of a running experiment's arms exist from the start (at 0): dashboards show none, not no data. */
function zeroArms(m: ReturnType<typeof experimentMetrics>, experiment: string): void {
  for (const arm of ARMS) {
    const labels = { experiment, arm };
    for (const c of [m.exposures, m.exposedUsers, m.events, m.hits, m.late]) c.inc(labels, 0);
  }
}

export function experimentMetrics(registry: Registry) {
  const labelNames = ['experiment', 'arm'] as const;
  const counter = (name: string, help: string) =>
    new Counter({ name, help, labelNames, registers: [registry] });
  const skipped = new Counter({
    name: 'towerflow_experiment_exposures_skipped_total',
    help: 'Exposures not kept: outside any experiment (no_experiment) or naming an experiment without a definition (unknown_experiment)',
    labelNames: ['reason'],
    registers: [registry],
  });
  for (const reason of SKIP_REASONS) skipped.inc({ reason }, 0);
  return {
    skipped,
    exposures: counter(
      'towerflow_experiment_exposures_total',
      'Exposures of an experiment kept for the join, by arm (a re-delivered one is not counted again)',
    ),
    exposedUsers: counter(
      'towerflow_experiment_exposed_users_total',
      'Users exposed by an arm, each counted once per UTC day (the report counts distinct users over the whole experiment)',
    ),
    events: counter(
      'towerflow_experiment_events_total',
      'Behaviour events attributed to an arm: the user had an exposure of it in the window before the event (counted once per event, exactly once per partition)',
    ),
    hits: counter(
      'towerflow_experiment_hits_total',
      'Of those, events whose item was among the arm’s exposed items (online hit rate = hits / events)',
    ),
    position: new Histogram({
      name: 'towerflow_experiment_hit_position',
      help: 'Position of the item in the exposure the user saw last, per hit (share within K = bucket le=K / hits)',
      labelNames,
      buckets: POSITION_BUCKETS,
      registers: [registry],
    }),
    late: counter(
      'towerflow_experiment_late_exposures_total',
      'Exposures that arrived after an event of their user in the window had been joined without them (that event was not attributed to them): the cost of consuming the two topics independently',
    ),
  };
}
