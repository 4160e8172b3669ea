import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sumSamples } from '../../../cli/demo/metrics-text.js';
import { HBaseClient } from '../../../clients/hbase/thrift2.js';
import { createKafka } from '../../../clients/kafka/kafkajs.js';
import { createRedis, type Redis } from '../../../clients/redis.js';
import { projectRoot } from '../../../config/index.js';
import { IsolatedStack } from '../../../infra/local/isolated-stack.js';
import type { BehaviourEvent } from '../../../schemas/behaviour.js';
import { RedisAnswerStore } from '../../../stores/answers/redis.js';
import { HBaseHistoryStore } from '../../../stores/history/hbase.js';
import { latestN } from '../../../stores/order.js';
import { ALL_TIME_POPULARITY_KEY } from '../../../stores/popularity/keys.js';
import { DEFAULT_POPULARITY, RedisPopularityStore } from '../../../stores/popularity/redis.js';
import { HBaseProfileStore } from '../../../stores/profiles/hbase.js';
import { RedisProfileCache } from '../../../stores/profiles/redis-cache.js';
import { seenHash } from '../../../stores/seen/keys.js';
import { RedisSeenStore } from '../../../stores/seen/redis.js';
import { RedisSequenceStore } from '../../../stores/sequence/redis.js';
import type { DeadLetter } from '../../../streams/dlq.js';
import { PROCESSOR_NAMES, PROCESSOR_ROLES } from '../../../streams/runtime.js';

const bin = path.join(projectRoot(), 'bin', 'towerflow.js');

/** The stores of a stack, connected before its tests (Redis database emptied, apps started) and closed after. */
function useStack(stack: IsolatedStack) {
  const s = {} as ReturnType<typeof stores>;
  beforeAll(async () => {
    Object.assign(s, stores(stack));
    await s.redis.connect();
    await s.redis.flushdb();
    await stack.up();
  });
  afterAll(async () => {
    await stack.close();
    s.hbase.close();
    await s.redis.quit();
  });
  return s;
}

function stores(stack: IsolatedStack) {
  const hbase = HBaseClient.fromConfig(stack.cfg);
  const redis = createRedis(stack.cfg);
  return {
    hbase,
    redis,
    history: new HBaseHistoryStore(hbase, stack.cfg.historySaltBuckets),
    profiles: new HBaseProfileStore(hbase),
    profileCache: new RedisProfileCache(redis, 600),
    sequence: new RedisSequenceStore(redis, { length: stack.cfg.sequenceLength, ttlSeconds: 60 }),
  };
}

async function countHistory(history: HBaseHistoryStore): Promise<{ rows: number; users: Set<string> }> {
  let rows = 0;
  const users = new Set<string>();
  for await (const e of history.scanTime(0, 4_102_444_800_001)) {
    rows++;
    users.add(e.user_id);
  }
  return { rows, users };
}

async function popularityTotal(redis: Redis): Promise<number> {
  const flat = await redis.zrange(ALL_TIME_POPULARITY_KEY, 0, -1, 'WITHSCORES');
  let sum = 0;
  for (let i = 1; i < flat.length; i += 2) sum += Number(flat[i]);
  return sum;
}

const ev = (i: number, user: string, ts: number, extra: Partial<BehaviourEvent> = {}): BehaviourEvent => ({
  event_id: `e-${i}`,
  user_id: user,
  item_id: `i${i % 7}`,
  type: 'click',
  ts,
  ...extra,
});

describe('ingest API and stream processors (real Kafka, HBase, Redis)', () => {
  const stack = new IsolatedStack({
    redisDb: 5,
    portOffset: 1,
    extraEnv: { INGEST_MAX_BATCH: '100', INGEST_MAX_BODY_BYTES: '65536', SEQUENCE_LENGTH: '5' },
  });
  const s = useStack(stack);

  it('answers 401 without a valid API key, and serves health and OpenAPI without one', async () => {
    const none = await stack.post('/v1/events', ev(1, 'u1', 1000), { authorization: '' });
    expect(none.status).toBe(401);
    expect(none.body.message).toMatch(/API key/);
    const wrong = await stack.post('/v1/events', ev(1, 'u1', 1000), { authorization: 'Bearer nope' });
    expect(wrong.status).toBe(401);
    // the router decodes %-escapes: an encoded path must not dodge the key check
    for (const route of ['/%761/events', '/v%31/items', '/v1%2Fusers'])
      expect((await stack.post(route, ev(1, 'u1', 1000), { authorization: '' })).status).not.toBe(202);
    expect((await stack.post('/%761/events', ev(1, 'u1', 1000), { authorization: '' })).status).toBe(401);
    const viaHeader = await stack.post('/v1/events', ev(9000, 'u-auth', 1000), {
      authorization: '',
      'x-api-key': stack.apiKey,
    });
    expect(viaHeader.status).toBe(202);
    expect((await fetch(`${stack.ingestUrl}/healthz`)).status).toBe(200);
    const doc = (await (await fetch(`${stack.ingestUrl}/openapi.json`)).json()) as { paths: object };
    expect(Object.keys(doc.paths)).toContain('/v1/events');
    const metrics = await (await fetch(`${stack.ingestUrl}/metrics`)).text();
    expect(metrics).toMatch(/towerflow_ingest_requests_total\{route="\/v1\/events",status="401"/);
  });

  it('rejects bad input with the status and a message naming each field and index; enqueues nothing of a bad batch', async () => {
    const before = await stack.topicSize(stack.topics.behaviour);
    const bad = await stack.post('/v1/events', {
      events: [ev(100, 'u1', 1000), { ...ev(101, 'u 1', 1000), ts: 'yesterday', colour: 'red' }],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('invalid_events');
    const fields = bad.body.errors.map((e: { index: number; field: string }) => `${e.index}:${e.field}`);
    expect(fields).toEqual(expect.arrayContaining(['1:user_id', '1:ts', '1:colour']));
    expect(fields.some((f: string) => f.startsWith('0:'))).toBe(false);

    const cases: [unknown, number, RegExp][] = [
      [{}, 400, /event_id/],
      [{ events: 'x' }, 400, /events/],
      [{ events: [] }, 400, /events/],
      [{ events: [ev(1, 'u1', 1)], extra: 1 }, 400, /extra/],
      [[ev(1, 'u1', 1)], 400, /event/],
      [{ events: Array.from({ length: 101 }, (_, i) => ev(i, 'u1', i)) }, 413, /at most 100/],
      [{ ...ev(1, 'u1', 1), context: { device: 'x'.repeat(300) } }, 400, /context\.device/],
      [{ ...ev(1, 'u1', 1), ts: -5 }, 400, /ts/],
      ['{"event_id": ', 400, /JSON/],
      [JSON.stringify({ events: [{ ...ev(1, 'u1', 1), item_id: 'x'.repeat(70_000) }] }), 413, /too large/i],
    ];
    for (const [body, status, message] of cases) {
      const r = await stack.post('/v1/events', body);
      expect({ body, status: r.status }).toEqual({ body, status });
      expect(JSON.stringify(r.body)).toMatch(message);
    }
    const text = await stack.post('/v1/events', 'a,b', { 'content-type': 'text/csv' });
    expect(text.status).toBe(415);

    const noFeatures = await stack.post('/v1/items', { event_id: 'x1', op: 'upsert', item_id: 'i1', ts: 1 });
    expect(noFeatures.status).toBe(400);
    expect(noFeatures.body.errors).toEqual([
      { index: 0, field: 'features', message: expect.stringMatching(/Required/) },
    ]);
    const badOp = await stack.post('/v1/items', { event_id: 'x1', op: 'delete', item_id: 'i1', ts: 1 });
    expect(badOp.body.errors[0]).toMatchObject({
      field: 'op',
      message: expect.stringMatching(/upsert.*remove/),
    });
    const badProfile = await stack.post('/v1/users', {
      event_id: 'x1',
      user_id: 'u1',
      ts: 1,
      profile: { Age: 3 },
    });
    expect(badProfile.body.errors[0].field).toBe('profile.Age');

    // give a half-enqueued batch time to show up before counting
    await new Promise((r) => setTimeout(r, 500));
    expect(await stack.topicSize(stack.topics.behaviour)).toBe(before);
  });

  it('writes posted events to HBase and Redis; reposting the same event ids changes nothing', async () => {
    const users = ['alice', 'bob', 'carol'];
    const events: BehaviourEvent[] = [];
    for (let i = 0; i < 30; i++) {
      const user = users[i % 3] as string;
      // every fourth event shares its timestamp with the previous one of the user: ties break by event id
      events.push(ev(200 + i, user, 1_700_000_000_000 + Math.floor(i / 2) * 1000, { value: i }));
    }
    // alice got a recall answer just before her events: the sequence processor counts each of
    // her events against it (online hit rate), a hit when its item was in the answer
    const answers = new RedisAnswerStore(s.redis, { windowSeconds: 1800, items: 100 });
    await answers.record('alice', {
      ts: 1_700_000_000_000,
      version: 'v20231114-000000',
      source: 'personal',
      itemIds: ['i0', 'i1', 'i2'],
    });
    const aliceEvents = events.filter((e) => e.user_id === 'alice');
    const aliceHits = aliceEvents.filter((e) => ['i0', 'i1', 'i2'].includes(e.item_id));
    const sequenceMetrics = `http://127.0.0.1:${stack.cfg.streamMetricsPortBase + 1}/metrics`;
    const online = async () => {
      const text = await (await fetch(sequenceMetrics)).text();
      const v = { model_version: 'v20231114-000000', source: 'personal' };
      return {
        events: sumSamples(text, 'towerflow_online_events_total', v),
        hits: sumSamples(text, 'towerflow_online_hits_total', v),
      };
    };
    expect(await online()).toEqual({ events: 0, hits: 0 });
    expect((await stack.post('/v1/events', { events })).body).toEqual({ accepted: 30 });
    await stack.waitForZeroLag(['history', 'sequence']);
    expect(aliceHits.length).toBeGreaterThan(0);
    expect(await online()).toEqual({ events: aliceEvents.length, hits: aliceHits.length });

    const seen = new RedisSeenStore(s.redis, { ignoredTypes: new Set(), ttlSeconds: 60 });
    const snapshot = async () => {
      const out: Record<string, unknown> = {};
      for (const u of users) {
        const mine = events.filter((e) => e.user_id === u);
        const all = await s.history.since(u, 0);
        expect(all.map((e) => e.event_id).sort()).toEqual(mine.map((e) => e.event_id).sort());
        const expected = latestN(mine, 5).map((e) => e.event_id);
        expect((await s.history.latest(u, 5)).map((e) => e.event_id)).toEqual(expected);
        expect((await s.sequence.recent(u)).map((e) => e.event_id)).toEqual(expected);
        out[u] = await s.sequence.recent(u);
        // every item the user touched is in their seen set, exactly once
        expect(await seen.get(u)).toEqual(new Set(mine.map((e) => seenHash(e.item_id))));
      }
      out.rows = (await countHistory(s.history)).rows;
      out.popularity = await popularityTotal(s.redis);
      return out;
    };
    const first = await snapshot();
    expect(first.popularity).toBeGreaterThanOrEqual(30);

    expect((await stack.post('/v1/events', { events })).body).toEqual({ accepted: 30 });
    await stack.waitForZeroLag(['history', 'sequence']);
    expect(await snapshot()).toEqual(first);
  });

  it('dead-letters a malformed record produced straight to Kafka, with the reason and offset, and goes on', async () => {
    const producer = createKafka(stack.cfg).producer();
    await producer.connect();
    const meta = await producer.send({
      topic: stack.topics.behaviour,
      acks: -1,
      messages: [
        { key: 'mallory', value: 'this is not json' },
        { key: 'mallory', value: JSON.stringify({ ...ev(300, 'mallory', 5), user_id: 'bad user' }) },
      ],
    });
    await producer.disconnect();
    expect((await stack.post('/v1/events', ev(301, 'mallory', 6))).status).toBe(202);
    await stack.waitForZeroLag(['history', 'sequence']);
    expect((await s.history.latest('mallory', 5)).map((e) => e.event_id)).toEqual(['e-301']);
    expect((await s.sequence.recent('mallory')).map((e) => e.event_id)).toEqual(['e-301']);

    const letters: DeadLetter[] = [];
    const consumer = createKafka(stack.cfg).consumer({
      groupId: `dlq-reader-${randomBytes(4).toString('hex')}`,
    });
    await consumer.connect();
    await consumer.subscribe({ topic: stack.topics.dlq, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        letters.push(JSON.parse(message.value?.toString() ?? '{}') as DeadLetter);
      },
    });
    // every processor of behaviour.events (all run here) dead-letters each bad record once
    const readers = PROCESSOR_NAMES.filter((p) => PROCESSOR_ROLES[p].includes('behaviour'));
    const end = Date.now() + 30_000;
    while (letters.length < 2 * readers.length && Date.now() < end)
      await new Promise((r) => setTimeout(r, 200));
    await consumer.disconnect();
    expect(letters.map((l) => `${l.processor}:${l.source.offset}`).sort()).toEqual(
      readers
        .flatMap((p) => [0, 1].map((i) => `${p}:${BigInt(meta[0]?.baseOffset ?? '0') + BigInt(i)}`))
        .sort(),
    );
    const reasons = letters.map((l) => l.reason).join('\n');
    expect(reasons).toMatch(/not JSON/);
    expect(reasons).toMatch(/user_id/);
    expect(letters.find((l) => /not JSON/.test(l.reason))?.payload).toBe('this is not json');
  });

  it('counts popularity of a batch larger than one script call exactly once, across a crash between chunks', async () => {
    const store = new RedisPopularityStore(s.redis, { ...DEFAULT_POPULARITY, windows: ['all', 'hour'] });
    const fence = { group: `pop-${randomBytes(3).toString('hex')}`, topic: 'bench', partition: 0 };
    const events = Array.from({ length: 5000 }, (_, i) => ({
      offset: 1000 + i,
      item_id: `pop${i % 50}`,
      ts: 1_700_000_000_000,
    }));
    const before = await popularityTotal(s.redis);
    // a crash after the first 3,000 were counted: the fence moved to their last offset
    expect(await store.count(fence, events.slice(0, 3000), 3999)).toBe(3000);
    expect(await store.count(fence, events, 5999)).toBe(2000);
    expect(await store.count(fence, events, 5999)).toBe(0);
    expect((await popularityTotal(s.redis)) - before).toBe(5000);
    const top = await store.top({ hour: 1_700_000_000_000 }, 3);
    expect(top.map((t) => t.count)).toEqual([100, 100, 100]);
  });

  it('stores item and user profiles; an older event delivered late does not overwrite a newer one', async () => {
    const up = (ts: number, genres: string[]) => ({
      event_id: `item-i42-${ts}`,
      op: 'upsert',
      item_id: 'i42',
      ts,
      features: { genres, title: `t${ts}` },
    });
    expect((await stack.post('/v1/items', up(2000, ['new']))).status).toBe(202);
    expect((await stack.post('/v1/items', up(1000, ['old']))).status).toBe(202);
    expect(
      (
        await stack.post('/v1/users', {
          event_id: 'p1',
          user_id: 'alice',
          ts: 5,
          profile: { age: '25', tags: ['a'] },
        })
      ).status,
    ).toBe(202);
    await stack.waitForZeroLag(['items'], 60_000, stack.topics.items);
    await stack.waitForZeroLag(['items'], 60_000, stack.topics.users);
    expect(await s.profiles.getItem('i42')).toMatchObject({
      removed: false,
      features: { genres: ['new'] },
      ts: 2000,
    });
    expect(await s.profiles.getUser('alice')).toMatchObject({ profile: { age: '25', tags: ['a'] } });
    // recall's Redis copy is written through, and an older profile event delivered late changes neither
    expect(await s.profileCache.get('alice')).toMatchObject({ ts: 5, profile: { age: '25', tags: ['a'] } });
    expect(
      (await stack.post('/v1/users', { event_id: 'p0', user_id: 'alice', ts: 4, profile: { age: '99' } }))
        .status,
    ).toBe(202);
    await stack.waitForZeroLag(['items'], 60_000, stack.topics.users);
    expect(await s.profiles.getUser('alice')).toMatchObject({ ts: 5, profile: { age: '25' } });
    expect(await s.profileCache.get('alice')).toMatchObject({ ts: 5, profile: { age: '25' } });

    expect(
      (await stack.post('/v1/items', { event_id: 'rm-i42', op: 'remove', item_id: 'i42', ts: 3000 })).status,
    ).toBe(202);
    await stack.waitForZeroLag(['items'], 60_000, stack.topics.items);
    expect(await s.profiles.getItem('i42')).toMatchObject({ removed: true, ts: 3000 });
  });
});

describe('ingest API while Kafka is unreachable', () => {
  it('answers 503 with Retry-After and an unhealthy /healthz, never 202', async () => {
    const stack = new IsolatedStack({
      redisDb: 7,
      portOffset: 3,
      extraEnv: { KAFKA_BROKERS: '127.0.0.1:1' },
    });
    const child = spawn(process.execPath, [bin, 'ingest'], { env: stack.env, stdio: 'ignore' });
    try {
      const end = Date.now() + 30_000;
      let health: Response | undefined;
      while (!health && Date.now() < end) {
        health = await fetch(`${stack.ingestUrl}/healthz`).catch(() => undefined);
        if (!health) await new Promise((r) => setTimeout(r, 200));
      }
      expect(health?.status).toBe(503);
      const r = await stack.post('/v1/events', ev(1, 'u1', 1));
      expect(r.status).toBe(503);
      expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(r.body.error).toBe('kafka_unavailable');
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('crash recovery (kill -9 in the middle of a 100k-event replay)', () => {
  const stack = new IsolatedStack({ redisDb: 6, portOffset: 2 });
  const s = useStack(stack);

  it('ends with one HBase row per distinct event and every Redis sequence equal to HBase', async () => {
    const dataset = path.join(projectRoot(), 'datasets', 'ml-latest-small');
    const replay = spawn(
      process.execPath,
      [
        bin,
        'replay',
        '--dataset',
        dataset,
        '--rate',
        '10000',
        '--url',
        stack.ingestUrl,
        '--api-key',
        stack.apiKey,
        '--json',
      ],
      { env: stack.env, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    let out = '';
    replay.stdout.on('data', (d) => {
      out += d;
    });
    const exited = new Promise<number | null>((resolve) => replay.on('exit', resolve));
    const waitForSize = async (n: number) => {
      while ((await stack.topicSize(stack.topics.behaviour)) < n)
        await new Promise((r) => setTimeout(r, 100));
    };
    await waitForSize(30_000);
    await stack.kill9('stream-history');
    await waitForSize(55_000);
    await stack.kill9('stream-sequence');
    await stack.up(['history', 'sequence']);
    expect(await exited).toBe(0);
    const result = JSON.parse(out) as { events: number };
    expect(result.events).toBe(100_836);
    await stack.waitForZeroLag(['history', 'sequence'], 180_000);

    const { rows, users } = await countHistory(s.history);
    expect(rows).toBe(100_836);
    expect(users.size).toBe(610);
    expect(await popularityTotal(s.redis)).toBe(100_836);
    const mismatched: string[] = [];
    for (const u of users) {
      const h = (await s.history.latest(u, stack.cfg.sequenceLength)).map((e) => e.event_id);
      const r = (await s.sequence.recent(u)).map((e) => e.event_id);
      if (h.join() !== r.join()) mismatched.push(u);
    }
    expect(mismatched).toEqual([]);
  }, 600_000);
});
