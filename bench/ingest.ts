// End-to-end ingest: HTTP batches → ingest API → Kafka → history (HBase + popularity in Redis)
// and sequence (Redis) processors, all real and local.
//  1. latency at a fixed rate (default 5,000 events/s): for sampled events, time from the 202 to
//     visible in both HBase (row exists) and Redis (member of the user's sequence); then the
//     time for the lag to return to zero after the load stops. Run again right after phase 2.
//  2. sustained: post N events as fast as the API takes them; events/s = N / time until both
//     consumer groups have committed everything; CPU seconds per process tell the bottleneck, and
//     cpu_us_per_event is the stack's CPU (every process but the bench's client) per event.
// Usage: towerflow bench ingest [--events 600000] [--rate 5000] [--seconds 30] [--batch 1000] [--json]

import { HBaseClient } from '../clients/hbase/thrift2.js';
import { createRedis } from '../clients/redis.js';
import { appPaths } from '../infra/local/apps.js';
import { IsolatedStack } from '../infra/local/isolated-stack.js';
import type { BehaviourEvent } from '../schemas/behaviour.js';
import { HBaseHistoryStore } from '../stores/history/hbase.js';
import { RedisSequenceStore } from '../stores/sequence/redis.js';
import {
  benchArgs,
  fmt,
  hostInfo,
  intOption,
  mulberry32,
  now,
  pidFileCpuSeconds,
  progress,
  Report,
  servicePidFile,
  sleep,
  summarize,
} from './lib.js';

const args = benchArgs(['events', 'rate', 'seconds', 'batch', 'concurrency', 'users', 'items']);
const N = intOption(args, 'events', 600_000);
const RATE = intOption(args, 'rate', 5000);
const SECONDS = intOption(args, 'seconds', 30);
const BATCH = intOption(args, 'batch', 1000);
const CONCURRENCY = intOption(args, 'concurrency', 4);
const USERS = intOption(args, 'users', 50_000);
const ITEMS = intOption(args, 'items', 100_000);
const report = new Report('ingest', args.json);

const stack = new IsolatedStack({
  redisDb: 3,
  portOffset: 5,
  extraEnv: {
    INGEST_MAX_BATCH: String(Math.max(BATCH, 2000)),
    INGEST_MAX_BODY_BYTES: String(8 << 20),
    LOG_LEVEL: 'warn',
  },
});
const APPS = ['ingest', 'stream-history', 'stream-sequence'];

// ---- events ----------------------------------------------------------------------------------

const random = mulberry32(42);
let seq = 0;
/** Users uniform, items Zipf-like (popular items get most events), ts = now. */
function makeEvent(): BehaviourEvent {
  const i = seq++;
  return {
    event_id: `b${i.toString(36)}`,
    user_id: `u${Math.floor(random() * USERS)}`,
    item_id: `i${Math.floor(ITEMS * random() ** 3)}`,
    type: 'click',
    ts: Date.now(),
  };
}

async function post(events: BehaviourEvent[]): Promise<void> {
  const res = await fetch(`${stack.ingestUrl}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.apiKey}` },
    body: JSON.stringify({ events }),
  });
  const text = await res.text();
  if (res.status !== 202) throw new Error(`ingest answered ${res.status}: ${text.slice(0, 300)}`);
}

// ---- CPU accounting per process ------------------------------------------------------------

/** The bench's own HTTP client: shown, but no part of the stack's CPU per event. */
const CLIENT = 'bench (HTTP client)';

function cpuSnapshot(): Map<string, number> {
  const out = new Map<string, number>();
  const files = [
    ...APPS.map((app) => [app, appPaths(stack.cfg, app).pidFile] as const),
    ...['kafka', 'hbase', 'hbase-thrift', 'redis'].map((svc) => [svc, servicePidFile(svc)] as const),
  ];
  for (const [name, file] of files) {
    const cpu = pidFileCpuSeconds(file);
    if (cpu !== undefined) out.set(name, cpu);
  }
  out.set(CLIENT, process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6);
  return out;
}

/**
 * Redis' own time per command (INFO commandstats: calls, µs), to tell which writes cost its CPU.
 * Commands a script runs are counted under their names too, and inside the script's `evalsha`.
 */
async function redisCommandStats(): Promise<Map<string, { calls: number; usec: number }>> {
  const redis = createRedis(stack.cfg);
  try {
    await redis.connect();
    const out = new Map<string, { calls: number; usec: number }>();
    for (const m of (await redis.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm))
      out.set(m[1] as string, { calls: Number(m[2]), usec: Number(m[3]) });
    return out;
  } finally {
    redis.disconnect();
  }
}

const cpuDelta = (a: Map<string, number>, b: Map<string, number>) =>
  [...b].map(([k, v]) => [k, v - (a.get(k) ?? 0)] as const).sort((x, y) => y[1] - x[1]);

// ---- phase 1: sustained throughput ---------------------------------------------------------

async function sustained() {
  const batches = Math.ceil(N / BATCH);
  const redis0 = await redisCommandStats();
  const cpu0 = cpuSnapshot();
  const t0 = now();
  let next = 0;
  let sent = 0;
  const stopTicker = setInterval(
    () => progress(`sustained: ${sent.toLocaleString('en-US')}/${N.toLocaleString('en-US')} accepted`),
    3000,
  );
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let b = next++; b < batches; b = next++) {
        const n = Math.min(BATCH, N - b * BATCH);
        await post(Array.from({ length: n }, makeEvent));
        sent += n;
      }
    }),
  );
  const acceptedS = (now() - t0) / 1000;
  clearInterval(stopTicker);
  progress(`sustained: all accepted in ${acceptedS.toFixed(1)} s; waiting for the processors`);
  const lags = { history: 0, sequence: 0 };
  const done = { history: Number.NaN, sequence: Number.NaN };
  for (;;) {
    for (const p of ['history', 'sequence'] as const) {
      if (!Number.isNaN(done[p])) continue;
      lags[p] = await stack.lag(p);
      if (lags[p] === 0) done[p] = (now() - t0) / 1000;
    }
    if (!Number.isNaN(done.history) && !Number.isNaN(done.sequence)) break;
    if ((now() - t0) / 1000 > 900)
      throw new Error(`processors still lagging after 900 s: ${JSON.stringify(lags)}`);
    await sleep(100);
  }
  const endToEnd = Math.max(done.history, done.sequence);
  const cpu = cpuDelta(cpu0, cpuSnapshot());
  const redis1 = await redisCommandStats();
  const redisCommands = [...redis1]
    .map(([cmd, b]) => {
      const a = redis0.get(cmd) ?? { calls: 0, usec: 0 };
      return { cmd, calls: b.calls - a.calls, usec: b.usec - a.usec };
    })
    .filter((c) => c.calls > 0)
    .sort((x, y) => y.usec - x.usec);
  return { acceptedS, endToEnd, done, cpu, redisCommands };
}

// ---- phase 2: visibility latency at a fixed rate -------------------------------------------

async function latencyAtRate() {
  const hbase = HBaseClient.fromConfig(stack.cfg);
  const redis = createRedis(stack.cfg);
  await redis.connect();
  const sequence = new RedisSequenceStore(redis, {
    length: stack.cfg.sequenceLength,
    ttlSeconds: stack.cfg.sequenceTtlSeconds,
  });
  const history = new HBaseHistoryStore(hbase, stack.cfg.historySaltBuckets);
  const perBatch = Math.max(1, Math.round(RATE / 50)); // a request every 20 ms
  const intervalMs = (perBatch / RATE) * 1000;
  const total = Math.round((SECONDS * 1000) / intervalMs);
  const visibleMs: number[] = [];
  const hbaseMs: number[] = [];
  const redisMs: number[] = [];
  const probes: Promise<void>[] = [];
  let failed = 0;

  async function probe(e: BehaviourEvent, acceptedAt: number): Promise<void> {
    let inHbase = false;
    let inRedis = false;
    const deadline = acceptedAt + 30_000;
    while (!(inHbase && inRedis)) {
      if (now() > deadline) {
        failed++;
        return;
      }
      if (!inRedis) {
        inRedis = await sequence.holds(e.user_id, e);
        if (inRedis) redisMs.push(now() - acceptedAt);
      }
      if (!inHbase) {
        inHbase = (await history.exists([e]))[0] === true;
        if (inHbase) hbaseMs.push(now() - acceptedAt);
      }
      if (!(inHbase && inRedis)) await sleep(5);
    }
    visibleMs.push(now() - acceptedAt);
  }

  const t0 = now();
  const inflight = new Set<Promise<void>>();
  for (let b = 0; b < total; b++) {
    const due = t0 + b * intervalMs;
    const wait = due - now();
    if (wait > 0) await sleep(wait);
    const events = Array.from({ length: perBatch }, makeEvent);
    const p = post(events).then(() => {
      // probe one event of every fifth request (10/s at 5,000 events/s)
      if (b % 5 === 0) probes.push(probe(events[events.length - 1] as BehaviourEvent, now()));
    });
    inflight.add(p);
    p.finally(() => inflight.delete(p));
    if (inflight.size > 64) await Promise.race(inflight);
    if (b % 250 === 0) progress(`rate ${RATE}/s: ${b}/${total} requests`);
  }
  await Promise.all(inflight);
  const loadEnd = now();
  const achieved = (total * perBatch) / ((loadEnd - t0) / 1000);
  let lagZeroS = Number.NaN;
  for (;;) {
    const l = (await stack.lag('history')) + (await stack.lag('sequence'));
    if (l === 0) {
      lagZeroS = (now() - loadEnd) / 1000;
      break;
    }
    if (now() - loadEnd > 120_000) break;
    await sleep(50);
  }
  await Promise.all(probes);
  hbase.close();
  await redis.quit();
  return {
    achieved,
    visible: summarize(visibleMs),
    hbase: summarize(hbaseMs),
    redis: summarize(redisMs),
    failed,
    lagZeroS,
  };
}

// ---- run -------------------------------------------------------------------------------------

progress('starting ingest API and processors (isolated topics, namespace and Redis db)');
await stack.up(APPS.map((a) => a.replace('stream-', '')));
try {
  // warm up connections, JIT and topic metadata
  for (let i = 0; i < 5; i++) await post(Array.from({ length: 200 }, makeEvent));
  await sleep(2000);
  // latency first, on a quiet system: the sustained phase leaves HBase flushing and compacting
  const lat = await latencyAtRate();
  await sleep(2000);
  const s = await sustained();
  // and again right after it (issue 27: the tail must hold there too), while HBase flushes and
  // compacts what the sustained phase wrote
  progress('the fixed rate again, right after the sustained phase');
  const after = await latencyAtRate();
  const eventsPerS = N / s.endToEnd;
  const cpuTotal = s.cpu.reduce((a, [, v]) => a + v, 0);
  // the stack's CPU per event: every process of it, the bench's own HTTP client apart
  const stackCpu = s.cpu.filter(([k]) => k !== CLIENT);
  const cpuUsPerEvent = (stackCpu.reduce((a, [, v]) => a + v, 0) / N) * 1e6;
  const perEvent = Object.fromEntries(s.cpu.map(([k, v]) => [k, (v / N) * 1e6]));
  const bottleneck = s.cpu[0]?.[0] ?? '?';
  report.table(
    `Sustained ingest of ${N.toLocaleString('en-US')} events (batches of ${BATCH}, ${CONCURRENCY} in flight)`,
    ['stage', 'seconds', 'events/s'],
    [
      ['HTTP 202 (Kafka acks=all)', s.acceptedS, N / s.acceptedS],
      ['history committed (HBase + popularity)', s.done.history, N / s.done.history],
      ['sequence committed (Redis)', s.done.sequence, N / s.done.sequence],
      ['end to end', s.endToEnd, eventsPerS],
    ],
  );
  report.table(
    `CPU seconds during the sustained phase (${fmt(s.endToEnd, 1)} s wall on ${(await hostInfo()).cpus} cores)`,
    ['process', 'cpu s', 'µs per event', 'share'],
    [
      ...s.cpu.map(([k, v]) => [k, v, (v / N) * 1e6, `${((100 * v) / cpuTotal).toFixed(0)}%`]),
      ['stack (all but the client)', cpuUsPerEvent * N * 1e-6, cpuUsPerEvent, ''],
    ],
  );
  report.table(
    'Redis’ own time by command in the sustained phase (a script’s commands also inside its evalsha)',
    ['command', 'calls', 'calls per 1,000 events', 'µs per call', 'µs per event'],
    s.redisCommands
      .slice(0, 12)
      .map((c) => [c.cmd, c.calls, (1000 * c.calls) / N, c.usec / c.calls, c.usec / N]),
  );
  report.table(
    `At ${RATE.toLocaleString('en-US')} events/s for ${SECONDS} s, before and right after the sustained phase (achieved ${fmt(lat.achieved, 0)}/s and ${fmt(after.achieved, 0)}/s)`,
    ['measure', 'before', 'right after'],
    [
      ['probes visible in HBase and Redis', lat.visible.n, after.visible.n],
      ['probes not visible within 30 s', lat.failed, after.failed],
      ['p50 202 → visible in both (ms)', lat.visible.p50_ms, after.visible.p50_ms],
      ['p99 202 → visible in both (ms)', lat.visible.p99_ms, after.visible.p99_ms],
      ...(['hbase', 'redis'] as const).map((k) => [
        `p50 / p99 → in ${k === 'hbase' ? 'HBase' : 'Redis'} (ms)`,
        `${fmt(lat[k].p50_ms, 0)} / ${fmt(lat[k].p99_ms, 0)}`,
        `${fmt(after[k].p50_ms, 0)} / ${fmt(after[k].p99_ms, 0)}`,
      ]),
      ['max (ms)', lat.visible.max_ms, after.visible.max_ms],
      ['lag back to 0 after load (s)', lat.lagZeroS, after.lagZeroS],
    ],
  );
  report.note(
    `bottleneck by CPU: ${bottleneck} (${((100 * (s.cpu[0]?.[1] ?? 0)) / cpuTotal).toFixed(0)}% of all CPU seconds)`,
  );
  report.finish({
    events_per_s: Math.round(eventsPerS),
    http_accept_per_s: Math.round(N / s.acceptedS),
    p99_visible_ms: lat.visible.p99_ms,
    p50_visible_ms: lat.visible.p50_ms,
    p99_visible_after_load_ms: after.visible.p99_ms,
    p50_visible_after_load_ms: after.visible.p50_ms,
    p99_visible_after_load_hbase_ms: after.hbase.p99_ms,
    p99_visible_after_load_redis_ms: after.redis.p99_ms,
    rate_per_s: Math.round(lat.achieved),
    lag_zero_after_s: lat.lagZeroS,
    bottleneck,
    cpu_seconds: Object.fromEntries(s.cpu),
    cpu_us_per_event: cpuUsPerEvent,
    cpu_us_per_event_by_process: perEvent,
    redis_us_per_event_by_command: Object.fromEntries(s.redisCommands.map((c) => [c.cmd, c.usec / N])),
    events: N,
    host: await hostInfo(),
  });
} finally {
  await stack.close();
}
