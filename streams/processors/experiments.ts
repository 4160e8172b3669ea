import { Counter, Histogram, type Registry } from 'prom-client';
import { createRedis } from '../../clients/redis.js';
import type { Config } from '../../config/index.js';
import type { BehaviourEvent } from '../../schemas/behaviour.js';
import type { Exposure } from '../../schemas/exposure.js';
import { countDeltas } from '../../stores/experiments/index.js';
import { RedisJoinStateStore } from '../../stores/experiments/join-state.js';
import { RedisExperimentResultStore } from '../../stores/experiments/redis.js';
import { ARMS } from '../../versions/experiments/assign.js';
import { EXPERIMENT_NAME, type ExperimentDefinition } from '../../versions/experiments/definition.js';
import { ExperimentRegistry } from '../../versions/experiments/registry.js';
import { registryDir } from '../../versions/registry.js';
import { joinAndCommit } from '../experiment-commit.js';
import type { Endings, JoinOutcome, JoinRecord, JoinSettings } from '../experiment-join.js';
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
 * A symmetric window join by user (streams/experiment-join.ts): each user's recent exposures of
 * known experiments and, while an A/B experiment runs, their recent behaviour events are kept in
 * Redis (bounded, TTL; stores/experiments/join-state.ts). An event joins the exposures of the
 * window before it; an exposure that arrives after events of its window joins them then. Either
 * way each event counts once per arm (events, hits, hit position), whichever topic came first.
 * An event at or after an experiment's end joins none of its exposures (so an ended experiment's
 * report is final while another experiment runs): each join asks the registry afresh whether the
 * experiments its exposures name have ended (an end, once set, is cached for good).
 *
 * Exactly once per partition of either topic: a batch is joined against the users' states as
 * read, and the new states, the counts and the partition's fence are written in one script only
 * if no state moved meanwhile (else the moved users are read again and the batch joined again).
 * A batch delivered again is left out up to the fence before it is joined.
 */
export function experimentsProcessor(cfg: Config): StreamProcessor {
  const redis = createRedis(cfg);
  const settings: JoinSettings = {
    windowMs: cfg.experimentWindowSeconds * 1000,
    exposuresPerUser: cfg.experimentUserExposures,
    eventsPerUser: cfg.experimentUserEvents,
    items: cfg.experimentExposureItems,
  };
  const joinStates = new RedisJoinStateStore(redis, settings.windowMs);
  const results = new RedisExperimentResultStore(redis);
  const book = new ExperimentBook(new ExperimentRegistry(redis, registryDir(cfg)), cfg.milvusAlias);
  const group = groupIdOf(cfg, 'experiments');
  let m: ReturnType<typeof experimentMetrics> | undefined;

  /** The exposures the join keeps: those of an experiment with a definition; the rest counted as skipped. */
  async function exposuresOf(records: PartitionBatch['records']): Promise<JoinRecord[]> {
    const out: JoinRecord[] = [];
    for (const { offset, value } of records) {
      const e = value as Exposure;
      if (e.experiment === null || e.arm === null) {
        m?.skipped.inc({ reason: 'no_experiment' });
        continue;
      }
      if (!(await book.known(e.experiment))) {
        m?.skipped.inc({ reason: 'unknown_experiment' });
        continue;
      }
      const { ts, request_id, experiment, arm, items } = e;
      out.push({
        kind: 'exposure',
        offset,
        user_id: e.user_id,
        exposure: { ts, request_id, experiment, arm, items },
      });
    }
    return out;
  }

  const eventsOf = (records: PartitionBatch['records']): JoinRecord[] =>
    records.map(({ offset, value }) => {
      const e = value as BehaviourEvent;
      return {
        kind: 'event',
        offset,
        user_id: e.user_id,
        event: { ts: e.ts, event_id: e.event_id, item_id: e.item_id },
      };
    });

  async function join(batch: PartitionBatch): Promise<void> {
    // no A/B experiment running: nothing to attribute, and no event to keep for a late exposure
    if (batch.role === 'behaviour' && !(await book.anyRunning())) return;
    const out = await joinAndCommit(
      {
        states: joinStates,
        results,
        settings,
        endings: (names) => book.endings(names),
        onRejoin: (reason) => m?.rejoined.inc({ reason }),
        onExposed: (exposed) => {
          for (const x of exposed) m?.exposedUsers.inc({ experiment: x.experiment, arm: x.arm }, x.added);
        },
      },
      { group, topic: batch.topic, partition: batch.partition },
      batch.lastOffset,
      async (fence) => {
        // a batch delivered again is left out up to the fence, before it is joined
        const fresh = batch.records.filter((r) => r.offset > fence);
        return batch.role === 'exposures' ? await exposuresOf(fresh) : eventsOf(fresh);
      },
    );
    if (out && m) count(m, out);
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
      await join(batch);
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

function count(m: ReturnType<typeof experimentMetrics>, out: JoinOutcome): void {
  for (const x of out.kept) {
    const labels = { experiment: x.exposure.experiment, arm: x.exposure.arm };
    m.exposures.inc(labels);
    if (x.late) m.late.inc(labels);
  }
  for (const r of out.rows) {
    const labels = { experiment: r.experiment, arm: r.arm };
    const d = countDeltas(r);
    if (d.events) m.events.inc(labels);
    if (d.hits) m.hits.inc(labels);
    // a hit observed once at its position; moved, its earlier position is observed as retracted
    if (r.position > 0 && r.position !== r.before) m.position.observe(labels, r.position);
    if ((r.before ?? 0) > 0 && r.position !== r.before) m.retracted.observe(labels, r.before as number);
  }
}

/**
 * Which experiments exist, whether one is running and when one ended, from the experiment
 * registry, cached (an end: see endings): a
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
   * When those of these experiments that ended ended. An ended definition is final, so it is kept;
   * any other is read again on every call: a join must not take an experiment for running after
   * its end was written (one GET per running experiment of a batch, no more).
   */
  async endings(names: ReadonlySet<string>): Promise<Endings> {
    const out = new Map<string, number>();
    await Promise.all(
      [...names].map(async (name) => {
        let def = this.defs.get(name)?.def;
        if (!def?.endedAt) {
          def = await this.registry.get(name);
          if (def) this.defs.set(name, { def, at: Date.now() });
        }
        if (def?.endedAt) out.set(name, Date.parse(def.endedAt));
      }),
    );
    return out;
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
    // the net position histogram (observed − retracted) needs both from the start
    m.position.zero(labels);
    m.retracted.zero(labels);
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
  const rejoined = new Counter({
    name: 'towerflow_experiment_rejoined_batches_total',
    help: 'Batches joined again because, between their read and their commit, a user’s join state was written by the other topic’s batch (state) or the partition’s fence moved (fence: another consumer)',
    labelNames: ['reason'],
    registers: [registry],
  });
  for (const reason of ['state', 'fence']) rejoined.inc({ reason }, 0);
  return {
    skipped,
    rejoined,
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
      help: 'Position of the item in the arm’s exposure the user saw last, per hit; a hit moved by a later-arriving newer exposure is observed again at its new position (net positions = this − towerflow_experiment_hit_position_retracted)',
      labelNames,
      buckets: POSITION_BUCKETS,
      registers: [registry],
    }),
    retracted: new Histogram({
      name: 'towerflow_experiment_hit_position_retracted',
      help: 'Earlier positions of hits that moved: an exposure the user saw later, holding the item elsewhere, arrived after the event was counted',
      labelNames,
      buckets: POSITION_BUCKETS,
      registers: [registry],
    }),
    late: counter(
      'towerflow_experiment_late_exposures_total',
      'Exposures that arrived after events of their user in their window and joined those events on arrival (the symmetric join: nothing is left unattributed by the order the two topics are consumed in)',
    ),
  };
}
