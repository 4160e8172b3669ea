#!/usr/bin/env node
// Does a kill -9 of the local single-node KRaft broker lose or rewrite acknowledged records?
//
// Starts a throw-away broker (same jars, server.properties generator and JVM flags as
// infra/local/services/kafka.ts, other ports, its own data dir under /tmp), produces numbered
// records at a fixed rate with the ingest producer's settings (node-rdkafka, idempotent,
// acks=all), consumes them in a group that commits after each batch (as clients/kafka/consumer.ts),
// kill -9s the broker mid-stream, restarts it with the same command, keeps producing (re-sending
// what failed), then reads every partition from the start and compares with every acknowledgement.
// Kills only the pid it started. Needs a built dist/ (`npx tsc -p tsconfig.json`).
//
//   node scripts/kafka-kill9-check.mjs [--runs 3] [--rate 1000] [--before 8] [--down 3] [--after 8]
//                                      [--set key=value ...] [--feature name=level ...] [--keep] [--cut-bytes N]
//
// Exit 1 when any run lost, reused or rewound anything.

import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, openSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const RdKafka = require('node-rdkafka');
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
const { Kafka, logLevel } = require('kafkajs');
const { serverProperties, jvmArgs, formatArgs, KAFKA_VERSION } = await import(
  path.join(root, 'dist/infra/local/services/kafka.js')
);
const { findJava } = await import(path.join(root, 'dist/infra/local/prereq.js'));

const { values: o } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    rate: { type: 'string', default: '1000' },
    before: { type: 'string', default: '8' },
    down: { type: 'string', default: '3' },
    after: { type: 'string', default: '8' },
    port: { type: 'string', default: '19092' },
    set: { type: 'string', multiple: true, default: [] },
    feature: { type: 'string', multiple: true, default: [] },
    jars: {
      type: 'string',
      default: path.join(
        process.env.TOWERFLOW_HOME ?? path.join(root, '.towerflow'),
        'cache',
        `kafka-${KAFKA_VERSION}`,
        'lib',
      ),
    },
    keep: { type: 'boolean', default: false },
    // negative control: cut this many bytes off partition 0's log while the broker is down (what
    // lost page cache would do), to show the checks catch a loss
    'cut-bytes': { type: 'string', default: '0' },
  },
});
const PORT = Number(o.port);
const CTL = PORT + 1;
const BROKERS = [`127.0.0.1:${PORT}`];
const PARTITIONS = 6;
const TOPIC = 'kill9';
const GROUP = 'kill9-group';
const say = (m) => console.log(`[${new Date().toISOString().slice(11, 23)}] ${m}`);

const cfg = {
  bindHost: '127.0.0.1',
  kafkaBrokers: BROKERS,
  kafkaControllerPort: CTL,
  root,
  javaHome: process.env.JAVA_HOME,
};
const java = await findJava(cfg);

class Broker {
  constructor(dir) {
    this.dir = dir;
    this.data = path.join(dir, 'data');
    this.props = path.join(dir, 'server.properties');
    this.log = path.join(dir, 'kafka.log');
    this.pid = undefined;
  }
  format() {
    rmSync(this.dir, { recursive: true, force: true });
    mkdirSync(this.data, { recursive: true });
    const extra = o.set.length ? `# experiment\n${o.set.join('\n')}\n` : '';
    writeFileSync(this.props, serverProperties({ cfg }, this.data) + extra);
    execFileSync(java, formatArgs({ cfg }, o.jars, this.props, o.feature), { stdio: 'ignore' });
  }
  start() {
    const fd = openSync(this.log, 'a');
    const child = spawn(java, [...jvmArgs({ cfg }, o.jars), 'kafka.Kafka', this.props], {
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    child.unref();
    this.pid = child.pid;
    return this.pid;
  }
  async kill9() {
    const pid = this.pid;
    process.kill(pid, 'SIGKILL');
    for (;;) {
      try {
        process.kill(pid, 0);
      } catch {
        break;
      }
      await sleep(20);
    }
    this.pid = undefined;
  }
  async stop() {
    if (this.pid === undefined) return;
    try {
      process.kill(this.pid, 'SIGKILL');
    } catch {}
    this.pid = undefined;
  }
}

const kafka = new Kafka({
  clientId: 'kill9',
  brokers: BROKERS,
  logLevel: logLevel.NOTHING,
  connectionTimeout: 1000,
});

async function healthy(timeoutMs = 90_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const admin = kafka.admin({ retry: { retries: 0 } });
    try {
      await admin.connect();
      const c = await admin.describeCluster();
      if (c.brokers.length > 0 && c.controller !== null) return;
    } catch {
    } finally {
      await admin.disconnect().catch(() => {});
    }
    if (Date.now() > end) throw new Error('broker not healthy');
    await sleep(250);
  }
}

/** ListOffsets(latest) per partition, or undefined while the broker cannot answer. */
async function endOffsets(admin) {
  try {
    const r = await admin.fetchTopicOffsets(TOPIC);
    return Object.fromEntries(r.map((p) => [p.partition, Number(p.high)]));
  } catch {
    return undefined;
  }
}

async function committedOffsets(admin) {
  try {
    const [t] = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
    return Object.fromEntries(t.partitions.map((p) => [p.partition, Number(p.offset)]));
  } catch {
    return undefined;
  }
}

// the broker this script started, ended however the script ends (an error mid-run included)
let current;
process.on('exit', () => current?.stop());

async function oneRun(run) {
  const broker = new Broker(path.join('/tmp', `kafka-kill9-${PORT}`));
  current = broker;
  broker.format();
  broker.start();
  say(
    `run ${run}: broker pid ${broker.pid}, data ${broker.data}${[...o.set, ...o.feature].length ? `, ${[...o.set, ...o.feature].join(' ')}` : ''}`,
  );
  await healthy();
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic: TOPIC, numPartitions: PARTITIONS, replicationFactor: 1 }],
    waitForLeaders: true,
  });

  // the ingest producer's settings (clients/kafka/rdkafka.ts); the partition chosen here so it is known
  const producer = new RdKafka.HighLevelProducer({
    'client.id': 'kill9-producer',
    'metadata.broker.list': BROKERS.join(','),
    'enable.idempotence': true,
    acks: -1,
    'linger.ms': 5,
    'message.timeout.ms': 30_000,
    'socket.keepalive.enable': true,
  });
  producer.on('event.error', () => {});
  await new Promise((res, rej) => producer.connect({ timeout: 10_000 }, (e) => (e ? rej(e) : res())));

  const acked = new Map(); // n -> [partition, offset]
  const failed = [];
  let sentN = 0;
  let errors = 0;
  const send = (n) =>
    new Promise((resolve) => {
      const p = n % PARTITIONS;
      producer.produce(TOPIC, p, Buffer.from(String(n)), `k${n}`, Date.now(), [], (err, offset) => {
        if (err) {
          errors++;
          failed.push(n);
        } else acked.set(n, [p, Number(offset)]);
        resolve();
      });
    });
  const inflight = new Set();
  const produceFor = (ms) => {
    const t0 = Date.now();
    return produceWhile(() => Date.now() - t0 < ms);
  };
  const produceWhile = async (more) => {
    const rate = Number(o.rate);
    const t0 = Date.now();
    const n0 = sentN;
    while (more()) {
      const due = n0 + Math.floor(((Date.now() - t0) / 1000) * rate);
      while (sentN < due) {
        const n = sentN++;
        const pr = send(n).finally(() => inflight.delete(pr));
        inflight.add(pr);
      }
      await sleep(10);
    }
  };

  // the consumer group: apply, then commit (clients/kafka/consumer.ts)
  const consumed = Array.from({ length: PARTITIONS }, () => new Map()); // offset -> payload, first seen
  const rewritten = []; // a delivered offset later delivered again with another payload
  const lastCommitted = new Array(PARTITIONS).fill(-1); // acknowledged commits
  const consumer = kafka.consumer({
    groupId: GROUP,
    sessionTimeout: 30_000,
    heartbeatInterval: 3000,
    maxWaitTimeInMs: 100,
  });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }) => {
      if (!isRunning() || isStale() || batch.messages.length === 0) return;
      const seen = consumed[batch.partition];
      for (const m of batch.messages) {
        const off = Number(m.offset);
        const v = m.value.toString();
        const before = seen.get(off);
        if (before === undefined) seen.set(off, v);
        else if (before !== v) rewritten.push({ p: batch.partition, off, before, now: v });
      }
      const last = batch.messages[batch.messages.length - 1].offset;
      resolveOffset(last);
      const next = Number(last) + 1;
      await commitOffsetsIfNecessary({
        topics: [{ topic: TOPIC, partitions: [{ partition: batch.partition, offset: String(next) }] }],
      });
      lastCommitted[batch.partition] = Math.max(lastCommitted[batch.partition], next);
      await heartbeat();
    },
  });

  // watch ListOffsets(latest) the whole time
  const maxEnd = new Array(PARTITIONS).fill(0);
  let endsPhase = 'before';
  const rewinds = []; // an end offset lower than one seen before
  let watching = true;
  const watcher = (async () => {
    const wa = kafka.admin({ retry: { retries: 0 } });
    await wa.connect().catch(() => {});
    while (watching) {
      const e = await endOffsets(wa);
      if (e)
        for (let p = 0; p < PARTITIONS; p++) {
          if (e[p] < maxEnd[p]) rewinds.push({ p, seen: maxEnd[p], now: e[p], phase: endsPhase });
          maxEnd[p] = Math.max(maxEnd[p], e[p]);
        }
      await sleep(100);
    }
    await wa.disconnect().catch(() => {});
  })();

  await produceFor(Number(o.before) * 1000);
  // what was acknowledged before the kill: the highest acked offset per partition + 1
  const ackedEndAtKill = new Array(PARTITIONS).fill(0);
  for (const [, [p, off]] of acked) ackedEndAtKill[p] = Math.max(ackedEndAtKill[p], off + 1);
  const committedAtKill = [...lastCommitted];
  const consumedAtKill = consumed.map((m) => m.size);
  await broker.kill9();
  const killedAt = Date.now();
  say(`run ${run}: kill -9 after ${sentN} sent, ${acked.size} acked; acked ends ${ackedEndAtKill.join(',')}`);
  endsPhase = 'after-restart';
  if (Number(o['cut-bytes']) > 0) {
    const seg = path.join(broker.data, `${TOPIC}-0`, '00000000000000000000.log');
    truncateSync(seg, Math.max(0, statSync(seg).size - Number(o['cut-bytes'])));
    say(`run ${run}: cut ${o['cut-bytes']} bytes off ${seg}`);
  }
  // keep producing through the outage and the restart, then `after` seconds with the broker back
  let backAt = Number.POSITIVE_INFINITY;
  const producing = produceWhile(() => Date.now() < backAt + Number(o.after) * 1000);
  await sleep(Number(o.down) * 1000);
  broker.start();
  await healthy();
  backAt = Date.now();
  say(
    `run ${run}: restarted (pid ${broker.pid}), healthy ${((backAt - killedAt) / 1000).toFixed(1)} s after the kill`,
  );
  // committed offsets as the restarted broker first answers them
  let committedAfter;
  for (let i = 0; i < 100 && !committedAfter; i++) {
    committedAfter = await committedOffsets(admin);
    if (!committedAfter) await sleep(200);
  }
  await producing;
  // re-send until everything is acknowledged (the ingest API's callers retry a failed request)
  await Promise.all([...inflight]);
  for (let round = 0; failed.length > 0 && round < 10; round++) {
    const again = failed.splice(0);
    say(`run ${run}: re-sending ${again.length} failed sends`);
    await Promise.all(again.map(send));
  }
  await new Promise((res) => producer.flush(10_000, () => res()));
  producer.disconnect();

  // let the group catch up to the end
  const finalEnd = await endOffsets(admin);
  for (let i = 0; i < 300; i++) {
    if (lastCommitted.every((c, p) => c >= finalEnd[p])) break;
    await sleep(100);
  }
  await consumer.disconnect();
  watching = false;
  await watcher;
  const committedFinal = await committedOffsets(admin);

  // read every partition from offset 0 to its end
  const log = Array.from({ length: PARTITIONS }, () => new Map());
  const reader = kafka.consumer({ groupId: `kill9-reader-${Date.now()}`, maxWaitTimeInMs: 100 });
  await reader.connect();
  await reader.subscribe({ topic: TOPIC, fromBeginning: true });
  let total = 0;
  const want = Object.values(finalEnd).reduce((a, b) => a + b, 0);
  await reader.run({
    eachMessage: async ({ partition, message }) => {
      log[partition].set(Number(message.offset), message.value.toString());
      total++;
    },
  });
  for (let i = 0; i < 300 && total < want; i++) await sleep(100);
  await reader.disconnect();
  await admin.disconnect();
  await broker.stop();

  // the books
  const where = new Map(); // payload -> [[p, off], ...]
  for (let p = 0; p < PARTITIONS; p++)
    for (const [off, v] of log[p]) where.set(v, [...(where.get(v) ?? []), [p, off]]);
  let lost = 0;
  let reused = 0;
  let moved = 0;
  for (const [n, [p, off]] of acked) {
    const at = log[p].get(off);
    if (at === String(n)) continue;
    if (at !== undefined) reused++;
    if (where.has(String(n))) moved++;
    else lost++;
  }
  const dups = [...where.values()].filter((w) => w.length > 1).length;
  const neverAcked = [...where.keys()].filter((v) => !acked.has(Number(v))).length;
  let consumedRewritten = 0;
  let skipped = 0;
  for (let p = 0; p < PARTITIONS; p++) {
    for (const [off, v] of consumed[p]) if (log[p].get(off) !== v) consumedRewritten++;
    for (const off of log[p].keys()) if (!consumed[p].has(off)) skipped++;
  }
  const endBelowAcked = ackedEndAtKill.filter((e, p) => finalEnd[p] < e).length;
  const committedLower = committedAfter
    ? committedAtKill.filter((c, p) => c > 0 && (committedAfter[p] ?? -1) < c).length
    : 'n/a';
  const committedBeyond = Object.entries(committedFinal ?? {}).filter(([p, c]) => c > finalEnd[p]).length;
  const r = {
    run,
    sent: sentN,
    acked: acked.size,
    errors,
    lost,
    reused,
    moved,
    dups,
    neverAcked,
    endRewinds: rewinds.length,
    minRewind: rewinds.length ? Math.min(...rewinds.map((x) => x.now - x.seen)) : 0,
    endBelowAcked,
    consumedAtKill: consumedAtKill.reduce((a, b) => a + b, 0),
    consumedRewritten,
    rewrittenDeliveries: rewritten.length,
    skipped,
    committedAtKill: committedAtKill.join(','),
    committedAfter: committedAfter ? Object.values(committedAfter).join(',') : 'n/a',
    committedLower,
    committedBeyond,
    finalEnd: Object.values(finalEnd).join(','),
  };
  if (rewinds.length) say(`run ${run}: end offset rewinds (first 6): ${JSON.stringify(rewinds.slice(0, 6))}`);
  if (rewritten.length)
    say(`run ${run}: rewritten deliveries (first 3): ${JSON.stringify(rewritten.slice(0, 3))}`);
  say(`run ${run}: ${JSON.stringify(r)}`);
  if (!o.keep) rmSync(broker.dir, { recursive: true, force: true });
  return r;
}

const results = [];
for (let i = 1; i <= Number(o.runs); i++) results.push(await oneRun(i));
const bad = results.filter(
  (r) =>
    r.lost ||
    r.reused ||
    r.endRewinds ||
    r.endBelowAcked ||
    r.consumedRewritten ||
    r.skipped ||
    (r.committedLower && r.committedLower !== 'n/a'),
);
console.log(`${results.length} runs, ${bad.length} with loss, reuse or rewind`);
process.exit(bad.length ? 1 : 0);
