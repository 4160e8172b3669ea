import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sumSamples } from '../../../../cli/demo/metrics-text.js';
import { createKafka } from '../../../../clients/kafka/kafkajs.js';
import { createRedis } from '../../../../clients/redis.js';
import { IsolatedStack } from '../../../../infra/local/isolated-stack.js';
import type { BehaviourEvent } from '../../../../schemas/behaviour.js';
import type { Exposure } from '../../../../schemas/exposure.js';
import type { ArmResults } from '../../../../stores/experiments/index.js';
import { joinStateKey } from '../../../../stores/experiments/join-state.js';
import { RedisExperimentResultStore } from '../../../../stores/experiments/redis.js';
import type { DeadLetter } from '../../../../streams/dlq.js';
import { groupIdOf } from '../../../../streams/runtime.js';
import { type Arm, armOf } from '../../../../versions/experiments/assign.js';
import { defineExperiment } from '../../../../versions/experiments/definition.js';
import { ExperimentRegistry } from '../../../../versions/experiments/registry.js';
import { registryDir } from '../../../../versions/registry.js';

// The experiments processor on the real Kafka and Redis: exposures and behaviour produced straight
// to their topics, per-arm results and counters checked exactly, a full re-delivery of both topics
// counting nothing again (with the join states gone, so only the fences stand), malformed
// exposures dead-lettered, and the join measured whichever topic comes first: an exposure and its
// click at once, 200 ms apart, and both as a backlog after a restart, every click attributed once.
const NAME = 'ab-ops';
const SHARE = 0.5;
const MIN = 60_000;
const T0 = Date.now() - 20 * MIN;

const exposure = (user: string, ts: number, items: string[], o: Partial<Exposure> = {}): Exposure => ({
  request_id: `r-${user}-${ts}`,
  user_id: user,
  experiment: NAME,
  arm: armOf(NAME, SHARE, user),
  model_version: 'v20240131-030405',
  source: 'personal',
  items,
  ts,
  ...o,
});
let seq = 0;
const event = (user: string, item: string, ts: number): BehaviourEvent => ({
  event_id: `x-${seq++}`,
  user_id: user,
  item_id: item,
  type: 'click',
  ts,
});

describe('experiments processor (real Kafka and Redis)', () => {
  const stack = new IsolatedStack({ redisDb: 7, portOffset: 7 });
  const cfg = stack.cfg;
  const redis = createRedis(cfg);
  const results = new RedisExperimentResultStore(redis);
  const producer = createKafka(cfg).producer({ idempotent: true });
  const metrics = async () => (await fetch(`${stack.urlOf('experiments')}/metrics`)).text();
  const arms = (a: Arm) => ({ experiment: NAME, arm: a });
  const users = Array.from({ length: 24 }, (_, i) => `u${i}`);
  const armUsers = (a: Arm) => users.filter((u) => armOf(NAME, SHARE, u) === a);
  const even = (u: string) => Number(u.slice(1)) % 2 === 0;

  async function produce(
    role: 'exposures' | 'behaviour',
    values: (object | string)[],
    key = 'k',
  ): Promise<void> {
    await producer.send({
      topic: stack.topics[role],
      acks: -1,
      messages: values.map((v) => ({
        key: typeof v === 'string' ? key : (v as { user_id: string }).user_id,
        value: typeof v === 'string' ? v : JSON.stringify(v),
      })),
    });
  }
  const drained = (role: 'exposures' | 'behaviour') =>
    stack.waitForZeroLag(['experiments'], 60_000, stack.topics[role]);
  const joinStateKeys = async (): Promise<string[]> => {
    const out: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(
        cursor,
        'MATCH',
        `${joinStateKey('x').slice(0, -1)}*`,
        'COUNT',
        1000,
      );
      out.push(...keys);
      cursor = next;
    } while (cursor !== '0');
    return out;
  };

  beforeAll(async () => {
    await redis.connect();
    await redis.flushdb(); // db 7 is this file's
    // the experiment runs before the processor starts, on the alias the processor reads
    await new ExperimentRegistry(redis, registryDir(cfg)).start(
      defineExperiment(
        { name: NAME, candidate: 'v20240201-030405', share: SHARE },
        { alias: cfg.milvusAlias, version: 'v20240131-030405' },
        new Date(),
      ),
    );
    await stack.up(['experiments']);
    await producer.connect();
  });
  afterAll(async () => {
    await producer.disconnect();
    await stack.close();
    await redis.quit();
  });

  let settled: Map<string, ArmResults>;

  it('joins events to the exposures of the 30 minutes before them and counts each arm exactly', async () => {
    expect(armUsers('control').length).toBeGreaterThan(0);
    expect(armUsers('candidate').length).toBeGreaterThan(0);
    await produce('exposures', [
      ...users.map((u) =>
        exposure(
          u,
          T0,
          [1, 2, 3, 4, 5].map((k) => `it-${u}-${k}`),
        ),
      ),
      exposure('plain', T0, ['it-plain'], { experiment: null, arm: null }), // outside any experiment
      exposure('ghost', T0, ['it-ghost'], { experiment: 'ghost' }), // no such experiment
      exposure('broken', T0, ['it-broken'], { arm: null }), // an experiment without an arm: DLQ
      { ...exposure('broken', T0, []), request_id: 'bad id' }, // fails the contract: DLQ
      'not json', // DLQ
    ]);
    await drained('exposures');
    await produce(
      'behaviour',
      users
        .flatMap((u) => [
          event(u, `it-${u}-1`, T0 + MIN), // hit at 1
          ...(even(u) ? [event(u, `it-${u}-3`, T0 + 2 * MIN)] : []), // hit at 3
          event(u, 'it-elsewhere', T0 + 3 * MIN), // miss
          event(u, `it-${u}-1`, T0 - MIN), // before the exposure: not counted
          event(u, `it-${u}-2`, T0 + 31 * MIN), // past the window: not counted
        ])
        .concat([
          event('plain', 'it-plain', T0 + MIN),
          event('ghost', 'it-ghost', T0 + MIN),
          event('nobody', 'x', T0),
        ]),
    );
    await drained('behaviour');

    settled = await results.results(NAME);
    for (const a of ['control', 'candidate'] as const) {
      const mine = armUsers(a);
      const r = settled.get(a) as ArmResults;
      expect(r.exposedUsers).toBe(mine.length);
      expect(r.users).toEqual(
        new Map(mine.map((u) => [u, { events: even(u) ? 3 : 2, hits: even(u) ? 2 : 1 }])),
      );
      const evens = mine.filter(even).length;
      expect(r.positions).toEqual(
        new Map([['1', mine.length], ...(evens > 0 ? [['2-5', evens] as const] : [])]),
      );
      const text = await metrics();
      expect(sumSamples(text, 'towerflow_experiment_exposures_total', arms(a))).toBe(mine.length);
      expect(sumSamples(text, 'towerflow_experiment_exposed_users_total', arms(a))).toBe(mine.length);
      expect(sumSamples(text, 'towerflow_experiment_events_total', arms(a))).toBe(2 * mine.length + evens);
      expect(sumSamples(text, 'towerflow_experiment_hits_total', arms(a))).toBe(mine.length + evens);
      expect(sumSamples(text, 'towerflow_experiment_hit_position_bucket', { ...arms(a), le: '1' })).toBe(
        mine.length,
      );
      expect(sumSamples(text, 'towerflow_experiment_hit_position_bucket', { ...arms(a), le: '5' })).toBe(
        mine.length + evens,
      );
      expect(sumSamples(text, 'towerflow_experiment_late_exposures_total', arms(a))).toBe(0);
    }
    const text = await metrics();
    expect(
      sumSamples(text, 'towerflow_experiment_exposures_skipped_total', { reason: 'no_experiment' }),
    ).toBe(1);
    expect(
      sumSamples(text, 'towerflow_experiment_exposures_skipped_total', { reason: 'unknown_experiment' }),
    ).toBe(1);
    // only experiments with a definition become labels
    expect(text).not.toContain('experiment="ghost"');
    expect(await results.results('ghost')).toEqual(
      new Map(
        ['control', 'candidate'].map((a) => [a, { exposedUsers: 0, users: new Map(), positions: new Map() }]),
      ),
    );
  });

  it('dead-letters the exposures it cannot use, with the reason', async () => {
    const letters: DeadLetter[] = [];
    const consumer = createKafka(cfg).consumer({ groupId: `dlq-reader-${randomBytes(4).toString('hex')}` });
    await consumer.connect();
    await consumer.subscribe({ topic: stack.topics.dlq, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        letters.push(JSON.parse(message.value?.toString() ?? '{}') as DeadLetter);
      },
    });
    const end = Date.now() + 30_000;
    while (letters.length < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
    await consumer.disconnect();
    expect(letters.map((l) => [l.processor, l.source.topic])).toEqual(
      Array(3).fill(['experiments', stack.topics.exposures]),
    );
    const reasons = letters.map((l) => l.reason);
    expect(reasons).toContain(
      `invalid exposure: experiment and arm must both be set or both null, got experiment "${NAME}" and arm null`,
    );
    expect(reasons.filter((r) => /^invalid exposure: .*request_id/.test(r))).toHaveLength(1);
    expect(reasons.filter((r) => r.startsWith('not JSON'))).toHaveLength(1);
    const text = await metrics();
    const dlq = (reason: string) =>
      sumSamples(text, 'towerflow_stream_dlq_total', {
        processor: 'experiments',
        topic: stack.topics.exposures,
        reason,
      });
    expect([dlq('invalid'), dlq('not_json')]).toEqual([2, 1]);
  });

  it('counts nothing again when both topics are delivered again from the start, the join states gone', async () => {
    await stack.down(['experiments']);
    // the users' join states expired (as after their TTL): only each partition's fence stands
    // between a re-delivered exposure or event and a second count
    const states = await joinStateKeys();
    expect(states.length).toBeGreaterThan(0);
    await redis.del(...states);
    const admin = await stack.kafkaAdmin();
    for (const role of ['exposures', 'behaviour'] as const)
      await admin.resetOffsets({
        groupId: groupIdOf(cfg, 'experiments'),
        topic: stack.topics[role],
        earliest: true,
      });
    const size = await stack.topicSize(stack.topics.behaviour);
    expect(await stack.lag('experiments')).toBe(size); // everything is up for delivery again
    await stack.up(['experiments']);
    await drained('exposures');
    await drained('behaviour');
    expect(await results.results(NAME)).toEqual(settled);
    // a fresh process: its counters hold only what it counted, which is nothing
    const text = await metrics();
    for (const name of ['exposures', 'exposed_users', 'events', 'hits', 'late_exposures'])
      expect([name, sumSamples(text, `towerflow_experiment_${name}_total`, { experiment: NAME })]).toEqual([
        name,
        0,
      ]);
    expect(await joinStateKeys()).toEqual([]); // nothing was joined again
    const all = size + (await stack.topicSize(stack.topics.exposures));
    expect(sumSamples(text, 'towerflow_stream_consumed_total', { processor: 'experiments' })).toBe(all);
    // every record but the three dead letters is through, as the other processors count
    expect(sumSamples(text, 'towerflow_stream_written_total', { processor: 'experiments' })).toBe(all - 3);
  });

  it('attributes an event consumed before its exposure when the exposure comes, and moves the hit to a later one', async () => {
    const u = 'latecomer';
    const arm = armOf(NAME, SHARE, u);
    const before = await metrics();
    const was = (await results.results(NAME)).get(arm) as ArmResults;
    const click = event(u, 'it-late', T0 + 5 * MIN);
    // the click twice (a producer's retry: the same event id at another offset), then the exposures
    await produce('behaviour', [click, click]);
    await drained('behaviour');
    await produce('exposures', [exposure(u, T0 + 4 * MIN, ['it-late'])]);
    await drained('exposures');
    let r = (await results.results(NAME)).get(arm) as ArmResults;
    expect(r.users.get(u)).toEqual({ events: 1, hits: 1 });
    expect(r.exposedUsers).toBe(was.exposedUsers + 1);
    expect(r.positions.get('1')).toBe((was.positions.get('1') ?? 0) + 1);
    // the user saw a later answer before the click, holding the item at 7: the hit is there now
    await produce('exposures', [exposure(u, T0 + 4 * MIN + 1, ['a', 'b', 'c', 'd', 'e', 'f', 'it-late'])]);
    await drained('exposures');
    r = (await results.results(NAME)).get(arm) as ArmResults;
    expect(r.users.get(u)).toEqual({ events: 1, hits: 1 });
    expect(r.positions.get('1') ?? 0).toBe(was.positions.get('1') ?? 0);
    expect(r.positions.get('6-10')).toBe((was.positions.get('6-10') ?? 0) + 1);
    const after = await metrics();
    const delta = (name: string, labels: Record<string, string> = {}) =>
      sumSamples(after, name, { ...arms(arm), ...labels }) -
      sumSamples(before, name, { ...arms(arm), ...labels });
    expect(
      [
        'towerflow_experiment_events_total',
        'towerflow_experiment_hits_total',
        'towerflow_experiment_late_exposures_total',
        'towerflow_experiment_exposures_total',
        'towerflow_experiment_hit_position_count',
        'towerflow_experiment_hit_position_retracted_count',
      ].map((n) => delta(n)),
    ).toEqual([1, 1, 2, 2, 2, 1]);
    // net positions: one hit, between 6 and 10
    expect(
      ['1', '5', '10'].map(
        (le) =>
          delta('towerflow_experiment_hit_position_bucket', { le }) -
          delta('towerflow_experiment_hit_position_retracted_bucket', { le }),
      ),
    ).toEqual([0, 0, 1]);
  });

  it('attributes every click exactly once whichever topic brings it first: at once, 200 ms apart, a backlog', async () => {
    const measured: Record<string, { pairs: number; joined: number; late: number }> = {};
    const perUser = async (pairs: string[]) => {
      const r = await results.results(NAME);
      return pairs.filter((u) => {
        const c = (r.get(armOf(NAME, SHARE, u)) as ArmResults).users.get(u);
        return c?.events === 1 && c.hits === 1;
      }).length;
    };
    for (const [label, gapMs] of [
      ['same instant', 0],
      ['200 ms apart', 200],
    ] as const) {
      const pairs = Array.from({ length: 200 }, (_, i) => `m${gapMs}-${i}`);
      const before = await metrics();
      const ts = Date.now();
      const exposures = pairs.map((u) => exposure(u, ts, [`it-${u}`]));
      const clicks = pairs.map((u) => event(u, `it-${u}`, ts + 1000));
      if (gapMs === 0) await Promise.all([produce('exposures', exposures), produce('behaviour', clicks)]);
      else {
        await produce('exposures', exposures);
        await new Promise((r) => setTimeout(r, gapMs));
        await produce('behaviour', clicks);
      }
      await drained('exposures');
      await drained('behaviour');
      const after = await metrics();
      const delta = (name: string) =>
        sumSamples(after, name, { experiment: NAME }) - sumSamples(before, name, { experiment: NAME });
      expect([
        label,
        delta('towerflow_experiment_events_total'),
        delta('towerflow_experiment_hits_total'),
      ]).toEqual([label, pairs.length, pairs.length]);
      expect(await perUser(pairs)).toBe(pairs.length);
      measured[label] = {
        pairs: pairs.length,
        joined: await perUser(pairs),
        late: delta('towerflow_experiment_late_exposures_total'),
      };
    }
    // a catch-up: the processor down while 2,000 users are shown an answer and click 1 s later
    await stack.down(['experiments']);
    const pairs = Array.from({ length: 2000 }, (_, i) => `b-${i}`);
    const ts = Date.now();
    await produce(
      'exposures',
      pairs.map((u) => exposure(u, ts, [`it-${u}`])),
    );
    await produce(
      'behaviour',
      pairs.map((u) => event(u, `it-${u}`, ts + 1000)),
    );
    await stack.up(['experiments']);
    await drained('exposures');
    await drained('behaviour');
    const text = await metrics(); // a fresh process: its counters are the backlog's
    const count = (name: string) => sumSamples(text, name, { experiment: NAME });
    expect([count('towerflow_experiment_events_total'), count('towerflow_experiment_hits_total')]).toEqual([
      pairs.length,
      pairs.length,
    ]);
    expect(await perUser(pairs)).toBe(pairs.length);
    measured['backlog after a restart'] = {
      pairs: pairs.length,
      joined: await perUser(pairs),
      late: count('towerflow_experiment_late_exposures_total'),
    };
    const bytes = Number(await redis.call('MEMORY', 'USAGE', joinStateKey('b-0')));
    const rejoined = sumSamples(text, 'towerflow_experiment_rejoined_batches_total', { reason: 'state' });
    process.stderr.write(
      `experiments join: ${JSON.stringify(measured)}; backlog batches joined again ${rejoined}; one pair's join state ${bytes} bytes\n`,
    );
  });
});
