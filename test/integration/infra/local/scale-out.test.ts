import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Admin, AssignerProtocol } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { auditPhase, type PhaseStores } from '../../../../chaos/audit.js';
import { jobWindow, startDailyJob } from '../../../../chaos/daily-job.js';
import { phaseEvent } from '../../../../chaos/drill.js';
import { emptyBooks, type PostedBooks, postProfiles, postUntilTaken } from '../../../../chaos/load.js';
import { sumSamples } from '../../../../cli/demo/metrics-text.js';
import { HBaseClient } from '../../../../clients/hbase/thrift2.js';
import { createRedis } from '../../../../clients/redis.js';
import { projectRoot } from '../../../../config/index.js';
import { findApp, instanceOf } from '../../../../infra/local/apps.js';
import { IsolatedStack } from '../../../../infra/local/isolated-stack.js';
import { loadDataset } from '../../../../model/data/load.js';
import type { Dataset } from '../../../../model/data/types.js';
import { IngestClient } from '../../../../replay/client.js';
import { behaviourEvents } from '../../../../replay/events.js';
import { replay } from '../../../../replay/run.js';
import { targetFile } from '../../../../runtime/targets.js';
import type { BehaviourEvent } from '../../../../schemas/behaviour.js';
import type { UserProfileEvent } from '../../../../schemas/user.js';
import { userVectorKey } from '../../../../stores/embeddings/keys.js';
import { RedisIdRowStore } from '../../../../stores/embeddings/redis.js';
import { HBaseHistoryStore } from '../../../../stores/history/hbase.js';
import { ALL_TIME_POPULARITY_KEY } from '../../../../stores/popularity/keys.js';
import { RedisPopularityStore } from '../../../../stores/popularity/redis.js';
import { HBaseProfileStore } from '../../../../stores/profiles/hbase.js';
import { RedisSequenceStore } from '../../../../stores/sequence/redis.js';
import {
  groupIdOf,
  PROCESSOR_NAMES,
  PROCESSOR_ROLES,
  type ProcessorName,
} from '../../../../streams/runtime.js';
import { type LivePointer, ModelRegistry } from '../../../../versions/registry.js';

// Scale-out on the real services (issue 25): every app as two instances of one consumer group or
// behind one set of stores. While events flow in at a fixed rate, a third instance of every stream
// processor joins, then one leaves gracefully and one is killed (kill -9); afterwards every store's
// books are exact (chaos/audit.ts: HBase once, sequence = HBase's tail, popularity per item, the
// embedding updater's applied-events ledger, profiles) and each rebalance is timed. Then two
// ingest and two recall instances: posts to either are applied, and a user's cached vector is
// never served by either instance once their ID row changed.

/** Interactions replayed (original users) before the first publish. */
const SEED = 5000;
/** Behaviour events per second while the processors' membership changes. */
const RATE = 500;
/** Kafka session timeout of the processors: how long a killed instance keeps its partitions. */
const SESSION_MS = 10_000;
/** Events posted at once just before the kill: the killed instances die with batches in hand. */
const BURST = 2000;
/** Posting goes on this long after the last change settled: the survivor consumes live traffic. */
const TAIL_MS = 3000;

const PROCESSORS = PROCESSOR_NAMES;

interface Change {
  processor: ProcessorName;
  action: 'join' | 'leave (SIGTERM)' | 'kill -9';
  members: number;
  /** From the action (process start, SIGTERM, SIGKILL) to the group seen rebalancing. */
  detected_ms: number;
  /** From the action to the group stable with its new members, every partition assigned. */
  stable_ms: number;
  /** Stable minus detected: the time no member of the group consumed. */
  rebalance_ms: number;
  /** From the action to every partition committing again (or caught up); processors of behaviour.events. */
  consuming_ms?: number;
}

/**
 * Watches one consumer group across a membership change: when it was seen rebalancing, when it
 * was stable again with `members` members holding every partition, and (with `consuming`) when
 * every partition had committed past where it stood before the change, or had nothing left.
 */
async function watchChange(
  admin: Admin,
  groupId: string,
  partitions: ReadonlyMap<string, number>,
  members: number,
  action: () => Promise<unknown>,
  o: { timeoutMs: number; consuming: boolean },
): Promise<{ detectedMs: number; stableMs: number; consumingMs: number }> {
  const committed = async (): Promise<Map<string, number>> => {
    const out = new Map<string, number>();
    for (const c of await admin.fetchOffsets({ groupId, topics: [...partitions.keys()] }))
      for (const p of c.partitions) out.set(`${c.topic}/${p.partition}`, Number(p.offset));
    return out;
  };
  const before = await committed();
  let t0 = Date.now();
  // an action may wait for its moment: the change is when it says it acted
  const acted = action().then((at) => {
    if (typeof at === 'number') t0 = at;
  });
  let detected: number | undefined;
  let stable: number | undefined;
  let consuming: number | undefined;
  const total = [...partitions.values()].reduce((a, b) => a + b, 0);
  for (;;) {
    const now = Date.now();
    if (now - t0 > o.timeoutMs)
      throw new Error(`${groupId}: not settled with ${members} members ${o.timeoutMs} ms after the change`);
    const [g] = (await admin.describeGroups([groupId])).groups;
    if (detected === undefined && g?.state !== 'Stable') detected = now;
    if (stable === undefined && g?.state === 'Stable' && g.members.length === members) {
      const assigned = g.members.map((m) =>
        Object.values(AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment ?? {}).flat(),
      );
      if (assigned.every((a) => a.length > 0) && assigned.flat().length === total) {
        stable = now;
        // a member that joined between two polls: the rebalance was at most one poll long
        detected ??= now;
      }
    }
    if (stable !== undefined && consuming === undefined) {
      if (!o.consuming) consuming = stable;
      else {
        const c = await committed();
        let all = true;
        for (const topic of partitions.keys())
          for (const end of await admin.fetchTopicOffsets(topic)) {
            const k = `${topic}/${end.partition}`;
            const at = c.get(k) ?? -1;
            const moved = at > (before.get(k) ?? -1);
            const caughtUp = (at >= 0 ? at : Number(end.low)) >= Number(end.high);
            if (!moved && !caughtUp) all = false;
          }
        if (all) consuming = Date.now();
      }
    }
    if (stable !== undefined && consuming !== undefined) break;
    await sleep(100);
  }
  await acted;
  return { detectedMs: (detected as number) - t0, stableMs: stable - t0, consumingMs: consuming - t0 };
}

async function popularityTotal(redis: ReturnType<typeof createRedis>): Promise<number> {
  const flat = await redis.zrange(ALL_TIME_POPULARITY_KEY, 0, -1, 'WITHSCORES');
  let sum = 0;
  for (let i = 1; i < flat.length; i += 2) sum += Number(flat[i]);
  return sum;
}

describe('scale-out: several instances of every app on the real services', () => {
  const stack = new IsolatedStack({
    redisDb: 1,
    portOffset: 17,
    extraEnv: {
      EMBEDDINGS_APPLIED_LEDGER: 'on',
      KAFKA_SESSION_TIMEOUT_MS: String(SESSION_MS),
      BATCH_PUBLISH_TRAINING: 'split',
      // a cold first search of the new collection on a busy machine must not make an answer degraded
      RECALL_MILVUS_TIMEOUT_MS: '10000',
      LOG_LEVEL: 'warn',
    },
  });
  const cfg = stack.cfg;
  const redis = createRedis(cfg);
  const hbase = HBaseClient.fromConfig(cfg);
  const stores: PhaseStores = {
    history: new HBaseHistoryStore(hbase, cfg.historySaltBuckets),
    sequence: new RedisSequenceStore(redis, {
      length: cfg.sequenceLength,
      ttlSeconds: cfg.sequenceTtlSeconds,
    }),
    popularity: new RedisPopularityStore(redis),
    rows: new RedisIdRowStore(redis),
    profiles: new HBaseProfileStore(hbase),
    sequenceLength: cfg.sequenceLength,
  };
  const rows = stores.rows;
  let ds: Dataset;
  let all: BehaviourEvent[];
  let pointer: LivePointer;
  /** Partitions of each processor's topics, as the broker has them. */
  const partitions = new Map<ProcessorName, Map<string, number>>();
  /** Every acknowledged behaviour event, all phases. */
  const acknowledged = new Set<string>();
  const post = (url: string) => ({ url, apiKey: stack.apiKey, batchDeadlineMs: 120_000 });

  const t0 = Date.now();
  const say = (m: string) =>
    process.stderr.write(`scale-out: ${((Date.now() - t0) / 1000).toFixed(1)} s ${m}\n`);

  beforeAll(async () => {
    await redis.connect();
    await redis.flushdb();
    // two of everything: ingest, each processor, serve
    await stack.up(undefined, { instances: 2 });
    say('two instances of every app ready');
    const admin = await stack.kafkaAdmin();
    for (const p of PROCESSORS) {
      const topics = PROCESSOR_ROLES[p].map((r) => stack.topics[r]);
      const meta = await admin.fetchTopicMetadata({ topics });
      partitions.set(p, new Map(meta.topics.map((t) => [t.name, t.partitions.length])));
    }
    ds = await loadDataset(path.join(projectRoot(), 'datasets', 'ml-latest-small'));
    all = behaviourEvents(ds);
    const client = new IngestClient({ baseUrl: stack.ingestUrl, apiKey: stack.apiKey });
    const seeded = await replay(ds, client, { batch: 500, concurrency: 4, limit: SEED });
    expect(seeded.events).toBe(SEED);
    say('seeded');
    for (const e of all.slice(0, SEED)) acknowledged.add(e.event_id);
    await stack.waitForZeroLag(['history', 'sequence', 'embeddings']);
    await stack.waitForZeroLag(['items'], 120_000, stack.topics.items);
    // a live version, so that the embedding updater applies (and keeps the ledger of) every later event
    await startDailyJob(cfg, stack.env, jobWindow(ds, 1)).done;
    pointer = (await new ModelRegistry(cfg, redis).live()) as LivePointer;
    say(`${pointer.version} live`);
  }, 600_000);

  afterAll(async () => {
    say('closing');
    await stack.close();
    hbase.close();
    await redis.quit();
  }, 120_000);

  it('has at least as many partitions per processor as the instances it runs (3)', () => {
    for (const p of PROCESSORS) {
      const n = [...(partitions.get(p) as Map<string, number>).values()].reduce((a, b) => a + b, 0);
      expect(n, p).toBeGreaterThanOrEqual(3);
    }
  });

  it('loses and doubles nothing while a third instance of every processor joins, one leaves and one is killed', async () => {
    const admin = await stack.kafkaAdmin();
    const tag = 's';
    const events = all.slice(SEED).map((e) => phaseEvent(e, tag));
    const users = [...new Set(events.map((e) => e.user_id))];
    const items = [...new Set(events.map((e) => e.item_id))];
    const counts = await stores.popularity.counts('all', items);
    const itemsBefore = new Map(items.map((it, i) => [it, counts[i] ?? 0]));
    const books: PostedBooks = emptyBooks();

    // events at RATE/s, 100 a request, until the changes are done and TAIL_MS more went by; the
    // burst before the kill comes from the other end of the list
    const burst = events.slice(-BURST);
    const paced = events.slice(0, -BURST);
    let done: number | undefined;
    let sent = 0;
    // a failed assertion ends the posting too: it must not run on into the next test's counts
    let finished = false;
    onTestFinished(() => {
      finished = true;
    });
    const posting = (async () => {
      const t0 = performance.now();
      for (let b = 0; sent < paced.length; b++) {
        if (finished || (done !== undefined && Date.now() - done > TAIL_MS)) break;
        const wait = ((b * 100) / RATE) * 1000 - (performance.now() - t0);
        if (wait > 0) await sleep(wait);
        const batch = paced.slice(sent, sent + 100);
        sent += batch.length;
        await postUntilTaken(post(stack.ingestUrl), '/v1/events', batch, books);
      }
    })();
    let failed: Error | undefined;
    posting.catch((e: Error) => {
      failed = e;
    });
    while (books.accepted.size < 1500) {
      if (failed) throw failed;
      await sleep(50);
    }

    const changes: Change[] = [];
    const behaviourFed = (p: ProcessorName) => PROCESSOR_ROLES[p].includes('behaviour');
    const change = async (
      action: Change['action'],
      members: number,
      act: (p: ProcessorName) => Promise<unknown>,
    ) => {
      const r = await Promise.all(
        PROCESSORS.map((p) =>
          watchChange(
            admin,
            groupIdOf(cfg, p),
            partitions.get(p) as Map<string, number>,
            members,
            () => act(p),
            {
              timeoutMs: action === 'kill -9' ? SESSION_MS + 60_000 : 90_000,
              consuming: behaviourFed(p),
            },
          ),
        ),
      );
      PROCESSORS.forEach((p, i) => {
        const x = r[i] as Awaited<ReturnType<typeof watchChange>>;
        changes.push({
          processor: p,
          action,
          members,
          detected_ms: x.detectedMs,
          stable_ms: x.stableMs,
          rebalance_ms: x.stableMs - x.detectedMs,
          consuming_ms: behaviourFed(p) ? x.consumingMs : undefined,
        });
      });
    };
    await change('join', 3, (p) => stack.startInstance(p, 2));
    // every instance announces itself to Prometheus on its own port
    for (const p of PROCESSORS)
      for (const i of [0, 1, 2]) {
        const port = instanceOf(cfg, findApp(p), i).port;
        const file = targetFile(cfg, `stream-${p}`, `127.0.0.1:${port}`);
        expect(existsSync(file)).toBe(true);
        expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual([
          { targets: [`127.0.0.1:${port}`], labels: { process: `stream-${p}`, stack: cfg.kafkaClientId } },
        ]);
      }
    // the profiles of the phase's users go through the items processor while its group changes
    const profiles: UserProfileEvent[] = users.map((u, i) => ({
      event_id: `${tag}-profile-${i}`,
      user_id: u,
      ts: events[0]?.ts ?? 0,
      profile: { drill: tag },
    }));
    const profilesPosted = postProfiles(profiles, post(stack.urlOf('ingest', 1)), books, 200);
    await change('leave (SIGTERM)', 2, (p) => stack.stopInstance(p, 0));
    // a backlog, then each behaviour processor's instance 1 killed while it holds a batch it has
    // read and not yet written (so not committed): its new owner gets it again
    const counters = async (p: ProcessorName) => {
      const text = await (await fetch(`${stack.urlOf(p, 1)}/metrics`)).text();
      return (
        sumSamples(text, 'towerflow_stream_consumed_total') -
        sumSamples(text, 'towerflow_stream_written_total')
      );
    };
    const inHandBefore = new Map(
      await Promise.all(PROCESSORS.map(async (p) => [p, await counters(p)] as const)),
    );
    const midBatch = new Map<ProcessorName, boolean>();
    const killInBatch = async (p: ProcessorName): Promise<number> => {
      // at most a few seconds: a processor may write every batch faster than the metrics are read
      const end = Date.now() + 5000;
      let inHand = false;
      while (behaviourFed(p) && !inHand && Date.now() < end)
        inHand = (await counters(p).catch(() => 0)) > (inHandBefore.get(p) as number);
      midBatch.set(p, inHand);
      await stack.kill9(p, 1);
      return Date.now();
    };
    await Promise.all(
      [0, 1, 2, 3].map((q) =>
        postUntilTaken(
          post(stack.ingestUrl),
          '/v1/events',
          burst.slice((q * BURST) / 4, ((q + 1) * BURST) / 4),
          books,
        ),
      ),
    );
    const killedAt = Date.now();
    const isProfile = (id: string) => id.startsWith(`${tag}-profile-`);
    const acceptedAtKill = [...books.accepted].filter((id) => !isProfile(id)).length;
    await change('kill -9', 1, killInBatch);
    done = Date.now();
    await Promise.all([posting, profilesPosted]);
    const lastPost = Date.now();
    // the replay ran through every change: it stopped on its own, not for want of events
    expect(sent).toBeLessThan(paced.length);
    const posted = [...paced.slice(0, sent), ...burst];
    await stack.waitForZeroLag(['history', 'sequence', 'embeddings'], 180_000);
    await stack.waitForZeroLag(['items'], 60_000, stack.topics.users);
    const drained = Date.now();
    // re-delivered events the survivor's fences skipped (a killed member's uncommitted batches)
    const fenced = sumSamples(
      await (await fetch(`${stack.urlOf('embeddings', 2)}/metrics`)).text(),
      'towerflow_embeddings_events_total',
      { outcome: 'fenced' },
    );

    const accepted = new Set([...books.accepted].filter((id) => !isProfile(id)));
    for (const id of accepted) acknowledged.add(id);
    const phaseUsers = [...new Set(posted.map((e) => e.user_id))];
    const audit = await auditPhase(stores, {
      accepted,
      posted: new Set(posted.map((e) => e.event_id)),
      users: phaseUsers,
      itemsBefore,
      profileMark: tag,
      ledger: true,
    });
    process.stderr.write(
      `scale-out: ${JSON.stringify({
        events: accepted.size,
        rate: RATE,
        session_timeout_ms: SESSION_MS,
        accepted_after_kill: accepted.size - acceptedAtKill,
        lag_zero_after_kill_ms: drained - killedAt,
        lag_zero_after_last_post_ms: drained - lastPost,
        killed_holding_a_batch: Object.fromEntries(midBatch),
        embeddings_fenced_on_survivor: fenced,
        lost: audit.lost,
        doubled: audit.doubled,
        books: {
          hbase: audit.hbase,
          sequence: audit.sequence,
          popularity: audit.popularity,
          embeddings: audit.embeddings,
          profiles: audit.profiles,
        },
        changes,
      })}\n`,
    );
    expect(accepted.size).toBe(posted.length);
    expect({ lost: audit.lost, doubled: audit.doubled }).toEqual({ lost: 0, doubled: 0 });
    expect(audit.hbase.rows).toBe(posted.length);
    expect(audit.sequence.usersMismatched).toBe(0);
    expect(audit.embeddings?.usersMismatched).toBe(0);
    // the whole stack: HBase holds every acknowledged event once, popularity counted each once
    let rowsAll = 0;
    for await (const _ of stores.history.scanTime(0, 4_102_444_800_001)) rowsAll++;
    expect(rowsAll).toBe(acknowledged.size);
    expect(await popularityTotal(redis)).toBe(acknowledged.size);
    // one member left: the third instance, alone and ready
    for (const p of PROCESSORS) {
      const [g] = (await admin.describeGroups([groupIdOf(cfg, p)])).groups;
      expect(g?.members.length).toBe(1);
      expect((await fetch(`${stack.urlOf(p, 2)}/readyz`)).status).toBe(200);
    }
  }, 300_000);

  it('applies posts to either of two ingest instances, and neither of two recall instances serves a stale user vector', async () => {
    // two ingest instances (since beforeAll): 1,000 events to each, all applied once
    const tag = 'a';
    const events = all.slice(0, 2000).map((e) => phaseEvent(e, tag));
    const users = [...new Set(events.map((e) => e.user_id))];
    const items = [...new Set(events.map((e) => e.item_id))];
    const counts = await stores.popularity.counts('all', items);
    const itemsBefore = new Map(items.map((it, i) => [it, counts[i] ?? 0]));
    const books = emptyBooks();
    const taken = async (i: number) =>
      sumSamples(
        await (await fetch(`${stack.urlOf('ingest', i)}/metrics`)).text(),
        'towerflow_ingest_requests_total',
        {
          route: '/v1/events',
          status: '202',
        },
      );
    const takenBefore = await Promise.all([taken(0), taken(1)]);
    const halves = [events.slice(0, 1000), events.slice(1000)];
    await Promise.all(
      halves.map(async (half, i) => {
        for (let j = 0; j < half.length; j += 100)
          await postUntilTaken(post(stack.urlOf('ingest', i)), '/v1/events', half.slice(j, j + 100), books);
      }),
    );
    const profiles: UserProfileEvent[] = users.map((u, i) => ({
      event_id: `${tag}-profile-${i}`,
      user_id: u,
      ts: 1,
      profile: { drill: tag },
    }));
    await postProfiles(profiles, post(stack.urlOf('ingest', 1)), books);
    await stack.waitForZeroLag(['history', 'sequence', 'embeddings'], 120_000);
    await stack.waitForZeroLag(['items'], 60_000, stack.topics.users);
    const accepted = new Set([...books.accepted].filter((id) => !id.startsWith(`${tag}-profile-`)));
    expect(accepted.size).toBe(2000);
    // each instance took its own half: 10 requests each
    expect([
      (await taken(0)) - (takenBefore[0] as number),
      (await taken(1)) - (takenBefore[1] as number),
    ]).toEqual([10, 10]);
    // both announce themselves to Prometheus, as do both recall instances
    for (const app of ['ingest', 'serve'])
      for (const i of [0, 1]) {
        const address = `127.0.0.1:${instanceOf(cfg, findApp(app), i).port}`;
        expect(JSON.parse(readFileSync(targetFile(cfg, app, address), 'utf8'))).toEqual([
          { targets: [address], labels: { process: app, stack: cfg.kafkaClientId } },
        ]);
      }
    const audit = await auditPhase(stores, {
      accepted,
      posted: new Set(events.map((e) => e.event_id)),
      users,
      itemsBefore,
      profileMark: tag,
      ledger: true,
    });
    expect({ lost: audit.lost, doubled: audit.doubled, rows: audit.hbase.rows }).toEqual({
      lost: 0,
      doubled: 0,
      rows: 2000,
    });

    // the user-vector cache: one user of the live version, asked of each recall instance in turn
    const user = all[0]?.user_id as string;
    const item = all.find((e) => e.user_id !== user)?.item_id as string;
    const recall = async (i: number) => {
      const res = await fetch(`${stack.urlOf('serve', i)}/v1/recall?user_id=${user}&k=20`, {
        headers: stack.recallAuth,
      });
      expect(res.status).toBe(200);
      return (await res.json()) as {
        source: string;
        degraded: boolean;
        model_version: string;
        id_row: string | null;
        items: { item_id: string; score: number }[];
      };
    };
    const cacheLookups = async (i: number) => {
      const text = await (await fetch(`${stack.urlOf('serve', i)}/metrics`)).text();
      return {
        hit: sumSamples(text, 'towerflow_recall_vector_cache_total', { result: 'hit' }),
        miss: sumSamples(text, 'towerflow_recall_vector_cache_total', { result: 'miss' }),
      };
    };
    /** One request to instance i: its answer, and whether it found the cached vector good (exactly one lookup). */
    const ask = async (i: number) => {
      const before = await cacheLookups(i);
      const answer = await recall(i);
      const after = await cacheLookups(i);
      expect(after.hit + after.miss - before.hit - before.miss).toBe(1);
      // a whole answer of the live version: nothing served around
      expect(answer).toMatchObject({ source: 'personal', degraded: false, model_version: pointer.version });
      return { answer, hit: after.hit > before.hit };
    };
    /** The cache entry after a request wrote it (the write is not awaited by the answer). */
    const cachedAfter = async (previous: string | null) => {
      const end = Date.now() + 10_000;
      for (;;) {
        const v = await redis.get(userVectorKey(user));
        if (v !== null && v !== previous) return v;
        if (Date.now() > end) throw new Error('the recall instance cached no new user vector within 10 s');
        await sleep(20);
      }
    };

    const first = await ask(0);
    expect(first.hit).toBe(false);
    let entry = await cachedAfter(null);
    // the other instance finds the vector instance 0 cached: the same answer
    const second = await ask(1);
    expect(second.hit).toBe(true);
    expect(second.answer.items).toEqual(first.answer.items);

    // 1. new behaviour moves the user's ID row (the embeddings processor; the sequence processor
    //    changes their sequence): the other instance computes afresh
    // (before it, the user had no row of their own: their events all came before the publish)
    expect(first.answer.id_row).toBe('version');
    expect(await rows.getAny(user)).toBeUndefined();
    const e: BehaviourEvent = {
      event_id: `${tag}-cache-1`,
      user_id: user,
      item_id: item,
      type: 'rating',
      ts: Date.now(),
    };
    expect((await stack.post('/v1/events', e)).status).toBe(202);
    await stack.waitForZeroLag(['sequence', 'embeddings']);
    expect((await rows.getAny(user))?.version).toBe(pointer.version);
    const third = await ask(1);
    expect(third.hit).toBe(false);
    expect(third.answer.id_row).toBe('incremental');
    expect(third.answer.items).not.toEqual(second.answer.items);
    entry = await cachedAfter(entry);
    const fourth = await ask(0);
    expect(fourth.hit).toBe(true);
    expect(fourth.answer.items).toEqual(third.answer.items);

    // 2. the row alone changes, and nothing drops the cached vector: its tag (which names the
    //    row) no longer matches, on either instance
    const row = (await rows.getAny(user)) as { version: string; row: Float32Array };
    await rows.setMany([{ userId: user, version: row.version, row: row.row.map((x) => x * 0.5) }]);
    expect(await redis.get(userVectorKey(user))).toBe(entry);
    const fifth = await ask(0);
    expect(fifth.hit).toBe(false);
    expect(fifth.answer.items).not.toEqual(fourth.answer.items);
    await cachedAfter(entry);
    const sixth = await ask(1);
    expect(sixth.hit).toBe(true);
    expect(sixth.answer.items).toEqual(fifth.answer.items);
  }, 180_000);
});
