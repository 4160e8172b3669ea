import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBatch } from '../../../../batch/job.js';
import { HBaseClient } from '../../../../clients/hbase/thrift2.js';
import { createRedis } from '../../../../clients/redis.js';
import { projectRoot } from '../../../../config/index.js';
import { IsolatedStack } from '../../../../infra/local/isolated-stack.js';
import { loadDataset } from '../../../../model/data/load.js';
import { largestIdRowNorm } from '../../../../model/incremental.js';
import { tf } from '../../../../model/tf.js';
import { ModelVersion } from '../../../../model/version.js';
import { IngestClient } from '../../../../replay/client.js';
import { replay } from '../../../../replay/run.js';
import type { BehaviourEvent } from '../../../../schemas/behaviour.js';
import { idRowKey, userVectorKey } from '../../../../stores/embeddings/keys.js';
import { RedisIdRowStore } from '../../../../stores/embeddings/redis.js';
import { sequenceKey } from '../../../../stores/sequence/keys.js';
import { openItemVectors } from '../../../../stores/vectors/open.js';
import { groupIdOf } from '../../../../streams/runtime.js';
import { type LivePointer, ModelRegistry } from '../../../../versions/registry.js';
import { beyondCommit, committedOffsets, rangeSize, readRanges } from '../../support/redelivery.js';

// The embeddings processor on real Kafka, Redis, HBase and Milvus: ml-latest-small's first 20k
// events replayed and trained into a live version, then new behaviour moves user-ID rows.
const DATE = '2018-09-30';
const WINDOW = 9000;

const norm = (r: Float32Array) => Math.sqrt(r.reduce((s, x) => s + x * x, 0));
const distance = (a: Float32Array, b: Float32Array) =>
  Math.sqrt(a.reduce((s, x, i) => s + (x - (b[i] as number)) ** 2, 0));

async function waitFor<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** sha256 of every file of a version folder. */
function digest(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir).map((f) => [
      f,
      createHash('sha256')
        .update(readFileSync(path.join(dir, f)))
        .digest('hex'),
    ]),
  );
}

describe('incremental user-ID embeddings processor (real Kafka, Redis, HBase, Milvus)', () => {
  // micro-batches far smaller than a Kafka batch: the fence moves several times before the batch's
  // offsets are committed, so a kill -9 can leave applied events for the restart to re-deliver
  const stack = new IsolatedStack({
    redisDb: 11,
    portOffset: 8,
    extraEnv: { EMBEDDINGS_BATCH_EVENTS: '64' },
  });
  const cfg = stack.cfg;
  const redis = createRedis(cfg);
  const hbase = HBaseClient.fromConfig(cfg);
  const vectorStore = openItemVectors(cfg);
  const store = new RedisIdRowStore(redis);
  let pointer: LivePointer;
  let version: ModelVersion;
  let versionDir: string;
  let weightsBefore: Record<string, string>;
  let maxNorm: number;
  let knownUser: string;
  let items: string[];
  let seq = 0;
  const metricsUrl = `http://127.0.0.1:${cfg.streamMetricsPortBase + 3}/metrics`;

  const event = (user: string, item: string, ts = Date.now()): BehaviourEvent => ({
    event_id: `emb-${seq++}`,
    user_id: user,
    item_id: item,
    type: 'rating',
    ts,
  });
  async function post(events: BehaviourEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += 1000) {
      const r = await stack.post('/v1/events', { events: events.slice(i, i + 1000) });
      expect(r.status).toBe(202);
    }
  }
  const rowOf = (user: string) => store.get(user, pointer.version);
  const tableRow = (user: string): Float32Array => {
    const t = tf.tidy(() => tf.gather(version.model.w('user_id'), [version.vocab.users.lookup(user)]));
    const out = Float32Array.from(t.dataSync() as Float32Array);
    t.dispose();
    return out;
  };
  async function metric(outcome: string): Promise<number> {
    const text = await (await fetch(metricsUrl)).text();
    const line = text
      .split('\n')
      .find((l) => l.startsWith('towerflow_embeddings_events_total{') && l.includes(`outcome="${outcome}"`));
    return Number(line?.split(' ').at(-1) ?? Number.NaN);
  }

  beforeAll(async () => {
    await redis.connect();
    await redis.flushdb();
    // the embeddings processor runs from the start: before the first publish it only commits
    await stack.up(['ingest', 'history', 'sequence', 'items', 'embeddings']);
    const ds = await loadDataset(path.join(projectRoot(), 'datasets', 'ml-latest-small'));
    const client = new IngestClient({ baseUrl: stack.ingestUrl, apiKey: stack.apiKey });
    await replay(ds, client, { batch: 1000, concurrency: 4, limit: 20_000 });
    await stack.waitForZeroLag(['history', 'sequence', 'embeddings']);
    await stack.waitForZeroLag(['items'], 60_000, stack.topics.items);
    const r = await runBatch({ cfg, hbase, redis, vectorStore }, { date: DATE, windowDays: WINDOW });
    expect(r.published).toBe(true);
    pointer = (await new ModelRegistry(cfg, redis).live()) as LivePointer;
    versionDir = new ModelRegistry(cfg, redis).versionDir(pointer.version);
    version = await ModelVersion.load(versionDir);
    weightsBefore = digest(versionDir);
    maxNorm = cfg.embeddingsMaxRowNorm > 0 ? cfg.embeddingsMaxRowNorm : largestIdRowNorm(version.model);
    knownUser = version.vocab.users.toJSON()[3] as string;
    const firstPage = (await vectorStore.scan(pointer.version, 500).next()).value ?? [];
    const ids = new Set(firstPage.map((x: { item_id: string }) => x.item_id));
    items = version.vocab.items.toJSON().filter((i) => ids.has(i));
    expect(items.length).toBeGreaterThan(100);
  }, 600_000);

  afterAll(async () => {
    version?.dispose();
    hbase.close();
    await vectorStore.close();
    await redis.quit();
    await stack.close();
  });

  it('commits behaviour without updating anything before the first publish (counted)', async () => {
    // every replayed event once: one process, no restart, nothing re-delivered
    expect(await metric('no_version')).toBe(20_000);
    // the replayed events were not applied against the version published afterwards
    expect(await redis.keys('tf:emb:*')).toEqual([]);
  });

  it('moves the rows of an existing and a brand-new user within seconds, tagged with the live version', async () => {
    // sequence stopped, so the cached-vector deletion can only be the embeddings processor's
    await stack.down(['sequence']);
    const newUser = 'brand-new-user-1';
    for (const u of [knownUser, newUser]) await redis.set(userVectorKey(u), 'stale');
    const t0 = Date.now();
    await post([
      event(knownUser, items[10] as string),
      event(knownUser, items[20] as string),
      event(newUser, items[5] as string),
      event(newUser, items[40] as string),
    ]);
    const known = await waitFor('the known user’s row', () => rowOf(knownUser));
    const fresh = await waitFor('the new user’s row', () => rowOf(newUser));
    expect(Date.now() - t0).toBeLessThan(10_000);
    const raw = (await redis.get(idRowKey(newUser))) as string;
    expect(raw.split('\n')[0]).toBe(pointer.version);
    expect(known).toHaveLength(version.model.towers.idDim);
    // a new user starts from the OOV row (index 0) and moves away from it, by at most steps·lr·clip
    expect(version.vocab.users.lookup(newUser)).toBe(0);
    const oov = tableRow(newUser);
    const moved = distance(fresh, oov);
    expect(moved).toBeGreaterThan(0);
    expect(moved).toBeLessThanOrEqual(
      cfg.embeddingsSteps * cfg.embeddingsLearningRate * cfg.embeddingsClipNorm + 1e-5,
    );
    expect(distance(known, tableRow(knownUser))).toBeGreaterThan(0);
    expect(await redis.exists(userVectorKey(knownUser), userVectorKey(newUser))).toBe(0);
    // only ID rows moved: the version's files are byte for byte what the job wrote
    expect(digest(versionDir)).toEqual(weightsBefore);
    await stack.up(['sequence']);
  });

  it('keeps a row within the max-norm ball through a burst of 500 events from one user', async () => {
    const user = 'burst-user-1';
    const t = Date.now();
    await post(Array.from({ length: 500 }, (_, i) => event(user, items[i % 60] as string, t + i)));
    await stack.waitForZeroLag(['embeddings'], 60_000);
    const row = (await rowOf(user)) as Float32Array;
    expect(row.every(Number.isFinite)).toBe(true);
    expect(norm(row)).toBeLessThanOrEqual(maxNorm * (1 + 1e-5));
    // the 4 events of the test before and these 500, all on live items
    expect(await metric('applied')).toBe(504);
  });

  it('applies each event once across a kill -9 mid-stream: a row written before the kill does not move again', async () => {
    const heavy = Array.from({ length: 40 }, (_, u) => `crash-user-${u}`);
    const t = Date.now();
    // every other event is its user's only one: that row moves exactly once, so after the restart
    // it must be byte for byte what the killed process wrote (a second application moves it again)
    const burst = Array.from({ length: 4000 }, (_, i) =>
      event(
        i % 2 === 0 ? (heavy[(i / 2) % heavy.length] as string) : `once-user-${i}`,
        items[(i * 7) % items.length] as string,
        t + i,
      ),
    );
    const onceUsers = burst.filter((_, i) => i % 2 === 1).map((e) => e.user_id);
    const group = groupIdOf(cfg, 'embeddings');
    const topic = stack.topics.behaviour;
    const admin = await stack.kafkaAdmin();
    const beyond = async () => {
      const committed = await committedOffsets(admin, group, topic);
      const fences = new Map<number, number>();
      for (const p of committed.keys()) fences.set(p, await store.fence({ group, topic, partition: p }));
      return { committed, fences, ranges: beyondCommit(committed, fences) };
    };
    await post(burst);
    // killed while it has applied events whose offsets it has not committed (micro-batches of
    // EMBEDDINGS_BATCH_EVENTS move the fence several times per Kafka batch): the restart
    // re-delivers them. Seen while the process is stopped (SIGSTOP), so that it cannot commit
    // between the look and the kill; at least 20 of them, so that single-event users are among
    // them (half the events are theirs)
    await waitFor('events applied beyond the commit, the processor stopped', async () => {
      if (rangeSize((await beyond()).ranges) < 20) return undefined;
      stack.pause('stream-embeddings', true);
      if (rangeSize((await beyond()).ranges) >= 20) return true;
      stack.pause('stream-embeddings', false);
      return undefined;
    });
    await stack.kill9('stream-embeddings');
    const atKill = await beyond();
    const rowsAtKill = await store.getMany(onceUsers, pointer.version);
    const redelivered = (await readRanges(cfg, topic, atKill.ranges)).map(
      (r) => (JSON.parse(r.value.toString()) as BehaviourEvent).user_id,
    );
    const onceRedelivered = redelivered.filter((u) => u.startsWith('once-user-'));
    expect(onceRedelivered.length, 'single-event users whose event the restart re-delivers').toBeGreaterThan(
      0,
    );
    // each was applied before the kill: its row is there
    expect(onceRedelivered.filter((u) => rowsAtKill[onceUsers.indexOf(u)] === undefined)).toEqual([]);

    await stack.up(['embeddings']);
    // the killed member's partitions move only after its Kafka session times out (KAFKA_SESSION_TIMEOUT_MS), then a rebalance
    await stack.waitForZeroLag(['embeddings'], 240_000);
    const rowsNow = await store.getMany(onceUsers, pointer.version);
    const movedAgain = onceUsers.filter((_, i) => {
      const before = rowsAtKill[i];
      return before !== undefined && !before.every((x, j) => x === rowsNow[i]?.[j]);
    });
    expect(movedAgain, 'rows written before the kill that moved again').toEqual([]);
    expect(onceUsers.filter((_, i) => rowsNow[i] === undefined)).toEqual([]);
    const ends = await admin.fetchTopicOffsets(topic);
    // the new process skipped exactly the re-delivered events and applied exactly the rest
    let rest = 0;
    for (const o of ends) {
      const from = Math.max(
        (atKill.fences.get(o.partition) ?? -1) + 1,
        atKill.committed.get(o.partition) ?? 0,
      );
      rest += Math.max(0, Number(o.high) - from);
    }
    expect({ fenced: await metric('fenced'), applied: await metric('applied') }).toEqual({
      fenced: rangeSize(atKill.ranges),
      applied: rest,
    });
    for (const u of heavy) {
      const row = (await rowOf(u)) as Float32Array;
      expect(row.every(Number.isFinite)).toBe(true);
      expect(norm(row)).toBeLessThanOrEqual(maxNorm * (1 + 1e-5));
    }
    // every partition's fence reached its end: nothing left unapplied (the burst's 2,040 users
    // reach all of them)
    const fences = await Promise.all(ends.map((o) => store.fence({ group, topic, partition: o.partition })));
    expect(fences).toEqual(ends.map((o) => Number(o.high) - 1));
  }, 300_000);

  it('ignores a row of another version and restarts that user from the live table row', async () => {
    const user = version.vocab.users.toJSON()[7] as string;
    const foreign = new Float32Array(version.model.towers.idDim).fill(0.5);
    await store.setMany([{ userId: user, version: 'v-other', row: foreign }]);
    expect(await store.get(user, pointer.version)).toBeUndefined();
    expect(await store.getMany([user], pointer.version)).toEqual([undefined]);
    expect(await store.get(user, 'v-other')).toEqual(foreign);
    await post([event(user, items[3] as string)]);
    const row = await waitFor('the user’s live row', () => rowOf(user));
    // moved from the table row, not from the foreign one
    const bound = cfg.embeddingsSteps * cfg.embeddingsLearningRate * cfg.embeddingsClipNorm + 1e-5;
    expect(distance(row, tableRow(user))).toBeLessThanOrEqual(bound);
    expect(distance(row, foreign)).toBeGreaterThan(bound);
    expect(await redis.exists(sequenceKey(user))).toBe(1);
  });

  it('applies an event posted twice (a producer retrying its batch) once: the second copy is a duplicate', async () => {
    const user = 'dup-user-1';
    const e = event(user, items[11] as string);
    const [applied0, dup0] = [await metric('applied'), await metric('duplicate')];
    await post([e]);
    await stack.waitForZeroLag(['embeddings']);
    const once = await rowOf(user);
    // the same event id again, at a new offset
    await post([e]);
    await stack.waitForZeroLag(['embeddings']);
    expect((await metric('applied')) - applied0).toBe(1);
    expect((await metric('duplicate')) - dup0).toBe(1);
    expect(await rowOf(user)).toEqual(once);
  });
});
