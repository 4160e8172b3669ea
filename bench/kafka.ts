// Kafka produce/consume throughput: node-rdkafka vs kafkajs, side by side in one run.
//
//   npx tsx bench/kafka.ts [--json] [--messages 200000] [--rounds 2] [--window 10000]
//
// Produce: N keyed ~200-byte JSON messages into a fresh 6-partition topic per client and round,
//   (a) rdkafka IdempotentProducer (acks=all): `window` sends in flight, each window awaited
//       until every message is acknowledged;
//   (b) kafkajs idempotent producer (acks -1, maxInFlightRequests 1): sequential sends of 1000.
// Consume: the round's rdkafka-produced topic, read in full by
//   (a) kafkajs startBatchConsumer (the project's consumer; a commit per partition batch);
//   (b) rdkafka KafkaConsumer (enable.auto.commit=false, consume(5000) + commitSync per batch).
// Clients alternate (which goes first flips each round); medians over rounds are reported.

import { createRequire } from 'node:module';
import type { Admin, Producer } from 'kafkajs';
import type {
  Assignment,
  KafkaConsumer as KafkaConsumerType,
  LibrdKafkaError,
  Message as RdMessage,
} from 'node-rdkafka';
import { startBatchConsumer } from '../clients/kafka/consumer.js';
import { createKafka } from '../clients/kafka/kafkajs.js';
import { IdempotentProducer } from '../clients/kafka/rdkafka.js';
import { type Config, loadConfig } from '../config/index.js';
import {
  benchArgs,
  hostInfo,
  intOption,
  median,
  mulberry32,
  now,
  progress,
  Report,
  runId,
  ticker,
  waitUntil,
} from './lib.js';

const require = createRequire(import.meta.url);
const Kafka = require('node-rdkafka') as typeof import('node-rdkafka');

const PARTITIONS = 6;
const KAFKAJS_BATCH = 1000;
const RDKAFKA_COMMIT_BATCH = 5000;
const VALUE_BYTES = 200;

type Client = 'rdkafka' | 'kafkajs';

interface ProduceResult {
  client: Client;
  round: number;
  topic: string;
  seconds: number;
  msgsPerSec: number;
  mbPerSec: number;
}

interface ConsumeResult extends ConsumeTiming {
  client: Client;
  round: number;
  topic: string;
  msgsPerSec: number;
}

interface Payload {
  keys: string[];
  values: Buffer[];
  bytes: number;
}

/** N keyed JSON events padded to exactly VALUE_BYTES; 10k distinct user keys. */
function makePayload(n: number): Payload {
  const rnd = mulberry32(42);
  const events = ['click', 'view', 'like', 'share', 'dwell'];
  const keys: string[] = new Array(n);
  const values: Buffer[] = new Array(n);
  let bytes = 0;
  const ts0 = 1_700_000_000_000;
  for (let i = 0; i < n; i++) {
    const user = `u${String(Math.floor(rnd() * 10_000)).padStart(6, '0')}`;
    const base = JSON.stringify({
      user_id: user,
      item_id: `i${String(Math.floor(rnd() * 1_000_000)).padStart(7, '0')}`,
      event: events[i % events.length],
      ts: ts0 + i,
      dwell_ms: Math.floor(rnd() * 60_000),
      ctx: { page: 'home', pos: i % 50 },
      pad: '',
    });
    const json = base.replace('"pad":""', `"pad":"${'x'.repeat(Math.max(0, VALUE_BYTES - base.length))}"`);
    const value = Buffer.from(json);
    keys[i] = user;
    values[i] = value;
    bytes += value.length + user.length;
  }
  return { keys, values, bytes };
}

async function createTopic(admin: Admin, topic: string): Promise<void> {
  const ok = await admin.createTopics({
    topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }],
    waitForLeaders: true,
  });
  if (!ok) throw new Error(`topic ${topic} already exists`);
}

async function topicMessageCount(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((s, p) => s + Number(p.high) - Number(p.low), 0);
}

// ---- producers --------------------------------------------------------------------------------

async function produceRdkafka(cfg: Config, topic: string, p: Payload, window: number): Promise<number> {
  const producer = new IdempotentProducer(cfg);
  await producer.connect();
  try {
    const n = p.keys.length;
    let acked = 0;
    const stop = ticker('  rdkafka produce', () => acked, n);
    const t0 = now();
    try {
      for (let start = 0; start < n; start += window) {
        const end = Math.min(n, start + window);
        const sends: Promise<number>[] = [];
        for (let i = start; i < end; i++)
          sends.push(producer.send(topic, { key: p.keys[i] as string, value: p.values[i] as Buffer }));
        await Promise.all(sends);
        acked = end;
      }
    } finally {
      stop();
    }
    return (now() - t0) / 1000;
  } finally {
    await producer.disconnect();
  }
}

async function produceKafkajs(cfg: Config, topic: string, p: Payload): Promise<number> {
  const producer: Producer = createKafka(cfg).producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    const n = p.keys.length;
    let acked = 0;
    const stop = ticker('  kafkajs produce', () => acked, n);
    const t0 = now();
    try {
      for (let start = 0; start < n; start += KAFKAJS_BATCH) {
        const end = Math.min(n, start + KAFKAJS_BATCH);
        const messages: { key: string; value: Buffer }[] = [];
        for (let i = start; i < end; i++)
          messages.push({ key: p.keys[i] as string, value: p.values[i] as Buffer });
        await producer.send({ topic, acks: -1, messages });
        acked = end;
      }
    } finally {
      stop();
    }
    return (now() - t0) / 1000;
  } finally {
    await producer.disconnect();
  }
}

// ---- consumers --------------------------------------------------------------------------------

interface ConsumeTiming {
  /** start → partitions assigned (connect, subscribe, group join and sync) */
  joinSeconds: number;
  /** partitions assigned → last message handled and committed: what msgs/s is computed from */
  seconds: number;
  /** start → last message */
  totalSeconds: number;
  commits: number;
}

function timing(t0: number, assigned: number, last: number, commits: number): ConsumeTiming {
  return {
    joinSeconds: (assigned - t0) / 1000,
    seconds: (last - assigned) / 1000,
    totalSeconds: (last - t0) / 1000,
    commits,
  };
}

async function consumeKafkajs(
  cfg: Config,
  topic: string,
  groupId: string,
  n: number,
): Promise<ConsumeTiming> {
  let count = 0;
  let commits = 0;
  let last = 0;
  const stop = ticker('  kafkajs consume', () => count, n);
  const t0 = now();
  // consumer.run() (inside startBatchConsumer) returns once the group is joined and synced
  const running = await startBatchConsumer(cfg, {
    groupId,
    topics: [topic],
    fromBeginning: true,
    handle: async (records) => {
      count += records.length;
      // the commit happens after handle resolves: counted here, awaited by the next batch
      commits++;
      if (count >= n) last = now();
    },
  });
  const assigned = now();
  try {
    await waitUntil(() => count >= n, `kafkajs to consume ${n} messages (got ${count})`);
  } finally {
    stop();
    await running.stop();
  }
  if (count !== n) throw new Error(`kafkajs consumed ${count} messages, expected ${n}`);
  return timing(t0, assigned, last, commits);
}

function rdConnect(c: KafkaConsumerType): Promise<void> {
  return new Promise((resolve, reject) =>
    c.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())),
  );
}

function rdConsume(c: KafkaConsumerType, max: number): Promise<RdMessage[]> {
  return new Promise((resolve, reject) => c.consume(max, (err, msgs) => (err ? reject(err) : resolve(msgs))));
}

function rdDisconnect(c: KafkaConsumerType): Promise<void> {
  return new Promise((resolve) => c.disconnect(() => resolve()));
}

async function consumeRdkafka(
  cfg: Config,
  topic: string,
  groupId: string,
  n: number,
): Promise<ConsumeTiming> {
  const t0 = now();
  let assigned = 0;
  const consumer: KafkaConsumerType = new Kafka.KafkaConsumer(
    {
      'group.id': groupId,
      'client.id': `${cfg.kafkaClientId}-bench-consumer`,
      'metadata.broker.list': cfg.kafkaBrokers.join(','),
      'enable.auto.commit': false,
      'socket.keepalive.enable': true,
      rebalance_cb: (err: LibrdKafkaError | undefined, assignment: Assignment[]) => {
        if (err?.code === Kafka.CODES.ERRORS.ERR__ASSIGN_PARTITIONS) {
          consumer.assign(assignment);
          assigned ||= now();
        } else if (err?.code === Kafka.CODES.ERRORS.ERR__REVOKE_PARTITIONS) consumer.unassign();
        else if (err) progress(`  rdkafka rebalance error: ${err.message}`);
      },
    },
    // topic-level configuration goes in the second argument
    { 'auto.offset.reset': 'earliest' },
  );
  await rdConnect(consumer);
  // a short per-message wait, so a partial batch at the end does not idle for the default second
  consumer.setDefaultConsumeTimeout(100);
  let count = 0;
  let commits = 0;
  let last = 0;
  const stop = ticker('  rdkafka consume', () => count, n);
  const deadline = Date.now() + 120_000;
  try {
    consumer.subscribe([topic]);
    while (count < n) {
      if (Date.now() > deadline) throw new Error(`rdkafka consumed ${count}/${n} messages in 120 s`);
      const msgs = await rdConsume(consumer, RDKAFKA_COMMIT_BATCH);
      if (msgs.length === 0) continue;
      // highest offset per partition in this batch; commit the next offset to read
      const next = new Map<number, number>();
      for (const m of msgs) next.set(m.partition, Math.max(next.get(m.partition) ?? -1, m.offset + 1));
      count += msgs.length;
      consumer.commitSync([...next].map(([partition, offset]) => ({ topic, partition, offset })));
      commits++;
      if (count >= n) last = now();
    }
  } finally {
    stop();
    await rdDisconnect(consumer);
  }
  if (count !== n) throw new Error(`rdkafka consumed ${count} messages, expected ${n}`);
  return timing(t0, assigned, last, commits);
}

// ---- main -------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const args = benchArgs(['messages', 'rounds', 'window']);
  const n = intOption(args, 'messages', 200_000);
  const rounds = intOption(args, 'rounds', 2);
  const window = intOption(args, 'window', 10_000);
  const cfg = loadConfig();
  const report = new Report('kafka', args.json);
  const run = runId();

  progress(`building ${n.toLocaleString('en-US')} messages`);
  const payload = makePayload(n);
  const avgBytes = payload.bytes / n;
  progress(`payload: ${(payload.bytes / 1e6).toFixed(1)} MB, ${avgBytes.toFixed(1)} B/message (key + value)`);

  const admin = createKafka(cfg).admin();
  await admin.connect();
  const topics: string[] = [];
  const groups: string[] = [];
  const produced: ProduceResult[] = [];
  const consumed: ConsumeResult[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      const order: Client[] = round % 2 === 1 ? ['rdkafka', 'kafkajs'] : ['kafkajs', 'rdkafka'];
      const topicOf: Partial<Record<Client, string>> = {};
      for (const client of order) {
        const topic = `bench.kafka.${run}.${client}.r${round}`;
        await createTopic(admin, topic);
        topics.push(topic);
        topicOf[client] = topic;
        progress(`round ${round}: ${client} produce → ${topic}`);
        const seconds =
          client === 'rdkafka'
            ? await produceRdkafka(cfg, topic, payload, window)
            : await produceKafkajs(cfg, topic, payload);
        const stored = await topicMessageCount(admin, topic);
        if (stored !== n) throw new Error(`${topic} holds ${stored} messages after producing ${n}`);
        produced.push({
          client,
          round,
          topic,
          seconds,
          msgsPerSec: n / seconds,
          mbPerSec: payload.bytes / 1e6 / seconds,
        });
        progress(`round ${round}: ${client} produce ${(n / seconds).toFixed(0)} msg/s`);
      }
      // both consumers read the same topic (the rdkafka-written one), in this round's order
      const source = topicOf.rdkafka as string;
      for (const client of order) {
        const groupId = `bench-${run}-${client}-r${round}`;
        groups.push(groupId);
        progress(`round ${round}: ${client} consume ← ${source}`);
        const t =
          client === 'rdkafka'
            ? await consumeRdkafka(cfg, source, groupId, n)
            : await consumeKafkajs(cfg, source, groupId, n);
        consumed.push({ client, round, topic: source, ...t, msgsPerSec: n / t.seconds });
        progress(`round ${round}: ${client} consume ${(n / t.seconds).toFixed(0)} msg/s`);
      }
    }
  } finally {
    if (topics.length > 0) {
      progress(`deleting ${topics.length} temp topics`);
      await admin.deleteTopics({ topics, timeout: 30_000 }).catch((e) => progress(`deleteTopics: ${e}`));
    }
    if (groups.length > 0) await admin.deleteGroups(groups).catch((e) => progress(`deleteGroups: ${e}`));
    await admin.disconnect();
  }

  const med = <T extends { client: Client; msgsPerSec: number }>(rs: T[], c: Client) =>
    median(rs.filter((r) => r.client === c).map((r) => r.msgsPerSec));
  const summary = {
    produce: { rdkafka: med(produced, 'rdkafka'), kafkajs: med(produced, 'kafkajs') },
    consume: { rdkafka: med(consumed, 'rdkafka'), kafkajs: med(consumed, 'kafkajs') },
  };
  const ratios = {
    produce_rdkafka_over_kafkajs: summary.produce.rdkafka / summary.produce.kafkajs,
    consume_rdkafka_over_kafkajs: summary.consume.rdkafka / summary.consume.kafkajs,
  };

  report.table(
    `produce: ${n.toLocaleString('en-US')} msgs × ${avgBytes.toFixed(0)} B, ${PARTITIONS} partitions, acks=all, idempotent`,
    ['round', 'client', 'how', 'seconds', 'msgs/s', 'MB/s'],
    produced.map((r) => [
      r.round,
      r.client,
      r.client === 'rdkafka' ? `${window} sends in flight` : `send() of ${KAFKAJS_BATCH}, 1 in flight`,
      r.seconds,
      r.msgsPerSec,
      r.mbPerSec,
    ]),
  );
  report.table(
    `consume: ${n.toLocaleString('en-US')} msgs, fresh consumer group, manual commits`,
    ['round', 'client', 'how', 'join_s', 'seconds', 'msgs/s', 'commits'],
    consumed.map((r) => [
      r.round,
      r.client,
      r.client === 'rdkafka'
        ? `consume(${RDKAFKA_COMMIT_BATCH}) + commitSync`
        : 'startBatchConsumer, commit/batch',
      r.joinSeconds,
      r.seconds,
      r.msgsPerSec,
      r.commits,
    ]),
  );
  report.table(
    `summary (median of ${rounds} rounds, msgs/s)`,
    ['phase', 'rdkafka', 'kafkajs', 'rdkafka/kafkajs'],
    [
      ['produce', summary.produce.rdkafka, summary.produce.kafkajs, ratios.produce_rdkafka_over_kafkajs],
      ['consume', summary.consume.rdkafka, summary.consume.kafkajs, ratios.consume_rdkafka_over_kafkajs],
    ],
  );
  report.note(
    'consume msgs/s = messages / (partitions assigned → last message handled); join_s (connect + group join) excluded',
  );
  report.note(
    'both consumers read the rdkafka-produced topic of their round; first client alternates by round',
  );
  report.finish({
    host: await hostInfo(),
    brokers: cfg.kafkaBrokers,
    params: {
      messages: n,
      rounds,
      partitions: PARTITIONS,
      window,
      kafkajs_batch: KAFKAJS_BATCH,
      rdkafka_commit_batch: RDKAFKA_COMMIT_BATCH,
      bytes_per_message: avgBytes,
    },
    produce: produced,
    consume: consumed,
    median_msgs_per_sec: summary,
    ratios,
  });
}

main().catch((e) => {
  progress(`kafka bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exit(1);
});
