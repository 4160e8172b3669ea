import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { HBaseClient } from '../../clients/hbase/thrift2.js';
import { createRedis } from '../../clients/redis.js';
import type { Config } from '../../config/index.js';
import {
  type Behaviour,
  type IdRowUpdater,
  incrementalFromSettings,
  type UpdateStats,
  type UserUpdate,
} from '../../model/incremental.js';
import type { Logger } from '../../runtime/logger.js';
import type { BehaviourEvent } from '../../schemas/behaviour.js';
import { tallyByUser } from '../../stores/embeddings/fingerprint.js';
import type { AppliedUpdate, IdRow, RowFence } from '../../stores/embeddings/index.js';
import { appendRecent, recentFingerprint, recentSet } from '../../stores/embeddings/recent.js';
import { RedisIdRowStore } from '../../stores/embeddings/redis.js';
import { compareEvents } from '../../stores/order.js';
import { HBaseProfileStore } from '../../stores/profiles/hbase.js';
import { RedisItemChangeLog } from '../../stores/profiles/redis-changes.js';
import { RedisSequenceStore } from '../../stores/sequence/redis.js';
import { openItemVectors } from '../../stores/vectors/open.js';
import { onExperimentEvents, onModelEvents } from '../../versions/channel.js';
import { versionsBeside } from '../../versions/experiments/definition.js';
import { ExperimentRegistry } from '../../versions/experiments/registry.js';
import { ExperimentWatch } from '../../versions/experiments/watch.js';
import { LiveModels, type Served } from '../../versions/live-models.js';
import { registryDir } from '../../versions/registry.js';
import { groupIdOf, type PartitionBatch, PROCESSOR_ROLES, type StreamProcessor } from '../runtime.js';
import { LiveUpdaters } from './embeddings-items.js';

/*
 * behaviour.events → incremental user-ID embedding rows in Redis (model/incremental.ts): towers
 * and item vectors stay those of the live version; each micro-batch moves the ID rows of its
 * users by a few SGD steps and writes them tagged with that version, then drops their cached
 * user vectors so that the next recall recomputes with the new row.
 *
 * Micro-batches: the runtime hands over one partition's Kafka batch; it is cut into micro-batches
 * of at most EMBEDDINGS_BATCH_EVENTS events (one set of gradient steps each). A user's events all
 * sit in one partition (Kafka key user_id), so the rows, sequences and profiles of a partition
 * batch's users are read once, then carried in memory from one micro-batch to the next.
 * EMBEDDINGS_BATCH_WAIT_MS is the consumer's fetch wait: the broker holds a fetch until about a
 * micro-batch of records is there (minBytes) or the wait is over, whichever comes first. There is
 * no timer of our own on top of it: a fetch that comes back with fewer events is updated at once.
 *
 * Restarts: exactly once per event. Each micro-batch's rows, the deletion of the users' cached
 * vectors and the partition's fence (the last offset applied) go to Redis in one atomic script;
 * a re-delivered micro-batch (crash before the offset commit) finds its offsets at or below the
 * fence and is skipped. Without the fence a replay would still be bounded, since one update
 * moves a row by at most steps·lr·clip and projects it into the max-norm ball, but a row would
 * drift towards the replayed items; the fence costs one GET per partition batch.
 *
 * Before the first publish there is no version to update against: the events are committed
 * without any update (towerflow_embeddings_events_total{outcome="no_version"}); the daily job
 * trains on them anyway.
 *
 * Experiments (DESIGN.md §9): while one runs, the versions it serves beside the live one (its
 * candidate; its control too once another version went live) have their own rows, moved by the
 * same events with their own towers and item vectors and written under their version
 * (versionRowKey) in the same atomic script as the live rows, behind the same fence and with
 * the same applied-events record: an event moves every served version's row once or none.
 */

export interface Keyed {
  offset: number;
  event: BehaviourEvent;
}

/** Consecutive slices of at most `max` elements. */
export function microBatches<T>(items: readonly T[], max: number): T[][] {
  const size = Math.max(1, Math.floor(max));
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Each user's events, in sequence order (event time, then event id). */
export function eventsByUser(events: readonly BehaviourEvent[]): Map<string, BehaviourEvent[]> {
  const out = new Map<string, BehaviourEvent[]>();
  for (const e of events) {
    const list = out.get(e.user_id);
    if (list) list.push(e);
    else out.set(e.user_id, [e]);
  }
  for (const list of out.values()) list.sort(compareEvents);
  return out;
}

const behaviour = (e: { item_id: string; ts: number }): Behaviour => ({ itemId: e.item_id, ts: e.ts / 1000 });

/** The events not applied before (by their users' latest applied ids), nor earlier in this batch; in order. */
export function dropApplied(
  fresh: readonly Keyed[],
  users: ReadonlyMap<string, { applied: Set<string> }>,
): Keyed[] {
  const out: Keyed[] = [];
  for (const k of fresh) {
    const held = users.get(k.event.user_id)?.applied;
    const fp = recentFingerprint(k.event.event_id).toString('hex');
    if (held?.has(fp)) continue;
    held?.add(fp);
    out.push(k);
  }
  return out;
}

/** A version whose rows a batch moves, and where they are kept. */
interface Target {
  served: Served;
  slot: 'live' | 'version';
}

/** A user's state while a partition batch is processed. */
interface UserState {
  /** The user's row of each target (by the targets' order; undefined: the version's table row). */
  rows: (Float32Array | undefined)[];
  profile?: Record<string, string>;
  /** Behaviour before the events still to apply, oldest first (seconds). */
  history: Behaviour[];
  /** The latest applied event fingerprints (stores/embeddings/recent.ts), and as a set. */
  recent: Buffer;
  applied: Set<string>;
}

function metrics(registry: Registry) {
  return {
    events: new Counter({
      name: 'towerflow_embeddings_events_total',
      help: 'Behaviour events by outcome: applied (moved a row), no_item (item without a live vector: context only), no_version (nothing published yet), fenced (already applied: re-delivery), duplicate (an event id applied before at another offset: a producer retry)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    users: new Counter({
      name: 'towerflow_embeddings_users_updated_total',
      help: 'User-ID rows moved and written (one per user per micro-batch)',
      registers: [registry],
    }),
    batchSeconds: new Histogram({
      name: 'towerflow_embeddings_microbatch_seconds',
      help: 'Time of one micro-batch: gradient steps and the Redis write',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    stepNorm: new Histogram({
      name: 'towerflow_embeddings_step_norm',
      help: 'Mean L2 length of one row step, per micro-batch',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1],
      registers: [registry],
    }),
    lastStepNorm: new Gauge({
      name: 'towerflow_embeddings_last_step_norm',
      help: 'Mean L2 length of one row step in the latest micro-batch',
      registers: [registry],
    }),
    itemVectors: new Gauge({
      name: 'towerflow_embeddings_item_vectors',
      help: 'Live item vectors held in memory (negatives and positives)',
      registers: [registry],
    }),
    loadSeconds: new Gauge({
      name: 'towerflow_embeddings_item_load_seconds',
      help: 'Time the latest load of a version’s item vectors from Milvus took',
      registers: [registry],
    }),
    besideRows: new Counter({
      name: 'towerflow_embeddings_experiment_rows_total',
      help: 'Rows written for versions a running experiment serves beside the live one (its candidate)',
      registers: [registry],
    }),
    besideVersions: new Gauge({
      name: 'towerflow_embeddings_experiment_versions',
      help: 'Versions a running experiment serves beside the live one whose rows this processor moves too, towers and item vectors loaded (0: no experiment)',
      registers: [registry],
    }),
    besideSkipped: new Counter({
      name: 'towerflow_embeddings_experiment_skipped_total',
      help: 'Events not applied to a version an experiment serves beside the live one: its towers or item vectors could not be loaded (the live rows moved; that version’s rows miss them)',
      registers: [registry],
    }),
  };
}

export function embeddingsProcessor(cfg: Config, log?: Logger): StreamProcessor {
  const redis = createRedis(cfg);
  const sub = createRedis(cfg);
  const hbase = HBaseClient.fromConfig(cfg);
  const profiles = new HBaseProfileStore(hbase);
  const vectorStore = openItemVectors(cfg);
  const models = new LiveModels(cfg, redis);
  const rows = new RedisIdRowStore(redis, cfg.sequenceTtlSeconds);
  const sequences = new RedisSequenceStore(redis, {
    length: cfg.sequenceLength,
    ttlSeconds: cfg.sequenceTtlSeconds,
  });
  const group = groupIdOf(cfg, 'embeddings');
  const ledger = cfg.embeddingsAppliedLedger === 'on';
  let m: ReturnType<typeof metrics> | undefined;
  const experiments = new ExperimentRegistry(redis, registryDir(cfg));
  const watch = new ExperimentWatch(() => experiments.running(cfg.milvusAlias), cfg.experimentRefreshMs, {
    onChange: (d) => {
      log?.info(
        d ? { experiment: d.name, control: d.control, candidate: d.candidate } : {},
        d ? 'experiment running: its versions’ rows move too' : 'no experiment running',
      );
      // its versions' towers and item vectors loaded now, not by the next batch
      warm().catch(() => {});
    },
  });
  // one updater (towers and item vectors in memory) per version whose rows move
  const updaters = new Map<string, LiveUpdaters>();
  const updaterOf = (served: Served) => {
    let u = updaters.get(served.version);
    if (!u) {
      u = new LiveUpdaters(
        vectorStore,
        new RedisItemChangeLog(redis),
        incrementalFromSettings(cfg),
        (info) => {
          m?.itemVectors.set(info.items);
          m?.loadSeconds.set(info.seconds);
          log?.info(info, 'item vectors loaded');
        },
      );
      updaters.set(served.version, u);
    }
    return u.updaterFor(served);
  };
  /** Updaters of versions no batch moves any more, disposed once a batch holding one is surely done. */
  const prune = (keep: ReadonlySet<string>) => {
    for (const [version, u] of updaters)
      if (!keep.has(version)) {
        updaters.delete(version);
        setTimeout(() => u.dispose(), 30_000).unref();
      }
  };

  /**
   * What this batch moves: the live version's rows, and those of every version the running
   * experiment serves beside it that can be loaded (one that cannot is skipped and counted: the
   * live rows must not wait for it).
   */
  async function targetsOf(
    live: Served,
  ): Promise<{ targets: Target[]; updaters: IdRowUpdater[]; skipped: number }> {
    const beside = versionsBeside(live.version, watch.current);
    models.hold([live.version, ...beside]);
    prune(new Set([live.version, ...beside]));
    const targets: Target[] = [{ served: live, slot: 'live' }];
    const ups: IdRowUpdater[] = [await updaterOf(live)];
    let skipped = 0;
    for (const version of beside) {
      try {
        const served = await models.served(version);
        ups.push(await updaterOf(served));
        targets.push({ served, slot: 'version' });
      } catch (e) {
        skipped++;
        log?.warn(
          { version, err: (e as Error).message },
          'experiment version not loadable: its rows skip this batch',
        );
      }
    }
    m?.besideVersions.set(targets.length - 1);
    return { targets, updaters: ups, skipped };
  }

  /** Loads what the next batch needs: the live version's and a running experiment's updaters. */
  const warm = () =>
    models.current().then((live) => live && targetsOf({ version: live.pointer.version, model: live.model }));

  /** The partition batch's users as of just before its first fresh event. */
  async function loadUsers(targets: Target[], fresh: Keyed[]): Promise<Map<string, UserState>> {
    const ids = [...new Set(fresh.map((k) => k.event.user_id))];
    const inBatch = new Set(fresh.map((k) => k.event.event_id));
    // the profile is a feature only when a version has user categorical fields
    const wantProfile = targets.some((t) => t.served.model.features.userCategorical.length > 0);
    const [current, recent, profs, applied] = await Promise.all([
      Promise.all(targets.map((t) => rows.getMany(ids, t.served.version))),
      Promise.all(ids.map((u) => sequences.recent(u))),
      wantProfile ? profiles.getUsers(ids) : undefined,
      rows.recentApplied(ids),
    ]);
    const out = new Map<string, UserState>();
    ids.forEach((u, i) => {
      const p = profs?.[i]?.profile;
      out.set(u, {
        rows: current.map((c) => c[i]),
        profile: p
          ? Object.fromEntries(
              Object.entries(p).map(([k, v]) => [k, Array.isArray(v) ? v.join('|') : String(v)]),
            )
          : undefined,
        // the sequence processor may have applied this batch's events already: they are not the past
        history: (recent[i] ?? []).filter((e) => !inBatch.has(e.event_id)).map(behaviour),
        recent: applied[i] ?? Buffer.alloc(0),
        applied: recentSet(applied[i] ?? Buffer.alloc(0)),
      });
    });
    return out;
  }

  /** Moves the chunk's users' rows of every target; the live target's stats. */
  async function applyMicroBatch(
    targets: Target[],
    ups: IdRowUpdater[],
    users: Map<string, UserState>,
    chunk: Keyed[],
    fence: RowFence,
  ): Promise<UpdateStats> {
    const end = m?.batchSeconds.startTimer();
    const byUser = eventsByUser(chunk.map((k) => k.event));
    const written: IdRow[] = [];
    let stats: UpdateStats | undefined;
    targets.forEach((t, ti) => {
      const updater = ups[ti] as IdRowUpdater;
      const inputs: UserUpdate[] = [...byUser].map(([userId, events]) => {
        const s = users.get(userId) as UserState;
        return {
          userId,
          idRow: s.rows[ti],
          profile: s.profile,
          history: s.history,
          events: events.map(behaviour),
        };
      });
      const result = updater.update(inputs);
      // only users with an event on an item of this version moved; the others keep its table row
      inputs.forEach((u, i) => {
        if (!u.events.some((e) => updater.live.rowOf.has(e.itemId))) return;
        const s = users.get(u.userId) as UserState;
        const row = result.rows[i] as Float32Array;
        s.rows[ti] = row;
        written.push({ userId: u.userId, version: t.served.version, row, slot: t.slot });
      });
      if (ti === 0) stats = result.stats;
    });
    // every target saw the same history before these events: it grows once, after all of them
    for (const [userId, events] of byUser) {
      const s = users.get(userId) as UserState;
      s.history = [...s.history, ...events.map(behaviour)];
    }
    const tallies = ledger ? tallyByUser(chunk.map((k) => k.event)) : undefined;
    const applied: AppliedUpdate[] = [...byUser].map(([userId, events]) => {
      const s = users.get(userId) as UserState;
      s.recent = appendRecent(
        s.recent,
        events.map((e) => e.event_id),
      );
      return { userId, recent: s.recent, tally: tallies?.get(userId) };
    });
    const ok = await rows.setManyFenced(written, fence, applied);
    if (!ok)
      throw new Error(
        `embeddings fence of ${fence.partition.topic}/${fence.partition.partition} moved: is another consumer writing this partition?`,
      );
    end?.();
    m?.besideRows.inc(written.filter((r) => r.slot === 'version').length);
    return stats as UpdateStats;
  }

  return {
    name: 'embeddings',
    roles: PROCESSOR_ROLES.embeddings,
    consumer: {
      maxWaitTimeInMs: cfg.embeddingsBatchWaitMs,
      // ~128 bytes per behaviour record: the broker answers once about a micro-batch is there
      minBytes: Math.max(1, cfg.embeddingsBatchEvents * 128),
    },
    async setup() {
      await redis.connect();
      await sub.connect();
      await watch.start();
      // the towers and item vectors of the live version (and an experiment's) before the first
      // fetch, not inside it
      await warm().catch((e: Error) =>
        log?.warn({ err: e.message }, 'could not load the live item vectors; the first batch retries'),
      );
      // warms a new version (towers and item vectors) so its first batch does not wait for it
      await onModelEvents(sub, () => {
        warm().catch(() => {});
      });
      // an experiment's start or end: re-read at once (a change warms its versions)
      await onExperimentEvents(sub, () => void watch.refresh());
    },
    registerMetrics(registry: Registry) {
      m = metrics(registry);
      for (const outcome of ['applied', 'no_item', 'no_version', 'fenced', 'duplicate'])
        m.events.inc({ outcome }, 0);
    },
    async write(batch: PartitionBatch) {
      const keyed = batch.records.map((r) => ({ offset: r.offset, event: r.value as BehaviourEvent }));
      const live = await models.current();
      if (!live) {
        m?.events.inc({ outcome: 'no_version' }, keyed.length);
        return 0;
      }
      const at = { partition: batch.partition, first: keyed[0]?.offset, last: batch.lastOffset };
      log?.debug({ ...at, version: live.pointer.version }, 'batch: loading the updater');
      const {
        targets,
        updaters: ups,
        skipped,
      } = await targetsOf({ version: live.pointer.version, model: live.model });
      const partition = { group, topic: batch.topic, partition: batch.partition };
      let fence = await rows.fence(partition);
      const fresh = keyed.filter((k) => k.offset > fence);
      log?.debug({ ...at, fence, fresh: fresh.length }, 'batch: fence read');
      m?.events.inc({ outcome: 'fenced' }, keyed.length - fresh.length);
      if (fresh.length === 0) return 0;
      const users = await loadUsers(targets, fresh);
      log?.debug({ ...at, users: users.size }, 'batch: users loaded');
      const unique = dropApplied(fresh, users);
      m?.events.inc({ outcome: 'duplicate' }, fresh.length - unique.length);
      m?.besideSkipped.inc(skipped * unique.length);
      if (unique.length === 0) {
        // only events applied before (a producer's retry): the fence still moves past them
        if (!(await rows.setManyFenced([], { partition, expected: fence, next: batch.lastOffset })))
          throw new Error(
            `embeddings fence of ${batch.topic}/${batch.partition} moved: is another consumer writing this partition?`,
          );
        return 0;
      }
      const chunks = microBatches(unique, cfg.embeddingsBatchEvents);
      for (const [c, chunk] of chunks.entries()) {
        // the last micro-batch also covers the batch's dead-lettered tail
        const next = c === chunks.length - 1 ? batch.lastOffset : (chunk.at(-1) as Keyed).offset;
        const stats = await applyMicroBatch(targets, ups, users, chunk, {
          partition,
          expected: fence,
          next,
        });
        fence = next;
        log?.debug({ ...at, fence }, 'batch: micro-batch written');
        m?.events.inc({ outcome: 'applied' }, stats.events);
        m?.events.inc({ outcome: 'no_item' }, stats.skippedEvents);
        m?.users.inc(stats.activeUsers);
        if (stats.steps > 0) {
          m?.stepNorm.observe(stats.meanStepNorm);
          m?.lastStepNorm.set(stats.meanStepNorm);
        }
      }
      return unique.length;
    },
    async close() {
      watch.stop();
      for (const u of updaters.values()) u.dispose();
      models.dispose();
      hbase.close();
      await vectorStore.close();
      await sub.quit().catch(() => sub.disconnect());
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
